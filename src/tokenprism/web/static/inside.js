// tokenprism page, the Inside tab: logit lens grid, attention of one token, attribution.
// Same rule as app.js: text from the server reaches the page only through textContent and
// setAttribute (the helpers `el` and `showTip` do both), never innerHTML.
"use strict";

(window.tokenprismTabs = window.tokenprismTabs || []).push((page) => {
  const { $, el, api, showTip, hideTip, fmtProb, idColour, oneLine, fillSelect, markUnavailable, config } = page;
  const BLUE = [37, 99, 235], ORANGE = [234, 88, 12], RED = [178, 24, 43];
  const state = { lens: null, body: null, att: null, position: -1 };

  fillSelect($("ins-model"), config.models);
  markUnavailable("ins-unavailable", config.features.generate, ["ins-run", "ins-attr-run"]);
  $("ins-run").addEventListener("click", runLens);
  $("ins-prompt").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) runLens(); });
  $("ins-attr-run").addEventListener("click", runAttribution);

  // white for 0, `end` for 1: probabilities and attention weights (as render/inside.py's prob_rgb)
  function shade(p, end) {
    const x = Math.max(0, Math.min(1, p));
    return "rgb(" + end.map((c) => Math.round(255 + (c - 255) * x)).join(",") + ")";
  }
  const ink = (p) => (p > 0.5 ? "#fff" : "#111");
  const short = (t, n) => { const s = oneLine(t); return s.length <= n ? s : s.slice(0, n - 1) + "…"; };
  const layerName = (layer, last) => (layer === 0 ? "embeddings" : `layer ${layer}` + (layer === last ? " (output)" : ""));
  const setStatus = (id, text, error) => $(id).replaceChildren(error ? el("span", { class: "error", text }) : text);

  // ------------------------------------------------------------------ logit lens
  async function runLens() {
    const body = { prompt: $("ins-prompt").value, model: $("ins-model").value, top: Number($("ins-top").value) || 5 };
    setStatus("ins-status", "reading the model… (the first time loads it)");
    $("ins-run").disabled = true;
    try {
      const res = await api("/api/lens", body);
      Object.assign(state, { lens: res, body, att: null });
      drawGrid(res);
      const last = res.layers[res.layers.length - 1];
      const guess = last.positions[last.positions.length - 1].top[0];
      $("ins-target").value = guess.token;
      $("ins-attr").replaceChildren();
      $("ins-notes").replaceChildren(...res.notes.map((n) => el("div", { class: "note", text: n })));
      setStatus("ins-status", `${res.tokens.length} tokens · ${res.layers.length - 1} layers · the model predicts ${JSON.stringify(guess.token)} (${fmtProb(guess.prob)})`);
      showAttention(res.tokens.length - 1);
    } catch (e) {
      setStatus("ins-status", e.message, true);
    } finally {
      $("ins-run").disabled = Boolean(config.features.generate);
    }
  }

  function drawGrid(res) {
    const lastLayer = res.layers[res.layers.length - 1];
    const finals = new Map(lastLayer.positions.map((c) => [c.position, c.top[0].id]));
    const head = el("tr", null, el("th"), ...res.layers[0].positions.map((c) => {
      const th = el("th", { class: "ins-tok", "data-pos": c.position, title: `position ${c.position} · id ${res.ids[c.position]} · click for its attention`,
        text: short(res.tokens[c.position], 10) });
      th.style.background = idColour(res.ids[c.position]);
      return th;
    }));
    const rows = res.layers.map((layer) => el("tr", null, el("th", { class: "ins-layer", text: layerName(layer.layer, lastLayer.layer) }),
      ...layer.positions.map((c) => {
        const top = c.top[0];
        const td = el("td", { class: "ins-cell" + (top.id === finals.get(c.position) ? " final" : ""), "data-layer": layer.layer,
          "data-pos": c.position, text: short(top.token, 10) });
        td.style.background = shade(top.prob, BLUE);
        td.style.color = ink(top.prob);
        return td;
      })));
    const table = el("table", { class: "ins-lens" }, el("thead", null, head), el("tbody", null, ...rows));
    table.addEventListener("mouseover", (e) => {
      const td = e.target.closest("td.ins-cell");
      if (td) showTip(td, cellTip(res, Number(td.dataset.layer), Number(td.dataset.pos), lastLayer.layer));
    });
    table.addEventListener("mouseleave", hideTip);
    table.addEventListener("click", (e) => {
      const node = e.target.closest("[data-pos]");
      if (node) showAttention(Number(node.dataset.pos));
    });
    $("ins-grid").replaceChildren(table);
  }

  function cellTip(res, layer, pos, last) {
    const row = res.layers.find((l) => l.layer === layer);
    const cell = row.positions.find((c) => c.position === pos);
    return [["", `${layerName(layer, last)} · after ${JSON.stringify(res.tokens[pos])} (#${pos})`],
      ...cell.top.map((c, k) => [k === 0 ? "top" : "", `${JSON.stringify(c.token)}  ${fmtProb(c.prob)}`]),
      ["entropy", `${cell.entropy.toFixed(2)} bits`], ["KL to final", `${cell.kl_to_final.toFixed(2)} bits`],
      ["final guess", cell.rank_of_final === 1 ? "ranks first here" : `ranks #${cell.rank_of_final.toLocaleString("en-US")} here`]];
  }

  // ------------------------------------------------------------------ attention of one token
  async function showAttention(pos) {
    if (!state.body) return;
    state.position = pos;
    for (const th of $("ins-grid").querySelectorAll("th.ins-tok")) th.classList.toggle("sel", Number(th.dataset.pos) === pos);
    $("ins-att-title").textContent = `of ${JSON.stringify(state.lens.tokens[pos])} (#${pos}) · loading…`;
    try {
      const res = await api("/api/attention", { prompt: state.body.prompt, model: state.body.model, position: pos });
      if (state.position !== pos) return;
      state.att = res;
      $("ins-att-title").textContent = `of ${JSON.stringify(res.tokens[pos])} (#${pos}) · per layer and head, what it looked at most · click a cell`;
      drawOverview(res);
      drawLooked(res, null);
    } catch (e) {
      $("ins-att").replaceChildren(el("span", { class: "error", text: e.message }));
    }
  }

  function drawOverview(res) {
    const heads = res.layers[0].heads.map((h) => el("th", { text: `head ${h.head}` }));
    const rows = res.layers.map((layer) => el("tr", null, el("th", { class: "ins-layer", text: `layer ${layer.layer}` }),
      ...layer.heads.map((h) => {
        let j = 0;
        h.weights.forEach((w, k) => { if (w > h.weights[j]) j = k; });
        const td = el("td", { class: "ins-head", "data-layer": layer.layer, "data-head": h.head,
          title: `layer ${layer.layer} · head ${h.head}: most on ${JSON.stringify(res.tokens[j])} (#${j})`,
          text: `${short(res.tokens[j], 6)} ${Math.round(h.weights[j] * 100)}%` });
        td.style.background = shade(h.weights[j], ORANGE);
        td.style.color = ink(h.weights[j]);
        return td;
      })));
    const table = el("table", { class: "ins-heads" }, el("thead", null, el("tr", null, el("th"), ...heads)), el("tbody", null, ...rows));
    table.addEventListener("click", (e) => {
      const td = e.target.closest("td.ins-head");
      if (!td) return;
      for (const other of table.querySelectorAll("td.sel")) other.classList.remove("sel");
      td.classList.add("sel");
      drawLooked(res, { layer: Number(td.dataset.layer), head: Number(td.dataset.head) });
    });
    $("ins-att").replaceChildren(table);
  }

  // One head's row of weights, or the average over every layer and head.
  function drawLooked(res, pick) {
    const n = res.tokens.length;
    const rows = pick ? [res.layers.find((l) => l.layer === pick.layer).heads.find((h) => h.head === pick.head).weights]
      : res.layers.flatMap((l) => l.heads.map((h) => h.weights));
    const mean = Array.from({ length: n }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
    $("ins-looked-title").textContent = pick ? `layer ${pick.layer} · head ${pick.head}` : `averaged over ${rows.length} heads`;
    const bars = mean.slice(0, res.position + 1).map((w, j) => {
      const bar = el("span", { class: "ins-bar" });
      bar.style.width = Math.max(1, Math.round(w * 100)) + "%";
      return el("div", { class: "ins-looked-row", "data-pos": j }, el("span", { class: "ins-looked-tok", text: short(res.tokens[j], 14) }),
        el("span", { class: "ins-bar-box" }, bar), el("span", { class: "ins-looked-num", text: (w * 100).toFixed(1) + "%" }));
    });
    $("ins-looked").replaceChildren(...bars);
  }

  // ------------------------------------------------------------------ attribution
  async function runAttribution() {
    if (!state.body) { setStatus("ins-attr-status", "look inside first", true); return; }
    const target = $("ins-target").value;
    setStatus("ins-attr-status", "integrating gradients… (the first time loads the model for torch)");
    $("ins-attr-run").disabled = true;
    try {
      const res = await api("/api/attribute", { prompt: state.body.prompt, model: state.body.model, target });
      drawAttribution(res);
      const c = res.completeness;
      setStatus("ins-attr-status", `log p = ${res.logprob.toFixed(3)} · ${res.steps} steps · completeness: sum ${c.sum.toFixed(3)} vs ${c.expected.toFixed(3)} (${(c.relative_error * 100).toFixed(2)}% off)`);
    } catch (e) {
      setStatus("ins-attr-status", e.message, true);
    } finally {
      $("ins-attr-run").disabled = Boolean(config.features.generate);
    }
  }

  function drawAttribution(res) {
    const peak = Math.max(...res.attributions.map(Math.abs)) || 1;
    const chips = res.tokens.map((t, i) => {
      const v = res.attributions[i], x = Math.abs(v) / peak;
      const span = el("span", { class: "ins-chip", "data-i": i, text: oneLine(t) });
      span.style.background = shade(x, v >= 0 ? BLUE : RED);
      span.style.color = ink(x);
      span.addEventListener("mouseenter", () => showTip(span, [["token", JSON.stringify(t)], ["attribution", v.toFixed(4)],
        ["share", `${(100 * v / (res.completeness.sum || 1)).toFixed(1)}% of the sum`]]));
      span.addEventListener("mouseleave", hideTip);
      return span;
    });
    $("ins-attr").replaceChildren(...chips, el("b", { class: "ins-target", text: oneLine(res.target) }),
      el("div", { class: "hint", text: `baseline: ${res.baseline}` }));
  }
});
