"""Deleting a project with everything it owns, resumable after any failure.

1. The project is marked `deleting`: it reads as gone and no transaction can add a child.
2. Children are deleted table by table in batches (tools before their name reservations, so a
   name is never free while its tool exists).
3. The project item goes last. A cascade that stopped anywhere finishes when called again,
   because the marked project item is still there to find.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.store import Store

__all__ = ["delete_project"]


async def delete_project(store: Store, user_id: str, project_id: str, *, now: str) -> None:
    await store.projects.mark_deleting(user_id, project_id, now=now)
    for children in (
        store.agents,
        store.main_configs,
        store.env_vars,
        store.deployments,
        store.tools,
    ):
        keys = await children.keys_of_project(user_id, project_id)
        await store.dynamo.batch_write(children.table, deletes=keys)
    reservations = await store.tools.reservations_for_project(user_id, project_id)
    await store.dynamo.batch_write(store.tools.table, deletes=reservations)
    await store.projects.delete_marked(user_id, project_id)
