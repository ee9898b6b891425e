"""The Environment Variables table: `userId` + `envId` = `project-{projectId}-{key}`."""

from __future__ import annotations

from server.errors import NotFound
from server.models import EnvVar, Project
from server.store.child_tables import ChildTable, ProjectLists
from server.store.dynamo import Dynamo
from server.store.expressions import Attr, Update
from server.store.transactions import LostRace, delete, update
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
            # First, as its errors (the project gone, a quota reached) take precedence.
            self._lists.append(variable.user_id, variable.project_id, "envIds", variable.env_id),
            # The key set meanwhile by another request: the retry replaces its value.
            self.insert(variable.to_item(), otherwise=LostRace()),
        ]
        await self._usage.transact(variable.user_id, items, for_list("envIds", 1))

    async def replace(self, variable: EnvVar) -> None:
        """Give an existing variable its new value and secrecy."""
        # In the order their errors take precedence: the project's, then the variable's.
        items = [
            self._lists.require_live(variable.user_id, variable.project_id),
            update(
                self.table,
                self.key(variable.user_id, variable.env_id),
                Update()
                .set(Attr("value"), variable.value)
                .set(Attr("secret"), variable.secret)
                .set(Attr("updatedAt"), variable.updated_at),
                condition=Attr("envId").exists(),
                otherwise=LostRace(),  # deleted meanwhile: the retry sets it anew
            ),
        ]
        await self.dynamo.transact(items)

    async def remove(self, variable: EnvVar, project: Project) -> None:
        items = [
            delete(
                self.table,
                self.key(variable.user_id, variable.env_id),
                condition=Attr("envId").exists(),
                otherwise=NotFound("environment variable", variable.key),
            )
        ]
        removal = self._lists.remove(project, "envIds", project.env_ids, variable.env_id)
        changes: Changes = {}
        if removal is not None:
            items.append(removal)
            changes = for_list("envIds", -1)
        await self._usage.transact(variable.user_id, items, changes)
