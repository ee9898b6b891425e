"""The Starlette app: lifespan (store, authenticator, metrics, tracing), `/graphql` (with the
GraphiQL playground for browsers, `server.playground`), `/healthz` and `/readyz`.

The same app serves under uvicorn (`serve`) and on AWS Lambda (`server.lambda_handler`); on
Lambda (`on_lambda=True`) it starts no background task and refuses subscriptions saying where
they work, since a Lambda function behind an HTTP API has neither a process that lives between
requests nor WebSockets.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import TYPE_CHECKING, NamedTuple, TypedDict, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from server.auth import Authenticator, Identity, make_authenticator
from server.builtin_catalog import BuiltinCatalog
from server.context import Context
from server.dataloaders import Loaders
from server.deployments.feed import ChangeFeed
from server.deployments.notices import DeploymentNotices
from server.deployments.sweeper import Sweeper
from server.deployments.watchers import SubscriptionCaps, Watchers
from server.deployments.worker import DeploymentWorker, ValidatingDeployer
from server.edge import body
from server.edge.failures import ContainFailures
from server.edge.hosts import JsonCORS, OriginPolicy, TrustedHosts
from server.edge.media import GRAPHQL_RESPONSE_JSON, JSON, response_media
from server.edge.refusals import refusal
from server.edge.request_ids import RequestIds
from server.edge.websocket import close_now
from server.errors import ServiceUnavailable, Unauthenticated
from server.health import Readiness, healthz, readyz
from server.limits import BodyLimit, SecurityHeaders
from server.logs import keep_secrets_out_of_logs
from server.metrics import forget_this_process, serve_metrics
from server.playground.page import ASSETS_PATH, PLAYGROUND_CSP, Playground
from server.runtime import tune_garbage_collector
from server.schema import build_schema
from server.schema.errors import extensions_for
from server.settings import Settings, load_settings
from server.store import Store, open_store
from server.tracing import open_tracing
from server.wiring import store_options

if TYPE_CHECKING:
    from server.otel import Tracing
    from server.store.embedded import EmbeddedDynamoDB

__all__ = ["State", "create_app"]


class State(TypedDict):
    settings: Settings
    store: Store
    authenticator: Authenticator
    notices: DeploymentNotices
    watchers: Watchers
    catalog: BuiltinCatalog
    worker: DeploymentWorker | None
    readiness: Readiness
    tracing: Tracing | None


GRAPHQL_PATHS = ("/graphql", "/graphql/")
WEBSOCKET_SUBSCRIPTIONS = (
    "subscriptions need a WebSocket on /graphql (graphql-transport-ws or graphql-ws)"
)
MUTATION_OVER_GET = "mutations run over POST only (GET is for queries): send this one as a POST"
MISSING_QUERY = "the request has no `query`: send the GraphQL document as `query`"
# The close code and reason of a WebSocket dropped as a slow consumer (RFC 6455 leaves
# 4000-4999 to applications; graphql-transport-ws uses 44xx for its own).
SLOW_CONSUMER_CLOSE = 4008
SLOW_CONSUMER_REASON = "slow consumer: too many events unread; reconnect"
NO_SUBSCRIPTIONS_ON_LAMBDA = (
    "subscriptions need a WebSocket, which this API on AWS Lambda does not have: subscribe"
    " through a WebSocket on /graphql of the container deployment (graphql-transport-ws or"
    " graphql-ws)"
)


class GraphQLView(GraphQL[Context, None]):
    operation_timeout = 10.0
    origins = OriginPolicy(frozenset())
    subscriptions_refusal = WEBSOCKET_SUBSCRIPTIONS
    playground: Playground

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """strawberry's, answering as GraphQL-over-HTTP says: in the media type the client's
        `Accept` prefers (`server/edge/media.py`), 406 when it allows none, and strawberry's
        refusals (plain text there) in the JSON of every refusal."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._answer(request)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        media_type = response_media(request.headers.get("accept"))
        if media_type is None and not self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            return refusal(406, _not_acceptable(request.headers.get("accept", "")))
        request.state.response_media = media_type or JSON
        try:
            response = await self.run(request)
        except HTTPException as error:
            return self._refusal(request, error)
        if response.media_type == JSON:  # a GraphQL response (GraphiQL's page is HTML)
            _present(request, response)
        return response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """A POST body read strictly (`server.edge.body`); a GET as strawberry reads it."""
        if request.method != "POST":
            return await super().parse_http_body(request)
        body.require_json_media_type(request.content_type)
        return body.operation_from(self.parse_json(await request.get_body()))

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our GraphiQL page, whose files this server serves (strawberry's loads a CDN's)."""
        return self.playground.page(request)

    def decode_json(self, data: str | bytes) -> object:
        return body.decode_json(data)

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """A cross-origin WebSocket upgrade: browsers apply no CORS to it, so it is checked
        here against the same origins as CORS (same-origin ones pass before this)."""
        return self.origins.allows(origin)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """An HTTP operation, within the time budget (subscriptions go by another path)."""
        try:
            async with asyncio.timeout(self.operation_timeout) as budget:
                context.time_budget = budget
                result = await super().execute_operation(
                    request, request_adapter, request_data, context, root_value, sub_response
                )
        except TimeoutError:
            error = ServiceUnavailable(
                f"the operation took longer than {self.operation_timeout:g} s; retry"
            )
            graphql_error = GraphQLError(error.message, original_error=error)
            graphql_error.extensions = extensions_for(graphql_error, validation_failed=False)
            return ExecutionResult(data=None, errors=[graphql_error])
        # Errors before execution began: parsing, validation, variables, cost, identity.
        request.state.request_error = (
            isinstance(result, ExecutionResult)
            and bool(result.errors)
            and not context.execution_started
        )
        return result

    def encode_json(self, data: object) -> str:
        """Responses and WebSocket messages, by orjson (a big answer's JSON in a fraction of
        `json`'s time); as text, since WebSocket clients expect text frames."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # an integer beyond 64 bits in a JSON scalar: `json` writes those
            return json.dumps(data, separators=(",", ":"))

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state = request.state
        identity, auth_error = await _authenticate(state.authenticator, request.headers)
        return Context(
            request=request,
            response=response,
            settings=state.settings,
            store=state.store,
            loaders=Loaders.for_request(
                state.store, state.catalog, naive=state.settings.bench_naive_loaders
            ),
            notices=state.notices,
            watchers=state.watchers,
            drop_connection=_dropper(request) if isinstance(request, WebSocket) else None,
            catalog=state.catalog,
            deployment_queue=state.worker,
            identity=identity,
            auth_error=auth_error,
            tracing=state.tracing,
        )

    def _refusal(self, request: Request, error: HTTPException) -> Response:
        """strawberry's refusal, in our JSON, with the status and words GraphQL-over-HTTP
        asks for where strawberry's differ."""
        cause = error.__cause__
        if isinstance(cause, InvalidOperationTypeError):
            if cause.operation_type == OperationType.SUBSCRIPTION:
                return refusal(400, self.subscriptions_refusal)
            if cause.operation_type == OperationType.MUTATION and request.method == "GET":
                return refusal(405, MUTATION_OVER_GET, headers={"Allow": "POST"})
        if isinstance(cause, MissingQueryError):
            return refusal(400, MISSING_QUERY)
        if error.status_code == 405:  # a method the view does not serve (HEAD)
            return refusal(405, error.reason, headers={"Allow": "GET, POST"})
        return refusal(error.status_code, error.reason)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """The response's body; under `application/graphql-response+json` a request error
        (nothing executed) has no `data` entry, as the GraphQL spec says."""
        body = await super().process_result(request, result)
        if _is_request_error(request) and request.state.response_media == GRAPHQL_RESPONSE_JSON:
            body.pop("data", None)
        return body

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its `connection_init` payload (over its headers)."""
        payload = {
            str(name).lower(): value
            for name, value in (context.connection_params or {}).items()
            if isinstance(value, str)
        }
        headers = {**dict(context.request.headers), **payload}
        identity, auth_error = await _authenticate(context.request.state.authenticator, headers)
        if auth_error is not None:
            raise ConnectionRejectionError(
                {"message": auth_error.message, "extensions": {"code": auth_error.code}}
            )
        context.identity, context.auth_error = identity, None
        return cast(UnsetType, UNSET)


def _dropper(websocket: WebSocket) -> Callable[[], None]:
    """How a slow consumer's WebSocket is closed: at once, since its peer reads nothing."""
    return functools.partial(close_now, websocket, SLOW_CONSUMER_CLOSE, SLOW_CONSUMER_REASON)


def _is_request_error(request: Request) -> bool:
    return bool(getattr(request.state, "request_error", False))


def _present(request: Request, response: Response) -> None:
    """A GraphQL response in the negotiated media type, with its charset; under
    `application/graphql-response+json` a request error is a 400 (under `application/json`,
    for legacy clients, every GraphQL response is a 200)."""
    media_type = request.state.response_media
    response.headers["content-type"] = f"{media_type}; charset=utf-8"
    if media_type == GRAPHQL_RESPONSE_JSON and _is_request_error(request):
        response.status_code = 400


def _not_acceptable(accept: str) -> str:
    return (
        f"this endpoint answers in {GRAPHQL_RESPONSE_JSON} or {JSON}, and the Accept header"
        f" allows neither: got {accept[:100]!r}"
    )


async def _http_refusal(request: Request, error: Exception) -> Response:
    """starlette's own refusals (404, 405) in the JSON of every refusal."""
    assert isinstance(error, StarletteHTTPException)
    return refusal(error.status_code, error.detail, headers=dict(error.headers or {}))


async def _authenticate(
    authenticator: Authenticator, headers: Mapping[str, str]
) -> tuple[Identity | None, Unauthenticated | None]:
    try:
        return await authenticator.authenticate(headers), None
    except Unauthenticated as error:
        return None, error


class _Background(NamedTuple):
    notices: DeploymentNotices
    watchers: Watchers
    catalog: BuiltinCatalog
    worker: DeploymentWorker | None


def _subscription_caps(settings: Settings) -> SubscriptionCaps:
    return SubscriptionCaps(
        per_connection=settings.subscriptions_per_connection,
        per_user=settings.subscriptions_per_user,
        per_instance=settings.subscriptions_per_instance,
        buffer=settings.subscription_buffer,
        stall_seconds=settings.slow_consumer_seconds,
    )


@asynccontextmanager
async def _background(
    settings: Settings, store: Store, *, on_lambda: bool
) -> AsyncIterator[_Background]:
    """What runs beside the requests: the deployment worker (`DEPLOYER=validate`), the sweep
    and the change feed (`CHANGE_FEED=streams`), with the notices, the deployment watchers and
    the catalog cache they share with the requests; none of them on Lambda."""
    notices = DeploymentNotices()
    # With a change feed the watchers learn of every change from it and never poll.
    feed_runs = settings.change_feed == "streams" and not on_lambda
    caps = _subscription_caps(settings)
    watchers = Watchers(store, caps=caps, poll=not feed_runs, notices=notices)
    catalog = BuiltinCatalog(store.builtin_tools, ttl_seconds=settings.builtin_cache_seconds)
    worker = None
    tasks = []
    if settings.deployer == "validate" and not on_lambda:
        worker = DeploymentWorker(store, notices, ValidatingDeployer(catalog))
        tasks.append(asyncio.create_task(worker.run(), name="deployment-worker"))
    if not on_lambda:
        sweeper = Sweeper(
            store,
            notices,
            interval=settings.deployment_sweep_seconds,
            resume=worker.submit if worker is not None else None,
        )
        tasks.append(asyncio.create_task(sweeper.run(), name="deployment-sweeper"))
    if feed_runs:
        feed = ChangeFeed(store, watchers)
        tasks.append(asyncio.create_task(feed.run(), name="change-feed"))
    tune_garbage_collector()
    try:
        yield _Background(notices, watchers, catalog, worker)
    finally:
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def create_app(
    settings: Settings | None = None,
    *,
    tracing: Tracing | None = None,
    on_lambda: bool = False,
    embedded: EmbeddedDynamoDB | None = None,
) -> Starlette:
    """The app `settings` describe; `tracing` in place of the one they set up (tests).
    `embedded`: with `STORE=embedded`, the embedded DynamoDB to use, which the app stops at
    shutdown (`serve` starts it first, so that a data directory it cannot use stops the start
    in one line rather than in uvicorn's traceback).
    `on_lambda`: the process is frozen between invocations, so it runs neither the deployment
    worker nor the sweep whatever `DEPLOYER` says (a lease it claimed would run out while
    frozen, and each cold start would Scan the Projects table); and it has no WebSocket, so a
    subscription over HTTP is refused pointing to the container deployment."""
    settings = settings or load_settings()
    keep_secrets_out_of_logs()
    authenticator = make_authenticator(settings)
    tracing = tracing or open_tracing(settings.otel_exporter_otlp_endpoint)
    # Before serving, so a store this install cannot open stops the start in one line.
    options = store_options(settings, tracing, embedded=embedded)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        await authenticator.start()
        async with AsyncExitStack() as cleanup:
            if settings.metrics_port is not None:
                metrics = serve_metrics(settings.metrics_host, settings.metrics_port)
                if metrics is not None:
                    cleanup.callback(metrics.close)
            cleanup.callback(forget_this_process)
            if tracing is not None:
                cleanup.callback(tracing.close)
            store = await cleanup.enter_async_context(open_store(options))
            async with _background(settings, store, on_lambda=on_lambda) as background:
                yield {
                    "settings": settings,
                    "store": store,
                    "authenticator": authenticator,
                    "notices": background.notices,
                    "watchers": background.watchers,
                    "catalog": background.catalog,
                    "worker": background.worker,
                    "readiness": Readiness(store, ttl_seconds=settings.readiness_cache_seconds),
                    "tracing": tracing,
                }

    graphql = GraphQLView(
        build_schema(introspection=settings.allows_introspection), graphql_ide="graphiql"
    )
    graphql.operation_timeout = settings.operation_timeout_seconds
    graphql.origins = settings.origins
    graphql.playground = Playground(dev_mode=settings.auth_mode == "dev")
    if on_lambda:
        graphql.subscriptions_refusal = NO_SUBSCRIPTIONS_ON_LAMBDA
    return Starlette(
        middleware=[
            Middleware(RequestIds),
            Middleware(SecurityHeaders, html_csp=PLAYGROUND_CSP),
            Middleware(ContainFailures),
            Middleware(TrustedHosts, hosts=settings.hosts),
            Middleware(BodyLimit),
            Middleware(
                JsonCORS,
                allow_origins=sorted(settings.origins.origins),
                allow_origin_regex=settings.origins.regex,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "X-Dev-User",
                    "X-Dev-Groups",
                    "X-Request-Id",
                ],
                expose_headers=["X-Request-Id"],
                max_age=600,
            ),
        ],
        routes=[
            # `/graphql/` is the same endpoint (no redirect: a POST's client rarely follows one).
            *(Route(path, graphql, methods=["GET", "POST"]) for path in GRAPHQL_PATHS),
            *(WebSocketRoute(path, graphql) for path in GRAPHQL_PATHS),
            Route(f"{ASSETS_PATH}/{{name}}", graphql.playground.asset, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        exception_handlers={StarletteHTTPException: _http_refusal},
        lifespan=lifespan,
    )
