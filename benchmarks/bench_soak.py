"""Soak: `tokenprism serve` (a subprocess on 127.0.0.1, loopback only) under 50 clients for --minutes
(default 10) of mixed requests — tokenize, decode, info, compare, explain-token, config, generate and
infill (streamed, a few tokens), and now and then a bad request (invalid JSON, an id out of range, a
body too large) and a slow sender that stops half-way, as real pages and scripts do.

Reports the status counts per endpoint, and the server's resident memory (VmRSS) at the start (after a
warm-up), the middle and the end. Bars (issue 16): no 5xx at all; RSS growth between the middle and
the end under 10%.

    python benchmarks/bench_soak.py                 # 10 minutes, 50 clients
    python benchmarks/bench_soak.py --minutes 1     # a short run
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import socket
import subprocess
import tempfile
import threading
import time

import httpx

from _common import machine
from bench_web_load import free_port, start_server  # serve -t prism-tiny (its default model: prism-tiny)

TEXT = ("The quick brown fox jumps over the lazy dog. " * 20 + "def add(a, b):\n    return a + b\n" * 10
        + "東京の天気は晴れです。 🙂 naïve café\n")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def slow_sender(port: int) -> int:
    """Half a body, then silence: the server answers 408 (its body timeout) and closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST /api/tokenize HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
                     "content-length: 100\r\n\r\n{\"te".encode())
        reply = sock.recv(200)
    return int(reply.split()[1]) if reply.startswith(b"HTTP/1.1") else 0


def one_request(client: httpx.Client, rng: random.Random, port: int) -> tuple[str, int]:
    kind = rng.choices(["tokenize", "decode", "info", "compare", "explain", "config", "generate", "infill", "bad", "slow"],
                       weights=[30, 10, 5, 10, 8, 5, 6, 4, 6, 1])[0]
    text = TEXT[rng.randrange(200):][: rng.randrange(50, 1500)]
    if kind == "tokenize":
        return kind, client.post("/api/tokenize", json={"text": text}).status_code
    if kind == "decode":
        return kind, client.post("/api/decode", json={"ids": [rng.randrange(8192) for _ in range(50)]}).status_code
    if kind == "info":
        return kind, client.get("/api/info").status_code
    if kind == "compare":
        return kind, client.post("/api/compare", json={"text": text, "tokenizers": ["prism-tiny"]}).status_code
    if kind == "explain":
        return kind, client.post("/api/explain-token", json={"text": text, "index": 0}).status_code
    if kind == "config":
        return kind, client.get("/api/config").status_code
    if kind in ("generate", "infill"):
        body = ({"prompt": text[:200], "max_new_tokens": 8} if kind == "generate"
                else {"prefix": "def add(a, b):\n    ", "suffix": "\n", "max_new_tokens": 8})
        with client.stream("POST", f"/api/{kind}", json=body) as reply:
            for _ in reply.iter_lines():
                pass
            return kind, reply.status_code
    if kind == "bad":
        which = rng.randrange(3)
        if which == 0:
            return "bad:json", client.post("/api/tokenize", content=b"{not json", headers={"content-type": "application/json"}).status_code
        if which == 1:
            return "bad:id", client.post("/api/decode", json={"ids": [10**12]}).status_code
        return "bad:size", client.post("/api/tokenize", json={"text": "x" * 1_100_000}).status_code
    return kind, slow_sender(port)


def client_loop(port: int, seed: int, stop: threading.Event, counts: collections.Counter, lock: threading.Lock) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        while not stop.is_set():
            try:
                kind, status = one_request(client, rng, port)
            except (httpx.TransportError, OSError) as exc:
                kind, status = "transport", type(exc).__name__
            with lock:
                counts[(kind, status)] += 1
            time.sleep(rng.uniform(0, 0.2))  # a person between clicks, a script between calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = start_server(port, "prism-tiny", log)
        try:
            result = soak(server, port, minutes=args.minutes, clients=args.clients)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.seek(0)
            server_log = log.read()
    print_report(result, server_log, minutes=args.minutes, clients=args.clients)


def soak(server: subprocess.Popen, port: int, *, minutes: float, clients: int) -> dict:
    counts: collections.Counter = collections.Counter()
    lock, stop = threading.Lock(), threading.Event()
    threads = [threading.Thread(target=client_loop, args=(port, i, stop, counts, lock), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    total = minutes * 60
    time.sleep(min(30.0, total / 10))  # warm-up: models loaded, caches filled
    rss = {"start": rss_mb(server.pid)}
    started = time.monotonic()
    time.sleep(max(0.0, total / 2 - (time.monotonic() - started)))
    rss["middle"] = rss_mb(server.pid)
    time.sleep(max(0.0, total - (time.monotonic() - started)))
    rss["end"] = rss_mb(server.pid)
    stop.set()
    for t in threads:
        t.join(timeout=90)
    return {"counts": counts, "rss": rss, "alive": server.poll() is None}


def print_report(result: dict, server_log: str, *, minutes: float, clients: int) -> None:
    counts, rss = result["counts"], result["rss"]
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for (kind, status), n in counts.items():
        by_kind[kind][status] += n
    print(f"# soak: {clients} clients, {minutes:g} min, loopback  ({machine()})")
    for kind in sorted(by_kind):
        print(f"{kind:12} " + "  ".join(f"{status}: {n:,}" for status, n in sorted(by_kind[kind].items(), key=str)))
    server_errors = sum(n for (_, status), n in counts.items() if isinstance(status, int) and status >= 500)
    transport = sum(n for (kind, _), n in counts.items() if kind == "transport")
    growth = (rss["end"] - rss["middle"]) / rss["middle"] * 100
    print(f"requests: {sum(counts.values()):,}; 5xx: {server_errors}; transport errors: {transport}")
    print(f"server RSS: start {rss['start']:.0f} MB, middle {rss['middle']:.0f} MB, end {rss['end']:.0f} MB "
          f"(middle → end {growth:+.1f}%)")
    print(f"bar: 0 × 5xx, RSS growth middle → end under 10% — {'met' if server_errors == 0 and growth < 10 else 'NOT met'}")
    tracebacks = server_log.count("Traceback")
    if tracebacks:
        print(f"server log: {tracebacks} traceback(s); first lines:\n" + server_log[:2000])
    print(json.dumps({"requests": sum(counts.values()), "5xx": server_errors, "transport_errors": transport, "rss_mb": rss,
                      "growth_pct": round(growth, 2), "server_alive": result["alive"]}))


if __name__ == "__main__":
    main()
