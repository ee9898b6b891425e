"""Per-request loaders, keyed by what DynamoDB is keyed by."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from server.dataloaders.project import load_project_by_id
from server.models import Project
from server.store import ProjectKey, Store

__all__ = ["Loaders"]


@dataclass(frozen=True, kw_only=True)
class Loaders:
    project_by_id: DataLoader[ProjectKey, Project | None]

    @classmethod
    def for_request(cls, store: Store) -> Loaders:
        return cls(project_by_id=load_project_by_id(store))
