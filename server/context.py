"""The per-request context every resolver receives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from server.auth import Identity
from server.builtin_catalog import BuiltinCatalog
from server.dataloaders import Loaders
from server.deployments.notices import DeploymentNotices
from server.deployments.queue import DeploymentQueue
from server.deployments.watchers import Watchers
from server.errors import Forbidden, Unauthenticated
from server.settings import Settings
from server.store import Store

if TYPE_CHECKING:
    from server.otel import Tracing

__all__ = ["Context", "OperationCost"]


class OperationCost(Protocol):
    """An operation's cost as the schema counts it (`CostMeter`, `server/schema/cost.py`):
    the context sits below the schema, so it names only what it holds."""

    @property
    def requested(self) -> int: ...

    @property
    def actual(self) -> int: ...


@dataclass(kw_only=True)
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    store: Store
    loaders: Loaders
    notices: DeploymentNotices
    catalog: BuiltinCatalog
    # This instance's deployment watchers, which subscriptions share.
    watchers: Watchers
    # What the caps count a subscription against: one per WebSocket (its context is made once
    # per connection), one per HTTP request.
    connection: object = field(default_factory=object)
    # Ends the WebSocket at once, without waiting on its peer (a slow consumer is dropped);
    # None over HTTP.
    drop_connection: Callable[[], None] | None = None
    # Where new deployments go to be deployed on this instance (DEPLOYER=validate: the
    # worker); None when an external pipeline deploys them.
    deployment_queue: DeploymentQueue | None = None
    identity: Identity | None
    # Why there is no identity, for the error the operation gets instead of running.
    auth_error: Unauthenticated | None = None
    # The `connection_init` payload of a WebSocket, set by strawberry.
    connection_params: dict[str, object] | None = None
    # The operation's cost, estimated and counted (`server/schema/metered.py`).
    cost: OperationCost | None = None
    # Whether the operation got past every request error (parsing, validation, choosing the
    # operation, coercing its variables, its cost) and began to execute: GraphQL-over-HTTP
    # answers a request error with 400 under `application/graphql-response+json`.
    execution_started: bool = False
    # The time budget of an HTTP operation (`OPERATION_TIMEOUT_SECONDS`), to tell its end
    # from another cancellation.
    time_budget: asyncio.Timeout | None = None
    # A span per operation, when tracing is on.
    tracing: Tracing | None = None

    @property
    def user_id(self) -> str:
        """The caller's partition key; the only source of `userId` for resolvers."""
        if self.identity is None:
            raise self.auth_error or Unauthenticated("authentication required")
        return self.identity.user_id

    def renew_loaders(self) -> None:
        """Start over with empty loaders (for each emission of a long-lived subscription)."""
        self.loaders = Loaders.for_request(
            self.store, self.catalog, naive=self.settings.bench_naive_loaders
        )

    def require_admin(self) -> str:
        """The caller's user id, if the caller is an admin; `Forbidden` otherwise."""
        user_id = self.user_id
        if self.identity is None or not self.identity.is_admin:
            raise Forbidden("this operation is for admins only")
        return user_id
