"""Who is calling: one `Identity` per request, made by the configured `Authenticator`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from server.cognito import CognitoAuthenticator
from server.errors import Unauthenticated
from server.identity import Identity
from server.settings import Settings

__all__ = [
    "Authenticator",
    "CognitoAuthenticator",
    "DevAuthenticator",
    "Identity",
    "make_authenticator",
]

DEV_USER_PATTERN = re.compile(r"^[A-Za-z0-9@._+:-]{1,128}$")
DEFAULT_DEV_USER = "dev-user"


class Authenticator(Protocol):
    async def start(self) -> None:
        """Get ready to serve (called once, in the app's lifespan)."""
        ...

    async def authenticate(self, headers: Mapping[str, str]) -> Identity:
        """The caller's identity from request headers; `Unauthenticated` if there is none."""
        ...


class DevAuthenticator:
    """Development only: the caller names itself in `X-Dev-User` and `X-Dev-Groups`."""

    def __init__(self, admin_group: str) -> None:
        self._admin_group = admin_group

    async def start(self) -> None:
        return None

    async def authenticate(self, headers: Mapping[str, str]) -> Identity:
        user_id = headers.get("x-dev-user", DEFAULT_DEV_USER).strip()
        if not DEV_USER_PATTERN.fullmatch(user_id):
            raise Unauthenticated("X-Dev-User must be 1 to 128 of A-Z a-z 0-9 @ . _ + : -")
        groups = frozenset(
            group.strip() for group in headers.get("x-dev-groups", "").split(",") if group.strip()
        )
        return Identity(user_id=user_id, groups=groups, is_admin=self._admin_group in groups)


def make_authenticator(settings: Settings) -> Authenticator:
    if settings.auth_mode == "dev":
        return DevAuthenticator(settings.admin_group)
    return CognitoAuthenticator.from_settings(settings)
