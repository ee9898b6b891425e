"""Who is calling."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Identity"]


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    groups: frozenset[str]
    is_admin: bool
