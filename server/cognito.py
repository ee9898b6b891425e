"""`AUTH_MODE=cognito`: callers present a Cognito id or access token as a Bearer JWT.

Checked, in order: RS256 only; the signature against the user pool's JWKS (fetched at start,
cached, fetched again at most once a minute when a token names an unknown `kid`; fetching runs
in a thread, since PyJWT fetches with blocking urllib); `exp`, `nbf` and `iat` with 60 s of
leeway; `iss` is the pool; `token_use` is `id` (then `aud`) or `access` (then `client_id`),
naming one of `COGNITO_CLIENT_IDS`; `sub` is present. Any failure is `Unauthenticated`, and a
JWKS that cannot be fetched fails only the request that needed it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from server.errors import Unauthenticated
from server.identity import Identity
from server.settings import Settings

__all__ = ["CognitoAuthenticator"]

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
LEEWAY_SECONDS = 60
REFETCH_INTERVAL_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 5.0


class CognitoAuthenticator:
    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str,
        client_ids: frozenset[str],
        admin_group: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._client_ids = client_ids
        self._admin_group = admin_group
        self._jwks = PyJWKClient(jwks_url, cache_jwk_set=False, timeout=FETCH_TIMEOUT_SECONDS)
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._clock = clock
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> CognitoAuthenticator:
        issuer = (
            f"https://cognito-idp.{settings.cognito_region}.amazonaws.com/"
            f"{settings.cognito_user_pool_id}"
        )
        return cls(
            issuer=issuer,
            jwks_url=settings.cognito_jwks_url or f"{issuer}/.well-known/jwks.json",
            client_ids=frozenset(settings.cognito_client_ids),
            admin_group=settings.admin_group,
        )

    async def start(self) -> None:
        """Fetch the JWKS before the first request; a failure is retried on demand later."""
        await self._refresh()

    async def authenticate(self, headers: Mapping[str, str]) -> Identity:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("an Authorization: Bearer token is required")
        claims = await self._verified_claims(token.strip())
        groups = claims.get("cognito:groups") or []
        if not isinstance(groups, list):
            raise Unauthenticated("the token's cognito:groups is malformed")
        group_names = frozenset(str(group) for group in groups)
        return Identity(
            user_id=str(claims["sub"]),
            groups=group_names,
            is_admin=self._admin_group in group_names,
        )

    async def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(f"the token must be signed with {ALGORITHM}")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"the token is not valid: {error}") from None
        self._check_client(claims)
        if not str(claims["sub"]).strip():
            raise Unauthenticated("the token has no subject")
        return claims

    def _check_client(self, claims: Mapping[str, Any]) -> None:
        use = claims.get("token_use")
        if use == "id":
            client = claims.get("aud")
        elif use == "access":
            client = claims.get("client_id")
        else:
            raise Unauthenticated("token_use must be id or access")
        if client not in self._client_ids:
            raise Unauthenticated("the token was issued to another client")

    async def _key(self, kid: str) -> PyJWK:
        key = self._keys.get(kid)
        if key is None and self._may_refetch():
            await self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("the token's signing key is not one of the user pool's")
        return key

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or (
            self._clock() - self._fetched_at >= REFETCH_INTERVAL_SECONDS
        )

    async def _refresh(self) -> None:
        async with self._lock:
            if not self._may_refetch():
                return  # another request refreshed while this one waited
            self._fetched_at = self._clock()
            try:
                jwk_set = await asyncio.to_thread(self._jwks.get_jwk_set, True)
            except jwt.PyJWTError as error:
                logger.warning("could not fetch the user pool's JWKS: %s", error)
                return
            self._keys = {
                key.key_id: key
                for key in jwk_set.keys
                if key.key_id and key.algorithm_name in (ALGORITHM, None)
            }
