"""What a query selects below the current field, to read only what it needs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from server.schema.info import Info

__all__ = ["selected_paths", "selects"]


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


def selected_paths(info: Info) -> set[str]:
    """The dotted names of the fields selected two levels below the current field, through
    fragments: `agents` and `agents.tools` for `projects { agents { tools { id } } }`."""
    return _paths(info.selected_fields[0].selections) if info.selected_fields else set()


def _paths(selections: Iterable[Any], prefix: str = "", depth: int = 2) -> set[str]:
    """Dotted names of the fields selected, `depth` levels down, through fragments."""
    found: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            path = f"{prefix}{selection.name}"
            found.add(path)
            if depth > 1:
                found |= _paths(selection.selections, f"{path}.", depth - 1)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            found |= _paths(selection.selections, prefix, depth)
    return found
