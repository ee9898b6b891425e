"""`AUTH_MODE=cognito`: callers present a Cognito id or access token as a Bearer JWT.

Checked, in order: RS256 only; the signature against the user pool's JWKS (fetched at start,
cached, fetched again at most once a minute when a token names an unknown `kid`; fetching runs
in a thread, since PyJWT fetches with blocking urllib); `exp`, `nbf` and `iat` with 60 s of
leeway; `iss` is the pool; every claim the server reads has the type Cognito gives it
(`Claims`); `token_use` is `id` (then `aud`) or `access` (then `client_id`), naming one of
`COGNITO_CLIENT_IDS`; `sub` is a non-blank string. Any failure is `Unauthenticated`: nothing a
token says can raise anything else out of the authenticator. A JWKS that cannot be fetched
fails only the request that needed it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import jwt
from jwt import PyJWK, PyJWKClient
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from server.errors import Unauthenticated
from server.identity import Identity
from server.settings import Settings

__all__ = ["CognitoAuthenticator"]

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
LEEWAY_SECONDS = 60
REFETCH_INTERVAL_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 5.0

NonBlank = Annotated[str, StringConstraints(pattern=r"\S")]
Seconds = Annotated[float, Field(allow_inf_nan=False)]


class Claims(BaseModel):
    """The claims the server reads, with the types Cognito gives them, checked strictly: a
    list where a string belongs, a string where a number belongs, is a malformed token.

    Cognito id tokens carry a single audience (the app client's id) as a string, so a list
    `aud` is refused rather than searched.
    """

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    sub: NonBlank
    iss: str
    token_use: str
    exp: Seconds
    iat: Seconds
    nbf: Seconds | None = None
    aud: str | None = None
    client_id: str | None = None
    groups: list[str] = Field(default_factory=list, alias="cognito:groups")


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
        try:
            claims = await self._verified_claims(token.strip())
        except Unauthenticated:
            raise
        except Exception as error:
            # A check this module missed: still the token's fault, never a 500. Only the
            # error's type is logged, since its message may quote the token.
            logger.warning("a token failed an unexpected check (%s)", type(error).__name__)
            raise Unauthenticated("the token is malformed") from None
        groups = frozenset(claims.groups)
        return Identity(user_id=claims.sub, groups=groups, is_admin=self._admin_group in groups)

    async def _verified_claims(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(f"the token must be signed with {ALGORITHM}")
        key = await self._key(str(header.get("kid", "")))
        try:
            decoded: dict[str, Any] = jwt.decode(
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
        claims = typed(decoded)
        self._check_client(claims)
        return claims

    def _check_client(self, claims: Claims) -> None:
        if claims.token_use == "id":
            client = claims.aud
        elif claims.token_use == "access":
            client = claims.client_id
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


def typed(decoded: Mapping[str, Any]) -> Claims:
    """The claims the server reads, if each has its expected type; `Unauthenticated` naming
    the first that does not."""
    try:
        return Claims.model_validate(decoded)
    except ValidationError as invalid:
        error = invalid.errors(include_url=False)[0]
        claim = str(error["loc"][0]) if error["loc"] else "payload"
        raise Unauthenticated(f"the token's {claim} claim is malformed: {error['msg']}") from None
