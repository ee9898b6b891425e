"""The Environment Variables table: `userId` + `envId` = `project-{projectId}-{key}`."""

from __future__ import annotations

from server.errors import NotFound
from server.models import EnvVar, Project
from server.store.children import ChildTable, ProjectLists
from server.store.dynamo import Dynamo
from server.store.expressions import Attr, Update
from server.store.transactions import LostRace, TransactionCancelled, delete, put, update
from server.store.usage import Changes, Usage, for_list

__all__ = ["EnvVarStore"]


class EnvVarStore(ChildTable[EnvVar]):
    sort_key = "envId"
    model = EnvVar

    def __init__(self, dynamo: Dynamo, table: str, *, lists: ProjectLists, usage: Usage) -> None:
        super().__init__(dynamo, table)
        self._lists = lists
        self._usage = usage

    async def put_new(self, variable: EnvVar) -> None:
        """Write a new variable and list it in its project (a new key counts against quotas)."""
        items = [
            put(self.table, variable.to_item(), condition=Attr("envId").not_exists()),
            self._lists.append(variable.user_id, variable.project_id, "envIds", variable.env_id),
        ]
        try:
            await self._usage.transact(variable.user_id, items, for_list("envIds", 1))
        except TransactionCancelled as cancelled:
            if 1 in cancelled.failed:
                raise self._lists.refusal(
                    cancelled.failed[1], "envIds", variable.project_id
                ) from None
            raise LostRace from None

    async def replace(self, variable: EnvVar) -> None:
        """Give an existing variable its new value and secrecy."""
        items = [
            update(
                self.table,
                self.key(variable.user_id, variable.env_id),
                Update()
                .set(Attr("value"), variable.value)
                .set(Attr("secret"), variable.secret)
                .set(Attr("updatedAt"), variable.updated_at),
                condition=Attr("envId").exists(),
            ),
            self._lists.require_live(variable.user_id, variable.project_id),
        ]
        try:
            await self.dynamo.transact(items)
        except TransactionCancelled as cancelled:
            if 1 in cancelled.failed:
                raise NotFound("project", variable.project_id) from None
            raise LostRace from None

    async def remove(self, variable: EnvVar, project: Project) -> None:
        items = [
            delete(
                self.table,
                self.key(variable.user_id, variable.env_id),
                condition=Attr("envId").exists(),
            )
        ]
        removal = self._lists.remove(project, "envIds", project.env_ids, variable.env_id)
        changes: Changes = {}
        if removal is not None:
            items.append(removal)
            changes = for_list("envIds", -1)
        try:
            await self._usage.transact(variable.user_id, items, changes)
        except TransactionCancelled as cancelled:
            if 0 in cancelled.failed:
                raise NotFound("environment variable", variable.key) from None
            raise LostRace from None
