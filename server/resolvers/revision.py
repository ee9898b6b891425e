"""The next version of a named, versioned item (an agent or a tool) under a patch."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from server.errors import Conflict
from server.models import AgentConfig, ToolConfig, now_iso

__all__ = ["revised"]

ItemT = TypeVar("ItemT", bound=BaseModel)


def revised(
    old: ItemT,
    config: AgentConfig | ToolConfig,
    *,
    version: int,
    expected: int | None,
    names: str,
) -> ItemT:
    """`old` with `config` (and its name) at `version + 1`; CONFLICT if `expected` is stale.

    `names` says what the item is, for the error: e.g. "agent '01J…'".
    """
    if expected is not None and expected != version:
        raise Conflict(f"{names} is at version {version}, not {expected}")
    fields: dict[str, Any] = {"config": config, "version": version + 1, "updated_at": now_iso()}
    if config.name:  # a config another program wrote without a name leaves the item's as it is
        fields["name"] = config.name
    return old.model_copy(update=fields)
