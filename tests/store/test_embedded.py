"""The embedded DynamoDB is a child process that never outlives its parent."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from server.store.embedded import EmbeddedDynamoDB

SCOPE = "us-east-1/dynamodb/aws4_request"


def test_it_serves_dynamodb_on_a_loopback_port_until_stopped() -> None:
    embedded = EmbeddedDynamoDB()
    endpoint = embedded.start()
    process = embedded._process
    assert process is not None

    response = httpx.post(
        endpoint,
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=x/20260101/{SCOPE}",
        },
        content="{}",
    )
    embedded.stop()

    assert endpoint.startswith("http://127.0.0.1:")
    assert response.status_code == 200
    assert "TableNames" in response.json()
    assert process.poll() is not None


def test_it_exits_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import os, time
                from server.store.embedded import EmbeddedDynamoDB
                embedded = EmbeddedDynamoDB()
                embedded.start()
                print(embedded._process.pid, flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())

    parent.send_signal(signal.SIGKILL)
    parent.wait()

    assert _exits_within(child_pid, seconds=10)
    parent.stdout.close()


def _exits_within(pid: int, *, seconds: float) -> bool:
    """Poll for another process's exit, bounded; a zombie awaiting its reaper has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
