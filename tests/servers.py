"""The server as `make run` starts it: `python -m server serve` in a process of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parents[1]

# The WebSocket subprotocols the server speaks, as websockets' `connect` takes them.
GRAPHQL_TRANSPORT_WS = (Subprotocol("graphql-transport-ws"),)
LEGACY_GRAPHQL_WS = (Subprotocol("graphql-ws"),)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(
    log_level: str = "info", **settings: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -m server serve`; on the embedded store, as `make run` starts it, by default."""
    with _serving(log_level, settings, own_group=False) as served:
        yield served


@contextmanager
def serving_in_own_group(**settings: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`serving`, in a process group of its own (with its embedded DynamoDB), as a terminal
    starts a command: a signal to the group (Ctrl-C, `kill -- -PID`) reaches both."""
    with _serving("info", settings, own_group=True) as served:
        yield served


@contextmanager
def _serving(
    log_level: str, settings: dict[str, str], *, own_group: bool
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("STORE", "AUTH_MODE")}
    env.update(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "--log-level", log_level, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_group,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
        assert process.stdout is not None
        process.stdout.close()


def wait_for_health(base: str, process: subprocess.Popen[str]) -> None:
    """Poll /healthz until the server answers; bounded at 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("server did not answer within 30 s")
