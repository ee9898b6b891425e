"""The batch function of the loaders of the children a project item lists by id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Protocol, TypeVar

from strawberry.dataloader import DataLoader

from server.models import Project

__all__ = ["children_of", "listed_by_project"]


class Child(Protocol):
    @property
    def project_id(self) -> str: ...


ChildT = TypeVar("ChildT", bound=Child)
Key = tuple[str, str]  # (user_id, project_id) or (user_id, child id)


def listed_by_project(
    projects: DataLoader[Key, Project | None],
    children: DataLoader[Key, ChildT | None],
    ids_of: Callable[[Project], Sequence[str]],
) -> Callable[[list[Key]], Awaitable[list[list[ChildT]]]]:
    """A batch function: each project's children, in the order its item lists them
    (`ids_of`), read by key through `children` (BatchGetItem), never by a Query of the
    user's partition, whose size is the account's, not the project's. An id without an item,
    or whose item names another project, is left out."""

    async def load(keys: list[Key]) -> list[list[ChildT]]:
        found = await projects.load_many(keys)
        listed = [list(ids_of(project)) if project is not None else [] for project in found]
        wanted = [
            (user, child_id)
            for (user, _), ids in zip(keys, listed, strict=True)
            for child_id in ids
        ]
        by_key = dict(zip(wanted, await children.load_many(wanted), strict=True))
        return [
            children_of(project_id, ids, partial(_by_user_key, by_key, user))
            for (user, project_id), ids in zip(keys, listed, strict=True)
        ]

    return load


def _by_user_key(found: dict[Key, ChildT | None], user_id: str, child_id: str) -> ChildT | None:
    return found[(user_id, child_id)]


def children_of(
    project_id: str, ids: Sequence[str], item: Callable[[str], ChildT | None]
) -> list[ChildT]:
    """The project's children: the `ids` it lists, in that order, that have an `item` naming
    the project (an id without one, or whose item names another project, is left out)."""
    return [
        child
        for child_id in ids
        if (child := item(child_id)) is not None and child.project_id == project_id
    ]
