"""Which `Host` the server answers to, and which web origins may call it.

A page on any origin can send requests to a developer's local server, and with DNS rebinding
(a name that first resolves to the attacker, then to 127.0.0.1) even as its own origin: the
`Host` header is then the attacker's name. So every request and WebSocket upgrade must name an
allowed host, and browsers' cross-origin calls (CORS for HTTP; the `Origin` of a WebSocket
upgrade, to which browsers apply no CORS) must come from an allowed origin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.edge.refusals import refusal

__all__ = [
    "HOST_PATTERN",
    "LOOPBACK_HOSTS",
    "LOOPBACK_ORIGIN",
    "HostPolicy",
    "JsonCORS",
    "OriginPolicy",
    "TrustedHosts",
]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
LOOPBACK_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?"
# `*`, a name, `*.` and a name (any subdomain), an IPv4 address or a bracketed IPv6 one.
_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
HOST_PATTERN = rf"^(\*|(\*\.)?{_LABEL}(\.{_LABEL})*|\[[0-9a-f:.]+\])$"
_HOST_HEADER = re.compile(r"^(?P<name>\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(:\d{1,5})?$")


@dataclass(frozen=True)
class HostPolicy:
    """Allowed hosts: names, `*.` + a name for its subdomains, or `*` for any."""

    patterns: tuple[str, ...]

    def allows(self, host_header: str | None) -> bool:
        if "*" in self.patterns:
            return True
        match = _HOST_HEADER.match(host_header or "")
        if match is None:
            return False
        name = match["name"].lower().rstrip(".")
        return any(
            name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))
            for pattern in self.patterns
        )


@dataclass(frozen=True)
class OriginPolicy:
    """Allowed web origins: exact ones (`*` for any), and loopback ones on any port if asked."""

    origins: frozenset[str]
    loopback: bool = False

    def allows(self, origin: str) -> bool:
        return (
            "*" in self.origins
            or origin in self.origins
            or (self.loopback and re.fullmatch(LOOPBACK_ORIGIN, origin) is not None)
        )

    @property
    def regex(self) -> str | None:
        """For starlette's CORSMiddleware, which takes the loopback rule as a regex."""
        return LOOPBACK_ORIGIN if self.loopback else None


class TrustedHosts:
    """Refuses an HTTP request or WebSocket upgrade whose `Host` is not allowed: 400 with a
    JSON error, or a refused upgrade (403). The health checks answer any host: load balancers
    call them by the instance's address, and they hold no user's data."""

    def __init__(
        self, app: ASGIApp, *, hosts: HostPolicy, exempt: tuple[str, ...] = ("/healthz", "/readyz")
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host")
        if self.hosts.allows(host):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            message = f"host {(host or '')[:100]!r} is not served here (see ALLOWED_HOSTS)"
            await refusal(400, message)(scope, receive, send)


class JsonCORS(CORSMiddleware):
    """starlette's CORS, whose refused preflight (plain text there) is a JSON refusal."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in ("content-length", "content-type")
        }
        return refusal(400, bytes(response.body).decode(), headers=headers)
