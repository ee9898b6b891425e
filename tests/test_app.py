"""The HTTP app: health, GraphiQL, and the real thing under uvicorn on the embedded store."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from starlette.types import ASGIApp

from server.settings import Settings
from server.store import Store, open_store
from server.wiring import store_options
from tests.servers import serving

ROOT = Path(__file__).resolve().parents[1]


async def test_healthz_answers_ok(app: ASGIApp) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as http:
        response = await http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_get_graphql_in_a_browser_serves_graphiql(app: ASGIApp) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_make_run_serves_graphql_over_real_http() -> None:
    with serving() as (base, _):
        create = httpx.post(
            f"{base}/graphql",
            json={
                "query": 'mutation { createProject(input: {name: "Over the wire"}) { id name } }'
            },
            headers={"X-Dev-User": "wire-user"},
        )
        listed = httpx.post(
            f"{base}/graphql",
            json={"query": "{ projects { id name } builtinTools { name } }"},
            headers={"X-Dev-User": "wire-user"},
        )

    created = create.json()["data"]["createProject"]
    data = listed.json()["data"]
    assert data["projects"] == [created]
    assert {"web-search", "calculator", "http-request", "current-time"} <= {
        tool["name"] for tool in data["builtinTools"]
    }


def test_serve_works_on_an_external_dynamodb_after_create_tables(
    dynamodb_endpoint: str, settings: Settings, store: Store
) -> None:
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
    ) as (base, process):
        create = httpx.post(
            f"{base}/graphql",
            json={"query": 'mutation { createProject(input: {name: "External"}) { id } }'},
            headers={"X-Dev-User": "external-user"},
        )
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        assert process.stdout is not None
        log = process.stdout.read()

    project_id = create.json()["data"]["createProject"]["id"]
    assert "embedded DynamoDB" not in log
    assert asyncio.run(_stored_name(dynamodb_endpoint, settings, project_id)) == "External"


async def _stored_name(endpoint: str, settings: Settings, project_id: str) -> str | None:
    async with open_store(store_options(settings)) as fresh:
        project = await fresh.projects.get("external-user", project_id, consistent=True)
    return project.name if project else None


def test_stopping_the_server_stops_its_embedded_dynamodb() -> None:
    with serving() as (_, process):
        children = _children(process.pid)
        assert any("server.store.embedded_server" in command for command in children.values())
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=15) in (0, -signal.SIGTERM)
        assert process.stdout is not None
        assert "Application shutdown complete" in process.stdout.read()

    assert not [pid for pid in children if Path(f"/proc/{pid}").exists() and not _zombie(pid)]


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(stat.parent.name)] = command
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
