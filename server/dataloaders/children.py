"""The batch function of the loaders of a project's children."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["grouped_by_project"]


class Child(Protocol):
    @property
    def project_id(self) -> str: ...


ChildT = TypeVar("ChildT", bound=Child)
Key = tuple[str, str]  # (user_id, project_id)


def grouped_by_project(
    list_for_projects: Callable[[str, Sequence[str] | None], Awaitable[Sequence[ChildT]]],
) -> Callable[[list[Key]], Awaitable[list[list[ChildT]]]]:
    """A batch function: one Query per user partition, its items grouped by project."""

    async def load(keys: list[Key]) -> list[list[ChildT]]:
        projects_by_user: dict[str, list[str]] = defaultdict(list)
        for user_id, project_id in keys:
            projects_by_user[user_id].append(project_id)
        users = list(projects_by_user)
        results = await asyncio.gather(
            *(list_for_projects(user, projects_by_user[user]) for user in users)
        )
        return [group.get(key, []) for group in [group_by_project(users, results)] for key in keys]

    return load


def group_by_project(
    users: Sequence[str], results: Sequence[Sequence[ChildT]]
) -> dict[Key, list[ChildT]]:
    grouped: dict[Key, list[ChildT]] = defaultdict(list)
    for user, items in zip(users, results, strict=True):
        for item in items:
            grouped[(user, item.project_id)].append(item)
    return grouped
