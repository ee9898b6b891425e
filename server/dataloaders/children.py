"""Batch functions shared by the loaders of a project's children and of items by id."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

__all__ = ["grouped_by_project"]

T = TypeVar("T")

Key = tuple[str, str]  # (user_id, project_id) or (user_id, item_id)


def grouped_by_project(
    list_for_projects: Callable[[str, Sequence[str]], Awaitable[Sequence[T]]],
    project_of: Callable[[T], str],
) -> Callable[[list[Key]], Awaitable[list[list[T]]]]:
    """A batch function: one Query per user partition, its items grouped by project."""

    async def load(keys: list[Key]) -> list[list[T]]:
        projects_by_user: dict[str, list[str]] = defaultdict(list)
        for user_id, project_id in keys:
            projects_by_user[user_id].append(project_id)
        users = list(projects_by_user)
        results = await asyncio.gather(
            *(list_for_projects(user, projects_by_user[user]) for user in users)
        )
        grouped: dict[Key, list[T]] = defaultdict(list)
        for user, items in zip(users, results, strict=True):
            for item in items:
                grouped[(user, project_of(item))].append(item)
        return [grouped.get(key, []) for key in keys]

    return load
