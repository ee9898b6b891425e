"""What a query selects below the current field, to read only what it needs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from server.schema.info import Info

__all__ = ["selects"]


def selects(info: Info, *names: str) -> bool:
    """Whether the current field's selection (through fragments) includes any of `names`."""
    wanted = set(names)
    return any(_names_in(field.selections, wanted) for field in info.selected_fields)


def _names_in(selections: Iterable[Any], wanted: set[str]) -> bool:
    for selection in selections:
        if isinstance(selection, SelectedField) and selection.name in wanted:
            return True
        if isinstance(selection, FragmentSpread | InlineFragment) and _names_in(
            selection.selections, wanted
        ):
            return True
    return False
