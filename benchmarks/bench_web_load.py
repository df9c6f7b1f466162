"""Load on the web API: 50 concurrent clients tokenizing 10 KB texts against `tokenprism serve`
(started here as a subprocess, one tokenizer, loopback only) for --seconds (default 30).

Bar: no errors, p99 < 100 ms on a 2-core machine. Anchor: the same 10 KB texts encoded in-process
by the `tokenizers` library itself (no HTTP, no JSON), measured in this run; the ratio says what the
HTTP round trip, the token columns and the JSON cost on top of the bare encode.

Each client waits --think-ms between requests (default 250 ms: a person typing, as the page
sends a request per pause of 150 ms); --think-ms 0 is the closed-loop worst case (every client
sends again the moment it has its answer).

    python benchmarks/bench_web_load.py --seconds 10
    python benchmarks/bench_web_load.py --think-ms 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from _common import fixture, machine


def texts(size: int = 10_000, count: int = 64) -> list[str]:
    """`count` different 10 KB slices of a real book, so no two requests in a row are the same."""
    book = fixture("corpus/english/austen-emma.txt").read_text(encoding="utf-8")
    step = max(1, (len(book) - size) // count)
    return [book[i * step : i * step + size] for i in range(count)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, spec: str, log) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "tokenprism", "serve", "--port", str(port), "-t", spec],
        stdout=subprocess.DEVNULL, stderr=log, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/config", timeout=1).raise_for_status()
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise SystemExit("the server did not start (its log is printed above)")
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the answer: a few dozen lines of
    asyncio instead of an HTTP client library, because the load generator shares this machine's two
    cores with the server (httpx spent 2.4 ms of CPU per request here, a third of the server's own)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode()
        self.writer.write(head + data)
        header = await self.reader.readuntil(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(v) for k, _, v in (ln.partition(":") for ln in lines[1:]) if k.lower() == "content-length")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def client(port: int, bodies: list[str], spec: str, until: float, think: float, k: int,
                 latencies: list[float], errors: list[str]) -> None:
    conn = Connection(port)
    i = k
    while time.monotonic() < until:
        body = {"text": bodies[i % len(bodies)], "tokenizer": spec}
        start = time.perf_counter()
        try:
            status, answer = await conn.post("/api/tokenize", body)
            if status != 200:
                errors.append(f"{status} {answer[:80]!r}")
            elif i % 20 == k % 20 and json.loads(answer)["count"] < 1000:  # check a sample: parsing every answer costs CPU the server needs
                errors.append("short answer")
        except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
            errors.append(f"{type(exc).__name__} {exc!r}"[:120])
            await conn.close()
            conn = Connection(port)
        latencies.append(time.perf_counter() - start)
        i += 7
        if think:
            await asyncio.sleep(think)
    await conn.close()


async def load(port: int, spec: str, bodies: list[str], *, clients: int, seconds: float, think: float) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    warm = Connection(port)
    await warm.post("/api/tokenize", {"text": bodies[0], "tokenizer": spec})  # load the tokenizer once
    await warm.close()
    until = time.monotonic() + seconds
    await asyncio.gather(*(client(port, bodies, spec, until, think, k, latencies, errors) for k in range(clients)))
    return latencies, errors


def anchor(spec: str, bodies: list[str]) -> float:
    """Median seconds of the bare `tokenizers` encode of one 10 KB text, in this process."""
    from tokenprism import load_tokenizer

    raw = load_tokenizer(spec).backend_tokenizer
    times = []
    for text in bodies * 3:
        start = time.perf_counter()
        raw.encode(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc); 0.0 where there is no /proc."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--think-ms", type=float, default=250.0)
    parser.add_argument("--tokenizer", default="prism-tiny", help="one HF-backed tokenizer spec")
    args = parser.parse_args()
    bodies = texts()
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        server = start_server(port, args.tokenizer, log)
        cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
        try:
            latencies, errors = asyncio.run(load(port, args.tokenizer, bodies, clients=args.clients, seconds=args.seconds,
                                                 think=args.think_ms / 1000))
            server_cpu, client_cpu = cpu_seconds(server.pid) - cpu_before, time.process_time() - client_before
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.seek(0)
            server_log = log.read().strip()
    bare = anchor(args.tokenizer, bodies)
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    print(f"# web load: {args.clients} clients × 10 KB /api/tokenize for {args.seconds:g} s, think {args.think_ms:g} ms "
          f"({machine()}, loadavg {os.getloadavg()[0]:.1f})")
    print(f"tokenizer {args.tokenizer}: {len(latencies)} requests, {len(latencies) / args.seconds:.0f}/s, {len(errors)} errors")
    print(f"latency p50 {p50 * 1000:.1f} ms · p90 {pct(latencies, 90) * 1000:.1f} ms · p99 {p99 * 1000:.1f} ms · "
          f"max {max(latencies) * 1000:.1f} ms")
    print(f"anchor (tokenizers encode in-process): {bare * 1000:.2f} ms · p50 / anchor = {p50 / bare:.1f}x")
    n = max(1, len(latencies))
    print(f"CPU per request: server {server_cpu / n * 1000:.1f} ms, this load generator {client_cpu / n * 1000:.1f} ms "
          f"(so one free core serves ~{n / max(server_cpu, 1e-9):.0f} requests/s)")
    if errors:
        print("errors:", ", ".join(sorted(set(errors))[:5]))
    if server_log:
        print("server log (last lines):\n" + "\n".join(server_log.splitlines()[-8:]))
    print(f"bar: no errors, p99 < 100 ms → {'PASS' if not errors and p99 < 0.1 else 'FAIL'}")


if __name__ == "__main__":
    main()
