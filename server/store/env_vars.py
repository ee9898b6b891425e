"""The Environment Variables table: `userId` + `envId` = `project-{projectId}-{key}`."""

from __future__ import annotations

from server.errors import NotFound
from server.models import EnvVar, Project
from server.store.children import ChildTable, LostRace, ProjectLists
from server.store.dynamo import Dynamo, Expression, TransactionCancelled, delete, put, update

__all__ = ["EnvVarStore"]


class EnvVarStore(ChildTable[EnvVar]):
    sort_key = "envId"
    model = EnvVar

    def __init__(self, dynamo: Dynamo, table: str, *, lists: ProjectLists) -> None:
        super().__init__(dynamo, table)
        self._lists = lists

    async def put_new(self, variable: EnvVar) -> None:
        items = [
            put(
                self.table, variable.to_item(), condition=Expression("attribute_not_exists(envId)")
            ),
            self._lists.append(variable.user_id, variable.project_id, "envIds", variable.env_id),
        ]
        await self._transact(items, variable.project_id)

    async def replace(self, variable: EnvVar) -> None:
        """Give an existing variable its new value and secrecy."""
        items = [
            update(
                self.table,
                self.key(variable.user_id, variable.env_id),
                Expression(
                    "SET #value = :value, secret = :secret, updatedAt = :now",
                    {"#value": "value"},
                    {
                        ":value": variable.value,
                        ":secret": variable.secret,
                        ":now": variable.updated_at,
                    },
                ),
                condition=Expression("attribute_exists(envId)"),
            ),
            self._lists.require_live(variable.user_id, variable.project_id),
        ]
        await self._transact(items, variable.project_id)

    async def remove(self, variable: EnvVar, project: Project) -> None:
        items = [
            delete(
                self.table,
                self.key(variable.user_id, variable.env_id),
                condition=Expression("attribute_exists(envId)"),
            )
        ]
        removal = self._lists.remove(project, "envIds", project.env_ids, variable.env_id)
        if removal is not None:
            items.append(removal)
        try:
            await self.dynamo.transact(items)
        except TransactionCancelled as cancelled:
            if 0 in cancelled.failed:
                raise NotFound("environment variable", variable.key) from None
            raise LostRace from None

    async def _transact(self, items: list[dict[str, object]], project_id: str) -> None:
        try:
            await self.dynamo.transact(items)
        except TransactionCancelled as cancelled:
            if 1 in cancelled.failed:
                raise NotFound("project", project_id) from None
            raise LostRace from None
