"""Settings come from the environment and a bad value stops the server with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import SettingsError, load_settings

VARIABLES = [
    "STORE",
    "DYNAMODB_ENDPOINT_URL",
    "AWS_REGION",
    "TABLE_PREFIX",
    "AUTH_MODE",
    "COGNITO_REGION",
    "COGNITO_USER_POOL_ID",
    "COGNITO_CLIENT_IDS",
    "COGNITO_JWKS_URL",
    "ADMIN_GROUP",
    "DEPLOYER",
    "CHANGE_FEED",
    "DEBUG_EXTENSIONS",
    "BUILTIN_CACHE_SECONDS",
    "LOG_FORMAT",
    "METRICS_PORT",
    "METRICS_HOST",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "EMBEDDED_DATA_DIR",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_those_of_the_interface() -> None:
    settings = load_settings()

    assert settings.store == "embedded"
    assert settings.dynamodb_endpoint_url is None
    assert settings.aws_region == "us-east-1"
    assert settings.table_prefix == "multi-agent-"
    assert settings.auth_mode == "dev"
    assert settings.admin_group == "admin"
    assert settings.deployer == "validate"
    assert settings.change_feed == "streams"


def test_every_variable_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORE", "dynamodb")
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", "http://localhost:8001")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    monkeypatch.setenv("TABLE_PREFIX", "staging-")
    monkeypatch.setenv("AUTH_MODE", "cognito")
    monkeypatch.setenv("COGNITO_REGION", "eu-west-3")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", "eu-west-3_abc123")
    monkeypatch.setenv("COGNITO_CLIENT_IDS", "client-a, client-b,")
    monkeypatch.setenv("COGNITO_JWKS_URL", "http://127.0.0.1:9999/jwks.json")
    monkeypatch.setenv("ADMIN_GROUP", "operators")
    monkeypatch.setenv("DEPLOYER", "none")
    monkeypatch.setenv("CHANGE_FEED", "poll")

    settings = load_settings()

    assert settings.store == "dynamodb"
    assert settings.dynamodb_endpoint_url == "http://localhost:8001"
    assert settings.aws_region == "eu-west-3"
    assert settings.table_prefix == "staging-"
    assert settings.auth_mode == "cognito"
    assert settings.cognito_user_pool_id == "eu-west-3_abc123"
    assert settings.cognito_client_ids == ("client-a", "client-b")
    assert settings.cognito_jwks_url == "http://127.0.0.1:9999/jwks.json"
    assert settings.admin_group == "operators"
    assert settings.deployer == "none"
    assert settings.change_feed == "poll"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("STORE", "postgres", "STORE"),
        ("AUTH_MODE", "open", "AUTH_MODE"),
        ("DEPLOYER", "kubernetes", "DEPLOYER"),
        ("CHANGE_FEED", "kinesis", "CHANGE_FEED"),
        ("AWS_REGION", "moon-base", "AWS_REGION"),
        ("DYNAMODB_ENDPOINT_URL", "localhost:8000", "DYNAMODB_ENDPOINT_URL"),
        ("TABLE_PREFIX", "bad prefix!", "TABLE_PREFIX"),
        ("AUTH_MODE", "cognito", "COGNITO_REGION"),
        ("MAX_QUERY_COST", "0", "MAX_QUERY_COST"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT"),
        ("METRICS_PORT", "0", "METRICS_PORT"),
        ("METRICS_PORT", "65536", "METRICS_PORT"),
        ("METRICS_HOST", "host name", "METRICS_HOST"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert named in message
    assert "\n" not in message


def test_the_query_cost_limit_is_40000_fields_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    default = load_settings()
    monkeypatch.setenv("MAX_QUERY_COST", "250000")

    assert (default.max_query_cost, load_settings().max_query_cost) == (40_000, 250_000)


def test_debug_extensions_default_to_on_only_with_the_embedded_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedded = load_settings()
    monkeypatch.setenv("STORE", "dynamodb")
    real = load_settings()
    monkeypatch.setenv("DEBUG_EXTENSIONS", "true")
    asked = load_settings()

    assert embedded.shows_debug_extensions
    assert not real.shows_debug_extensions
    assert asked.shows_debug_extensions


def test_the_builtin_cache_lasts_30_seconds_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    default = load_settings()
    monkeypatch.setenv("BUILTIN_CACHE_SECONDS", "0")
    off = load_settings()
    monkeypatch.setenv("BUILTIN_CACHE_SECONDS", "-1")

    with pytest.raises(SettingsError, match="BUILTIN_CACHE_SECONDS"):
        load_settings()
    assert default.builtin_cache_seconds == 30
    assert off.builtin_cache_seconds == 0


def test_logs_are_json_lines_outside_dev_mode_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    cognito = {
        "auth_mode": "cognito",
        "cognito_region": "eu-west-1",
        "cognito_user_pool_id": "eu-west-1_abc",
        "cognito_client_ids": ("client",),
    }

    defaults = (load_settings().logs_as, load_settings(**cognito).logs_as)
    monkeypatch.setenv("LOG_FORMAT", "text")
    chosen = load_settings(**cognito).logs_as

    assert (defaults, chosen) == (("text", "json"), "text")


def test_metrics_and_traces_are_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    off = load_settings()
    monkeypatch.setenv("METRICS_PORT", "9102")
    monkeypatch.setenv("METRICS_HOST", "0.0.0.0")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    on = load_settings()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")  # OpenTelemetry's rule: unset
    emptied = load_settings()

    assert (off.metrics_port, off.metrics_host, off.otel_exporter_otlp_endpoint) == (
        None,
        "127.0.0.1",
        None,
    )
    assert (on.metrics_port, on.metrics_host, on.otel_exporter_otlp_endpoint) == (
        9102,
        "0.0.0.0",
        "http://collector:4318",
    )
    assert emptied.otel_exporter_otlp_endpoint is None


def test_the_embedded_store_keeps_data_in_memory_unless_given_a_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unset = load_settings()
    monkeypatch.setenv("EMBEDDED_DATA_DIR", ".data")  # as `make run` sets it
    given = load_settings()
    monkeypatch.setenv("EMBEDDED_DATA_DIR", "")  # `make run EMBEDDED_DATA_DIR=`
    emptied = load_settings()

    assert (unset.embedded_data_dir, given.embedded_data_dir, emptied.embedded_data_dir) == (
        None,
        Path(".data"),
        None,
    )
