"""AWS Lambda: the handler answers API Gateway HTTP API events (payload 2.0) with the app.

The handler is invoked in-process, as the Lambda runtime invokes it: a synchronous call per
event, from one thread at a time (here a worker thread, since the test's own event loop is
running), against the moto server of the suite.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.app import NO_SUBSCRIPTIONS_ON_LAMBDA, create_app
from server.deployments.sweeper import INTERRUPTED
from server.lambda_handler import LambdaHandler
from server.models import DeploymentStatus
from server.settings import Settings
from server.store import Store
from server.store.tables import TableNames
from tests.deployments.test_sweeper import abandoned
from tests.documents import CREATE_DEPLOYMENT, CREATE_PROJECT, VIEWER
from tests.test_cognito import CLIENT, POOL, REGION, JWKSServer, token

API_HOST = "abc123.execute-api.eu-west-1.amazonaws.com"
ROOT = Path(__file__).resolve().parents[1]


def http_event(
    document: str | None = None,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str = "/graphql",
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event as API Gateway sends it for a GraphQL POST."""
    body = None if document is None else json.dumps({"query": document, "variables": variables})
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": API_HOST,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": API_HOST,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "test",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": 1_700_000_000_000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2025-01-01T00:00:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:events:eu-west-1:123456789012:rule/sweep"],
    "detail": {},
}


async def invoke(handler: LambdaHandler, event: object) -> dict[str, Any]:
    """One invocation, on a thread of its own as the Lambda runtime makes it (synchronous)."""
    response: dict[str, Any] = await asyncio.to_thread(handler, event, None)
    return response


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["content-type"].startswith("application/json"), response
    body: dict[str, Any] = json.loads(response["body"])
    return body


@pytest.fixture(scope="module")
def lambda_settings(settings: Settings) -> Settings:
    """The suite's settings with the API's host as API Gateway sends it; the deployer and the
    sweep as a container runs them, which the handler must not run."""
    return settings.model_copy(
        update={
            "allowed_hosts": ("*.execute-api.eu-west-1.amazonaws.com",),
            "deployer": "validate",
            "deployment_sweep_seconds": 0.05,
        }
    )


@pytest.fixture
async def started(store: Store) -> AsyncIterator[Callable[[Callable[[], Any]], LambdaHandler]]:
    """Handlers over the apps a test makes, each closed after the test."""
    handlers: list[LambdaHandler] = []

    def start(make_app: Callable[[], Any]) -> LambdaHandler:
        handler = LambdaHandler(make_app)
        handlers.append(handler)
        return handler

    yield start
    for handler in handlers:
        await asyncio.to_thread(handler.close)


@pytest.fixture
def dev_handler(
    lambda_settings: Settings, started: Callable[[Callable[[], Any]], LambdaHandler]
) -> LambdaHandler:
    return started(lambda: create_app(lambda_settings, on_lambda=True))


async def test_a_mutation_and_a_query_are_answered_as_over_http(
    dev_handler: LambdaHandler, user_id: str
) -> None:
    # Given a user of the dev mode
    who = {"X-Dev-User": user_id}

    # When they create a project, then list their projects, through the handler
    created = await invoke(
        dev_handler, http_event(CREATE_PROJECT, {"input": {"name": "On Lambda"}}, headers=who)
    )
    listed = await invoke(dev_handler, http_event("{ projects { id name } }", headers=who))

    # Then both are answered 200 with their data, and the project is stored
    assert created["statusCode"] == 200, created
    project_id = body_of(created)["data"]["createProject"]["id"]
    assert listed["statusCode"] == 200, listed
    assert body_of(listed) == {"data": {"projects": [{"id": project_id, "name": "On Lambda"}]}}
    assert listed["headers"]["x-content-type-options"] == "nosniff"


async def test_the_dev_mode_headers_name_the_caller_and_their_groups(
    dev_handler: LambdaHandler, user_id: str
) -> None:
    admin = http_event(VIEWER, headers={"X-Dev-User": user_id, "X-Dev-Groups": "admin"})

    response = await invoke(dev_handler, admin)

    assert body_of(response) == {"data": {"viewer": {"userId": user_id, "isAdmin": True}}}


async def test_a_subscription_over_http_is_refused_pointing_to_the_container_deployment(
    dev_handler: LambdaHandler,
) -> None:
    subscription = 'subscription { deploymentUpdated(id: "d") { id status } }'

    response = await invoke(dev_handler, http_event(subscription))

    assert response["statusCode"] == 400
    error = body_of(response)["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"] == NO_SUBSCRIPTIONS_ON_LAMBDA
    assert "container deployment" in error["message"]


async def test_the_handler_runs_no_background_task_whatever_the_deployer(
    dev_handler: LambdaHandler, user_id: str
) -> None:
    # Given DEPLOYER=validate and a sweep every 50 ms (as a container would run them)
    who = {"X-Dev-User": user_id}
    created = await invoke(
        dev_handler, http_event(CREATE_PROJECT, {"input": {"name": "Deployed"}}, headers=who)
    )
    project_id = body_of(created)["data"]["createProject"]["id"]

    # When a deployment is created and the function is invoked again
    deployed = await invoke(
        dev_handler, http_event(CREATE_DEPLOYMENT, {"projectId": project_id}, headers=who)
    )
    await invoke(dev_handler, http_event(VIEWER, headers=who))

    # Then the only task of the container's loop is the app's open lifespan: no worker, no
    # sweep; and the deployment waits, PENDING, for an external pipeline
    assert dev_handler.loop is not None
    assert len(asyncio.all_tasks(dev_handler.loop)) == 1
    assert body_of(deployed)["data"]["createDeployment"]["status"] == "PENDING"


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ([], "the event is a JSON list, not an object"),
        ({}, "version: Field required"),
        ({**http_event(VIEWER), "version": "1.0"}, "version: Input should be '2.0'"),
        ({**http_event(VIEWER), "requestContext": {}}, "requestContext.http: Field required"),
        (
            {**http_event(VIEWER), "headers": {"host": API_HOST, "x-dev-user": 7}},
            "headers.x-dev-user: Input should be a valid string",
        ),
        (
            {**http_event(VIEWER), "body": "not base64!", "isBase64Encoded": True},
            "body: not valid base64 though isBase64Encoded is true",
        ),
        (
            {**http_event(VIEWER), "headers": {"host": "a:b:c"}},
            "the event could not be read as an HTTP request (ValueError)",
        ),
    ],
    ids=["a list", "empty", "payload 1.0", "no http", "a number header", "bad base64", "host"],
)
async def test_a_malformed_event_is_a_bad_request_naming_what_is_wrong(
    dev_handler: LambdaHandler, event: object, named: str
) -> None:
    response = await invoke(dev_handler, event)

    assert response["statusCode"] == 400
    error = body_of(response)["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert named in error["message"]


async def test_a_base64_body_is_read_as_api_gateway_sends_binary_bodies(
    dev_handler: LambdaHandler, user_id: str
) -> None:
    event = http_event(VIEWER, headers={"X-Dev-User": user_id})
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True

    response = await invoke(dev_handler, event)

    assert body_of(response) == {"data": {"viewer": {"userId": user_id, "isAdmin": False}}}


# -- Cognito ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jwks() -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        yield server


@pytest.fixture
def cognito_handler(
    lambda_settings: Settings,
    jwks: JWKSServer,
    started: Callable[[Callable[[], Any]], LambdaHandler],
) -> LambdaHandler:
    cognito = lambda_settings.model_copy(
        update={
            "auth_mode": "cognito",
            "allowed_hosts": None,  # cognito mode's default: any host
            "cognito_region": REGION,
            "cognito_user_pool_id": POOL,
            "cognito_client_ids": (CLIENT,),
            "cognito_jwks_url": jwks.url,
        }
    )
    return started(lambda: create_app(cognito, on_lambda=True))


async def test_a_cognito_bearer_token_authenticates_its_subject(
    cognito_handler: LambdaHandler,
) -> None:
    subject = f"sub-{uuid.uuid4()}"
    bearer = {"authorization": f"Bearer {token(sub=subject)}"}

    response = await invoke(cognito_handler, http_event(VIEWER, headers=bearer))

    assert response["statusCode"] == 200
    assert body_of(response) == {"data": {"viewer": {"userId": subject, "isAdmin": False}}}


async def test_without_a_token_the_answer_is_unauthenticated(
    cognito_handler: LambdaHandler,
) -> None:
    response = await invoke(cognito_handler, http_event(VIEWER))

    error = body_of(response)["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_app_starts_once_per_container_not_once_per_invocation(
    cognito_handler: LambdaHandler, jwks: JWKSServer
) -> None:
    # Given a fresh container (the JWKS is fetched by the app's startup)
    fetched_before = jwks.fetches
    bearer = {"authorization": f"Bearer {token()}"}

    # When it serves three requests
    for _ in range(3):
        response = await invoke(cognito_handler, http_event(VIEWER, headers=bearer))
        assert response["statusCode"] == 200

    # Then its startup ran once: one fetch of the JWKS for the three
    assert jwks.fetches == fetched_before + 1


# -- the scheduled sweep ---------------------------------------------------------------------


@pytest.fixture(scope="module")
async def own_tables(lambda_settings: Settings, store: Store) -> Settings:
    """Tables of their own: a sweep reads every project's active deployment, and the shared
    tables hold many deployments other tests left PENDING or DEPLOYING on purpose."""
    prefix = f"{lambda_settings.table_prefix}lambda-sweep-"
    tables = Store.on(store.client, TableNames.with_prefix(prefix))
    await tables.create_tables()
    return lambda_settings.model_copy(update={"table_prefix": prefix})


async def test_a_scheduled_invocation_sweeps_an_abandoned_deployment(
    own_tables: Settings,
    store: Store,
    user_id: str,
    started: Callable[[Callable[[], Any]], LambdaHandler],
) -> None:
    # Given a deployment whose deployer stopped: DEPLOYING, its lease ended
    handler = started(lambda: create_app(own_tables, on_lambda=True))
    who = {"X-Dev-User": user_id}
    created = await invoke(
        handler, http_event(CREATE_PROJECT, {"input": {"name": "Left"}}, headers=who)
    )
    project_id = body_of(created)["data"]["createProject"]["id"]
    deployed = await invoke(
        handler, http_event(CREATE_DEPLOYMENT, {"projectId": project_id}, headers=who)
    )
    deployment_id = body_of(deployed)["data"]["createDeployment"]["id"]
    own_store = Store.on(store.client, TableNames.with_prefix(own_tables.table_prefix))
    await abandoned(own_store, user_id, deployment_id)

    # When EventBridge's schedule invokes the function
    swept = await invoke(handler, SCHEDULED_EVENT)

    # Then one sweep ran and failed it
    assert swept == {"sweeps": 1}
    failed = await own_store.deployments.get(user_id, deployment_id)
    assert failed is not None
    assert failed.status is DeploymentStatus.FAILED
    assert (failed.error or "").startswith(INTERRUPTED)


# -- `server.lambda_handler.handler`, as Lambda loads it -------------------------------------

INVOKE = """
import json, sys
from server.lambda_handler import handler
print(json.dumps(handler(json.loads(sys.stdin.read()), None)))
"""


def run_handler(event: dict[str, Any], **environment: str) -> subprocess.CompletedProcess[str]:
    """`server.lambda_handler.handler` invoked in a fresh Python with only `environment` set
    beside the credentials, as the Lambda runtime loads the module."""
    keep = ("PATH", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return subprocess.run(
        [sys.executable, "-c", INVOKE],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT), **environment},
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def environment(settings: Settings) -> dict[str, str]:
    assert settings.dynamodb_endpoint_url is not None
    return {
        "STORE": "dynamodb",
        "DYNAMODB_ENDPOINT_URL": settings.dynamodb_endpoint_url,
        "TABLE_PREFIX": settings.table_prefix,
        "ALLOWED_HOSTS": "*.execute-api.eu-west-1.amazonaws.com",
    }


async def test_the_module_handler_reads_its_settings_from_the_environment(
    store: Store, environment: dict[str, str], user_id: str
) -> None:
    event = http_event(VIEWER, headers={"X-Dev-User": user_id})

    ran = await asyncio.to_thread(
        run_handler, event, **environment, AUTH_MODE="dev", INSECURE_DEV_AUTH="true"
    )

    assert ran.returncode == 0, ran.stderr
    response = json.loads(ran.stdout)
    assert body_of(response) == {"data": {"viewer": {"userId": user_id, "isAdmin": False}}}


async def test_the_module_handler_refuses_the_dev_mode_unless_told_it_is_meant(
    store: Store, environment: dict[str, str]
) -> None:
    ran = await asyncio.to_thread(run_handler, http_event(VIEWER), **environment)

    assert ran.returncode != 0
    assert "AUTH_MODE=dev on AWS Lambda lets anyone act as any user" in ran.stderr
