"""Environment variables: list, set (create or replace) and delete; secrets stay write-only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.errors import NotFound
from server.models import EnvVar, EnvVarSpec, env_id, is_key, now_iso
from server.store import settle

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["delete_env_var", "set_env_var"]


async def set_env_var(context: Context, project_id: str, spec: EnvVarSpec) -> EnvVar:
    """Put item by userId + "project-{projectId}-{key}", listing it in the project if new."""
    user_id = context.user_id
    if not is_key(project_id):
        raise NotFound("project", project_id)
    variable_id = env_id(project_id, spec.key)

    async def attempt() -> EnvVar:
        old = await context.store.env_vars.get(user_id, variable_id, consistent=True)
        now = now_iso()
        if old is None:
            new = EnvVar(
                user_id=user_id,
                env_id=variable_id,
                project_id=project_id,
                key=spec.key,
                value=spec.value,
                secret=spec.secret,
                created_at=now,
                updated_at=now,
            )
            await context.store.env_vars.put_new(new)
            return new
        new = old.model_copy(update={"value": spec.value, "secret": spec.secret, "updated_at": now})
        await context.store.env_vars.replace(new)
        return new

    variable = await settle(attempt)
    context.loaders.forget_env_var(variable.user_id, variable.env_id, variable.project_id)
    return variable


async def delete_env_var(context: Context, project_id: str, key: str) -> str:
    """Delete item by userId + "project-{projectId}-{key}" and drop it from the project's envIds."""
    user_id = context.user_id
    variable_id = env_id(project_id, key)
    if not is_key(project_id) or not is_key(variable_id):
        raise NotFound("environment variable", key)

    async def attempt() -> EnvVar:
        variable = await context.store.env_vars.get(user_id, variable_id, consistent=True)
        if variable is None:
            raise NotFound("environment variable", key)
        project = await context.store.projects.get(user_id, project_id, consistent=True)
        if project is None:
            raise NotFound("project", project_id)
        await context.store.env_vars.remove(variable, project)
        return variable

    variable = await settle(attempt)
    context.loaders.forget_env_var(variable.user_id, variable.env_id, variable.project_id)
    return variable_id
