"""The `multi-agent-api` command: serve, create-tables, seed-builtin-tools, export-schema,
export-cloudformation, export-project, import-project, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from server.bundle_cli import add_bundle_commands
from server.catalog import CatalogError
from server.logs import configure_logging, use_log_format
from server.settings import (
    DEFAULT_TABLE_PREFIX,
    TABLE_PREFIX_PATTERN,
    Settings,
    SettingsError,
    load_settings,
)
from server.store import Store, TableReport, open_store
from server.store.embedded import EmbeddedStartError
from server.wiring import embedded_dynamodb, store_options

__all__ = ["is_loopback", "main", "with_store"]

logger = logging.getLogger("server")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(logging.getLevelNamesMapping()[args.log_level.upper()])
    try:
        code: int = args.command(args)
    except (SettingsError, CatalogError, EmbeddedStartError) as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201 - the CLI's own output
        return 2
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="multi-agent-api", description=__doc__)
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API under uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--insecure-dev-auth",
        action="store_true",
        help="allow AUTH_MODE=dev on a non-loopback host (anyone can act as any user)",
    )
    serve.set_defaults(command=_serve)

    create = commands.add_parser(
        "create-tables",
        help="create the seven tables if missing, turn on point-in-time recovery",
    )
    create.set_defaults(command=_create_tables)

    seed = commands.add_parser("seed-builtin-tools", help="upsert the built-in tool catalog")
    seed.add_argument("file", nargs="?", type=Path, help="a catalog JSON file (default: shipped)")
    seed.set_defaults(command=_seed_builtin_tools)

    export = commands.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(command=_export_schema)

    tables = commands.add_parser(
        "export-cloudformation", help="print the seven tables as a CloudFormation template"
    )
    tables.set_defaults(command=_export_cloudformation)
    add_bundle_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    use_log_format(settings.logs_as)
    if settings.auth_mode == "dev" and not is_loopback(args.host) and not args.insecure_dev_auth:
        raise SettingsError(
            f"AUTH_MODE=dev on non-loopback host {args.host} lets anyone act as any user;"
            " use AUTH_MODE=cognito, or pass --insecure-dev-auth if you really mean it"
        )
    listening = _listen(args.host, args.port)
    embedded = embedded_dynamodb(settings)
    try:
        if embedded is not None:
            embedded.launch()  # it imports moto while this process imports the app
        from server.app import create_app

        app = create_app(settings, embedded=embedded)
        if embedded is not None:
            # Before uvicorn: a data directory it cannot use is one line, not a traceback.
            embedded.wait_until_ready()
        _banner(settings, args.host, args.port)
        _run(app, listening, args, settings)
    finally:
        listening.close()
        if embedded is not None:
            embedded.stop()  # the app's shutdown stopped it, unless the app never started
    return 0


def _run(app: Any, listening: socket.socket, args: argparse.Namespace, settings: Settings) -> None:
    """uvicorn, on the socket `_listen` bound (as `uvicorn.run` would run it on its own)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from server.edge.protocol import bounded_protocol
    from server.edge.websocket import ClosableWebSocketProtocol
    from server.limits import MAX_WEBSOCKET_MESSAGE_BYTES

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        lifespan="on",
        http=bounded_protocol(
            header_timeout=settings.request_header_timeout_seconds,
            body_timeout=settings.request_body_timeout_seconds,
        ),
        # uvicorn's own, whose connections a slow consumer's drop can close without waiting.
        ws=ClosableWebSocketProtocol,
        ws_max_size=MAX_WEBSOCKET_MESSAGE_BYTES,
        # Logging is `configure_logging`'s: the allow-list holds uvicorn's loggers at INFO
        # (websockets logs headers and frames at DEBUG through `uvicorn.error`).
        log_config=None,
        log_level=None,
        # Its access log writes query strings whole (a GET's variables); every request
        # leaves a line of the server's own instead (`server/edge/request_ids.py`).
        access_log=False,
    )
    server = uvicorn.Server(config)
    with suppress(KeyboardInterrupt):
        server.run(sockets=[listening])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before the app (and its embedded DynamoDB) starts, as
    uvicorn binds it (SO_REUSEADDR); uvicorn listens on it. An address that cannot be bound
    stops the start in one line (uvicorn would start it all, then log the bind's errno and
    exit). Bound first and kept, so nothing started meanwhile can take the port: the embedded
    DynamoDB asks the system for a free port, from the range a free port given to `--port`
    comes from too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise SettingsError(_unusable_address(host, port, error)) from None
    return listening


def _unusable_address(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another server running?);"
            f" choose another: make run PORT={port + 1} (or serve --port {port + 1})"
        )
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


def _banner(settings: Settings, host: str, port: int) -> None:
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/graphql"
    logger.info("Multi-Agent Management API: %s (store: %s)", url, settings.store)
    if settings.auth_mode == "dev":
        logger.warning(
            "DEV AUTH IS ON: every caller is whoever its X-Dev-User header says (default dev-user)"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _create_tables(args: argparse.Namespace) -> int:
    async def run(store: Store) -> None:
        reports = await store.create_tables()
        created = sum(report.created for report in reports)
        total = f"{len(reports)} tables: {created} created, {len(reports) - created} already there"
        print("\n".join([*map(_table_line, reports), total]))  # noqa: T201

    return with_store(run)


def _table_line(report: TableReport) -> str:
    what = "created" if report.created else "already there"
    if report.recovery_unsupported is None:
        recovery = "point-in-time recovery on"
    else:
        recovery = (
            f"point-in-time recovery not supported by this endpoint ({report.recovery_unsupported})"
        )
    stream = "" if report.stream is None else f"; stream {report.stream}"
    return f"{report.name}: {what}; {recovery}{stream}"


def _seed_builtin_tools(args: argparse.Namespace) -> int:
    async def run(store: Store) -> None:
        count = await store.seed_builtin_tools(args.file)
        print(f"upserted {count} built-in tools into {store.tables.builtin_tools}")  # noqa: T201

    return with_store(run)


def _export_schema(args: argparse.Namespace) -> int:
    from server.schema import schema

    print(schema.as_str())  # noqa: T201
    return 0


def _export_cloudformation(args: argparse.Namespace) -> int:
    from server.store.cloudformation import template_yaml

    # The settings' default prefix, not this environment's TABLE_PREFIX: the output is the
    # same everywhere (`deploy/tables.yaml`), and the stack takes the prefix as a parameter.
    text = template_yaml(prefix_default=DEFAULT_TABLE_PREFIX, prefix_pattern=TABLE_PREFIX_PATTERN)
    sys.stdout.write(text)
    return 0


def with_store(action: Callable[[Store], Awaitable[None]]) -> int:
    """Run `action` against the configured DynamoDB (never the embedded one: it would vanish)."""
    settings = load_settings()
    if settings.store == "embedded":
        raise SettingsError(
            "STORE=embedded creates its tables and seeds its catalog itself at start;"
            " set STORE=dynamodb (and DYNAMODB_ENDPOINT_URL if needed) to manage a real one"
        )

    async def run() -> None:
        async with open_store(store_options(settings)) as store:
            await action(store)

    asyncio.run(run())
    return 0
