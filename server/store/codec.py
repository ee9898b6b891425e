"""Plain Python values to DynamoDB attribute values and back.

boto3's TypeSerializer works in `Decimal`s, which JSON cannot carry; configs here are JSON, so
numbers come back as `int` when integral and `float` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Item", "from_attribute", "from_item", "item_size", "to_attribute", "to_item"]

Item = dict[str, Any]


def to_attribute(value: object) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be stored as a number")
        return {"N": repr(value)}
    if isinstance(value, Mapping):
        return {"M": {str(key): to_attribute(inner) for key, inner in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(inner) for inner in value]}
    if isinstance(value, set | frozenset):
        # A string set, for ADD/DELETE on set attributes; DynamoDB has no empty sets.
        if not value or not all(isinstance(inner, str) for inner in value):
            raise ValueError("only non-empty sets of strings can be stored")
        return {"SS": sorted(value)}
    raise TypeError(f"cannot store a {type(value).__name__}")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    ((tag, value),) = attribute.items()
    if tag == "S":
        return value
    if tag == "N":
        return _number(value)
    if tag == "M":
        return {key: from_attribute(inner) for key, inner in value.items()}
    if tag == "L":
        return [from_attribute(inner) for inner in value]
    if tag == "BOOL":
        return value
    if tag == "NULL":
        return None
    if tag == "NS":
        return [_number(inner) for inner in value]
    if tag in ("SS", "BS", "B"):
        return list(value) if tag != "B" else value
    raise ValueError(f"unknown attribute type {tag}")


def to_item(values: Mapping[str, object]) -> dict[str, Any]:
    return {name: to_attribute(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> Item:
    return {name: from_attribute(attribute) for name, attribute in item.items()}


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        number = float(text)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number


def item_size(item: Mapping[str, object]) -> int:
    """An item's size as DynamoDB counts it against its 400 KB, never less.

    The developer guide's "Item sizes and formats": the UTF-8 bytes of each attribute's name
    plus its value's size. A string is its UTF-8 bytes; binary its raw bytes; a Boolean or
    null 1 byte; a number about 1 byte per two significant digits plus 1 (counted here for the
    worst alignment of its digits: 21 bytes at 38 digits); a list or map 3 bytes plus, for
    each element, 1 byte and its size (a map's keys count like attribute names).
    """
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: object) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, int | float):
        return _number_size(value)
    if isinstance(value, Mapping):
        return 3 + sum(
            1 + len(str(key).encode()) + _value_size(inner) for key, inner in value.items()
        )
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(1 + _value_size(inner) for inner in value)
    return len(str(value).encode())


def _number_size(value: int | float) -> int:
    text = str(abs(value)) if isinstance(value, int) else repr(abs(value))
    mantissa = text.split("e")[0].replace(".", "").strip("0")
    return (len(mantissa) + 2) // 2 + 1
