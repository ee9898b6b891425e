"""Values survive the trip to DynamoDB attribute values and back as JSON."""

from __future__ import annotations

import pytest

from server.store.codec import from_item, to_attribute, to_item


def test_json_values_round_trip() -> None:
    value = {
        "s": "text",
        "empty": "",
        "i": 42,
        "negative": -7,
        "f": 2.5,
        "tiny": 1e-7,
        "t": True,
        "n": None,
        "list": [1, "two", [3.0], {"four": False}],
        "map": {"nested": {"deeper": []}},
    }

    assert from_item(to_item(value)) == value


def test_numbers_are_int_when_integral_and_float_otherwise() -> None:
    assert from_item({"a": {"N": "3"}, "b": {"N": "3.0"}, "c": {"N": "0.25"}}) == {
        "a": 3,
        "b": 3,
        "c": 0.25,
    }


def test_booleans_stay_booleans_not_numbers() -> None:
    assert to_attribute(True) == {"BOOL": True}
    assert to_attribute(1) == {"N": "1"}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), object()])
def test_values_dynamodb_cannot_hold_are_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        to_attribute(value)
