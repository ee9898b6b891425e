"""Settings, read once from the environment and validated at start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

from server.edge.hosts import HOST_PATTERN, LOOPBACK_HOSTS, HostPolicy, OriginPolicy
from server.logs import LogFormat

__all__ = [
    "DEFAULT_TABLE_PREFIX",
    "TABLE_PREFIX_PATTERN",
    "Settings",
    "SettingsError",
    "load_settings",
]

AWS_REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
# Also the `TablePrefix` parameter of the tables' CloudFormation template.
DEFAULT_TABLE_PREFIX = "multi-agent-"
TABLE_PREFIX_PATTERN = r"^[A-Za-z0-9_.-]{0,200}$"


class SettingsError(Exception):
    """A setting has a value the server cannot start with; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, frozen=True, extra="ignore")

    store: Literal["embedded", "dynamodb"] = "embedded"
    # With STORE=embedded: the directory its data is kept in; None (empty): memory only.
    embedded_data_dir: Path | None = None
    dynamodb_endpoint_url: str | None = None
    dynamodb_max_attempts: Annotated[int, Field(ge=1, le=10)] = 4
    dynamodb_connect_timeout: Annotated[float, Field(gt=0, le=60)] = 2.0
    dynamodb_read_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    aws_region: Annotated[str, Field(pattern=AWS_REGION_PATTERN)] = "us-east-1"
    table_prefix: Annotated[str, Field(pattern=TABLE_PREFIX_PATTERN)] = DEFAULT_TABLE_PREFIX
    auth_mode: Literal["dev", "cognito"] = "dev"
    cognito_region: Annotated[str | None, Field(pattern=AWS_REGION_PATTERN)] = None
    cognito_user_pool_id: str | None = None
    cognito_client_ids: Annotated[tuple[str, ...], NoDecode] = ()
    cognito_jwks_url: str | None = None
    admin_group: Annotated[str, Field(min_length=1)] = "admin"
    # On AWS Lambda, which has no `serve --insecure-dev-auth`: allow AUTH_MODE=dev there.
    insecure_dev_auth: bool = False
    deployer: Literal["validate", "none"] = "validate"
    deployment_sweep_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # How subscriptions learn of changes made elsewhere: the Deployments table's stream
    # (`server/deployments/feed.py`; the embedded store serves it too), or polling.
    change_feed: Literal["streams", "poll"] = "streams"
    # None: on with the embedded store, off otherwise.
    debug_extensions: bool | None = None
    builtin_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0
    # None: on in dev mode, off in cognito mode.
    introspection: bool | None = None
    # None: loopback origins in dev mode, none in cognito mode.
    cors_origins: Annotated[tuple[str, ...] | None, NoDecode] = None
    # None: loopback names in dev mode, any in cognito mode.
    allowed_hosts: Annotated[tuple[str, ...] | None, NoDecode] = None
    request_header_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    request_body_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    readiness_cache_seconds: Annotated[float, Field(ge=0, le=300)] = 5.0
    operation_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    # The most fields one operation may resolve, estimated before it runs and counted while it
    # runs (`server/schema/cost.py`); chosen by `bench/cost.py`.
    max_query_cost: Annotated[int, Field(ge=1)] = 40_000
    # Subscriptions open at once (`server/deployments/watchers.py`): per WebSocket, per user
    # on this instance (a dashboard in many tabs), per instance; and how many events one
    # subscriber may fall behind before it is dropped as a slow consumer.
    subscriptions_per_connection: Annotated[int, Field(ge=1, le=1000)] = 25
    subscriptions_per_user: Annotated[int, Field(ge=1, le=100_000)] = 100
    subscriptions_per_instance: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    subscription_buffer: Annotated[int, Field(ge=1, le=10_000)] = 32
    slow_consumer_seconds: Annotated[float, Field(gt=0, le=600)] = 2.0
    # For the benchmark only: every loader loads one key per request, with no look-ahead.
    bench_naive_loaders: bool = False
    # None: JSON lines outside dev mode, text in dev mode.
    log_format: Literal["json", "text"] | None = None
    # None: no metrics endpoint. Set: Prometheus text on a port of its own (`server/metrics.py`).
    metrics_port: Annotated[int | None, Field(ge=1, le=65535)] = None
    metrics_host: Annotated[str, Field(pattern=r"^[A-Za-z0-9.:-]{1,253}$")] = "127.0.0.1"
    # Set: OpenTelemetry traces exported over OTLP/HTTP (`server/tracing.py`).
    otel_exporter_otlp_endpoint: str | None = None

    @field_validator("cognito_client_ids", "cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        try:
            return tuple(sorted(normalize_allowed_origins(value)))
        except ValueError:
            raise ValueError(
                "each must be * or an origin like https://app.example.com[:port]"
            ) from None

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_host_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        hosts = tuple(host.lower().rstrip(".") for host in value)
        wrong = [host for host in hosts if not re.match(HOST_PATTERN, host)]
        if wrong:
            raise ValueError(
                f"{wrong[0]!r} is not *, a host name, *.name, an IPv4 or a [bracketed] IPv6"
            )
        return hosts

    @field_validator("otel_exporter_otlp_endpoint", "embedded_data_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # OpenTelemetry's own rule, and `make run EMBEDDED_DATA_DIR=`'s: empty is unset.
        return None if value == "" else value

    @field_validator("dynamodb_endpoint_url", "otel_exporter_otlp_endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @property
    def allows_introspection(self) -> bool:
        if self.introspection is None:
            return self.auth_mode == "dev"
        return self.introspection

    @property
    def origins(self) -> OriginPolicy:
        """Origins whose pages may call the API (CORS) and open its WebSockets."""
        if self.cors_origins is None:
            return OriginPolicy(frozenset(), loopback=self.auth_mode == "dev")
        return OriginPolicy(frozenset(self.cors_origins))

    @property
    def hosts(self) -> HostPolicy:
        """`Host` names the server answers to. In cognito mode any, unless set: there the
        server sits behind a load balancer or API Gateway that routes by host, and its callers
        authenticate with a bearer token a rebinding page does not have."""
        if self.allowed_hosts is None:
            return HostPolicy(LOOPBACK_HOSTS if self.auth_mode == "dev" else ("*",))
        return HostPolicy(self.allowed_hosts)

    @property
    def shows_debug_extensions(self) -> bool:
        """Whether responses carry DynamoDB request counts in `extensions`."""
        if self.debug_extensions is None:
            return self.store == "embedded"
        return self.debug_extensions

    @property
    def logs_as(self) -> LogFormat:
        """How log lines are written: JSON outside dev mode unless `LOG_FORMAT` says."""
        if self.log_format is None:
            return "text" if self.auth_mode == "dev" else "json"
        return self.log_format

    @model_validator(mode="after")
    def _cognito_is_configured(self) -> Settings:
        if self.auth_mode == "cognito":
            missing = [
                name.upper()
                for name in ("cognito_region", "cognito_user_pool_id", "cognito_client_ids")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"AUTH_MODE=cognito needs {', '.join(missing)}")
        return self


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment; raise `SettingsError` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {message}" if name else message)
    return "invalid settings: " + "; ".join(problems)
