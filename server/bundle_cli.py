"""The command line's bundles: export-project, import-project and seed-demo.

`export-project` and `import-project` work on `STORE=dynamodb`, as the API does (the same
functions, `server.resolvers.bundle`). `seed-demo` imports the shipped demo bundle and
deploys it: into the configured DynamoDB with `STORE=dynamodb`, or, as the embedded store
lives inside its `serve` process, through a running server's API (`--url`; the default with
`STORE=embedded` is `make run`'s http://127.0.0.1:8000/graphql, in dev auth).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from server.demo import demo_bundle
from server.deployments.snapshot import snapshot, snapshot_line
from server.errors import DomainError, NameClash
from server.models import Deployment, Project
from server.resolvers.bundle import export_bundle, import_bundle
from server.settings import load_settings
from server.store import Store

__all__ = ["DEFAULT_URL", "add_bundle_commands"]

DEFAULT_URL = "http://127.0.0.1:8000/graphql"
DEFAULT_USER = "dev-user"
HTTP_TIMEOUT_SECONDS = 30

IMPORT = """
mutation SeedDemo($bundle: JSON!) {
  importProject(bundle: $bundle) { id name envVars { key needsValue } }
}
"""
DEPLOY = """
mutation DeployDemo($projectId: ID!) { createDeployment(projectId: $projectId) { id status } }
"""


class CommandFailed(Exception):
    """What stops a command, in one line for its error output."""


class _Refused(CommandFailed):
    """An operation the server answered with an error: its message, and its extensions."""

    def __init__(self, message: str, extensions: dict[str, Any]) -> None:
        super().__init__(message)
        self.extensions = extensions


def add_bundle_commands(commands: Any) -> None:
    """Add the bundle commands to the command line's subparsers."""
    export = commands.add_parser("export-project", help="print a project's bundle (JSON)")
    export.add_argument("user_id", metavar="USER_ID")
    export.add_argument("project_id", metavar="PROJECT_ID")
    export.set_defaults(command=_export_project)

    load = commands.add_parser("import-project", help="import a bundle as a new project")
    load.add_argument("user_id", metavar="USER_ID")
    load.add_argument("file", metavar="FILE", help="the bundle's JSON file; - for stdin")
    load.add_argument("--name", help="the new project's name (default: the bundle's)")
    load.set_defaults(command=_import_project)

    demo = commands.add_parser("seed-demo", help="fill a user with a deployed demo project")
    demo.add_argument("user_id", metavar="USER", nargs="?", default=DEFAULT_USER)
    demo.add_argument(
        "--url",
        help=f"seed through a running server's API (default with STORE=embedded: {DEFAULT_URL})",
    )
    demo.set_defaults(command=_seed_demo)


def _export_project(args: argparse.Namespace) -> int:
    async def run(store: Store) -> None:
        bundle = await export_bundle(store, args.user_id, args.project_id)
        print(json.dumps(bundle, indent=2, ensure_ascii=False))  # noqa: T201

    return _refusing(run)


def _import_project(args: argparse.Namespace) -> int:
    try:
        bundle = _read_json(args.file)
    except CommandFailed as failed:
        return _fail(str(failed))

    async def run(store: Store) -> None:
        project = await import_bundle(store, args.user_id, bundle, name=args.name)
        print(f"imported project {project.project_id} ({project.name})")  # noqa: T201
        _print_needs_value(await _needing_value(store, project))

    return _refusing(run)


def _seed_demo(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.url is not None or settings.store == "embedded":
        try:
            _seed_over_http(args.url or DEFAULT_URL, args.user_id)
        except CommandFailed as failed:
            return _fail(str(failed))
        return 0

    async def run(store: Store) -> None:
        try:
            project = await import_bundle(store, args.user_id, demo_bundle())
        except NameClash as clash:
            raise CommandFailed(_seeded_already(args.user_id, clash.names)) from None
        deployment_id = await _deploy(store, project.project_id, args.user_id)
        _print_seeded(args.user_id, project.project_id, project.name, deployment_id)

    return _refusing(run)


def _refusing(run: Any) -> int:
    """`with_store(run)`, a domain error (a clash, a quota, a bad bundle) as one line."""
    from server.cli import with_store

    try:
        return with_store(run)
    except CommandFailed as failed:
        return _fail(str(failed))
    except DomainError as error:
        return _fail(error.message)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)  # noqa: T201
    return 1


def _read_json(file: str) -> object:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as error:
        raise CommandFailed(f"cannot read {file}: {error.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandFailed(f"{file} is not JSON: {error}") from None


async def _needing_value(store: Store, project: Project) -> list[str]:
    """The keys of the new project's secrets without a value: created empty, they need one."""
    variables = await store.env_vars.listed(project, project.env_ids)
    return sorted(variable.key for variable in variables if variable.secret and not variable.value)


def _seeded_already(user_id: str, names: list[str]) -> str:
    return (
        f"{user_id} has the demo already (tools named {', '.join(names)} exist);"
        " delete its project (deleteProject) to seed it again"
    )


def _print_needs_value(keys: list[str]) -> None:
    if keys:
        print(f"needs a value (set it with setEnvVar): {', '.join(keys)}")  # noqa: T201


def _print_seeded(user_id: str, project_id: str, name: str, deployment_id: str) -> None:
    print(  # noqa: T201
        f"seeded {user_id}: project {project_id} ({name}) and its deployment {deployment_id}"
    )


async def _deploy(store: Store, project_id: str, user_id: str) -> str:
    """A PENDING deployment of the new project, as `createDeployment` makes one; a server
    with `DEPLOYER=validate` deploys it at its next sweep."""
    project: Project | None = await store.projects.get(user_id, project_id, consistent=True)
    if project is None:
        raise CommandFailed(f"project {project_id} vanished before its deployment")
    taken = await snapshot(store, project)
    deployment = Deployment.pending(user_id, project_id, taken.stored(), snapshot_line(taken))
    await store.deployments.create(deployment, project)
    return deployment.deployment_id


def _seed_over_http(url: str, user_id: str) -> None:
    try:
        imported = _post(url, user_id, IMPORT, {"bundle": demo_bundle()})["importProject"]
    except _Refused as refused:
        names = refused.extensions.get("names")
        if refused.extensions.get("code") == "CONFLICT" and isinstance(names, list):
            raise CommandFailed(_seeded_already(user_id, [str(n) for n in names])) from None
        raise
    deployed = _post(url, user_id, DEPLOY, {"projectId": imported["id"]})["createDeployment"]
    _print_seeded(user_id, imported["id"], imported["name"], deployed["id"])
    _print_needs_value([v["key"] for v in imported["envVars"] if v["needsValue"]])


def _post(url: str, user_id: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The `data` of one operation sent to the server at `url` as `user_id` (dev auth)."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "X-Dev-User": user_id},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            body: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as error:
        body = _json_or_none(error.read()) or {"errors": [{"message": f"HTTP {error.code}"}]}
    except (urllib.error.URLError, OSError) as error:
        raise CommandFailed(
            f"no server answers at {url} ({getattr(error, 'reason', error)}): start one"
            " (`make run`) or give its address with --url"
        ) from None
    errors = body.get("errors")
    if errors:
        raise _Refused(str(errors[0].get("message")), errors[0].get("extensions") or {})
    data: dict[str, Any] = body["data"]
    return data


def _json_or_none(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
