"""The command line: each subcommand, and refusals that are one clear line."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from server.cli import is_loopback
from tests.store.intercept import intercepting
from tests.store.seed_tables import SEED_KEYS

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = tuple(SEED_KEYS)


def stream_note(suffix: str) -> str:
    """The end of a create-tables line: only the deployments table has a stream."""
    return "; stream on" if suffix == "deployments" else ""


def run(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **environment}
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_export_schema_matches_the_checked_in_schema_graphql() -> None:
    exported = run("export-schema")

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == (ROOT / "schema.graphql").read_text(), (
        "schema.graphql is stale: run `make schema`"
    )


def test_export_cloudformation_matches_the_checked_in_deploy_tables_yaml() -> None:
    exported = run("export-cloudformation", TABLE_PREFIX="elsewhere-")

    assert exported.returncode == 0, exported.stderr
    # The settings' default prefix whatever this environment's: the stack takes its own.
    assert "Default: multi-agent-\n" in exported.stdout
    assert exported.stdout == (ROOT / "deploy" / "tables.yaml").read_text(), (
        "deploy/tables.yaml is stale: run `make cloudformation`"
    )


def test_dev_auth_refuses_a_non_loopback_host() -> None:
    refused = run("serve", "--host", "0.0.0.0", "--port", "1", AUTH_MODE="dev")

    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "--insecure-dev-auth" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_bad_setting_stops_the_server_with_one_line() -> None:
    refused = run("serve", STORE="sqlite")

    assert refused.returncode == 2
    assert refused.stderr.startswith("error: invalid settings: STORE:")
    assert refused.stderr.count("\n") == 1


def test_table_commands_refuse_the_embedded_store() -> None:
    refused = run("create-tables", STORE="embedded")

    assert refused.returncode == 2
    assert "STORE=dynamodb" in refused.stderr


def test_create_tables_and_seed_against_a_dynamodb_endpoint(
    dynamodb_endpoint: str, tmp_path: Path
) -> None:
    environment = {
        "STORE": "dynamodb",
        "DYNAMODB_ENDPOINT_URL": dynamodb_endpoint,
        "TABLE_PREFIX": f"cli-{uuid.uuid4().hex[:8]}-",
    }
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            [
                {
                    "name": "echo",
                    "description": "Echo the input",
                    "type": "utility",
                    "category": "testing",
                    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}},
                }
            ]
        )
    )

    first = run("create-tables", **environment)
    second = run("create-tables", **environment)
    shipped = run("seed-builtin-tools", **environment)
    custom = run("seed-builtin-tools", str(catalog), **environment)

    prefix = environment["TABLE_PREFIX"]
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        *(
            f"{prefix}{suffix}: created; point-in-time recovery on{stream_note(suffix)}"
            for suffix in SUFFIXES
        ),
        "7 tables: 7 created, 0 already there",
    ]
    assert second.stdout.splitlines() == [
        *(
            f"{prefix}{suffix}: already there; point-in-time recovery on{stream_note(suffix)}"
            for suffix in SUFFIXES
        ),
        "7 tables: 0 created, 7 already there",
    ]
    assert shipped.returncode == 0, shipped.stderr
    assert "upserted 10 built-in tools" in shipped.stdout
    assert "upserted 1 built-in tools" in custom.stdout


async def test_create_tables_says_which_tables_an_endpoint_cannot_recover(
    dynamodb_endpoint: str,
) -> None:
    # Given an endpoint without continuous backups, as DynamoDB Local
    prefix = f"cli-local-{uuid.uuid4().hex[:8]}-"
    refusals = itertools.repeat("UnknownOperationException")
    async with intercepting(dynamodb_endpoint, "UpdateContinuousBackups", refusals) as endpoint:
        # When create-tables runs against it
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            "create-tables",
            cwd=ROOT,
            env={
                **os.environ,
                "STORE": "dynamodb",
                "DYNAMODB_ENDPOINT_URL": endpoint.url,
                "TABLE_PREFIX": prefix,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

    # Then it makes the tables and says, table by table, that recovery is not on
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().splitlines() == [
        *(
            f"{prefix}{suffix}: created; point-in-time recovery not supported by this endpoint"
            f" (UnknownOperationException){stream_note(suffix)}"
            for suffix in SUFFIXES
        ),
        "7 tables: 7 created, 0 already there",
    ]


def test_seeding_a_broken_catalog_names_the_problem(dynamodb_endpoint: str, tmp_path: Path) -> None:
    catalog = tmp_path / "broken.json"
    catalog.write_text(json.dumps([{"name": "bad name!", "description": "", "type": "x"}]))

    refused = run(
        "seed-builtin-tools",
        str(catalog),
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
    )

    assert refused.returncode == 2
    assert "catalog entry 0.name" in refused.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_only_loopback_hosts_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_taken_port_stops_the_server_with_one_line_naming_another() -> None:
    # given a port something else listens on
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        # when the server is asked to serve there
        refused = run("serve", "--port", str(port))

    # then it stops at once, before starting its store, with one line saying how to move
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in refused.stderr
    assert f"make run PORT={port + 1}" in refused.stderr
    assert "embedded DynamoDB" not in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr


def test_an_address_not_of_this_machine_stops_the_server_with_one_line() -> None:
    refused = run("serve", "--host", "192.0.2.1", "--port", "8000", "--insecure-dev-auth")

    assert refused.returncode == 2
    assert refused.stderr.startswith("error: cannot listen on 192.0.2.1:8000: ")
    assert refused.stderr.count("\n") == 1, refused.stderr
