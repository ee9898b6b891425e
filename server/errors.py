"""The domain's error hierarchy.

Resolvers and the store raise these; one formatter (`server.schema.errors`) turns them into
GraphQL errors whose `extensions.code` the client can branch on. Nothing here knows GraphQL.
"""

from __future__ import annotations

__all__ = [
    "BadUserInput",
    "Conflict",
    "CostExceeded",
    "DomainError",
    "Forbidden",
    "NameClash",
    "NotFound",
    "ProjectBusy",
    "QuotaExceeded",
    "ServiceUnavailable",
    "SlowConsumer",
    "Unauthenticated",
]


class DomainError(Exception):
    """An expected failure whose message is safe to show to the caller."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, object]:
        """What the client's `extensions` of this error hold: its code, and what a subclass
        adds for the client to act on."""
        return {"code": self.code}


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, entity: str, entity_id: str) -> None:
        super().__init__(f"{entity} {entity_id!r} does not exist")


class BadUserInput(DomainError):
    """An argument breaks an input rule; `field` is its dotted path inside the input."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, **({"field": self.field} if self.field else {})}


class Conflict(DomainError):
    code = "CONFLICT"

    @classmethod
    def stale_version(cls, entity: str, entity_id: str, actual: int, expected: int) -> Conflict:
        return cls(f"{entity} {entity_id!r} is at version {actual}, not {expected}")


class NameClash(Conflict):
    """Tool names are unique per user: these `names` are taken by the caller's tools."""

    def __init__(self, names: list[str]) -> None:
        quoted = ", ".join(repr(name) for name in names)
        if len(names) == 1:
            super().__init__(f"a tool named {quoted} already exists")
        else:
            super().__init__(f"tools named {quoted} already exist")
        self.names = names

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "names": list(self.names)}


class ProjectBusy(Conflict):
    """The project's one active slot is held by `deployment_id` (PENDING or DEPLOYING)."""

    def __init__(self, project_id: str, deployment_id: str) -> None:
        super().__init__(
            f"project {project_id!r} already has an active deployment {deployment_id!r};"
            " wait for it or cancel it"
        )
        self.deployment_id = deployment_id


class QuotaExceeded(DomainError):
    """A create would pass a per-account quota of `server.quotas`, named by `quota`."""

    code = "QUOTA_EXCEEDED"

    def __init__(self, quota: str, limit: int, holder: str, things: str) -> None:
        super().__init__(f"{holder} holds at most {limit} {things} ({quota})")
        self.quota = quota
        self.limit = limit

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "quota": self.quota, "limit": self.limit}


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"


class CostExceeded(DomainError):
    """An operation may resolve, or has resolved, more fields than the limit allows.

    `requested` is the estimate made before it ran; `actual`, when the execution was stopped,
    the fields it had resolved by then.
    """

    code = "MAX_COST_EXCEEDED"

    def __init__(self, *, requested: int, limit: int, actual: int | None = None) -> None:
        if actual is None:
            message = (
                f"this operation may resolve up to {requested:,} fields; the limit is {limit:,}"
            )
        else:
            message = (
                f"this operation was stopped after resolving {actual:,} fields; the limit is"
                f" {limit:,} (estimated: {requested:,}; the account holds more than its quotas"
                " allow)"
            )
        super().__init__(message)
        self.requested = requested
        self.limit = limit
        self.actual = actual

    @property
    def cost(self) -> dict[str, int]:
        """`extensions.cost`, in the frontend contract's names."""
        cost = {"requestedQueryCost": self.requested, "maximumAvailable": self.limit}
        if self.actual is not None:
            cost["actualQueryCost"] = self.actual
        return cost

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "cost": self.cost}


class SlowConsumer(ServiceUnavailable):
    """A subscriber fell over `buffer` events behind and stopped taking them (it did not read
    its socket), and was dropped; subscribing again is safe."""

    def __init__(self, buffer: int) -> None:
        super().__init__(
            f"this subscriber fell over {buffer} events behind and stopped taking them"
            " (SUBSCRIPTION_BUFFER, SLOW_CONSUMER_SECONDS), so it was dropped; subscribe again"
        )
        self.buffer = buffer
