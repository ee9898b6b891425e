"""`config`: the stored config map of an agent, a tool or a main config, as the seed's JSON."""

from __future__ import annotations

from typing import Protocol

from strawberry.scalars import JSON

from server import models

__all__ = ["stored_config"]


class _Record(Protocol):
    @property
    def config(self) -> models.StoredConfig: ...


class _Configured(Protocol):
    @property
    def record(self) -> _Record: ...


def stored_config(root: _Configured) -> JSON:
    """The config map exactly as stored, built only when a query asks for it."""
    return JSON(root.record.config.stored())
