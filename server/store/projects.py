"""The Projects table: `userId` (partition) + `projectId` (sort)."""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import Conflict, NotFound
from server.models import Project
from server.store.children import LIVE_PROJECT, and_, at_version
from server.store.codec import Item
from server.store.dynamo import ConditionFailed, Dynamo, Expression

__all__ = ["ProjectKey", "ProjectStore"]

ProjectKey = tuple[str, str]  # (user_id, project_id)

# A project being deleted is already gone for its user: it only waits for its cascade.
LIVE = Expression(LIVE_PROJECT)


class ProjectStore:
    def __init__(self, dynamo: Dynamo, table: str) -> None:
        self._dynamo = dynamo
        self._table = table

    async def list_for_user(self, user_id: str) -> list[Project]:
        """The user's projects, oldest first."""
        items = self._dynamo.query(
            self._table,
            Expression("userId = :user", values={":user": user_id}),
            where=Expression("attribute_not_exists(deleting)"),
        )
        projects = [_project(item) async for item in items]
        projects.sort(key=lambda project: (project.created_at, project.project_id))
        return projects

    async def get(
        self, user_id: str, project_id: str, *, consistent: bool = False
    ) -> Project | None:
        item = await self._dynamo.get_item(
            self._table, {"userId": user_id, "projectId": project_id}, consistent=consistent
        )
        return _project(item) if item is not None and "deleting" not in item else None

    async def get_many(self, keys: Sequence[ProjectKey]) -> list[Project | None]:
        """One value per key, in key order; None where there is no such project."""
        items = await self._dynamo.batch_get(
            self._table, [{"userId": user, "projectId": project} for user, project in keys]
        )
        found = {
            (item["userId"], item["projectId"]): _project(item)
            for item in items
            if "deleting" not in item
        }
        return [found.get(key) for key in keys]

    async def create(self, project: Project) -> None:
        await self._dynamo.put_item(
            self._table, project.to_item(), condition=Expression("attribute_not_exists(projectId)")
        )

    async def update(
        self,
        user_id: str,
        project_id: str,
        changes: dict[str, str],
        *,
        now: str,
        expected_version: int | None = None,
    ) -> Project:
        """Set `changes`, bump `version` and `updatedAt`, all only if `expected_version` holds."""
        names = {f"#c{index}": name for index, name in enumerate(changes)}
        values: dict[str, object] = {
            f":c{index}": value for index, value in enumerate(changes.values())
        }
        assignments = [f"{name} = :c{index}" for index, name in enumerate(names)]
        update = Expression(
            ", ".join(
                ["SET updatedAt = :now", "#v = if_not_exists(#v, :one) + :one", *assignments]
            ),
            {**names, "#v": "version"},
            {**values, ":now": now, ":one": 1},
        )
        condition = _exists_at(expected_version)
        try:
            item = await self._dynamo.update_item(
                self._table,
                {"userId": user_id, "projectId": project_id},
                update,
                condition=condition,
            )
        except ConditionFailed as failure:
            raise _why(failure.item, project_id, expected_version) from None
        return _project(item)

    async def mark_deleting(self, user_id: str, project_id: str, *, now: str) -> None:
        """Begin a cascade: from now on no child can be added and the project reads as gone.

        A project already marked stays marked, so a cascade that stopped part-way can resume.
        """
        try:
            await self._dynamo.update_item(
                self._table,
                {"userId": user_id, "projectId": project_id},
                Expression("SET deleting = if_not_exists(deleting, :now)", values={":now": now}),
                condition=Expression("attribute_exists(projectId)"),
            )
        except ConditionFailed:
            raise NotFound("project", project_id) from None

    async def delete_marked(self, user_id: str, project_id: str) -> None:
        """End a cascade: delete the project item, which must have been marked."""
        await self._dynamo.delete_item(
            self._table,
            {"userId": user_id, "projectId": project_id},
            condition=Expression("attribute_exists(deleting)"),
        )


def _project(item: Item) -> Project:
    return Project.model_validate(item)


def _exists_at(expected_version: int | None) -> Expression:
    """The project is live and, when a version is expected, is at that version."""
    return LIVE if expected_version is None else and_(LIVE, at_version(expected_version))


def _why(item: Item | None, project_id: str, expected_version: int | None) -> Exception:
    if item is None or "deleting" in item:
        return NotFound("project", project_id)
    assert expected_version is not None  # only a version check fails on an existing item
    return Conflict.stale_version("project", project_id, item.get("version", 1), expected_version)
