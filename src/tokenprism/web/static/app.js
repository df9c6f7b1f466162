// tokenprism page. Hand-written, no framework, no build step.
// Safety rule: text from the server (token strings, errors, names) reaches the page only through
// textContent and setAttribute — never innerHTML — so a token like <img src=x onerror=…> is just text.
"use strict";

(() => {
  // ---------------------------------------------------------------- DOM helpers
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid); // strings become text nodes
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...kids) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.setAttribute("class", value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function debounce(fn, ms) {
    let timer = 0;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  // ---------------------------------------------------------------- colours (same as render/html.py)
  // hue = id × golden ratio mod 1, then colorsys.hls_to_rgb(hue, 0.82, 0.75), rounded half to even
  // as Python's round() does, so one id has one colour in the page, the notebook and the terminal.
  // A token whose hue is within HUE_CLASH of the previous token's (as shown) takes the opposite hue
  // ("turned"), so neighbours never share a colour: render/html.py's turns(), the same rule.
  const ONE_SIXTH = 1.0 / 6.0, TWO_THIRD = 2.0 / 3.0, ONE_THIRD = 1.0 / 3.0;
  function pyMod1(x) { const r = x % 1.0; return r < 0 ? r + 1.0 : r; }
  function hlsV(m1, m2, hue) {
    hue = pyMod1(hue);
    if (hue < ONE_SIXTH) return m1 + (m2 - m1) * hue * 6.0;
    if (hue < 0.5) return m2;
    if (hue < TWO_THIRD) return m1 + (m2 - m1) * (TWO_THIRD - hue) * 6.0;
    return m1;
  }
  function roundHalfEven(x) {
    const f = Math.floor(x), d = x - f;
    if (d > 0.5) return f + 1;
    if (d < 0.5) return f;
    return f % 2 === 0 ? f : f + 1;
  }
  const HUE_CLASH = 0.15;
  const idHue = (id) => pyMod1(id * 0.618033988749895);
  const hueGap = (a, b) => { const d = Math.abs(a - b); return Math.min(d, 1.0 - d); };
  // A chain of tokens side by side: next(id) → that token's colour, never the previous one's.
  function colourChain() {
    let prev = null;
    return (id) => {
      let h = idHue(id);
      const turned = prev !== null && hueGap(h, prev) < HUE_CLASH;
      if (turned) h = (h + 0.5) % 1.0;
      prev = h;
      return idColour(id, turned);
    };
  }
  function chainColours(ids) { const next = colourChain(); return ids.map((id) => next(id)); }
  const colourCache = new Map(), turnedCache = new Map();
  function idColour(id, turned) {
    const cache = turned ? turnedCache : colourCache;
    let c = cache.get(id);
    if (c) return c;
    let h = idHue(id);
    if (turned) h = (h + 0.5) % 1.0;
    const l = 0.82, s = 0.75;
    const m2 = l + s - (l * s), m1 = 2.0 * l - m2;
    c = "#" + [hlsV(m1, m2, h + ONE_THIRD), hlsV(m1, m2, h), hlsV(m1, m2, h - ONE_THIRD)]
      .map((v) => roundHalfEven(v * 255).toString(16).padStart(2, "0")).join("");
    if (cache.size < 100000) cache.set(id, c);
    return c;
  }
  window.tokenprismColour = (id) => idColour(id, false); // for tests: the page's colour of an id
  window.tokenprismChain = chainColours; // for tests: the colours of ids side by side

  // ---------------------------------------------------------------- text helpers
  // Spaces, tabs and newlines made visible: · → ↵ (the newline kept after ↵), as render/html.py does.
  function visibleWhitespace(text) {
    return text.replace(/ /g, "·").replace(/\t/g, "→").replace(/\r\n/g, "↵\n").replace(/\r/g, "␍").replace(/\n/g, "↵\n");
  }
  function oneLine(text) {
    return text.replace(/ /g, "·").replace(/\t/g, "→").replace(/\r/g, "␍").replace(/\n/g, "↵");
  }
  const fmtInt = (n) => n.toLocaleString("en-US");
  function fmtProb(p) {
    if (p === 0 || p >= 0.001) return (p * 100).toFixed(1) + "%";
    return p >= 1e-6 ? (p * 100).toPrecision(2) + "%" : p.toExponential(1);
  }
  function hexBytes(hex) { return hex ? hex.match(/../g).join(" ") : "–"; }

  // ---------------------------------------------------------------- API
  class ApiError extends Error {}
  async function api(path, body, signal) {
    const init = body === undefined ? { signal } :
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal };
    const res = await fetch(path, init);
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) throw new ApiError((data && data.error) || `${res.status} ${res.statusText}`);
    return data;
  }
  const isAbort = (e) => e && e.name === "AbortError";

  // Server-sent events over a POST (EventSource only does GET): read the body, split on blank lines.
  async function readEvents(res, onEvent) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        onEvent(event, data ? JSON.parse(data) : {});
      }
    }
  }

  // ---------------------------------------------------------------- hover tip
  const tip = $("tip");
  function showTip(anchor, lines) {
    const rows = lines.map(([k, v]) => el("div", null, k ? el("b", { text: k + " " }) : null, v));
    tip.replaceChildren(...rows);
    tip.hidden = false;
    const r = anchor.getBoundingClientRect();
    const w = tip.offsetWidth, h = tip.offsetHeight;
    let x = Math.min(r.left, window.innerWidth - w - 8), y = r.bottom + 6;
    if (y + h > window.innerHeight - 4) y = r.top - h - 6;
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = Math.max(4, y) + "px";
  }
  function hideTip() { tip.hidden = true; }

  // ---------------------------------------------------------------- token columns → spans
  // A result's tokens travel as columns (ids, offsets, pieces, labels, bytes, index lists).
  function tokenView(cols) {
    return {
      cols,
      special: new Set(cols.special), fragment: new Set(cols.fragment),
      fromText: new Set(cols.from_text), added: new Set(cols.added), colours: chainColours(cols.ids),
    };
  }
  // A WordPiece continuation keeps its ## ("##ization", not "ization"), as render/html.py's marked_label.
  function markedLabel(piece, label) {
    return piece && label && piece.startsWith("##") && piece.slice(2) === label ? piece : label;
  }
  function shownLabel(view, i, ws) {
    const label = markedLabel(view.cols.pieces && view.cols.pieces[i], view.cols.labels[i]);
    if (view.special.has(i) || view.fragment.has(i)) return view.cols.labels[i];
    return ws ? visibleWhitespace(label) : label;
  }
  function tokenSpan(view, i, ws) {
    let cls = "tp-tok";
    if (view.special.has(i)) cls += " tp-special";
    if (view.fromText.has(i)) cls += " tp-from-text";
    if (view.fragment.has(i)) cls += " tp-frag";
    const span = el("span", { class: cls, "data-i": i, text: shownLabel(view, i, ws) });
    span.style.background = view.colours[i];
    return span;
  }
  function tokenTipLines(view, i) {
    const c = view.cols;
    const [start, end] = c.offsets[i];
    const lines = [["id", String(c.ids[i])], ["piece", JSON.stringify(c.pieces[i])], ["bytes", hexBytes(c.bytes[i])],
      ["chars", `${start}–${end}`], ["token", `#${i}`]];
    if (view.fromText.has(i)) lines.push(["", "special token parsed from your text"]);
    else if (view.added.has(i)) lines.push(["", "added by the tokenizer"]);
    else if (view.special.has(i)) lines.push(["", "special token"]);
    if (view.fragment.has(i)) lines.push(["", "part of a multi-byte character"]);
    return lines;
  }

  // Draw many nodes without freezing the page: the first chunk now, the rest a chunk per frame.
  // A newer draw of the same target cancels an older one (its job number is stale).
  const PAGE_LIMIT = 50000, CHUNK = 2500;
  const jobs = new Map();
  function drawChunked(target, total, make, after) {
    const job = (jobs.get(target) || 0) + 1;
    jobs.set(target, job);
    target.replaceChildren();
    const limit = Math.min(total, PAGE_LIMIT);
    let i = 0;
    const step = () => {
      if (jobs.get(target) !== job) return;
      const frag = document.createDocumentFragment();
      for (const end = Math.min(limit, i + CHUNK); i < end; i++) frag.append(make(i));
      target.append(frag);
      if (i < limit) requestAnimationFrame(step);
      else {
        if (total > limit) target.append(el("span", { class: "more", text: `… ${fmtInt(total - limit)} more not drawn` }));
        if (after) after();
      }
    };
    step();
  }

  // ---------------------------------------------------------------- config and tabs
  let config = null;

  // A spec's short label (a folder by its name, a Hub id as it is), from the server; the full spec on hover.
  const label = (spec) => (config && config.labels && config.labels[spec]) || spec;
  function fillSelect(select, options) {
    select.replaceChildren(...options.map((o) => el("option", { value: o, text: label(o), title: o })));
  }

  function showTab(name) {
    for (const button of document.querySelectorAll(".tabs button")) {
      const on = button.dataset.tab === name;
      button.setAttribute("aria-selected", on ? "true" : "false");
      $("panel-" + button.dataset.tab).hidden = !on;
    }
    hideTip();
    if (name === "compare" && !compareState.started) runCompare();
  }

  function markUnavailable(id, reason, controls) {
    const box = $(id);
    box.hidden = !reason;
    box.textContent = reason ? "Not available here: " + reason : "";
    for (const c of controls) $(c).disabled = Boolean(reason);
  }

  async function start() {
    for (const button of document.querySelectorAll(".tabs button")) {
      button.addEventListener("click", () => { history.replaceState(null, "", "#" + button.dataset.tab); showTab(button.dataset.tab); });
    }
    try {
      config = await api("/api/config");
    } catch (e) {
      const banner = $("banner");
      banner.hidden = false;
      banner.textContent = "Cannot reach the tokenprism server: " + e.message;
      return;
    }
    $("foot-version").textContent = "tokenprism " + config.version;
    fillSelect($("tok-spec"), config.tokenizers);
    fillSelect($("gen-model"), config.models);
    fillSelect($("fim-model"), config.models);
    fillSelect($("emb-model"), config.embedding_models);
    $("gen-max").max = config.max_new_tokens_cap;
    $("gen-max").title = `at most ${config.max_new_tokens_cap} on this server`;
    markUnavailable("gen-unavailable", config.features.generate, ["gen-run"]);
    markUnavailable("fim-unavailable", config.features.infill, ["fim-run"]);
    markUnavailable("emb-unavailable", config.features.embed, ["emb-run"]);
    setupTokenize();
    setupCompare();
    setupGenerate();
    setupInfill();
    setupEmbed();
    // Tabs kept in their own files (inside.js) register a setup in window.tokenprismTabs; they get the page's helpers.
    const page = { $, el, svg, api, isAbort, showTip, hideTip, fmtProb, idColour, chainColours, oneLine, visibleWhitespace, fillSelect,
      markUnavailable, config };
    for (const setup of window.tokenprismTabs || []) setup(page);
    const wanted = location.hash.slice(1);
    showTab(document.querySelector(`.tabs button[data-tab="${CSS.escape(wanted)}"]`) ? wanted : "tokenize");
  }

  // ---------------------------------------------------------------- Tokenize
  const tokState = { view: null, controller: null, hl: -1 };

  function setupTokenize() {
    const run = debounce(runTokenize, 150);
    $("tok-text").addEventListener("input", run);
    for (const id of ["tok-spec", "tok-add", "tok-split"]) $(id).addEventListener("change", runTokenize);
    $("tok-spec").addEventListener("change", showTokenizerInfo);
    showTokenizerInfo();
    $("tok-ws").addEventListener("change", () => tokState.view && drawTokens());
    linkPanes($("tok-tokens"), $("tok-ids"), () => tokState.view);
    $("tok-tokens").addEventListener("click", (e) => {
      const node = e.target.closest("[data-i]");
      if (node) explainToken(Number(node.dataset.i));
    });
    runTokenize();
  }

  async function showTokenizerInfo() {
    const box = $("tok-info");
    box.textContent = "";
    try {
      const info = await api("/api/info?tokenizer=" + encodeURIComponent($("tok-spec").value));
      const specials = info.special_tokens.length;
      box.textContent = `${info.model_type} · vocab ${fmtInt(info.vocab_size)} · ${specials} special token${specials === 1 ? "" : "s"}`;
      box.title = info.special_tokens.map((t) => `${t.token} = ${t.id}${t.role ? " (" + t.role + ")" : ""}`).join("\n");
    } catch (e) {
      box.textContent = e.message;
    }
  }

  async function runTokenize() {
    if (tokState.controller) tokState.controller.abort();
    const controller = new AbortController();
    tokState.controller = controller;
    const body = { text: $("tok-text").value, tokenizer: $("tok-spec").value,
      add_special_tokens: $("tok-add").checked, split_special_tokens: $("tok-split").checked };
    try {
      const res = await api("/api/tokenize", body, controller.signal);
      if (controller !== tokState.controller) return;
      tokState.view = tokenView(res.tokens);
      tokState.view.res = res;
      tokState.view.body = body;
      $("tok-build").hidden = true;
      drawTokenize(res);
    } catch (e) {
      if (isAbort(e)) return;
      $("tok-stats").replaceChildren(el("span", { class: "error", text: e.message }));
    }
  }

  function drawTokenize(res) {
    const ratio = res.count ? (res.chars / res.count).toFixed(2) : "–";
    $("tok-stats").replaceChildren(
      el("b", { id: "tok-count", text: fmtInt(res.count) }), " tokens · ",
      el("b", { id: "tok-chars", text: fmtInt(res.chars) }), " characters · ", `${ratio} chars/token`,
      el("span", { class: "badge " + (res.lossless ? "ok" : "no"), text: res.lossless ? "lossless" : "not lossless",
        title: res.lossless ? "decoding the ids gives the text back exactly" : "decoding the ids does not give the text back exactly" }));
    drawTokens();
    $("tok-notes").replaceChildren(...res.notes.map((n) => el("div", { class: "note", text: n })));
  }

  function drawTokens() {
    const view = tokState.view, ws = $("tok-ws").checked, n = view.cols.ids.length;
    tokState.hl = -1;
    drawChunked($("tok-tokens"), n, (i) => tokenSpan(view, i, ws));
    drawChunked($("tok-ids"), n, (i) => el("span", { "data-i": i, text: String(view.cols.ids[i]) + " " }));
  }

  // How a token is built: a click on a token asks the server to replay the tokenizer's model on its word.
  const RULES = {
    bpe: "BPE starts from single characters (bytes) and merges the adjacent pair with the lowest rank, again and again, until no pair merges.",
    wordpiece: "WordPiece takes the longest piece of its vocabulary at the start of what is left (## marks a piece inside a word).",
    unigram: "Unigram takes, of every way to cut the word into pieces, the one whose scores (log-probabilities) add up highest.",
  };
  async function explainToken(i) {
    const view = tokState.view, box = $("tok-build");
    if (!view || !view.body) return;
    box.hidden = false;
    box.replaceChildren(el("div", { class: "hint", text: "replaying token #" + i + " …" }));
    try {
      const res = await api("/api/explain-token", { ...view.body, index: i });
      if (view !== tokState.view) return;
      box.replaceChildren(...buildNodes(res));
    } catch (e) {
      box.replaceChildren(el("span", { class: "error", text: e.message }));
    }
  }
  const sym = (s, cls) => el("span", { class: "sym" + (cls ? " " + cls : ""), text: oneLine(visibleWhitespace(s)) });
  function buildNodes(res) {
    const head = el("div", { class: "card-title" }, `How token #${res.index} was built `,
      el("span", { class: "hint", text: `id ${res.id} · piece ${JSON.stringify(res.piece)}` }));
    const close = el("button", { class: "secondary build-close", text: "close", onclick: () => { $("tok-build").hidden = true; } });
    const w = res.word;
    if (!w) return [close, head, el("p", { text: "Not built by the model: " + res.why })];
    const nodes = [close, head,
      el("p", null, "From the word ", el("b", { text: JSON.stringify(w.text) }), " — as the model sees it: ",
        ...w.start_symbols.map((s) => sym(s)), ` (${w.algorithm}).`),
      el("p", { class: "hint", text: RULES[w.family] + (w.algorithm.includes("byte-level") || w.algorithm.includes("tiktoken")
        ? " Each start symbol is one byte, written as GPT-2 writes bytes (Ġ is a space, Ċ a newline)." : "") })];
    if (w.family === "bpe") {
      const rows = [el("tr", null, el("td", { text: "start" }), el("td", null, ...res.start.map((s) => sym(s))), el("td"))];
      res.steps.forEach((m, k) => rows.push(el("tr", null, el("td", { text: String(k + 1) }),
        el("td", null, ...m.after.map((s) => sym(s, s === m.merged ? "new" : ""))),
        el("td", { text: `${oneLine(m.left)} + ${oneLine(m.right)} → ${oneLine(m.merged)} · ${w.rank_name} ${fmtInt(m.rank)}` }))));
      if (!res.steps.length) rows.push(el("tr", null, el("td"), el("td", { text: res.start.length > 1 ? "taken whole" : "no merge: a single symbol" }), el("td")));
      nodes.push(el("table", { class: "build-steps" }, el("tr", null, el("th", { text: "step" }), el("th", { text: "symbols" }),
        el("th", { text: "merge (lowest rank first)" })), ...rows));
    } else if (w.family === "wordpiece") {
      nodes.push(el("table", { class: "build-steps" }, el("tr", null, el("th", { text: "at" }), el("th", { text: "longest piece" }),
        el("th", { text: "longer candidates tried" })), ...w.matches.map((m, k) => el("tr", { class: k === res.position ? "here" : "" },
        el("td", { text: String(m.start) }), el("td", null, m.piece === null ? "none: the whole word is unknown" : sym(m.piece)),
        el("td", { text: String(m.tried) })))));
    } else {
      nodes.push(el("table", { class: "build-steps" }, el("tr", null, el("th"), el("th", { text: "cut" }), el("th", { text: "score" })),
        ...w.cuts.map((c, k) => el("tr", { class: k === 0 ? "here" : "" }, el("td", { text: k === 0 ? "best" : "runner-up " + k }),
          el("td", null, ...c.pieces.map((p) => sym(p))), el("td", { text: c.score.toFixed(4) })))));
    }
    for (const n of w.notes) nodes.push(el("div", { class: "note", text: n }));
    nodes.push(el("div", { class: "badge " + (w.exact ? "ok" : "no"), text: w.exact ? "the replay ends in the tokenizer's own tokens"
      : "the replay differs from the tokenizer's tokens" }));
    return nodes;
  }

  // Hovering a token highlights its id and back; clicking scrolls to the other one.
  function linkPanes(tokens, ids, getView) {
    let current = -1;
    const mark = (i, on) => {
      for (const pane of [tokens, ids]) {
        const node = pane.children[i];
        if (node && node.dataset.i === String(i)) node.classList.toggle("hl", on);
      }
    };
    const over = (e) => {
      const node = e.target.closest("[data-i]");
      const view = getView();
      if (!node || !view) return;
      const i = Number(node.dataset.i);
      if (current >= 0) mark(current, false);
      current = i;
      mark(i, true);
      showTip(node, tokenTipLines(view, i));
    };
    const out = (e) => {
      if (e.relatedTarget && e.currentTarget.contains(e.relatedTarget)) return;
      if (current >= 0) mark(current, false);
      current = -1;
      hideTip();
    };
    const click = (other) => (e) => {
      const node = e.target.closest("[data-i]");
      if (!node) return;
      const twin = other.children[Number(node.dataset.i)];
      if (twin) twin.scrollIntoView({ block: "nearest", inline: "nearest" });
    };
    for (const [pane, other] of [[tokens, ids], [ids, tokens]]) {
      pane.addEventListener("mouseover", over);
      pane.addEventListener("mouseleave", out);
      pane.addEventListener("click", click(other));
    }
  }

  // ---------------------------------------------------------------- Compare
  const compareState = { started: false, controller: null, preset: null };

  function setupCompare() {
    const box = $("cmp-specs");
    config.tokenizers.forEach((spec, k) => {
      const input = el("input", { type: "checkbox", value: spec, checked: k < 8 });
      input.addEventListener("change", () => { compareState.preset = null; runCompare(); });
      box.append(el("label", { class: "chip", title: spec }, input, label(spec)));
    });
    $("cmp-text").value = config.book_text;
    $("cmp-text").addEventListener("input", debounce(runCompare, 300));
    $("cmp-book").addEventListener("click", () => {
      // The book's tokenizers as this server holds them (a folder may stand for a Hub id): those are
      // ticked, every configured one stays selectable, and the missing ones are named with why.
      const status = (config.preset_status || {}).book || { specs: config.presets.book || [], missing: {} };
      $("cmp-text").value = config.book_text;
      if (status.specs.length) for (const input of box.querySelectorAll("input")) input.checked = status.specs.includes(input.value);
      compareState.preset = null;
      drawPresetNotice(status);
      runCompare();
    });
  }

  function drawPresetNotice(status) {
    const missing = Object.entries(status.missing || {});
    const total = status.specs.length + missing.length;
    const head = missing.length
      ? `Book preset: ${status.specs.length} of its ${total} tokenizers are on this server; missing:`
      : `Book preset: all ${total} of its tokenizers are on this server.`;
    $("cmp-preset").replaceChildren(el("div", { class: "note", text: head }),
      ...missing.map(([spec, why]) => el("div", { class: "note missing", "data-spec": spec }, el("b", { text: spec }), ` — ${why}`)));
  }

  async function runCompare() {
    compareState.started = true;
    if (compareState.controller) compareState.controller.abort();
    const controller = new AbortController();
    compareState.controller = controller;
    const body = { text: $("cmp-text").value };
    if (compareState.preset) body.preset = compareState.preset;
    else body.tokenizers = [...$("cmp-specs").querySelectorAll("input:checked")].map((i) => i.value);
    if (!body.preset && !body.tokenizers.length) {
      $("cmp-rows").replaceChildren(el("p", { class: "hint", text: "Pick at least one tokenizer." }));
      return;
    }
    try {
      const res = await api("/api/compare", body, controller.signal);
      if (controller === compareState.controller) drawCompare(res);
    } catch (e) {
      if (!isAbort(e)) $("cmp-notice").replaceChildren(el("div", { class: "error", text: e.message }));
    }
  }

  function drawCompare(res) {
    $("cmp-notice").replaceChildren();
    const dis = res.disagreements;
    const card = el("div", { class: "card", id: "cmp-card" });
    for (const row of res.rows) card.append(compareRow(row, dis));
    $("cmp-rows").replaceChildren(card);
    drawDisagreements(res.text, dis, res.rows);
  }

  function compareRow(row, dis) {
    const name = el("div", { class: "cmp-name", text: label(row.tokenizer), title: row.tokenizer });
    if (row.error) {
      return el("div", { class: "cmp-row", "data-tokenizer": row.tokenizer }, name,
        el("div", { class: "cmp-err", text: "not available: " + row.error }));
    }
    const meta = el("div", { class: "cmp-meta" }, el("b", { text: fmtInt(row.count) }), " tokens · ",
      `${row.chars_per_token.toFixed(2)} chars/token · ${row.unknown} unknown`,
      el("span", { class: "badge " + (row.lossless ? "ok" : "no"), text: row.lossless ? "lossless" : "not lossless" }));
    const view = tokenView(row.tokens);
    const tokens = el("div", { class: "tokens tp" });
    const disputed = disputedTokens(row.tokens.offsets, dis);
    drawChunked(tokens, row.tokens.ids.length, (i) => {
      const span = tokenSpan(view, i, true);
      if (disputed.has(i)) span.classList.add("dis");
      return span;
    });
    tokens.addEventListener("mouseover", (e) => {
      const node = e.target.closest("[data-i]");
      if (node) showTip(node, tokenTipLines(view, Number(node.dataset.i)));
    });
    tokens.addEventListener("mouseleave", hideTip);
    return el("div", { class: "cmp-row", "data-tokenizer": row.tokenizer }, el("div", null, name, meta), tokens);
  }

  // Indices of tokens that overlap a stretch the tokenizers cut differently (both sorted by start).
  function disputedTokens(offsets, dis) {
    const out = new Set();
    let d = 0;
    offsets.forEach(([s, e], i) => {
      while (d < dis.length && dis[d].end <= s) d++;
      for (let k = d; k < dis.length && dis[k].start < e; k++) if (e > s && dis[k].end > s) { out.add(i); break; }
    });
    return out;
  }

  function drawDisagreements(text, dis, rows) {
    $("cmp-dis-card").hidden = rows.filter((r) => !r.error).length < 2;
    const box = $("cmp-dis");
    const chars = Array.from(text); // offsets count code points, as Python does
    const parts = [];
    let pos = 0;
    for (const d of dis) {
      parts.push(visibleWhitespace(chars.slice(pos, d.start).join("")));
      const mark = el("mark", { text: visibleWhitespace(d.text) });
      mark.addEventListener("mouseenter", () => showTip(mark, Object.entries(d.tokens).map(
        ([name, labels]) => [name, labels.length ? labels.map(oneLine).join(" | ") : "(dropped)"])));
      mark.addEventListener("mouseleave", hideTip);
      parts.push(mark);
      pos = d.end;
    }
    parts.push(visibleWhitespace(chars.slice(pos).join("")));
    const head = el("div", { class: "hint", text: dis.length ? `${dis.length} place(s) where the tokenizers cut differently`
      : "all tokenizers cut this text at the same places" });
    box.replaceChildren(head, el("div", null, ...parts));
  }

  // ---------------------------------------------------------------- Generate
  const genState = { controller: null, steps: [], selected: null, colour: null };

  function setupGenerate() {
    $("gen-run").addEventListener("click", runGenerate);
    $("gen-stop").addEventListener("click", () => genState.controller && genState.controller.abort());
    $("gen-prompt").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) runGenerate(); });
  }

  function numberOrNull(id) {
    const v = $(id).value.trim();
    return v === "" ? null : Number(v);
  }

  function generateBody() {
    const temperature = numberOrNull("gen-temp");
    const body = { prompt: $("gen-prompt").value, model: $("gen-model").value, max_new_tokens: numberOrNull("gen-max") || 40,
      show_top: numberOrNull("gen-top") ?? 5 };
    if (temperature) body.temperature = temperature;
    for (const [key, id] of [["top_k", "gen-topk"], ["top_p", "gen-topp"], ["seed", "gen-seed"]]) {
      const v = numberOrNull(id);
      if (v !== null) body[key] = v;
    }
    return body;
  }

  function setRunning(prefix, running) {
    $(prefix + "-run").disabled = running;
    if ($(prefix + "-stop")) $(prefix + "-stop").disabled = !running;
  }

  async function streamSteps(path, body, handlers, prefix) {
    const controller = new AbortController();
    genState.controller = controller;
    setRunning(prefix, true);
    try {
      const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify(body), signal: controller.signal });
      if (!res.ok) {
        let msg = `${res.status} ${res.statusText}`;
        try { msg = (await res.json()).error || msg; } catch (_) { /* keep status */ }
        throw new ApiError(msg);
      }
      await readEvents(res, (event, data) => (handlers[event] || (() => {}))(data));
    } catch (e) {
      if (isAbort(e)) handlers.stopped();
      else handlers.error({ error: e.message });
    } finally {
      setRunning(prefix, false);
    }
  }

  function runGenerate() {
    const out = $("gen-out");
    out.replaceChildren();
    genState.steps = [];
    $("gen-detail").replaceChildren(el("p", { class: "hint", text: "Click a generated token." }));
    $("gen-notes").replaceChildren();
    const status = $("gen-status");
    status.textContent = "loading the model…";
    const started = performance.now();
    genState.colour = colourChain();
    streamSteps("/api/generate", generateBody(), {
      prompt(data) {
        out.append(promptTokens(data, genState.colour));
        $("gen-notes").replaceChildren(...data.notes.map((n) => el("div", { class: "note", text: n })));
        status.textContent = "generating…";
      },
      step(step) {
        genState.steps.push(step);
        out.append(stepNode(step, genState.colour(step.id), selectStep));
        if (step.token.includes("\n") && !step.special) out.append(el("span", { class: "gen-break" }));
        status.textContent = `${tokenCount(step.index + 1)} · ${((performance.now() - started) / 1000).toFixed(1)} s`;
        if (step.index === 0) selectStep(0);
      },
      done(data) {
        const reasons = { eos: "the model ended the text", stop: "a stop string appeared",
          length: "reached the number of new tokens", time: "stopped at the server's time limit" };
        status.replaceChildren(el("b", { text: String(data.steps) }), ` new token${data.steps === 1 ? "" : "s"} · ${reasons[data.stop_reason] || data.stop_reason}` +
          ` · ${data.elapsed_s.toFixed(1)} s` + (data.seed !== null && data.seed !== undefined ? ` · seed ${data.seed}` : ""));
      },
      error(data) { status.replaceChildren(el("span", { class: "error", text: data.error })); },
      stopped() { status.textContent = `stopped after ${tokenCount(genState.steps.length)}`; },
    }, "gen");
  }

  const tokenCount = (n) => `${fmtInt(n)} token${n === 1 ? "" : "s"}`;

  // The prompt as the model reads it: its tokens on their colours, each id under its token.
  function promptTokens(data, colour) {
    const special = new Set(data.special);
    const cells = data.ids.map((id, i) => {
      const label = special.has(i) ? data.labels[i] : oneLine(data.labels[i]);
      const chip = el("span", { class: "tp-tok" + (special.has(i) ? " tp-special" : ""), text: label });
      chip.style.background = colour(id);
      return el("span", { class: "ptok", title: `prompt token #${i} · id ${id}` }, chip, el("span", { class: "pid", text: String(id) }));
    });
    return el("div", { class: "gen-prompt", "aria-label": "prompt tokens and ids" },
      el("div", { class: "hint", text: `prompt · ${tokenCount(data.ids.length)} (token above, id below)` }), ...cells);
  }

  function stepNode(step, colour, onSelect) {
    const label = step.special ? step.token : oneLine(step.token);
    const chip = el("span", { class: "tp-tok" + (step.special ? " tp-special" : ""), text: label });
    chip.style.background = colour;
    const fill = el("i");
    fill.style.width = Math.max(2, Math.round(step.prob * 100)) + "%";
    const node = el("span", { class: "step" + (step.prob < 0.1 ? " low" : ""), "data-step": step.index, role: "button",
      tabindex: 0, title: `id ${step.id} · p ${fmtProb(step.prob)}` }, chip, el("span", { class: "bar" }, fill));
    node.addEventListener("click", () => onSelect(step.index));
    node.addEventListener("keydown", (e) => { if (e.key === "Enter") onSelect(step.index); });
    return node;
  }

  // A step clicked in a strip of steps (Generate's, Infill's): marked there, its alternatives in the detail pane.
  function selectIn(strip, detail, steps, index) {
    const step = steps[index];
    if (!step) return;
    for (const n of $(strip).querySelectorAll(".step.sel")) n.classList.remove("sel");
    const node = $(strip).querySelector(`.step[data-step="${index}"]`);
    if (node) node.classList.add("sel");
    $(detail).replaceChildren(stepDetail(step));
  }
  const selectStep = (index) => selectIn("gen-out", "gen-detail", genState.steps, index);

  function stepDetail(step) {
    const facts = el("dl", null,
      el("dt", { text: "step" }), el("dd", { text: String(step.index + 1) }),
      el("dt", { text: "token" }), el("dd", { text: JSON.stringify(step.token) }),
      el("dt", { text: "id" }), el("dd", { text: String(step.id) }),
      el("dt", { text: "piece" }), el("dd", { text: JSON.stringify(step.piece) }),
      el("dt", { text: "probability" }), el("dd", { text: fmtProb(step.prob) }),
      el("dt", { text: "entropy" }), el("dd", { text: step.entropy.toFixed(2) + " bits" }));
    const table = el("table", { class: "alts" });
    for (const cand of step.top) {
      const chip = el("span", { class: "tp-tok", text: oneLine(cand.token) });
      chip.style.background = idColour(cand.id);
      const bar = el("div", { class: "pbar", title: fmtProb(cand.prob) });
      bar.style.width = Math.max(0.5, cand.prob * 100) + "%";
      table.append(el("tr", { class: cand.id === step.id ? "chosen" : null },
        el("td", { class: "alt" }, chip), el("td", { class: "barcell" }, bar), el("td", { class: "num", text: fmtProb(cand.prob) })));
    }
    const head = el("div", { class: "hint", text: step.top.length ? "what the model considered, most likely first" : "" });
    return el("div", null, facts, head, table);
  }

  // ---------------------------------------------------------------- Infill
  function setupInfill() {
    $("fim-run").addEventListener("click", runInfill);
  }

  const fimState = { steps: [] };

  const selectFimStep = (index) => selectIn("fim-steps", "fim-detail", fimState.steps, index);

  function runInfill() {
    const status = $("fim-status"), promptBox = $("fim-prompt"), result = $("fim-result");
    status.textContent = "loading the model…";
    $("fim-prompt-card").hidden = true;
    $("fim-result-card").hidden = true;
    $("fim-steps-card").hidden = true;
    $("fim-steps").replaceChildren();
    $("fim-detail").replaceChildren(el("p", { class: "hint", text: "Click a token of the middle." }));
    fimState.steps = [];
    const colour = colourChain();
    const prefix = $("fim-prefix").value, suffix = $("fim-suffix").value;
    let middle = "";
    const drawResult = () => {
      result.replaceChildren(prefix, el("mark", { text: middle }), suffix);
      $("fim-result-card").hidden = false;
    };
    streamSteps("/api/infill", { prefix, suffix, model: $("fim-model").value, max_new_tokens: numberOrNull("fim-max") || 48,
                                 heal: $("fim-heal").checked }, {
      prompt(data) {
        const view = { cols: { labels: data.labels }, special: new Set(data.special), fragment: new Set(), fromText: new Set(), added: new Set() };
        const colours = chainColours(data.ids);
        promptBox.replaceChildren(...data.ids.map((id, i) => {
          const span = el("span", { class: "tp-tok" + (view.special.has(i) ? " tp-special" : ""), text: shownLabel(view, i, true),
            title: `id ${id} · ${data.roles ? data.roles[i] : ""}` });
          span.style.background = colours[i];
          return span;
        }));
        $("fim-format").textContent = `${data.format} format · ${data.mode.toUpperCase()} order · ${data.ids.length} tokens`;
        $("fim-notes").replaceChildren(...data.notes.map((n) => el("div", { class: "note", text: n })));
        $("fim-prompt-card").hidden = false;
        status.textContent = "filling…";
      },
      step(step) {
        middle += step.text;
        drawResult();
        fimState.steps.push(step);
        $("fim-steps").append(stepNode(step, colour(step.id), selectFimStep));
        $("fim-steps-card").hidden = false;
        if (step.index === 0) selectFimStep(0);
        status.textContent = tokenCount(step.index + 1);
      },
      done(data) {
        middle = data.middle;
        drawResult();
        const reasons = { eos: "the model closed the middle", length: "reached the number of new tokens", time: "stopped at the server's time limit" };
        status.replaceChildren(el("b", { text: String(data.steps) }), ` token${data.steps === 1 ? "" : "s"} · ${reasons[data.stop_reason] || data.stop_reason} · ${data.elapsed_s.toFixed(1)} s`);
      },
      error(data) { status.replaceChildren(el("span", { class: "error", text: data.error })); },
      stopped() { status.textContent = "stopped"; },
    }, "fim");
  }

  // ---------------------------------------------------------------- Embeddings
  function setupEmbed() {
    for (const radio of document.querySelectorAll('input[name="emb-mode"]')) {
      radio.addEventListener("change", () => {
        const mode = embedMode();
        $("emb-word-row").hidden = mode !== "word";
        $("emb-texts").value = mode === "word"
          ? "I deposited money at the bank.\nThe bank raised its interest rates.\nWe had a picnic on the river bank.\nThe boat drifted toward the muddy bank."
          : mode === "tokens" ? "Hello world"
          : "A cat sat on the mat.\nA kitten was sleeping on the rug.\nThe stock market fell sharply today.\nShares dropped as investors sold.";
      });
    }
    $("emb-run").addEventListener("click", runEmbed);
  }
  const embedMode = () => document.querySelector('input[name="emb-mode"]:checked').value;

  async function runEmbed() {
    const lines = $("emb-texts").value.split("\n").map((l) => l.trim()).filter(Boolean);
    const status = $("emb-status");
    const common = { model: $("emb-model").value, layer: numberOrNull("emb-layer") ?? -1 };
    status.textContent = "embedding… (the first time loads the model)";
    $("emb-run").disabled = true;
    $("emb-tokens-card").hidden = true;
    try {
      if (embedMode() === "tokens") {
        const res = await api("/api/embed", { ...common, texts: lines.slice(0, 1), sentence: false });
        drawTokenVectors(res);
        $("emb-heat").replaceChildren(heatmap(res.similarity, res.labels, `cosine similarity between the tokens · layer ${res.layer}`));
        $("emb-scatter").replaceChildren(scatter(res.points, res.labels));
        $("emb-notes").replaceChildren(...res.notes.map((n) => el("div", { class: "note", text: n })));
        status.textContent = `${res.model} · layer ${res.layer} · shape [${res.shape.join(", ")}]`;
      } else if (embedMode() === "word") {
        const res = await api("/api/similar", { ...common, word: $("emb-word").value, contexts: lines });
        const labels = res.contexts.map((c, i) => `${i + 1}. ${c}`);
        $("emb-heat").replaceChildren(heatmap(res.similarity, labels, `“${res.word}” in context · layer ${res.layer}`),
          heatmap(res.static_similarity, labels, "static (input) embeddings: the same in every sentence"));
        $("emb-scatter").replaceChildren(scatter(res.points, labels));
        $("emb-notes").replaceChildren(...res.notes.map((n) => el("div", { class: "note", text: n })));
        status.textContent = `${res.model} · layer ${res.layer}`;
      } else {
        const res = await api("/api/embed", { ...common, texts: lines, sentence: true });
        const labels = res.texts.map((t, i) => `${i + 1}. ${t}`);
        $("emb-heat").replaceChildren(heatmap(res.similarity, labels, `${res.texts.length} texts · layer ${res.layer}`));
        $("emb-scatter").replaceChildren(scatter(res.points, labels));
        $("emb-notes").replaceChildren(...res.notes.map((n) => el("div", { class: "note", text: n })));
        status.textContent = `${res.texts.length} texts · ${res.model} · layer ${res.layer} · shape [${res.shape.join(", ")}]` +
          ` = ${res.axes.join(" × ")} · ${res.pooling || ""}`;
      }
    } catch (e) {
      status.replaceChildren(el("span", { class: "error", text: e.message }));
    } finally {
      $("emb-run").disabled = Boolean(config.features.embed);
    }
  }

  // One text's token vectors: the shape with its axes named (as the lesson's [1, 4, 384]: batch, tokens,
  // dimensions), then a row per token of its first values, coloured on the diverging scale.
  function drawTokenVectors(res) {
    $("emb-shape").textContent = `shape [${res.shape.join(", ")}] = ` +
      res.axes.map((a, k) => `${a} ${res.shape[k]}`).join(" × ") + ` · the first ${res.values[0] ? res.values[0].length : 0} values of each`;
    const scale = Math.max(1e-9, ...res.values.flat().map(Math.abs));
    const head = el("tr", null, el("th", { text: "token" }), ...(res.values[0] || []).map((_, d) => el("th", { text: String(d) })));
    const rows = res.values.map((row, i) => el("tr", null, el("th", { class: "tok", text: oneLine(res.labels[i]) }),
      ...row.map((v, d) => {
        const cell = el("td", { title: `${res.labels[i]} · dimension ${d} · ${v.toFixed(4)}` });
        cell.style.background = cellColour(v / scale);
        return cell;
      })));
    $("emb-tokens").replaceChildren(el("table", { class: "vec-heat", "aria-label": "token vectors" }, head, ...rows));
    $("emb-tokens-card").hidden = false;
  }

  // Diverging scale as render/embeddings.py: -1 red, 0 white, +1 blue.
  function cellColour(v) {
    v = Math.max(-1, Math.min(1, v));
    const end = v >= 0 ? [33, 102, 172] : [178, 24, 43];
    return "#" + end.map((c) => Math.round(255 + (c - 255) * Math.abs(v)).toString(16).padStart(2, "0")).join("");
  }
  const short = (t, n) => (t.length <= n ? t : t.slice(0, n - 1) + "…");

  function heatmap(matrix, labels, title) {
    const n = labels.length, cell = Math.max(16, Math.min(52, Math.floor(360 / Math.max(n, 1))));
    const left = 200, top = 44, width = left + n * cell + 8, height = top + n * cell + 8;
    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "heat" });
    root.append(svg("text", { x: 4, y: 16, "font-size": 12, "font-weight": 600, text: title }));
    for (let j = 0; j < n; j++) {
      root.append(svg("text", { x: left + j * cell + cell / 2, y: top - 8, "font-size": 11, "text-anchor": "middle", text: String(j + 1) }));
    }
    for (let i = 0; i < n; i++) {
      const y = top + i * cell;
      root.append(svg("text", { x: left - 8, y: y + cell / 2 + 4, "font-size": 11, "text-anchor": "end", text: short(labels[i], 30) },
        svg("title", { text: labels[i] })));
      for (let j = 0; j < n; j++) {
        const v = matrix[i][j], x = left + j * cell;
        root.append(svg("rect", { x, y, width: cell - 2, height: cell - 2, rx: 3, fill: cellColour(v) },
          svg("title", { text: `${labels[i]}\n${labels[j]}\ncosine ${v.toFixed(4)}` })));
        if (cell >= 30) {
          root.append(svg("text", { x: x + cell / 2 - 1, y: y + cell / 2 + 4, "font-size": 11, "text-anchor": "middle",
            fill: Math.abs(v) > 0.6 ? "#fff" : "#111", "pointer-events": "none", text: v.toFixed(2) }));
        }
      }
    }
    return root;
  }

  function scatter(points, labels) {
    const size = 420, pad = 36;
    const root = svg("svg", { width: size, height: size, viewBox: `0 0 ${size} ${size}`, role: "img", class: "scatter" });
    root.append(svg("rect", { x: 0.5, y: 0.5, width: size - 1, height: size - 1, fill: "#fcfcfd", stroke: "#e4e7ec" }));
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const scale = (vals, flip) => {
      const lo = Math.min(...vals), hi = Math.max(...vals), span = hi - lo || 1;
      return vals.map((v) => pad + (size - 2 * pad) * (flip ? hi - v : v - lo) / span);
    };
    const px = scale(xs, false), py = scale(ys, true);
    root.append(svg("text", { x: size / 2, y: size - 8, "font-size": 10, fill: "#98a2b3", "text-anchor": "middle", text: "PC1" }));
    root.append(svg("text", { x: 8, y: size / 2, "font-size": 10, fill: "#98a2b3", text: "PC2" }));
    points.forEach((_, i) => {
      root.append(svg("circle", { cx: px[i], cy: py[i], r: 5, fill: "#4f46e5", "fill-opacity": 0.85 }, svg("title", { text: labels[i] })));
      const right = px[i] < size * 0.6;
      root.append(svg("text", { x: px[i] + (right ? 8 : -8), y: py[i] - 7, "font-size": 11, "text-anchor": right ? "start" : "end",
        text: short(labels[i], 26) }));
    });
    return root;
  }

  document.addEventListener("DOMContentLoaded", start);
})();
