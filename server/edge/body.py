"""The body of a GraphQL POST, read strictly: `application/json`, UTF-8, one JSON object of a
bounded depth whose members have the types GraphQL-over-HTTP gives them.

Anything else is the client's mistake and gets a 400 or 415 that says what is wrong (never a
500: strawberry's own parsing trips over `5`, `null` or invalid UTF-8).
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from strawberry.http import GraphQLRequestData

__all__ = ["MAX_JSON_DEPTH", "decode_json", "operation_from", "require_json_media_type"]

# Far above any real operation (a tool's inputSchema is a few levels deep) and far below the
# interpreter's recursion limit, which code walking a nested value would otherwise hit.
MAX_JSON_DEPTH = 128
JSON_MEDIA_TYPE = "application/json"
MEMBER_TYPES: dict[str, tuple[type, str]] = {
    "query": (str, "a string"),
    "operationName": (str, "a string"),
    "variables": (dict, "an object"),
    "extensions": (dict, "an object"),
}


def require_json_media_type(content_type: str | None) -> None:
    """The media type must be exactly `application/json`; a `charset`, if any, UTF-8.

    Other types are what an HTML form can send across origins without a preflight (CSRF).
    """
    media_type, _, parameters = (content_type or "").partition(";")
    charset = _parameter(parameters, "charset")
    if media_type.strip().lower() != JSON_MEDIA_TYPE or charset not in (None, "utf-8", "utf8"):
        raise HTTPException(
            415,
            f"send the operation as {JSON_MEDIA_TYPE} (optionally with charset=utf-8);"
            f" got {(content_type or 'no content type')[:100]!r}",
        )


def _parameter(parameters: str, name: str) -> str | None:
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


def decode_json(data: str | bytes) -> Any:
    """JSON text (a body, or the `variables` of a GET) as a value, or a 400 saying why not.

    `json`, not orjson: orjson reads integers beyond 64 bits as floats, and a JSON scalar
    (a tool's `inputSchema`) must keep them.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise HTTPException(400, _TOO_DEEP) from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        # Their messages name the problem and its position, never the input itself.
        raise HTTPException(400, f"the request is not valid UTF-8 JSON: {error}") from None
    if _openings(text) > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
        raise HTTPException(400, _TOO_DEEP)
    return value


_TOO_DEEP = f"the request's JSON is nested deeper than {MAX_JSON_DEPTH}"


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _openings(text: str) -> int:
    """How many `{` and `[` the text has (strings included): a bound of its depth, counted at
    C speed, so most requests are never walked."""
    return text.count("{") + text.count("[")


def _deeper_than(value: object, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels; level by level, so any depth
    orjson accepts is measured without recursion."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def operation_from(data: object) -> GraphQLRequestData:
    """The one operation a POST body holds."""
    if isinstance(data, list):
        raise HTTPException(400, "batched operations (a JSON array) are not supported")
    if not isinstance(data, dict):
        raise HTTPException(
            400, f"the request body must be a JSON object with a `query`; got {_kind(data)}"
        )
    for name, (kind, described) in MEMBER_TYPES.items():
        if data.get(name) is not None and not isinstance(data[name], kind):
            raise HTTPException(400, f"`{name}` must be {described} or null")
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
    )


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )
