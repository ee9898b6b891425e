"""The request being served: its id, for every log line it writes.

The id is the caller's `X-Request-Id` when that is sane (1 to 128 of `A-Z a-z 0-9 . _ : -`),
so an id a load balancer or a client made carries through; anything else is replaced by a
fresh one (32 hex digits), so a log line never holds an arbitrary header value. A context
variable holds it: every log line of the request, and of the tasks it starts (dataloader
batches, a WebSocket's operations), carries it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["REQUEST_ID_HEADER", "RequestScope", "current_request", "request_id_from", "serving"]

REQUEST_ID_HEADER = "x-request-id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class RequestScope:
    id: str
    # GraphQL operations that logged their own line (then the request needs no access line).
    operations_logged: int = 0


_current: ContextVar[RequestScope | None] = ContextVar("request", default=None)


def request_id_from(header: str | None) -> str:
    """The caller's id when it is sane, else a fresh one."""
    if header is not None and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request() -> RequestScope | None:
    return _current.get()


@contextmanager
def serving(request_id: str) -> Iterator[RequestScope]:
    """The request `request_id` names is the current one while the block runs."""
    scope = RequestScope(request_id)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)
