"""The per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from server.auth import Identity
from server.dataloaders import Loaders
from server.errors import Unauthenticated
from server.settings import Settings
from server.store import Store

__all__ = ["Context"]


@dataclass(kw_only=True)
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    store: Store
    loaders: Loaders
    identity: Identity | None
    # Why there is no identity, for the error the operation gets instead of running.
    auth_error: Unauthenticated | None = None

    @property
    def user_id(self) -> str:
        """The caller's partition key; the only source of `userId` for resolvers."""
        if self.identity is None:
            raise self.auth_error or Unauthenticated("authentication required")
        return self.identity.user_id
