"""AWS Lambda: `handler` answers API Gateway HTTP API events (payload 2.0) with the same ASGI
app as `serve`, through Mangum.

Once per container, not per request: the first invocation builds the app from the settings in
the environment (read as `serve` reads them) and runs its lifespan startup (the store's
DynamoDB client opened, the user pool's JWKS fetched) on an event loop the container keeps;
every later invocation reuses them. Mangum's own `lifespan` option ("auto", "on") would start
and shut the app down around every invocation (a new client and a JWKS fetch per request), so
Mangum runs with it "off" and each request's scope gets the state of the one startup, as
uvicorn gives it. Lambda gives a function no shutdown hook: the client goes with the container.

On Lambda the app runs no background task (see `create_app(on_lambda=True)`): a process frozen
between invocations could not keep a deployment's lease. The sweep that fails abandoned
deployments runs instead when EventBridge's schedule invokes the function (`deploy/app.yaml`).

An event that is not an HTTP API request in payload format 2.0 is answered 400 `BAD_REQUEST`
saying what is wrong; nothing an event holds raises out of the handler. A bad setting does: the
invocation fails with the one line naming it (as `serve` stops at start), and the next one
tries again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated, Any, Literal

from mangum import Mangum
from mangum.handlers import HTTPGateway
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.app import create_app
from server.deployments.sweeper import Sweeper
from server.edge.refusals import refusal_body
from server.logs import brief_traceback, configure_logging, use_log_format
from server.settings import SettingsError, load_settings

__all__ = ["LambdaHandler", "app_from_environment", "handler"]

logger = logging.getLogger(__name__)

# What one scheduled invocation (an EventBridge rule) looks like; it runs one sweep.
SCHEDULED_SOURCE = "aws.events"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Http(_Strict):
    method: Annotated[str, Field(pattern=r"^[A-Z]+$")]
    path: Annotated[str, Field(pattern=r"^/")]
    source_ip: str = Field(alias="sourceIp")


class _RequestContext(_Strict):
    http: _Http


class HttpApiRequest(_Strict):
    """The fields of an HTTP API payload 2.0 event that Mangum reads, with their types."""

    version: Literal["2.0"]
    request_context: _RequestContext = Field(alias="requestContext")
    headers: dict[str, str] = Field(default_factory=dict)
    raw_query_string: str = Field(default="", alias="rawQueryString")
    cookies: list[str] = Field(default_factory=list)
    body: str | None = None
    is_base64_encoded: bool = Field(default=False, alias="isBase64Encoded")

    def check_body(self) -> None:
        """A base64 body must decode (the field alone cannot tell, it depends on the flag)."""
        if self.is_base64_encoded and self.body:
            try:
                base64.b64decode(self.body, validate=True)
            except binascii.Error:
                raise ValueError("body: not valid base64 though isBase64Encoded is true") from None


def problem_with(event: object) -> str | None:
    """What makes `event` something other than an HTTP API payload 2.0 request, or None."""
    if not isinstance(event, dict):
        return f"the event is a JSON {type(event).__name__}, not an object"
    try:
        HttpApiRequest.model_validate(event).check_body()
    except ValidationError as invalid:
        error = invalid.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "the event"
        return f"{where}: {error['msg']}"
    except ValueError as wrong:
        return str(wrong)
    return None


def api_refusal(status: int, message: str) -> dict[str, Any]:
    """An answer in payload format 2.0, in the JSON of every refusal."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "x-content-type-options": "nosniff"},
        "body": refusal_body(status, message).decode(),
        "isBase64Encoded": False,
    }


def is_scheduled(event: object) -> bool:
    return (
        isinstance(event, dict)
        and event.get("source") == SCHEDULED_SOURCE
        and event.get("detail-type") == SCHEDULED_DETAIL_TYPE
    )


class OpenLifespan:
    """The app's ASGI lifespan, started once and left open until `stop` (never, on Lambda)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._started = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.state: dict[str, Any] = {}

    async def start(self) -> dict[str, Any]:
        """Run the startup; raise its own error if it fails."""
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = self.state
        self._inbox.put_nowait({"type": "lifespan.startup"})
        self._task = asyncio.create_task(self._run(scope))
        started = asyncio.create_task(self._started.wait())
        await asyncio.wait({self._task, started}, return_when=asyncio.FIRST_COMPLETED)
        if not self._started.is_set():
            started.cancel()
            with suppress(asyncio.CancelledError):
                await started
            self._task.result()  # the startup's error, as it was raised
            raise RuntimeError("the app's lifespan ended before it started")
        return self.state

    async def _run(self, scope: Scope) -> None:
        await self._app(scope, self._inbox.get, self._send)

    async def _send(self, message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            self._started.set()

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._inbox.put_nowait({"type": "lifespan.shutdown"})
            await self._task


class LambdaHandler:
    """A Lambda handler over the app `make_app` builds, started at its first invocation."""

    def __init__(self, make_app: Callable[[], ASGIApp]) -> None:
        self._make_app = make_app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: OpenLifespan | None = None
        self._adapter: Mangum | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The container's event loop, once the first invocation made it."""
        return self._loop

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        # Mangum runs each request on the thread's current event loop: this container's one.
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        if is_scheduled(event):
            return self._sweep()
        problem = problem_with(event)
        if problem is not None:
            return api_refusal(400, f"not an API Gateway HTTP API request (payload 2.0): {problem}")
        adapter = self._adapter or self._start()
        try:
            request = HTTPGateway(event, context, adapter.config)
            request.scope, request.body  # noqa: B018 - read as Mangum will, to refuse here
        except Exception as error:
            # What the check above does not cover, such as a Host header with two ports.
            message = f"the event could not be read as an HTTP request ({type(error).__name__})"
            return api_refusal(400, message)
        try:
            return adapter(event, context)
        except Exception as error:
            # The app answers its own failures (`ContainFailures`); this is Mangum failing.
            logger.error("could not answer a Lambda event\n%s", brief_traceback(error))
            return api_refusal(500, "Internal server error")

    def _start(self) -> Mangum:
        assert self._loop is not None
        app = self._make_app()
        lifespan = OpenLifespan(app)
        state = self._loop.run_until_complete(lifespan.start())
        self._lifespan = lifespan

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state)  # a shallow copy per request, as uvicorn gives it
            await app(scope, receive, send)

        self._adapter = Mangum(with_state, lifespan="off", custom_handlers=[HTTPGateway])
        return self._adapter

    def _sweep(self) -> dict[str, Any]:
        """One pass of the sweep (`server.deployments.sweeper`), for a scheduled invocation."""
        assert self._loop is not None
        if self._adapter is None:
            self._start()
        assert self._lifespan is not None
        state = self._lifespan.state
        sweeper = Sweeper(state["store"], state["notices"])
        self._loop.run_until_complete(sweeper.sweep())
        return {"sweeps": sweeper.sweeps}

    def close(self) -> None:
        """Stop the app and close the loop (tests; Lambda freezes and discards containers)."""
        if self._loop is None:
            return
        if self._lifespan is not None:
            self._loop.run_until_complete(self._lifespan.stop())
        self._loop.close()
        self._loop = self._lifespan = self._adapter = None


def app_from_environment() -> ASGIApp:
    """The app for Lambda from the environment's settings, logging as `serve` does."""
    configure_logging(logging.INFO)
    settings = load_settings()
    use_log_format(settings.logs_as)  # JSON lines outside dev mode, as `serve` writes them
    if settings.auth_mode == "dev" and not settings.insecure_dev_auth:
        raise SettingsError(
            "AUTH_MODE=dev on AWS Lambda lets anyone act as any user; use AUTH_MODE=cognito,"
            " or set INSECURE_DEV_AUTH=true if you really mean it"
        )
    return create_app(settings, on_lambda=True)


handler = LambdaHandler(app_from_environment)
