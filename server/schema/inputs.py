"""From Strawberry input objects to the plain data the pydantic models validate."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic.alias_generators import to_camel
from strawberry.types.unset import UNSET

__all__ = ["input_data"]


def input_data(value: object) -> dict[str, Any]:
    """The fields a client gave, by GraphQL name, nested inputs included; left-out ones absent.

    GraphQL names let validation errors name the field as the client wrote it.
    """
    return {
        to_camel(field.name): _plain(getattr(value, field.name))
        for field in dataclasses.fields(value)  # type: ignore[arg-type]
        if getattr(value, field.name) is not UNSET
    }


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return input_data(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
