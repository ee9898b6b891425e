"""What refusing an oversized request head costs the server, and what the bounded HTTP
protocol costs ordinary requests.

Usage: python bench/edge.py [--root DIR] [--header-mb 30] [--posts 2000]

Starts `python -m server serve` from `--root` (this checkout by default; another checkout
measures the code before a change), then:
- sends one request whose `Authorization` header is `--header-mb` MB, and reports the
  server's CPU time (from /proc) and the wall time until it answered or closed;
- sends three such requests at once while timing a `/healthz` request;
- posts `{ viewer { userId } }` `--posts` times on one keep-alive connection, and reports
  requests per second and the server's CPU per request.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUERY = {"query": "{ viewer { userId } }"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--header-mb", type=float, default=30)
    parser.add_argument("--posts", type=int, default=2000)
    args = parser.parse_args()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(args.root)}
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "--log-level", "warning", "serve", "--port", str(port)],
        cwd=args.root,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        header = int(args.header_mb * 1024 * 1024)
        cpu, wall, answer = _measured(server.pid, lambda: _huge_head(port, header))
        _say(
            f"one {args.header_mb:g} MB header: server CPU {cpu:.3f} s, answered after"
            f" {wall:.3f} s: {answer!r}"
        )
        _say(f"/healthz during three at once: {_health_during_three(base, port, header):.3f} s")
        cpu, wall, _ = _measured(server.pid, lambda: _posts(base, args.posts))
        _say(
            f"{args.posts} POSTs: {args.posts / wall:.0f} requests/s,"
            f" server CPU {cpu / args.posts * 1e6:.0f} µs per request"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)


def _say(line: str) -> None:
    print(line)  # noqa: T201 - the benchmark's report


def _huge_head(port: int, size: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ")
        chunk = b"a" * 65536
        sent = 0
        try:
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\ncontent-length: 2\r\n\r\n{}")
        except OSError:
            pass  # the server refused and closed before the end: what we hope for
        try:
            return sock.recv(200).split(b"\r\n", 1)[0]
        except OSError as error:
            return repr(error).encode()


def _health_during_three(base: str, port: int, size: int) -> float:
    attackers = [threading.Thread(target=_huge_head, args=(port, size)) for _ in range(3)]
    for attacker in attackers:
        attacker.start()
    time.sleep(0.2)
    started = time.perf_counter()
    httpx.get(f"{base}/healthz", timeout=120).raise_for_status()
    elapsed = time.perf_counter() - started
    for attacker in attackers:
        attacker.join()
    return elapsed


def _posts(base: str, count: int) -> None:
    with httpx.Client(base_url=base) as client:
        for _ in range(count):
            client.post("/graphql", json=QUERY).raise_for_status()


def _measured(pid: int, action):  # type: ignore[no-untyped-def]
    before, started = _cpu(pid), time.perf_counter()
    result = action()
    wall = time.perf_counter() - started
    time.sleep(0.5)  # let the server finish what the client no longer waits for
    return _cpu(pid) - before, wall, result


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    main()
