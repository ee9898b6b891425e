"""What changed between two deployment snapshots, as readable JSON paths.

Agents and tools are matched by name and env vars by key, not by position, so a reordered
list changes nothing: `agents[name=triage].model.model_id`. Ids are left out (a recreated
agent with the same configuration is the same agent here), and no value of a variable that
is secret on either side is ever shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from server.models import Snapshot

__all__ = ["ConfigDifference", "DifferenceKind", "diff_snapshots"]


class DifferenceKind(Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class ConfigDifference:
    """One difference of two snapshots: the value at `path` added, removed or changed."""

    path: str
    kind: DifferenceKind
    before: Any
    after: Any


def diff_snapshots(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> list[ConfigDifference]:
    """The differences that turn `before` (None: nothing) into `after`, both as stored."""
    old, new = Snapshot.model_validate(before or {}), Snapshot.model_validate(after)
    secret_keys = old.secret_keys() | new.secret_keys()
    differences: list[ConfigDifference] = []
    _diff("", _comparable(old, secret_keys), _comparable(new, secret_keys), differences)
    return differences


def _comparable(snapshot: Snapshot, secret_keys: set[str]) -> dict[str, Any]:
    """The snapshot by path: each part as stored, ids left out, secret values hidden."""
    comparable: dict[str, Any] = {}
    if snapshot.project is not None:
        comparable["project"] = snapshot.project.stored(exclude={"id"})
    if snapshot.main_config is not None:
        comparable["mainConfig"] = snapshot.main_config.stored()
    for agent in snapshot.agents:
        comparable[f"agents[name={agent.name}]"] = agent.stored(exclude={"id"})
    for tool in snapshot.tools:
        comparable[f"tools[name={tool.name}]"] = tool.stored(exclude={"id"})
    for variable in snapshot.env:
        value = None if variable.key in secret_keys else variable.value
        comparable[f"env[key={variable.key}]"] = {"value": value, "secret": variable.secret}
    return comparable


def _diff(prefix: str, before: Any, after: Any, differences: list[ConfigDifference]) -> None:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        for key in [*before, *(key for key in after if key not in before)]:
            path = f"{prefix}.{key}" if prefix else key
            if key not in after:
                differences.append(
                    ConfigDifference(path, DifferenceKind.REMOVED, before[key], None)
                )
            elif key not in before:
                differences.append(ConfigDifference(path, DifferenceKind.ADDED, None, after[key]))
            else:
                _diff(path, before[key], after[key], differences)
    elif before != after:
        differences.append(ConfigDifference(prefix, DifferenceKind.CHANGED, before, after))
