"""Projects: the seed's access patterns for the Projects table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.dataloaders.prefetch import Children, prefetch
from server.errors import Conflict, NotFound
from server.models import NewProject, Project, ProjectPatch, is_key, new_id, now_iso
from server.store import cascade

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["create_project", "delete_project", "get_project", "list_projects", "update_project"]


async def list_projects(context: Context, children: Children | None = None) -> list[Project]:
    """List the user's projects (Query by userId), oldest first; with the `children` the
    query will read loaded in the same round where the first page of their table holds them."""
    user_id = context.user_id
    projects = await prefetch(
        projects=context.loaders.read_once(
            ("projects", user_id), lambda: context.store.projects.list_for_user(user_id)
        ),
        wanted=children or Children(),
        user_id=user_id,
        store=context.store,
        loaders=context.loaders,
        catalog=context.catalog,
        naive=context.settings.bench_naive_loaders,
    )
    for project in projects:
        context.loaders.project_by_id.prime((project.user_id, project.project_id), project)
    return projects


async def get_project(context: Context, project_id: str) -> Project | None:
    """Get one project by userId + projectId (None if the caller has none). Its children are
    read by the ids it lists when its fields ask for them: one more round, whatever the size
    of the account."""
    if not is_key(project_id):
        return None
    return await context.loaders.project_by_id.load((context.user_id, project_id))


async def create_project(context: Context, new: NewProject) -> Project:
    now = now_iso()
    project = Project(
        user_id=context.user_id,
        project_id=new_id(),
        name=new.name,
        description=new.description,
        created_at=now,
        updated_at=now,
    )
    await context.store.projects.create(project)
    return project


async def update_project(context: Context, project_id: str, patch: ProjectPatch) -> Project:
    """Apply the patch in one conditional UpdateItem; no read-modify-write."""
    if not is_key(project_id):
        raise NotFound("project", project_id)
    fields = patch.given()
    if not fields:
        return await _unchanged(context, project_id, patch.expected_version)
    project = await context.store.projects.update(
        context.user_id,
        project_id,
        fields,
        now=now_iso(),
        expected_version=patch.expected_version,
    )
    context.loaders.remember_project(context.user_id, project_id, project)
    return project


async def delete_project(context: Context, project_id: str) -> str:
    """Delete the project and everything it owns (see `server.store.cascade`)."""
    if not is_key(project_id):
        raise NotFound("project", project_id)
    await cascade.delete_project(context.store, context.user_id, project_id, now=now_iso())
    context.loaders.remember_project(context.user_id, project_id, None)
    return project_id


async def _unchanged(context: Context, project_id: str, expected_version: int | None) -> Project:
    """An update that sets nothing: the project as it is, after the same checks."""
    project = await context.store.projects.get(context.user_id, project_id, consistent=True)
    if project is None:
        raise NotFound("project", project_id)
    if expected_version is not None and expected_version != project.version:
        raise Conflict.stale_version("project", project_id, project.version, expected_version)
    return project
