"""Projects by (user_id, project_id): one BatchGetItem per batch."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from server.models import Project
from server.store import ProjectKey, Store

__all__ = ["load_project_by_id"]


def load_project_by_id(store: Store) -> DataLoader[ProjectKey, Project | None]:
    return DataLoader(load_fn=store.projects.get_many)
