"""`EMBEDDED_DATA_DIR`: the embedded store's data outlives the server, however it stops.

Every test runs real `python -m server serve` processes (with their moto child) on a
directory of its own, and polls for conditions (the server answering, the directory's lock
free, the file holding a write), never sleeps for a guessed time.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from server.store.data_file import DATA_FILE, FORMAT, VERSION
from server.store.embedded import EmbeddedDynamoDB
from tests.documents import CREATE_PROJECT, SET_BUILTIN_TOOL_ACTIVE, UPSERT_BUILTIN_TOOL
from tests.servers import ROOT, free_port, serving, serving_in_own_group

PROJECT_NAMES = "query ProjectNames { projects { id name } }"
BUILTIN_TOOL = """
query BuiltinTool($name: String!) { builtinTool(name: $name) { name description isActive } }
"""
ADMIN = {"X-Dev-User": "an-admin", "X-Dev-Groups": "admin"}


def graphql(
    base: str, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"X-Dev-User": "alice", **headers},
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def create_project(base: str, name: str) -> str:
    data = graphql(base, CREATE_PROJECT, {"input": {"name": name}})
    project_id: str = data["createProject"]["id"]
    return project_id


def project_names(base: str) -> list[str]:
    return [project["name"] for project in graphql(base, PROJECT_NAMES)["projects"]]


def wait_until_unlocked(directory: Path) -> None:
    """Poll the directory's lock until no process holds it (the moto child has saved and
    exited); bounded at 30 s."""
    deadline = time.monotonic() + 30
    with (directory / "lock").open("rb") as lock:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            fcntl.flock(lock, fcntl.LOCK_UN)
            return
    raise AssertionError(f"{directory} stayed locked for 30 s")


def wait_until_saved(directory: Path, text: str) -> None:
    """Poll the data file until it holds `text`; bounded at 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        path = directory / DATA_FILE
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} did not reach {directory / DATA_FILE} within 30 s")


def refused_start(directory: Path) -> tuple[int, list[str]]:
    """Start a server on `directory` that must stop by itself: its exit code and its lines."""
    env = {key: value for key, value in os.environ.items() if key not in ("STORE", "AUTH_MODE")}
    finished = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env={**env, "EMBEDDED_DATA_DIR": str(directory)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return finished.returncode, (finished.stdout + finished.stderr).splitlines()


def test_data_written_over_graphql_is_there_after_a_sigterm_restart(tmp_path: Path) -> None:
    # given a server that kept a project in its data directory, stopped by SIGTERM (which
    # `serving` sends), and a save torn by a crash before its rename
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, _):
        create_project(base, "Kept")
    torn = tmp_path / f".{DATA_FILE}.abc123.tmp"
    torn.write_bytes(b'{"format": "multi-agent-api/embedded-dynamodb", "version": 1, "ta')
    # when a new server starts on the directory
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, _):
        # then the project is there, read from the data file, and the torn save is gone
        assert project_names(base) == ["Kept"]
        assert not torn.exists()


def test_data_is_saved_when_the_server_is_killed_with_sigkill(tmp_path: Path) -> None:
    # given a server that wrote a project
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, process):
        create_project(base, "Survives kill -9")
        # when the server process alone is killed: its moto child sees its stdin close
        process.kill()
        process.wait()
    wait_until_unlocked(tmp_path)
    # then the child saved before exiting
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, _):
        assert project_names(base) == ["Survives kill -9"]


def test_a_write_is_saved_within_the_interval_so_killing_the_whole_group_keeps_it(
    tmp_path: Path,
) -> None:
    # given a server and its moto child in a process group of their own, and a write saved
    # by the background save, with no shutdown
    with serving_in_own_group(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, process):
        project_id = create_project(base, "Saved in the background")
        wait_until_saved(tmp_path, project_id)
        # when the whole group is killed at once: nobody gets to save again
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    wait_until_unlocked(tmp_path)
    # then the next server reads it back
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, _):
        assert project_names(base) == ["Saved in the background"]


def test_ctrl_c_in_a_terminal_saves_before_the_server_exits(tmp_path: Path) -> None:
    # given a server in a process group of its own, as a terminal starts `make run`
    with serving_in_own_group(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, process):
        create_project(base, "Ctrl-C")
        # when Ctrl-C sends SIGINT to the whole group (the moto child too)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
    wait_until_unlocked(tmp_path)
    # then the data was saved on the way out
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, _):
        assert project_names(base) == ["Ctrl-C"]


def test_an_admins_changes_to_builtin_tools_survive_a_restart(tmp_path: Path) -> None:
    # given an admin who turned a shipped built-in tool off and rewrote another one
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, _):
        graphql(base, SET_BUILTIN_TOOL_ACTIVE, {"name": "web-search", "isActive": False}, **ADMIN)
        tool = graphql(base, BUILTIN_TOOL, {"name": "calculator"})["builtinTool"]
        rewritten = {
            "name": "calculator",
            "description": "Our own calculator",
            "type": "function",
            "inputSchema": {"type": "object"},
            "category": "math",
        }
        graphql(base, UPSERT_BUILTIN_TOOL, {"input": rewritten}, **ADMIN)
    # when the server starts again (and seeds the shipped catalog)
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, _):
        search = graphql(base, BUILTIN_TOOL, {"name": "web-search"})["builtinTool"]
        calculator = graphql(base, BUILTIN_TOOL, {"name": "calculator"})["builtinTool"]
    # then the catalog is as the admin left it, not as shipped
    assert tool["description"] != "Our own calculator"
    assert search["isActive"] is False
    assert calculator["description"] == "Our own calculator"


def test_without_a_data_dir_nothing_outlives_the_server(tmp_path: Path) -> None:
    # given a server with EMBEDDED_DATA_DIR empty, as `make run EMBEDDED_DATA_DIR=` runs it
    with serving(EMBEDDED_DATA_DIR="") as (base, _):
        create_project(base, "Forgotten")
    # when a new one starts
    with serving(EMBEDDED_DATA_DIR="") as (base, _):
        # then it starts empty
        assert project_names(base) == []


def test_a_second_server_on_the_same_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    # given a server running on the directory
    with serving(EMBEDDED_DATA_DIR=str(tmp_path)) as (base, process):
        create_project(base, "First")
        # when a second one starts on it
        code, lines = refused_start(tmp_path)
        # then it stops with one line that names the directory and the running server
        assert code == 2
        assert lines == [
            f"error: EMBEDDED_DATA_DIR: {tmp_path} is in use by another server"
            f" (pid {process.pid}): stop it, or set EMBEDDED_DATA_DIR to another directory"
        ]
        # and the first one goes on serving its data
        assert project_names(base) == ["First"]


# Every kind is refused by `read_tables` (tests/store/test_data_file.py); here, one that JSON
# refuses and one that moto does, the line they make and what they leave.
NOT_OURS = {
    "bad JSON": (b'{"format": "multi-agent-api/embedded-dynamodb", "vers', "is not valid JSON ("),
    "an item moto refuses": (
        b'{"format": "%s", "version": %d, "tables": [{"TableName": "t", "KeySchema":'
        b' [{"AttributeName": "id", "KeyType": "HASH"}], "AttributeDefinitions":'
        b' [{"AttributeName": "id", "AttributeType": "S"}], "Items": [{"other": {"S": "x"}}]}]}'
        % (FORMAT.encode(), VERSION),
        "is damaged (",
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_OURS))
def test_a_file_that_is_not_ours_stops_the_start_in_one_line_and_is_left_as_it_is(
    tmp_path: Path, case: str
) -> None:
    # given a data file the server did not write, or cannot read
    content, reason = NOT_OURS[case]
    path = tmp_path / DATA_FILE
    path.write_bytes(content)
    # when a server starts on its directory
    code, lines = refused_start(tmp_path)
    # then it stops, non-zero, with one line naming the file, the reason, and what to do
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: EMBEDDED_DATA_DIR: {path} {reason}")
    assert lines[0].endswith(
        "move it away to start afresh (or set EMBEDDED_DATA_DIR= to keep data in memory only)"
    )
    # and the file is as it was, and nothing else was written
    assert path.read_bytes() == content
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [DATA_FILE, "lock"]


VALUES: dict[str, Any] = {
    "id": {"S": "every-kind"},
    "text": {"S": "ünïcødé \u202e\t\n"},
    "number": {"N": "12345678901234567890123456789012345678"},
    "small": {"N": "-1E-130"},
    "yes": {"BOOL": True},
    "nothing": {"NULL": True},
    "bytes": {"B": b"\x00\xffbinary"},
    "strings": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "byte_sets": {"BS": [b"\x01", b"\x02"]},
    "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "2"}, {"M": {"deep": {"L": []}}}]}}},
    "empty": {"M": {}},
}


def test_every_kind_of_value_is_restored_exactly(tmp_path: Path) -> None:
    # given an item holding every kind of DynamoDB value, kept by an embedded DynamoDB
    with EmbeddedDynamoDB(tmp_path) as endpoint:
        dynamodb = _dynamodb(endpoint)
        dynamodb.create_table(
            TableName="kinds",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="kinds", Item=VALUES)
    # when another one starts on its directory
    with EmbeddedDynamoDB(tmp_path) as endpoint:
        item = _dynamodb(endpoint).get_item(TableName="kinds", Key={"id": VALUES["id"]})["Item"]
    # then the item is as it was written, value for value
    assert item == VALUES


def _dynamodb(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="embedded",
        aws_secret_access_key="embedded",
    )
