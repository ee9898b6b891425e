"""Import and export: `exportProject` (a query) and `importProject` (a mutation)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from server.resolvers import bundle as resolvers
from server.schema.info import Info
from server.schema.project import Project

__all__ = ["BundleMutation", "BundleQuery"]


@strawberry.type
class BundleQuery:
    @strawberry.field(
        description=(
            "The project with its agents, tools, main config and env vars as a bundle"
            " (format multi-agent-api.project): secret values left out, deployments not"
            " included."
        )
    )
    async def export_project(self, info: Info, id: strawberry.ID) -> JSON:
        return JSON(await resolvers.export_project(info.context, id))


@strawberry.type
class BundleMutation:
    @strawberry.mutation(
        description=(
            "A new project from a bundle exportProject made, with new ids; name replaces its"
            " name. Tool names must be free (CONFLICT lists those taken in extensions.names);"
            " secret env vars are created empty (EnvVar.needsValue)."
        )
    )
    async def import_project(self, info: Info, bundle: JSON, name: str | None = None) -> Project:
        project = await resolvers.import_project(info.context, bundle, name)
        return Project.from_model(project)
