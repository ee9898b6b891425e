"""`viewer`: who the request is authenticated as."""

from __future__ import annotations

import strawberry

from server.schema.info import Info

__all__ = ["Viewer", "ViewerQuery"]


@strawberry.type
class Viewer:
    user_id: strawberry.ID
    is_admin: bool


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="Who the request is authenticated as.")
    def viewer(self, info: Info) -> Viewer:
        context = info.context
        return Viewer(
            user_id=strawberry.ID(context.user_id),
            is_admin=context.identity is not None and context.identity.is_admin,
        )
