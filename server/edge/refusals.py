"""HTTP-level refusals: one JSON shape, `{"errors": [{"message", "extensions": {"code"}}]}`,
with a code per HTTP status.

These answer requests that never reach GraphQL (a body that is not JSON, headers too large, a
foreign Host); errors of an operation go through `server.schema.errors` instead.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.responses import Response

__all__ = ["CODES", "raw_refusal", "refusal", "refusal_body"]

CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def refusal_body(status: int, message: str) -> bytes:
    code = CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The refusal as an ASGI response."""
    return Response(
        refusal_body(status, message),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def raw_refusal(status: int, message: str) -> bytes:
    """The refusal as a whole HTTP/1.1 response that closes the connection, for the protocol
    layer, which answers before there is a request to give the app."""
    body = refusal_body(status, message)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n"
        "x-content-type-options: nosniff\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body
