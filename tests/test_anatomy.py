"""How a token is built (tokenizers/anatomy.py): the replay of each tokenizer's model.

The bar: on every fixture tokenizer and every llama.cpp test string, the replay ends in exactly the
tokens the tokenizer produced. The steps themselves are checked against the reference files and
libraries: BPE ranks against merges.txt / the .tiktoken ranks / sentencepiece's scores, Unigram's
runners-up against sentencepiece's own n-best.
"""

from __future__ import annotations

import doctest
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import PRISM_TINY, find_fixture, fixture

from tokenprism import InputError, load_tokenizer
from tokenprism.tokenizers import anatomy, anatomy_values
from tokenprism.tokenizers.anatomy import best_cuts, explain_token, explain_tokens, longest_match, replay_bpe

_SEP = "\n__ggml_vocab_test__\n"
VOCABS = ["bert-bge", "gpt-2", "llama-spm", "phi-3", "starcoder"]

#: every fixture tokenizer: a path under tokenizers/ (or llama-cpp-vocab/), or prism-tiny
TOKENIZERS = [
    "tokenizers/gpt2", "tokenizers/bert-base-uncased", "tokenizers/bert-base-cased", "tokenizers/flan-t5/tokenizer.json",
    "tokenizers/flan-t5/spiece.model", "tokenizers/phi-3-mini/tokenizer.json", "tokenizers/phi-3-mini/tokenizer.model",
    "tokenizers/qwen2/tokenizer.json.gz", "tokenizers/deberta-v3/spm.model", "tokenizers/starcoder2/tokenizer.json",
    "tokenizers/openai-tiktoken/cl100k_base.tiktoken", "tokenizers/openai-tiktoken/o200k_base.tiktoken", "prism-tiny",
    *(f"llama-cpp-vocab/ggml-vocab-{name}.gguf" for name in VOCABS),
    "alone:tokenizers/phi-3-mini/tokenizer.model",
]


def load(relative: str):
    """A fixture tokenizer; "alone:" loads a copy of the file without the settings beside it (here: the
    SentencePiece model as sentencepiece itself runs it, not as transformers' LlamaTokenizer class)."""
    if relative == "prism-tiny":
        return load_tokenizer(str(PRISM_TINY))
    if relative.startswith("alone:"):
        source = fixture(relative.removeprefix("alone:"))
        copy = Path(tempfile.mkdtemp()) / source.name
        shutil.copyfile(source, copy)
        return load_tokenizer(str(copy))
    return load_tokenizer(str(fixture(relative)))


def llama_cpp_strings() -> list[str]:
    """The test strings of every llama.cpp vocab test file there is (exact bytes, as test-tokenizer-0 reads them)."""
    texts: dict[str, None] = {}
    for name in VOCABS:
        path = find_fixture(f"llama-cpp-vocab/ggml-vocab-{name}.gguf.inp")
        if path is not None:
            texts.update(dict.fromkeys(path.read_bytes().decode("utf-8").split(_SEP)))
    if not texts:
        pytest.skip("no llama.cpp vocab test strings (tests/data/llama-cpp-vocab or ../shared/fixtures)")
    return list(texts)


# --- the bar: the replay ends in the tokenizer's own tokens -----------------------------------------
@pytest.mark.parametrize("relative", TOKENIZERS)
def test_replay_ends_in_the_tokens_the_tokenizer_produced(relative: str) -> None:
    tok = load(relative)
    for text in llama_cpp_strings():
        for split in (False, True):
            enc = tok.encode(text, split_special_tokens=split)
            built = explain_tokens(tok, text, split_special_tokens=split)
            assert [t.id for t in built.tokens] == enc.ids
            for word in built.words:
                assert word.exact, (relative, text, word.symbols, word.replayed, word.ids)
                assert word.ids == enc.ids[word.first : word.first + len(word.ids)]
            # every token is built by exactly one word, or is a special / added token the model never saw
            covered = sorted(i for w in built.words for i in range(w.first, w.first + len(w.ids)))
            assert covered == sorted(set(covered))
            outside = [t.index for t in built.tokens if t.word is None]
            assert sorted(covered + outside) == list(range(enc.count))
            assert all(enc.special[i] or i in enc.added or tok.id_to_piece(enc.ids[i]) in text for i in outside)


@pytest.mark.parametrize("relative", ["tokenizers/gpt2", "tokenizers/phi-3-mini/tokenizer.json",
                                      "tokenizers/flan-t5/spiece.model", "tokenizers/openai-tiktoken/cl100k_base.tiktoken"])
def test_bpe_steps_rebuild_each_token_from_its_characters(relative: str) -> None:
    """The token's symbols before its first merge are its characters; after its last, the token itself."""
    tok = load(relative)
    text = "Write an email apologizing to Sarah for the tragic gardening mishap."
    for t in explain_tokens(tok, text).tokens:
        if t.word is None or t.word.family != "bpe":
            continue
        states = t.states()
        start, end = t.span
        assert states[0] == list(t.word.symbols[start:end])
        assert len(states) == len(t.steps) + 1
        if t.word.spans.count(t.span) == 1:  # not one of several byte-fallback tokens of one character
            assert states[-1] == [t.word.final[t.position]]


# --- the steps against the reference files ----------------------------------------------------------
def test_gpt2_merge_ranks_are_the_lines_of_merges_txt() -> None:
    lines = [line for line in fixture("tokenizers/gpt2/merges.txt").read_text(encoding="utf-8").split("\n")
             if line and not line.startswith("#version")]
    rank = {line: i for i, line in enumerate(lines)}
    t = explain_token(str(fixture("tokenizers/gpt2")), "Hello world", 1)
    assert t.piece == "Ġworld" and t.word.rank_name == "merge rank"
    assert [m.merged for m in t.steps][-1] == "Ġworld"
    assert [m.rank for m in t.steps] == [rank[f"{m.left} {m.right}"] for m in t.steps]


def test_tiktoken_ranks_are_the_ranks_file() -> None:
    import base64

    path = fixture("tokenizers/openai-tiktoken/cl100k_base.tiktoken")
    ranks = {base64.b64decode(tok): int(r) for tok, r in (line.split() for line in path.read_text().splitlines() if line)}
    tok = load_tokenizer(str(path))
    from tokenprism.tokenizers.anatomy import symbol_text

    for t in explain_tokens(tok, " unbelievable tokenization").tokens:
        for m in t.steps:
            assert m.rank == ranks[symbol_text(m.merged, byte_level=True).encode()]


def test_sentencepiece_bpe_ranks_are_minus_the_scores() -> None:
    import sentencepiece as spm

    path = fixture("tokenizers/phi-3-mini/tokenizer.model")
    sp = spm.SentencePieceProcessor(model_file=str(path))
    t = explain_token(load("alone:tokenizers/phi-3-mini/tokenizer.model"), "a gardening mishap", 2)
    assert t.steps and t.word.rank_name == "−score"
    assert [m.rank for m in t.steps] == [-sp.get_score(sp.piece_to_id(m.merged)) for m in t.steps]


@pytest.mark.parametrize("relative", ["tokenizers/flan-t5/spiece.model", "tokenizers/deberta-v3/spm.model"])
def test_unigram_runners_up_are_sentencepieces_n_best(relative: str) -> None:
    import sentencepiece as spm

    path = fixture(relative)
    sp = spm.SentencePieceProcessor(model_file=str(path))
    built = explain_tokens(str(path), "gardening mishap tokenization unbelievable")
    assert len(built.words) == 4
    for word in built.words:
        reference = sp.nbest_encode(word.symbols.replace("▁", " ").strip(), nbest_size=4, out_type="proto")
        assert [list(c.pieces) for c in word.cuts] == [[p.piece for p in n.pieces] for n in reference.nbests]
        assert [c.score for c in word.cuts] == pytest.approx([n.score for n in reference.nbests], abs=1e-3)
        assert list(word.cuts[0].pieces) == word.pieces


def test_unigram_in_tokenizer_json_cuts_as_tokenizers_does() -> None:
    t = explain_token(str(fixture("tokenizers/flan-t5/tokenizer.json")), "a gardening mishap", 1)
    assert t.word.family == "unigram" and t.word.cuts[0].pieces == tuple(t.word.pieces)
    assert [c.score for c in t.word.cuts] == sorted((c.score for c in t.word.cuts), reverse=True)


def test_wordpiece_longest_match_steps() -> None:
    path = str(fixture("tokenizers/bert-base-uncased"))
    t = explain_token(path, "Tokenization", 2)  # [CLS] token ##ization [SEP]
    assert (t.piece, t.position) == ("##ization", 1)
    assert [m.piece for m in t.word.matches] == ["token", "##ization"]
    assert t.word.matches[0].tried == len("ization")
    unknown = explain_token(path, "a 🎵x b", 2)
    assert unknown.piece == "[UNK]" and unknown.word.matches[-1].piece is None and unknown.word.exact
    long_word = explain_token(path, "a" * 101, 1)
    assert long_word.piece == "[UNK]" and long_word.word.matches == [anatomy.Match(0, 101, None, 0)]


def test_byte_fallback_and_unknown_notes() -> None:
    t = explain_token(str(fixture("tokenizers/phi-3-mini/tokenizer.json")), "x 🎵", 2)
    assert t.word is not None and any("byte fallback" in n for n in t.word.notes)
    u = explain_token(str(fixture("tokenizers/flan-t5/spiece.model")), "x 中文", -1)
    assert u.id == 2 and any("unknown token" in n for n in u.word.notes)


# --- the pure algorithms --------------------------------------------------------------------------
def test_pure_algorithms_and_doctests() -> None:
    ranks = {("a", "a"): 0, ("aa", "a"): 1}
    assert replay_bpe(list("aaa"), lambda a, b: ranks.get((a, b)))[0] == ["aaa"]
    # ties go to the leftmost pair: "aaaa" → "aa" "aa", never "a" "aa" "a"
    assert replay_bpe(list("aaaa"), lambda a, b: {("a", "a"): 0}.get((a, b)))[0] == ["aa", "aa"]
    assert [m.piece for m in longest_match("xyz", {"x", "##y"})] == ["x", "##y", None]
    cuts = best_cuts("ab", {"a": -1.0, "b": -1.0, "ab": -2.0}.get, unk_score=-20.0, longest=2, n=3)
    assert [c.pieces for c in cuts] == [("ab",), ("a", "b")]  # equal scores: the longer last piece first
    assert doctest.testmod(anatomy).failed == 0 and doctest.testmod(anatomy_values).failed == 0


def test_explain_token_index_and_tokens_outside_words() -> None:
    path = str(fixture("tokenizers/phi-3-mini/tokenizer.json"))
    text = "Write a short apology email to Sarah about a gardening mistake.<|assistant|>"
    last = explain_token(path, text, -1)
    assert last.piece == "<|assistant|>" and last.word is None and "special token" in last.why
    with pytest.raises(InputError, match="no token 99"):
        explain_token(path, text, 99)
    cls = explain_token(str(fixture("tokenizers/bert-base-uncased")), "hi", 0)
    assert cls.piece == "[CLS]" and "added around the text" in cls.why


# --- the views -------------------------------------------------------------------------------------
def test_views_escape_and_show_the_steps() -> None:
    from rich.console import Console

    from tokenprism.render.anatomy import anatomy_view, token_anatomy_view

    tok = load_tokenizer(str(fixture("tokenizers/gpt2")))
    evil = "<img src=x onerror=alert(1)>"
    t = explain_token(tok, evil, 1)
    page = t._repr_html_()
    whole_evil = explain_tokens(tok, evil)._repr_html_()
    assert "<img" not in page and "<img" not in whole_evil and "&lt;" in whole_evil
    assert "merge rank" in page
    whole = explain_tokens(tok, "Hello world")._repr_html_()
    assert whole.count("merge rank") >= 2
    console = Console(width=120, record=True, color_system=None)
    console.print(token_anatomy_view(explain_token(tok, "Hello world", 1)))
    console.print(anatomy_view(explain_tokens(str(fixture("tokenizers/flan-t5/spiece.model")), "gardening")))
    out = console.export_text()
    assert "Ġwor + ld → Ġworld" in out and "▁garden | ing" in out


# --- the shells --------------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokenprism", *args], capture_output=True, text=True, timeout=120, check=False,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "NO_COLOR": "1"})


def test_cli_tokenize_explain() -> None:
    bert = str(fixture("tokenizers/bert-base-uncased"))
    shown = run_cli("tokenize", "unbelievable tokenization", "-t", bert, "--explain")
    assert shown.returncode == 0, shown.stderr
    assert "longest piece at the start of 'tokenization' is 'token'" in shown.stdout
    data = json.loads(run_cli("tokenize", "Hello world", "-t", str(fixture("tokenizers/gpt2")), "--explain", "--json").stdout)
    assert data["exact"] and [t["piece"] for t in data["tokens"]] == ["Hello", "Ġworld"]
    assert data["words"][data["tokens"][1]["word"]]["symbols"] == "Ġworld"
    clash = run_cli("tokenize", "x", "--explain", "--ids-only")
    assert clash.returncode == 2 and "--ids-only" in clash.stderr


def test_cli_explain_fast_path_equals_click(capsys) -> None:
    from tokenprism.cli import main
    from tokenprism.cli._fast import fast_command

    args = ["tokenize", "def f(x):", "--explain", "--json"]
    assert fast_command(args) is not None
    fast = (main(args), capsys.readouterr().out)
    slow = (main(["tokenize", "--explain", "--json", "--", "def f(x):"]), capsys.readouterr().out)
    assert fast == slow and json.loads(fast[1])["exact"]


def test_web_api_explain_token() -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from web_live import LiveServer

    from tokenprism.web import create_app

    deberta = str(fixture("tokenizers/deberta-v3/spm.model"))
    app = create_app(tokenizers=["prism-tiny", deberta])
    with LiveServer(app) as server, server.client() as client:
        r = client.post("/api/explain-token", json={"text": "def add(a, b):", "index": 1})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["piece"] == load_tokenizer("prism-tiny").encode("def add(a, b):").pieces[1]
        assert body["steps"][-1]["after"] == [body["piece"]] and body["word"]["exact"]
        r = client.post("/api/explain-token", json={"text": "a gardening mishap", "index": 2, "tokenizer": deberta})
        body = r.json()
        assert r.status_code == 200 and body["word"]["family"] == "unigram" and len(body["word"]["cuts"]) == 4
        assert str(Path(deberta).parent.parent) not in r.text  # no absolute path of the server's files
        bad = client.post("/api/explain-token", json={"text": "hi", "index": 40})
        assert bad.status_code == 422 and "no token 40" in bad.json()["error"]
        assert client.post("/api/explain-token", json={"text": "hi", "index": "1"}).status_code == 422


@pytest.mark.browser
@pytest.mark.slow
def test_page_click_on_a_token_shows_how_it_was_built() -> None:
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("uvicorn")
    from test_web_browser import ARGS
    from web_live import LiveServer

    from tokenprism.web import create_app

    with LiveServer(create_app(tokenizers=["prism-tiny"])) as server, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS)
        page = browser.new_context(bypass_csp=True).new_page()  # the page forbids eval; wait_for_function uses it
        page.goto(server.url + "/")
        page.fill("#tok-text", "def tokenize(text):")
        enc = load_tokenizer("prism-tiny").encode("def tokenize(text):")
        page.wait_for_function(f"document.querySelectorAll('#tok-tokens [data-i]').length === {enc.count}")
        page.wait_for_timeout(300)  # the debounced tokenize of the last keystroke has answered
        piece = enc.pieces[1]
        page.click("#tok-tokens [data-i='1']")
        page.wait_for_selector("#tok-build .build-steps")
        panel = page.inner_text("#tok-build")
        assert "How token #1 was built" in panel and "the replay ends in the tokenizer's own tokens" in panel
        last = page.eval_on_selector_all("#tok-build .build-steps tr:last-child .sym", "nodes => nodes.map(n => n.textContent)")
        assert last == [piece.replace(" ", "·")]
        browser.close()
