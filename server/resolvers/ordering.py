"""Ordering children the way their project lists them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["in_order"]


def in_order(items: Sequence[Any], ids: Sequence[str], id_field: str) -> list[Any]:
    """`items` in the order of `ids`; any the list does not hold follow, by id."""
    position = {item_id: index for index, item_id in enumerate(ids)}
    return sorted(
        items,
        key=lambda item: (position.get(getattr(item, id_field), len(ids)), getattr(item, id_field)),
    )
