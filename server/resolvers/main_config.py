"""The project's main orchestrator config: get, and create-or-replace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.errors import Conflict, NotFound
from server.models import MainConfig, MainConfigSpec, is_key, main_config_id, now_iso
from server.store import settle

if TYPE_CHECKING:
    from server.context import Context

__all__ = ["get_main_config", "set_main_config"]


async def get_main_config(context: Context, project_id: str) -> MainConfig | None:
    """Get item by userId + "project-{projectId}"."""
    return await context.loaders.main_config_by_id.load(
        (context.user_id, main_config_id(project_id))
    )


async def set_main_config(context: Context, project_id: str, spec: MainConfigSpec) -> MainConfig:
    """Put (or update) by userId + "project-{projectId}"; `expectedVersion` guards a replace."""
    user_id = context.user_id
    if not is_key(project_id):
        raise NotFound("project", project_id)
    config_id = main_config_id(project_id)
    expected = spec.expected_version

    async def attempt() -> MainConfig:
        old = await context.store.main_configs.get(user_id, config_id, consistent=True)
        now = now_iso()
        if old is None:
            if expected is not None:
                raise Conflict(
                    f"project {project_id!r} has no main config yet (expected version {expected});"
                    " leave expectedVersion out to create it"
                )
            new = MainConfig(
                user_id=user_id,
                config_id=config_id,
                project_id=project_id,
                config=spec.to_config(),
                created_at=now,
                updated_at=now,
            )
            await context.store.main_configs.put_new(new)
            return new
        if expected is not None and expected != old.version:
            raise Conflict.stale_version("main config", config_id, old.version, expected)
        new = old.model_copy(
            update={"config": spec.to_config(), "version": old.version + 1, "updated_at": now}
        )
        await context.store.main_configs.replace(old, new)
        return new

    config = await settle(attempt)
    context.loaders.forget_main_config(user_id, project_id)
    return config
