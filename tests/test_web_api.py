"""The JSON API over real HTTP: a uvicorn server on 127.0.0.1 (random port) driven with httpx.

Ids are checked against the reference libraries (tokenizers, transformers); every bad request must
be a 4xx JSON error that names no absolute path, and the server must keep serving afterwards.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import httpx  # noqa: E402

from conftest import FIXTURES, fixture  # noqa: E402
from web_live import LiveServer, read_events  # noqa: E402

from tokenprism.web import create_app  # noqa: E402

PRISM = Path(__file__).resolve().parents[1] / "src" / "tokenprism" / "assets" / "prism-tiny"
ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:[\w.\-]+/)+[\w.\-]+")


def gpt2_path() -> str:
    return str(fixture("tokenizers/gpt2"))


def fake_model() -> str:
    return str(fixture("models/fake-gpt2-random-tiny"))


@pytest.fixture(scope="module")
def live():
    if not FIXTURES.exists():
        pytest.skip("../shared/fixtures is absent beside the repo")
    app = create_app(tokenizers=["prism-tiny", gpt2_path()], models=[fake_model(), "prism-tiny"], max_new_tokens_cap=64)
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def client(live):
    with live.client() as c:
        yield c


def assert_error(response: httpx.Response, *codes: int) -> str:
    assert response.status_code in (codes or range(400, 500)), (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    assert not ABSOLUTE.search(body["error"]), f"error body reveals a path: {body['error']}"
    return body["error"]


# --- the happy paths, against the reference libraries ------------------------------------------------
def test_tokenize_matches_the_tokenizers_library(client) -> None:
    from tokenizers import Tokenizer

    ref = Tokenizer.from_file(str(PRISM / "tokenizer.json"))
    text = "def add(a, b):\n    return a + b  # 🎵 鸟 <s>"
    r = client.post("/api/tokenize", json={"text": text, "tokenizer": "prism-tiny"})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = ref.encode(text)
    assert body["tokens"]["ids"] == expected.ids
    assert body["count"] == len(expected.ids) and body["chars"] == len(text)
    # Character offsets: every token's span covers the text the reference says it covers.
    assert [text[s:e] for s, e in body["tokens"]["offsets"]] == [text[s:e] for s, e in expected.offsets]
    assert body["tokens"]["pieces"] == expected.tokens


def test_tokenize_a_configured_path_and_flags(client) -> None:
    from transformers import GPT2Tokenizer

    ref = GPT2Tokenizer.from_pretrained(gpt2_path())
    text = "Hello <|endoftext|> world"
    r = client.post("/api/tokenize", json={"text": text, "tokenizer": gpt2_path()})
    assert r.status_code == 200, r.text
    assert r.json()["tokens"]["ids"] == ref(text)["input_ids"] and r.json()["tokens"]["from_text"] == [2]
    r = client.post("/api/tokenize", json={"text": text, "tokenizer": gpt2_path(), "split_special_tokens": True})
    assert 50256 not in r.json()["tokens"]["ids"] and r.json()["tokens"]["from_text"] == []


def test_decode_and_info(client) -> None:
    from tokenizers import Tokenizer

    ref = Tokenizer.from_file(str(PRISM / "tokenizer.json"))
    ids = ref.encode("print('hi')").ids
    r = client.post("/api/decode", json={"ids": ids, "tokenizer": "prism-tiny"})
    assert r.status_code == 200 and r.json()["text"] == ref.decode(ids, skip_special_tokens=False)
    info = client.get("/api/info", params={"tokenizer": gpt2_path()}).json()
    assert info["vocab_size"] == 50257
    assert not ABSOLUTE.search(json.dumps([info["source"], info["files"]])), "info names the server's files"


def test_compare_rows_counts_and_refused_specs(client) -> None:
    from tokenizers import Tokenizer

    ref = Tokenizer.from_file(str(PRISM / "tokenizer.json"))
    text = "English and CAPITALIZATION\n12.0*50=600"
    r = client.post("/api/compare", json={"text": text, "tokenizers": ["prism-tiny", gpt2_path(), "bert-base-uncased"]})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert [row["tokenizer"] for row in rows] == ["prism-tiny", gpt2_path(), "bert-base-uncased"]
    assert rows[0]["count"] == len(ref.encode(text).ids)
    assert rows[2]["error"] and "not configured" in rows[2]["error"]
    assert r.json()["disagreements"], "prism-tiny and gpt2 cut this text differently"


def test_config_lists_what_was_configured(client) -> None:
    body = client.get("/api/config").json()
    assert body["tokenizers"] == ["prism-tiny", gpt2_path()]
    assert body["models"] == [fake_model(), "prism-tiny"]
    assert body["max_new_tokens_cap"] == 64 and "book" in body["presets"]


def test_openapi_describes_every_endpoint(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/tokenize", "/api/compare", "/api/decode", "/api/info", "/api/generate", "/api/infill",
                 "/api/embed", "/api/similar", "/api/config"):
        assert path in paths, path
    assert "TokenizeRequest" in json.dumps(client.get("/openapi.json").json()["components"])


def test_tokenizing_runs_off_the_event_loop(live, client) -> None:
    # While a long tokenization is in progress, the server still answers other requests at once.
    import threading

    times: dict[str, float] = {}

    def long_request() -> None:
        with live.client() as c:
            times["start"] = time.monotonic()
            with c.stream("POST", "/api/tokenize", json={"text": "word " * 190_000, "tokenizer": gpt2_path()}) as r:
                times["answered"] = time.monotonic()  # headers in: the server's work is done
                assert r.status_code == 200

    worker = threading.Thread(target=long_request)
    worker.start()
    time.sleep(0.15)
    asked = time.monotonic()
    assert client.get("/api/config").status_code == 200
    times["config"] = time.monotonic()
    worker.join()
    assert times["config"] < times["answered"], "the event loop waited for the tokenization"
    assert times["config"] - asked < (times["answered"] - times["start"]) / 2


# --- bad requests: 4xx JSON, never a 500, and the server keeps serving ------------------------------
BAD_REQUESTS = [
    ("post", "/api/tokenize", b"{not json", 400),
    ("post", "/api/tokenize", b"[1, 2]", 422),
    ("post", "/api/tokenize", b"\"just a string\"", 422),
    ("post", "/api/tokenize", b"{}", 422),
    ("post", "/api/tokenize", b'{"text": 5}', 422),
    ("post", "/api/tokenize", b'{"text": "x", "add_special_tokens": "yes"}', 422),
    ("post", "/api/tokenize", b'{"text": "x", "tokenzier": "gpt2"}', 422),
    ("post", "/api/tokenize", b'{"text": "x", "tokenizer": "no-such-tokenizer"}', 403),
    ("post", "/api/tokenize", b'{"text": "x", "tokenizer": 7}', 422),
    ("post", "/api/tokenize", b"\xff\xfe{\"text\": 1}", 400),
    ("post", "/api/decode", b'{"ids": [1, 99999999]}', 422),
    ("post", "/api/decode", b'{"ids": [-1]}', 422),
    ("post", "/api/decode", b'{"ids": ["a"]}', 422),
    ("post", "/api/decode", b'{"ids": [1.5]}', 422),
    ("post", "/api/decode", b'{"ids": 5}', 422),
    ("post", "/api/compare", b'{"tokenizers": "prism-tiny"}', 422),
    ("post", "/api/compare", b'{"preset": "nope"}', 400),
    ("post", "/api/generate", b'{"prompt": "x", "max_new_tokens": "many"}', 422),
    ("post", "/api/generate", b'{"prompt": "x", "temperature": -1}', 400),
    ("post", "/api/generate", b'{"prompt": ""}', 422),
    ("post", "/api/generate", b'{"prompt": "x", "model": "gpt2"}', 403),
    ("post", "/api/embed", b'{"texts": []}', 422),
    ("post", "/api/similar", b'{"word": "x"}', 422),
    ("get", "/api/info?tokenizer=nope", None, 403),
    ("get", "/api/tokenize", None, 405),
    ("get", "/api/nothing-here", None, 404),
    ("delete", "/api/config", None, 405),
]


@pytest.mark.parametrize("method,path,body,status", BAD_REQUESTS, ids=[f"{m} {p} {b!r}"[:60] for m, p, b, _ in BAD_REQUESTS])
def test_bad_request_is_a_4xx_json_error(client, method, path, body, status) -> None:
    r = client.request(method.upper(), path, content=body, headers={"content-type": "application/json"})
    assert_error(r, status)
    assert client.get("/api/config").status_code == 200, "the server stopped serving"


def test_non_json_content_type_is_a_4xx(client) -> None:
    assert_error(client.post("/api/tokenize", data={"text": "x"}))
    assert_error(client.post("/api/tokenize", content=b"text=x", headers={"content-type": "text/plain"}))


def test_a_lone_surrogate_is_answered_not_crashed_on(client) -> None:
    r = client.post("/api/tokenize", content=b'{"text": "a\\ud800b", "tokenizer": "prism-tiny"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["notes"], r.text


# --- safety defaults ---------------------------------------------------------------------------------
def test_body_over_the_limit_is_413(live, client) -> None:
    big = json.dumps({"text": "x" * 1_100_000}).encode()
    assert_error(client.post("/api/tokenize", content=big, headers={"content-type": "application/json"}), 413)

    def chunks():  # no Content-Length: the limit must hold on the bytes that actually arrive
        for _ in range(12):
            yield b"x" * 100_000

    r = client.post("/api/tokenize", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413)
    ok = client.post("/api/tokenize", json={"text": "y" * 900_000})
    assert ok.status_code == 200 and ok.json()["chars"] == 900_000


def test_past_the_concurrency_limit_is_429_at_once() -> None:
    import asyncio

    app = create_app(tokenizers=["prism-tiny"], concurrency_limit=1)
    release = threading.Event()

    @app.post("/held")
    async def held() -> dict:  # a request the app is still working on holds the only slot
        while not release.is_set():
            await asyncio.sleep(0.02)
        return {}

    with LiveServer(app) as server:
        # a request whose body never finishes holds no slot (issue 16: slow senders cannot fill them)
        stalled = socket.create_connection(("127.0.0.1", server.port))
        stalled.sendall(f"POST /api/tokenize HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode())
        holder = threading.Thread(target=lambda: httpx.post(f"{server.url}/held", json={}, timeout=30), daemon=True)
        try:
            with server.client() as c:
                time.sleep(0.3)
                assert c.get("/api/config").status_code == 200
                holder.start()
                deadline = time.monotonic() + 10
                while _active(server.app) < 1 and time.monotonic() < deadline:
                    time.sleep(0.02)
                started = time.monotonic()
                r = c.get("/api/config")
                assert_error(r, 429)
                assert time.monotonic() - started < 2, "429 must come at once, not after queueing"
        finally:
            release.set()
            stalled.close()
            holder.join(timeout=10)
        with server.client() as c:
            deadline = time.monotonic() + 10
            while c.get("/api/config").status_code == 429 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert c.get("/api/config").status_code == 200


def _active(app) -> int:
    guard = app.middleware_stack
    while guard is not None and type(guard).__name__ != "Guard":
        guard = getattr(guard, "app", None)
    return guard.active if guard is not None else 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost.evil.example:{port}", ""])
def test_a_foreign_host_header_is_refused(live, host) -> None:
    with httpx.Client(timeout=10) as c:
        r = c.get(f"{live.url}/api/config", headers={"host": host.format(port=live.port)})
    assert_error(r, 400, 421)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_loopback_host_headers_are_served(live, host) -> None:
    with httpx.Client(timeout=10) as c:
        assert c.get(f"{live.url}/api/config", headers={"host": host.format(port=live.port)}).status_code == 200


def test_no_cors_and_other_sites_pages_are_refused(live, client) -> None:
    own = client.get("/api/config", headers={"origin": live.url})
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers
    assert_error(client.post("/api/tokenize", json={"text": "x"}, headers={"origin": "http://evil.example"}), 403)
    pre = client.options("/api/tokenize", headers={"origin": "http://evil.example", "access-control-request-method": "POST"})
    assert pre.status_code >= 400 and "access-control-allow-origin" not in pre.headers


def test_the_page_is_served_with_a_strict_content_security_policy(client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "<title>tokenprism</title>" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for name in ("app.js", "app.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "innerHTML" not in client.get("/static/app.js").text.replace("never innerHTML", "")


def test_a_path_in_a_request_is_refused_unless_allowed(client, tmp_path) -> None:
    bert = str(fixture("tokenizers/bert-base-uncased"))
    error = assert_error(client.post("/api/tokenize", json={"text": "x", "tokenizer": bert}), 403)
    assert "--allow-local-paths" in error
    assert_error(client.post("/api/generate", json={"prompt": "x", "model": str(tmp_path)}), 403)
    app = create_app(tokenizers=["prism-tiny"], allow_local_paths=True)
    with LiveServer(app) as server, server.client() as c:
        r = c.post("/api/tokenize", json={"text": "Hello world", "tokenizer": bert})
        assert r.status_code == 200 and r.json()["tokens"]["labels"] == ["[CLS]", "hello", "world", "[SEP]"]
        # A folder with no tokenizer: the library names the folder; the answer must not.
        (tmp_path / "empty").mkdir()
        error = assert_error(c.post("/api/tokenize", json={"text": "x", "tokenizer": str(tmp_path / "empty")}))
        assert str(tmp_path) not in error and "…/empty" in error


# --- generation as server-sent events ----------------------------------------------------------------
def _generate(client, **body):
    with client.stream("POST", "/api/generate", json=body) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(read_events(r))


def test_generation_streams_the_reference_greedy_ids(client) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    events = _generate(client, prompt="Hello, my name is", model=fake_model(), max_new_tokens=12)
    kinds = [k for k, _ in events]
    assert kinds[0] == "prompt" and kinds[-1] == "done" and set(kinds[1:-1]) == {"step"}
    prompt, steps, done = events[0][1], [d for k, d in events if k == "step"], events[-1][1]
    ref = AutoModelForCausalLM.from_pretrained(fake_model()).eval()
    with torch.inference_mode():
        out = ref.generate(torch.tensor([prompt["ids"]]), max_new_tokens=12, do_sample=False,
                           pad_token_id=ref.config.eos_token_id)
    expected = out[0, len(prompt["ids"]):].tolist()
    assert [s["id"] for s in steps] == expected[: len(steps)]
    assert done["steps"] == len(steps) and done["stop_reason"] in ("eos", "length")
    assert all(0 <= s["prob"] <= 1 and s["top"] and s["top"][0]["prob"] >= s["top"][-1]["prob"] for s in steps)


def test_max_new_tokens_is_capped(client) -> None:
    events = _generate(client, prompt="Hello", model=fake_model(), max_new_tokens=10_000, show_top=0)
    assert events[0][1]["max_new_tokens"] == 64 and any("capped" in n for n in events[0][1]["notes"])
    assert len([k for k, _ in events if k == "step"]) <= 64


def test_a_generation_past_its_time_limit_is_stopped() -> None:
    app = create_app(tokenizers=["prism-tiny"], models=[fake_model()], generation_timeout_s=0.001)
    with LiveServer(app) as server, server.client() as c:
        events = _generate(c, prompt="Hello", max_new_tokens=50)
    assert events[-1] == ("done", events[-1][1]) and events[-1][1]["stop_reason"] == "time"
    assert len([k for k, _ in events if k == "step"]) < 50


def test_a_client_that_disconnects_cancels_its_generation() -> None:
    app = create_app(tokenizers=["prism-tiny"], models=[fake_model()], max_new_tokens_cap=1000)
    slots = app.state.tokenprism.slots
    with LiveServer(app) as server, server.client() as c:
        with c.stream("POST", "/api/generate", json={"prompt": "Hello", "max_new_tokens": 1000}) as r:
            assert r.status_code == 200, r.read()
            seen = 0
            for event, _ in read_events(r):
                seen += event == "step"
                if seen == 3:
                    break
        deadline = time.monotonic() + 20
        while slots.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == 3
        assert slots.running == 0, "the generation kept running after its client left"
        assert slots.last_steps < 1000


def test_generation_slots_are_limited(live) -> None:
    app = create_app(tokenizers=["prism-tiny"], models=[fake_model()], generation_limit=1, max_new_tokens_cap=1000)
    with LiveServer(app) as server, server.client() as c:
        with c.stream("POST", "/api/generate", json={"prompt": "Hello", "max_new_tokens": 1000}) as r:
            assert r.status_code == 200, r.read()
            events = read_events(r)  # keep it: a dropped generator closes the connection (and cancels)
            assert next(events)[0] == "prompt"
            assert_error(c.post("/api/generate", json={"prompt": "Hello"}), 429)


def test_prism_tiny_generation_streams_steps(client) -> None:
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    events = _generate(client, prompt="def add(a, b):", model="prism-tiny", max_new_tokens=6)
    assert events[0][0] == "prompt" and len([k for k, _ in events if k == "step"]) >= 1 and events[-1][0] == "done"


def test_infill_streams_the_middle_with_the_fim_prompt(client) -> None:
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    from tokenizers import Tokenizer

    ref = Tokenizer.from_file(str(PRISM / "tokenizer.json"))
    prefix, suffix = "def add(a, b):\n    ", "\n\nprint(add(1, 2))"
    with client.stream("POST", "/api/infill", json={"prefix": prefix, "suffix": suffix, "model": "prism-tiny",
                                                    "max_new_tokens": 12}) as r:
        assert r.status_code == 200, r.read()
        events = list(read_events(r))
    prompt, done = events[0][1], events[-1][1]
    assert events[0][0] == "prompt" and events[-1][0] == "done"
    # StarCoder-style PSM prompt, each sentinel one special token, as the tokenizers library reads it.
    assert prompt["prompt"] == f"<fim_prefix>{prefix.rstrip()}<fim_suffix>{suffix}<fim_middle>"  # token healing took "\n    " back
    assert any("token healing" in n for n in prompt["notes"])
    assert prompt["ids"] == ref.encode(prompt["prompt"]).ids
    assert [prompt["labels"][i] for i in prompt["special"]] == ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"]
    assert done["text"] == prefix + done["middle"] + suffix and done["stop_reason"] in ("eos", "length")
    assert "".join(d["text"] for k, d in events if k == "step") == done["middle"]


def test_infill_without_healing_sends_the_prefix_as_given(client) -> None:
    if not (PRISM / "model.safetensors").is_file():
        pytest.skip("the bundled prism-tiny model is not built yet")
    prefix, suffix = "def add(a, b):\n    ", "\n\nprint(add(1, 2))"
    with client.stream("POST", "/api/infill", json={"prefix": prefix, "suffix": suffix, "model": "prism-tiny", "max_new_tokens": 2,
                                                    "heal": False}) as r:
        assert r.status_code == 200, r.read()
        events = list(read_events(r))
    assert events[0][1]["prompt"] == f"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>"
    assert not any("token healing" in n for n in events[0][1]["notes"])
    assert events[-1][1]["text"] == prefix + events[-1][1]["middle"] + suffix


def test_infill_with_a_model_without_sentinels_is_a_4xx(client) -> None:
    error = assert_error(client.post("/api/infill", json={"prefix": "a", "suffix": "b", "model": fake_model()}))
    assert "FIM" in error or "sentinel" in error


# --- embeddings (loads a real encoder: slow) ---------------------------------------------------------
@pytest.mark.slow
def test_embed_similarity_matches_sentence_transformers(client) -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import SentenceTransformer

    from tokenprism.embeddings.model import load_embedding_model

    texts = ["A cat sat on the mat.", "A kitten slept on the rug.", "Stocks fell sharply today."]
    r = client.post("/api/embed", json={"texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    ref = SentenceTransformer(str(load_embedding_model().folder), device="cpu").encode(texts, normalize_embeddings=True)
    expected = ref @ ref.T
    assert len(body["points"]) == 3 and len(body["similarity"]) == 3
    for i in range(3):
        for j in range(3):
            assert abs(body["similarity"][i][j] - float(expected[i][j])) < 1e-3
    sim = client.post("/api/similar", json={"word": "bank", "contexts": ["the river bank", "the bank raised rates"]})
    assert sim.status_code == 200 and len(sim.json()["similarity"]) == 2, sim.text


# --- the command ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_tokenprism_serve_starts_and_serves(tmp_path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tokenprism", "serve", "--port", str(port), "-t", gpt2_path()],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/config", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() is not None else "timeout"
                time.sleep(0.2)
        assert r.json()["tokenizers"] == [gpt2_path()] and r.json()["models"] == ["prism-tiny"]
        tok = httpx.post(f"http://127.0.0.1:{port}/api/tokenize", json={"text": "Hello world"}, timeout=10)
        assert tok.json()["tokens"]["ids"] == [15496, 995]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_create_app_is_public() -> None:
    import tokenprism

    assert tokenprism.create_app is create_app
