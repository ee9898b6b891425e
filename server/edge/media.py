"""The media type of a GraphQL response, chosen from the request's `Accept` as
GraphQL-over-HTTP says: `application/graphql-response+json` when the client names it at least
as highly as anything else it accepts, `application/json` when it names that (or a wildcard)
higher or alone, or when it sends no `Accept`; nothing (a 406) when it accepts neither.

Quality values count (RFC 9110 §12.5.1): a type's weight is the `q` of the most specific range
that matches it, and `q=0` excludes it. A wildcard (`*/*`, `application/*`) stands for
`application/json` only, as a legacy client that sends `*/*` expects.
"""

from __future__ import annotations

__all__ = ["GRAPHQL_RESPONSE_JSON", "JSON", "response_media"]

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def response_media(accept: str | None) -> str | None:
    """The media type to answer in, or None when `accept` allows neither."""
    if accept is None or not accept.strip():
        return JSON
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    graphql_weight = _weight(ranges, GRAPHQL_RESPONSE_JSON, wildcards=False)
    json_weight = _weight(ranges, JSON, wildcards=True)
    if graphql_weight > 0 and graphql_weight >= json_weight:
        return GRAPHQL_RESPONSE_JSON
    if json_weight > 0:
        return JSON
    return None


def _media_range(part: str) -> tuple[str, float]:
    """`type/subtype;param=...;q=0.5` as (`type/subtype`, 0.5); a malformed `q` counts 0."""
    media_type, *parameters = part.split(";")
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                quality = 0.0
    return media_type.strip().lower(), quality


def _weight(ranges: list[tuple[str, float]], media_type: str, *, wildcards: bool) -> float:
    """The `q` of the most specific range matching `media_type` (0 when none does)."""
    main_type = media_type.split("/")[0]
    by_specificity = [media_type]
    if wildcards:
        by_specificity += [f"{main_type}/*", "*/*"]
    for candidate in by_specificity:
        weights = [quality for name, quality in ranges if name == candidate]
        if weights:
            return max(weights)
    return 0.0
