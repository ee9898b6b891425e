"""AUTH_MODE=cognito: Bearer JWTs checked against a user pool's JWKS, served locally here."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import RSAAlgorithm
from starlette.types import ASGIApp
from websockets.asyncio.client import connect

from server.app import create_app
from server.cognito import CognitoAuthenticator
from server.errors import Unauthenticated
from server.settings import Settings
from server.store import Store
from tests.conftest import GraphQLClient
from tests.documents import CREATE_PROJECT, VIEWER
from tests.servers import GRAPHQL_TRANSPORT_WS, serving

REGION, POOL, CLIENT = "eu-west-1", "eu-west-1_Test", "spa-client"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
SECURED = {"input": {"name": "Secured"}}


class Keys:
    """An RSA key pair and the JWKS that publishes its public half under `kid`."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}


KEYS = Keys("key-1")
OTHER = Keys("key-1")  # the same kid, another key: a forger's
LATER = Keys("key-2")  # published only after the server started


class JWKSServer:
    def __init__(self) -> None:
        self.keys = [KEYS.jwk()]
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.fetches += 1
                body = json.dumps({"keys": owner.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"

    def __enter__(self) -> JWKSServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def jwks() -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        yield server


@pytest.fixture(scope="module")
async def cognito_app(settings: Settings, store: Store, jwks: JWKSServer) -> AsyncIterator[ASGIApp]:
    cognito = settings.model_copy(
        update={
            "auth_mode": "cognito",
            "cognito_region": REGION,
            "cognito_user_pool_id": POOL,
            "cognito_client_ids": (CLIENT, "other-spa"),
            "cognito_jwks_url": jwks.url,
        }
    )
    async with LifespanManager(create_app(cognito)) as manager:
        yield manager.app


def token(
    *,
    keys: Keys = KEYS,
    algorithm: str = "RS256",
    signing_key: Any = None,
    headers: dict[str, Any] | None = None,
    **overrides: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": f"sub-{uuid.uuid4()}",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": [],
    }
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    # Signed as raw JSON: `jwt.encode` would refuse to sign some of the malformed claims.
    return jwt.PyJWS().encode(
        json.dumps(claims).encode(),
        signing_key if signing_key is not None else keys.private,
        algorithm=algorithm,
        headers={"kid": keys.kid, **(headers or {})},
    )


def with_groups(groups: Any) -> str:
    """A token whose `cognito:groups` claim is `groups` (no Python name, so no keyword)."""
    claims: dict[str, Any] = {"cognito:groups": groups}
    return token(**claims)


async def ask(
    app: ASGIApp, bearer: str | None, query: str = VIEWER, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    client = GraphQLClient.for_app(app, None)
    if bearer is not None:
        client.http.headers["Authorization"] = f"Bearer {bearer}"
    async with client:
        return await client.execute(query, variables)


async def test_an_id_token_authenticates_its_subject(cognito_app: ASGIApp) -> None:
    subject = f"sub-{uuid.uuid4()}"

    body = await ask(cognito_app, token(sub=subject))

    assert body == {"data": {"viewer": {"userId": subject, "isAdmin": False}}}


async def test_an_access_token_names_its_client_in_client_id(cognito_app: ASGIApp) -> None:
    subject = f"sub-{uuid.uuid4()}"
    access = token(sub=subject, token_use="access", aud=None, client_id="other-spa")

    body = await ask(cognito_app, access)

    assert body["data"]["viewer"]["userId"] == subject


async def test_the_admin_group_makes_an_admin(cognito_app: ASGIApp) -> None:
    body = await ask(cognito_app, with_groups(["staff", "admin"]))

    assert body["data"]["viewer"]["isAdmin"] is True


async def test_a_token_user_owns_what_they_create(cognito_app: ASGIApp) -> None:
    subject = f"sub-{uuid.uuid4()}"

    created = await ask(cognito_app, token(sub=subject), CREATE_PROJECT, SECURED)
    listed = await ask(cognito_app, token(sub=subject), "{ projects { id } }")
    stranger = await ask(cognito_app, token(), "{ projects { id } }")

    assert listed["data"]["projects"] == [created["data"]["createProject"]]
    assert stranger["data"]["projects"] == []


def forged_none() -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","kid":"key-1"}').decode()
    claims = jwt.utils.base64url_encode(
        json.dumps(
            {
                "sub": "x",
                "iss": ISSUER,
                "aud": CLIENT,
                "token_use": "id",
                "iat": int(time.time()),
                "exp": int(time.time()) + 600,
            }
        ).encode()
    ).decode()
    return f"{header}.{claims}."


def hs256_with_the_public_key() -> str:
    """The classic confusion attack: HMAC keyed with the RSA public key the server holds."""
    public_pem = KEYS.private.public_key().public_bytes(
        encoding=Encoding.PEM, format=PublicFormat.SubjectPublicKeyInfo
    )
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","kid":"key-1","typ":"JWT"}')
    body = jwt.utils.base64url_encode(
        json.dumps(
            {
                "sub": "x",
                "iss": ISSUER,
                "aud": CLIENT,
                "token_use": "id",
                "iat": int(time.time()),
                "exp": int(time.time()) + 600,
            }
        ).encode()
    )
    signature = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    return (header + b"." + body + b"." + jwt.utils.base64url_encode(signature)).decode()


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "expired": lambda: token(exp=int(time.time()) - 120, iat=int(time.time()) - 900),
    "not yet valid": lambda: token(nbf=int(time.time()) + 600),
    "issued in the future": lambda: token(iat=int(time.time()) + 600),
    "wrong issuer": lambda: token(iss="https://cognito-idp.eu-west-1.amazonaws.com/other"),
    "wrong client": lambda: token(aud="someone-elses-app"),
    "access token for another client": lambda: token(
        token_use="access", aud=None, client_id="someone-elses-app"
    ),
    "wrong token_use": lambda: token(token_use="refresh"),
    "no token_use": lambda: token(token_use=None),
    "unknown kid": lambda: token(headers={"kid": "nobody"}),
    "another key": lambda: token(keys=OTHER),
    "alg none": forged_none,
    "HS256 with the public key": hs256_with_the_public_key,
    "garbage": lambda: "not.a.jwt",
    "missing sub": lambda: token(sub=None),
    "no expiry": lambda: token(exp=None),
}

# Validly signed, every claim present, one of an unexpected type.
MISTYPED_CLAIMS: dict[str, Callable[[], str]] = {
    "a list aud": lambda: token(aud=[CLIENT]),
    "a list client_id": lambda: token(token_use="access", aud=None, client_id=[CLIENT]),
    "a numeric sub": lambda: token(sub=12345),
    "a blank sub": lambda: token(sub="   "),
    "an object token_use": lambda: token(token_use={"id": True}),
    "cognito:groups as a string": lambda: with_groups("admin"),
    "cognito:groups as numbers": lambda: with_groups([1, 2]),
    "exp as a string": lambda: token(exp=str(int(time.time()) + 600)),
    "iat as a boolean": lambda: token(iat=True),
    "a list iss": lambda: token(iss=[ISSUER]),
}
BAD_TOKENS.update(MISTYPED_CLAIMS)


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_a_bad_token_is_unauthenticated_and_runs_nothing(
    cognito_app: ASGIApp, case: str, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    body = await ask(cognito_app, BAD_TOKENS[case](), CREATE_PROJECT, SECURED)

    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("case", sorted(MISTYPED_CLAIMS))
async def test_a_claim_of_an_unexpected_type_is_named_in_the_refusal(case: str) -> None:
    with JWKSServer() as jwks:
        authenticator = CognitoAuthenticator(
            issuer=ISSUER, jwks_url=jwks.url, client_ids=frozenset({CLIENT}), admin_group="admin"
        )
        await authenticator.start()

        with pytest.raises(Unauthenticated, match="malformed|must be a string"):
            await authenticator.authenticate({"authorization": f"Bearer {MISTYPED_CLAIMS[case]()}"})


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer", "Bearer "])
async def test_a_request_without_a_bearer_token_is_unauthenticated(
    cognito_app: ASGIApp, header: str | None
) -> None:
    client = GraphQLClient.for_app(cognito_app, None)
    if header is not None:
        client.http.headers["Authorization"] = header
    async with client:
        body = await client.execute(VIEWER)

    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


async def test_the_probes_answer_without_a_token(cognito_app: ASGIApp) -> None:
    async with GraphQLClient.for_app(cognito_app, None) as client:
        health = await client.http.get("/healthz")
        ready = await client.http.get("/readyz")

    assert (health.status_code, ready.status_code) == (200, 200)
    assert ready.json() == {"status": "ready"}


async def test_dev_headers_mean_nothing_in_cognito_mode(cognito_app: ASGIApp) -> None:
    async with GraphQLClient.for_app(cognito_app, "pretender", groups="admin") as client:
        body = await client.execute(VIEWER)

    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_an_unknown_kid_refetches_the_jwks_at_most_once_a_minute() -> None:
    with JWKSServer() as jwks:
        clock = Clock()
        authenticator = CognitoAuthenticator(
            issuer=ISSUER,
            jwks_url=jwks.url,
            client_ids=frozenset({CLIENT}),
            admin_group="admin",
            clock=clock,
        )
        await authenticator.start()
        jwks.keys.append(LATER.jwk())
        clock.now = 61

        first = await authenticator.authenticate({"authorization": f"Bearer {token(keys=LATER)}"})
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(
                {"authorization": f"Bearer {token(headers={'kid': 'nobody'})}"}
            )
        fetches_within_the_minute = jwks.fetches
        clock.now = 122
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(
                {"authorization": f"Bearer {token(headers={'kid': 'nobody'})}"}
            )

    assert first.user_id.startswith("sub-")
    assert fetches_within_the_minute == 2  # at start, then once for key-2
    assert jwks.fetches == 3


async def test_a_jwks_that_cannot_be_fetched_fails_requests_not_the_server() -> None:
    authenticator = CognitoAuthenticator(
        issuer=ISSUER,
        jwks_url="http://127.0.0.1:9/jwks.json",
        client_ids=frozenset({CLIENT}),
        admin_group="admin",
    )

    await authenticator.start()
    with pytest.raises(Unauthenticated, match="signing key"):
        await authenticator.authenticate({"authorization": f"Bearer {token()}"})


async def test_a_websocket_authenticates_with_the_token_of_its_connection_init(
    dynamodb_endpoint: str, settings: Settings, store: Store, jwks: JWKSServer
) -> None:
    subject = f"sub-{uuid.uuid4()}"
    good_init = {
        "type": "connection_init",
        "payload": {"Authorization": f"Bearer {token(sub=subject)}"},
    }
    bad_init = {"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
        AUTH_MODE="cognito",
        COGNITO_REGION=REGION,
        COGNITO_USER_POOL_ID=POOL,
        COGNITO_CLIENT_IDS=CLIENT,
        COGNITO_JWKS_URL=jwks.url,
    ) as (base, _):
        url = base.replace("http://", "ws://") + "/graphql"
        async with connect(url, subprotocols=GRAPHQL_TRANSPORT_WS) as good:
            await good.send(json.dumps(good_init))
            ack = json.loads(await asyncio.wait_for(good.recv(), 10))
            await good.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}})
            )
            answer = json.loads(await asyncio.wait_for(good.recv(), 10))
        async with connect(url, subprotocols=GRAPHQL_TRANSPORT_WS) as bad:
            await bad.send(json.dumps(bad_init))
            await asyncio.wait_for(bad.wait_closed(), 10)

    assert ack["type"] == "connection_ack"
    assert answer["payload"]["data"] == {"viewer": {"userId": subject, "isAdmin": False}}
    assert bad.close_code == 4403


async def test_a_websocket_with_a_mistyped_claim_is_closed_as_unauthenticated(
    dynamodb_endpoint: str, settings: Settings, store: Store, jwks: JWKSServer
) -> None:
    with serving(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=settings.table_prefix,
        DEPLOYER="none",
        AUTH_MODE="cognito",
        COGNITO_REGION=REGION,
        COGNITO_USER_POOL_ID=POOL,
        COGNITO_CLIENT_IDS=CLIENT,
        COGNITO_JWKS_URL=jwks.url,
    ) as (base, _):
        url = base.replace("http://", "ws://") + "/graphql"
        close_codes: dict[str, int | None] = {}
        for case, make in sorted(MISTYPED_CLAIMS.items()):
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {make()}"}}
            async with connect(url, subprotocols=GRAPHQL_TRANSPORT_WS) as socket:
                await socket.send(json.dumps(init))
                await asyncio.wait_for(socket.wait_closed(), 10)
            close_codes[case] = socket.close_code

    assert close_codes == dict.fromkeys(MISTYPED_CLAIMS, 4403)


class Overlooking(CognitoAuthenticator):
    """An authenticator with a check that trips over a claim instead of refusing it."""

    def _check_client(self, claims: Any) -> None:
        raise TypeError("unhashable type: 'list'")


async def test_a_check_that_trips_over_a_token_still_answers_unauthenticated_without_an_error_log(
    jwks: JWKSServer, caplog: pytest.LogCaptureFixture
) -> None:
    authenticator = Overlooking(
        issuer=ISSUER, jwks_url=jwks.url, client_ids=frozenset({CLIENT}), admin_group="admin"
    )
    await authenticator.start()

    with pytest.raises(Unauthenticated, match="malformed"):
        await authenticator.authenticate({"authorization": f"Bearer {token()}"})

    assert [record.levelname for record in caplog.records if "token" in record.message] == [
        "WARNING"
    ]
