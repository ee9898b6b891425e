"""The Starlette app: lifespan (store, authenticator), `/graphql` and `/healthz`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any, TypedDict, cast

import orjson
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from server.auth import Authenticator, Identity, make_authenticator
from server.builtin_catalog import BuiltinCatalog
from server.changes import Changes
from server.context import Context
from server.dataloaders import Loaders
from server.deployer import DeploymentWorker, ValidatingDeployer
from server.errors import ServiceUnavailable, Unauthenticated
from server.limits import BodyLimit, SecurityHeaders, graphiql_csp
from server.logs import keep_secrets_out_of_logs
from server.runtime import tune_garbage_collector
from server.schema import build_schema
from server.schema.errors import extensions_for
from server.settings import Settings, load_settings
from server.store import Store, open_store
from server.sweeper import Sweeper

__all__ = ["State", "create_app"]


class State(TypedDict):
    settings: Settings
    store: Store
    authenticator: Authenticator
    changes: Changes
    catalog: BuiltinCatalog
    worker: DeploymentWorker | None


class GraphQLView(GraphQL[Context, None]):
    operation_timeout = 10.0

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        """An HTTP operation, within the time budget (subscriptions go by another path)."""
        try:
            async with asyncio.timeout(self.operation_timeout):
                return await super().execute_operation(*args, **kwargs)
        except TimeoutError:
            error = ServiceUnavailable(
                f"the operation took longer than {self.operation_timeout:g} s; retry"
            )
            graphql_error = GraphQLError(error.message, original_error=error)
            graphql_error.extensions = extensions_for(graphql_error, validation_failed=False)
            return ExecutionResult(data=None, errors=[graphql_error])

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
            changes=state.changes,
            catalog=state.catalog,
            worker=state.worker,
            identity=identity,
            auth_error=auth_error,
        )

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


async def _authenticate(
    authenticator: Authenticator, headers: Mapping[str, str]
) -> tuple[Identity | None, Unauthenticated | None]:
    try:
        return await authenticator.authenticate(headers), None
    except Unauthenticated as error:
        return None, error


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    keep_secrets_out_of_logs()
    authenticator = make_authenticator(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        await authenticator.start()
        async with open_store(settings) as store:
            changes = Changes()
            catalog = BuiltinCatalog(
                store.builtin_tools, ttl_seconds=settings.builtin_cache_seconds
            )
            worker = None
            tasks = []
            if settings.deployer == "validate":
                worker = DeploymentWorker(store, changes, ValidatingDeployer(catalog))
                tasks.append(asyncio.create_task(worker.run(), name="deployment-worker"))
            sweeper = Sweeper(
                store,
                changes,
                interval=settings.deployment_sweep_seconds,
                resume=worker.submit if worker is not None else None,
            )
            tasks.append(asyncio.create_task(sweeper.run(), name="deployment-sweeper"))
            tune_garbage_collector()
            try:
                yield {
                    "settings": settings,
                    "store": store,
                    "authenticator": authenticator,
                    "changes": changes,
                    "catalog": catalog,
                    "worker": worker,
                }
            finally:
                for task in tasks:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task

    graphql = GraphQLView(
        build_schema(introspection=settings.allows_introspection), graphql_ide="graphiql"
    )
    graphql.operation_timeout = settings.operation_timeout_seconds
    return Starlette(
        middleware=[
            Middleware(BodyLimit),
            Middleware(SecurityHeaders, html_csp=graphiql_csp(graphql.graphql_ide_html)),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Dev-User", "X-Dev-Groups"],
                max_age=600,
            ),
        ],
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
