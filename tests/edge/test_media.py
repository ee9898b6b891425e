"""The response's media type from `Accept`, quality values honoured (RFC 9110 §12.5.1)."""

from __future__ import annotations

import pytest

from server.edge.media import GRAPHQL_RESPONSE_JSON, JSON, response_media


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON};q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),  # a tie: the spec's type
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON};q=0.99", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (f"*/*, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        (f"{JSON};q=0, */*", None),  # the most specific range decides: JSON is excluded
        (f"{GRAPHQL_RESPONSE_JSON};q=0, {JSON}", JSON),
        ("text/html", None),
        (f"{JSON};q=0", None),
        (f"{JSON};q=zero", None),  # a malformed weight counts as none
        (f"{JSON};q=7", JSON),  # clamped to 1
    ],
)
def test_the_media_type_is_the_one_accept_weighs_highest(
    accept: str | None, chosen: str | None
) -> None:
    assert response_media(accept) == chosen
