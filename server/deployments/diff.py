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
    """The differences that turn `before` (None: nothing) into `after`."""
    secret_keys = _secret_keys(before) | _secret_keys(after)
    differences: list[ConfigDifference] = []
    _diff("", _comparable(before or {}, secret_keys), _comparable(after, secret_keys), differences)
    return differences


def _secret_keys(snapshot: Mapping[str, Any] | None) -> set[str]:
    return {str(v.get("key")) for v in (snapshot or {}).get("env") or [] if v.get("secret")}


def _comparable(snapshot: Mapping[str, Any], secret_keys: set[str]) -> dict[str, Any]:
    def without_id(item: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in item.items() if key != "id"}

    comparable: dict[str, Any] = {}
    if "project" in snapshot:
        comparable["project"] = without_id(snapshot["project"] or {})
    if snapshot.get("mainConfig") is not None:
        comparable["mainConfig"] = snapshot["mainConfig"]
    for kind in ("agents", "tools"):
        for item in snapshot.get(kind) or []:
            comparable[f"{kind}[name={item.get('name')}]"] = without_id(item)
    for variable in snapshot.get("env") or []:
        key = str(variable.get("key"))
        value = None if key in secret_keys else variable.get("value")
        comparable[f"env[key={key}]"] = {"value": value, "secret": bool(variable.get("secret"))}
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
