"""Values survive the trip to DynamoDB attribute values and back as JSON."""

from __future__ import annotations

import pytest

from server.store.codec import from_item, item_size, to_attribute, to_item


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


# The rules of the DynamoDB developer guide's "Item sizes and formats", one a case.
@pytest.mark.parametrize(
    ("item", "size"),
    [
        # A string: the name's UTF-8 bytes plus the value's.
        ({"Title": "Bicycle 123"}, 5 + 11),
        ({"név": "ünï"}, 4 + 5),
        # Binary: the raw bytes, not their base64.
        ({"B": b"\x00\x01\x02"}, 1 + 3),
        # A null or a Boolean: 1 byte.
        ({"QuantityOnHand": None, "InStock": True}, 14 + 1 + 7 + 1),
        # A number: 1 byte per two significant digits plus 1, leading and trailing zeroes
        # trimmed; counted for the worst alignment of the digits, so never under DynamoDB's.
        ({"Price": 500}, 5 + 2),
        ({"Id": 123}, 2 + 3),
        ({"n": 10**30}, 1 + 2),
        ({"n": 10**38 - 1}, 1 + 21),  # 38 digits, DynamoDB's most: 21 bytes
        ({"n": 0.25}, 1 + 3),
        # A list or map: 3 bytes, plus 1 byte and the size of each element (keys as names).
        ({"Color": []}, 5 + 3),
        ({"RelatedItems": [341, 472, 649]}, 12 + 3 + 3 * (1 + 3)),
        ({"Pictures": {"FrontView": "f.jpg"}}, 8 + 3 + 1 + 9 + 5),
        ({"a": {"b": ["c", {}]}}, 1 + 3 + (1 + 1 + 3 + (1 + 1) + (1 + 3))),
    ],
)
def test_item_size_counts_as_dynamodb_documents(item: dict[str, object], size: int) -> None:
    assert item_size(item) == size
