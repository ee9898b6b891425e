"""Host and Origin: in dev mode only loopback pages may call the server, and in every mode a
request must name an allowed host (DNS rebinding)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from server.app import create_app
from server.edge.hosts import HostPolicy
from server.settings import Settings, SettingsError, load_settings
from server.store import Store

QUERY = {"query": "{ viewer { userId } }"}
COGNITO: dict[str, Any] = {
    "auth_mode": "cognito",
    "cognito_region": "us-east-1",
    "cognito_user_pool_id": "us-east-1_x",
    "cognito_client_ids": ("c",),
    "cognito_jwks_url": "http://127.0.0.1:9/jwks",
}


@asynccontextmanager
async def client(
    settings: Settings, base_url: str = "http://localhost:8000", **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changes))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield http


def preflight(http: httpx.AsyncClient, origin: str) -> Any:
    return http.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-dev-user,x-dev-groups",
        },
    )


@pytest.mark.parametrize(
    "origin", ["http://localhost:5173", "http://127.0.0.1:3000", "https://[::1]:8443"]
)
async def test_dev_mode_lets_loopback_pages_call_the_api(
    settings: Settings, store: Store, origin: str
) -> None:
    async with client(settings) as http:
        allowed = await preflight(http, origin)
        answered = await http.post("/graphql", json=QUERY, headers={"Origin": origin})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == origin
    assert answered.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example", "null"]
)
async def test_dev_mode_refuses_pages_on_other_origins(
    settings: Settings, store: Store, origin: str
) -> None:
    async with client(settings) as http:
        refused = await preflight(http, origin)
        answered = await http.post(
            "/graphql", json=QUERY, headers={"Origin": origin, "X-Dev-Groups": "admin"}
        )

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "access-control-allow-origin" not in refused.headers
    # Its browser does not let the page read the answer.
    assert "access-control-allow-origin" not in answered.headers


async def test_cors_origins_replace_the_loopback_default(settings: Settings, store: Store) -> None:
    async with client(settings, cors_origins=("https://app.example",)) as http:
        app_page = await preflight(http, "https://app.example")
        loopback = await preflight(http, "http://localhost:5173")

    assert app_page.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in loopback.headers


@pytest.mark.parametrize(
    "base_url", ["http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000"]
)
async def test_dev_mode_answers_loopback_hosts(
    settings: Settings, store: Store, base_url: str
) -> None:
    async with client(settings, base_url=base_url, allowed_hosts=None) as http:
        response = await http.post("/graphql", json=QUERY)

    assert response.status_code == 200


async def test_a_foreign_host_is_refused_in_dev_mode(settings: Settings, store: Store) -> None:
    # DNS rebinding: a page on rebound.example whose name now resolves to 127.0.0.1.
    async with client(settings, base_url="http://rebound.example:8000") as http:
        refused = await http.post(
            "/graphql", json=QUERY, headers={"Origin": "http://rebound.example:8000"}
        )
        health = await http.get("/healthz")

    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "ALLOWED_HOSTS" in error["message"]
    assert health.status_code == 200  # load balancers call it by address


async def test_allowed_hosts_take_wildcards(settings: Settings, store: Store) -> None:
    hosts = ("*.example.com", "api.example.org")
    answers = {}
    for host in ("a.example.com", "api.example.org", "example.com", "example.com.evil", "x.org"):
        async with client(settings, base_url=f"https://{host}", allowed_hosts=hosts) as http:
            answers[host] = (await http.post("/graphql", json=QUERY)).status_code

    assert answers == {
        "a.example.com": 200,
        "api.example.org": 200,
        "example.com": 400,
        "example.com.evil": 400,
        "x.org": 400,
    }


def test_cognito_mode_answers_any_host_unless_told() -> None:
    default = load_settings(**COGNITO)
    told = load_settings(**COGNITO, allowed_hosts="api.example.com")

    assert default.hosts.allows("api.example.com")
    assert default.hosts.allows("10.0.1.17:8000")  # a load balancer's health check
    assert not told.hosts.allows("10.0.1.17:8000")
    assert not told.origins.allows("http://localhost:3000")


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("localhost", True),
        ("LOCALHOST:8000", True),
        ("[::1]:8000", True),
        ("[::2]:8000", False),
        ("127.0.0.1.", True),
        ("localhost:8000:1", False),
        ("", False),
        (None, False),
    ],
)
def test_host_headers_are_matched_by_name_without_port(header: str | None, allowed: bool) -> None:
    assert HostPolicy(("localhost", "127.0.0.1", "[::1]")).allows(header) is allowed


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ALLOWED_HOSTS", "exa mple.com"), ("ALLOWED_HOSTS", "http://x"), ("CORS_ORIGINS", "x")],
)
def test_malformed_hosts_and_origins_stop_the_server(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(**{variable.lower(): value})


async def test_graphiql_on_the_servers_own_origin_still_works(app: ASGIApp) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        same_origin = await http.post(
            "/graphql", json=QUERY, headers={"Origin": "http://127.0.0.1:8000"}
        )

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert same_origin.json() == {"data": {"viewer": {"userId": "dev-user"}}}
