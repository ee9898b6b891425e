"""Custom scalars of the contract."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

__all__ = ["SCALARS", "DateTime"]

# Timestamps are stored as ISO-8601 strings already in the contract's format, so the scalar
# passes them through instead of parsing and reformatting a datetime per field.
DateTime = NewType("DateTime", str)

SCALARS: dict[object, ScalarDefinition] = {
    DateTime: strawberry.scalar(
        name="DateTime",
        description="An ISO-8601 UTC timestamp with milliseconds, e.g. 2026-11-24T18:59:12.123Z.",
        serialize=str,
        parse_value=str,
    ),
}
