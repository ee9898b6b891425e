"""Plain Python values to DynamoDB attribute values and back.

boto3's TypeSerializer works in `Decimal`s, which JSON cannot carry; configs here are JSON, so
numbers come back as `int` when integral and `float` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Item", "from_attribute", "from_item", "to_attribute", "to_item"]

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
