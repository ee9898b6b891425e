"""Time from `python -m server serve` (embedded store) to its first answered GraphQL request.

Usage: python bench/startup.py [RUNS]   (default 5 runs; prints each and the median)
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
QUERY = {"query": "{ projects { id } builtinTools { name } }"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def one_start() -> float:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("STORE", "AUTH_MODE")}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.monotonic() - started < 60:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/graphql", json=QUERY, timeout=5)
                if response.status_code == 200 and "errors" not in response.json():
                    return time.monotonic() - started
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError("no answer within 60 s")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times = [one_start() for _ in range(runs)]
    for index, seconds in enumerate(times, 1):
        print(f"run {index}: {seconds:.2f} s")  # noqa: T201
    print(f"median start-to-first-answer: {statistics.median(times):.2f} s over {runs} runs")  # noqa: T201


if __name__ == "__main__":
    main()
