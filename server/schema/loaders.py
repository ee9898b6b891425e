"""Fresh loaders for every operation on a WebSocket.

Over HTTP the context, and its loaders, are made per request. A WebSocket's context lives as
long as the connection, so without this a query sent over it would be answered from what an
earlier operation of the connection loaded.
"""

from __future__ import annotations

from collections.abc import Iterator

from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

__all__ = ["FreshLoadersOnSockets"]


class FreshLoadersOnSockets(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context.request, WebSocket):
            context.renew_loaders()
        yield
