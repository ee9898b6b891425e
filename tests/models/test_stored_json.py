"""JSON DynamoDB can store: the rules as the models apply them, without recursion."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest

from server.errors import BadUserInput
from server.models import NewTool, parse_input
from server.models.json_schema import MAX_SCHEMA_LEVELS
from server.models.stored_json import check_storable, levels


def nested(depth: int) -> dict[str, Any]:
    """`depth` objects, each the only value of the one before."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def new_tool(input_schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": "t", "type": "frontend_action", "inputSchema": input_schema}


def test_levels_count_objects_and_arrays_with_the_value_itself() -> None:
    assert [levels(1), levels({}), levels([]), levels({"a": [1, {"b": []}]})] == [0, 1, 1, 4]
    assert levels(nested(10_000)) == 10_000


@pytest.mark.parametrize("depth", [100, 10_000, 3 * sys.getrecursionlimit()])
def test_a_schema_nested_deeper_than_the_interpreter_recurses_is_refused_by_measure(
    depth: int,
) -> None:
    schema = {"type": "object", "not": nested(depth - 1)}

    with pytest.raises(BadUserInput) as refused:
        parse_input(NewTool, new_tool(schema))

    assert refused.value.field == "inputSchema"
    assert refused.value.message == (
        f"inputSchema: nests {depth} levels deep; at most 28 fit in a deployment snapshot"
    )


def test_a_schema_at_the_limit_is_valid() -> None:
    schema = {"type": "object", "not": nested(MAX_SCHEMA_LEVELS - 1)}

    assert parse_input(NewTool, new_tool(schema)).input_schema == schema


@pytest.mark.parametrize(
    "number",
    [0, -0.0, 10**30, int("9" * 38) * 10**88, -int("9" * 38) * 10**88, 1e-130, int("1" * 38), 2.5],
    ids=["0", "-0.0", "1E+30", "largest", "most negative", "1E-130", "38 digits", "2.5"],
)
def test_numbers_dynamodb_stores_pass(number: float) -> None:
    check_storable({"n": [number]}, max_levels=2, where="here")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (float("nan"), "numbers must be finite (NaN at /n/0)"),
        (float("-inf"), "numbers must be finite (-Infinity at /n/0)"),
        (10**126, "(1E+126 at /n/0)"),
        (10**5000, "(1E+5000 at /n/0)"),
        (9.9e-131, "(9.9E-131 at /n/0)"),
        (int("1" * 39), "at most 38 significant digits (39 at /n/0)"),
    ],
    ids=["NaN", "-Infinity", "1E+126", "1E+5000", "9.9E-131", "39 digits"],
)
def test_numbers_dynamodb_cannot_store_are_named_with_where_they_are(
    number: float, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_storable({"n": [number]}, max_levels=2, where="here")


def test_keys_and_strings_must_be_valid_unicode_and_values_json() -> None:
    for value, message in [
        ({"a\ud800": 1}, "a key at / is not valid Unicode"),
        ({"a/b~": ["\udfff"]}, "a string at /a~1b~0/0 is not valid Unicode"),
        ({"a": {1, 2}}, "holds a value that is not JSON at /a"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_storable(value, max_levels=3, where="here")
