"""What each install holds, as the lock pins it: the runtime alone serves on DynamoDB, the
`embedded` extra adds the embedded store, and the pip-only requirements are the lock's.

An install is simulated in this environment (which holds everything) by a `sitecustomize`
that makes every top-level module outside that install's distributions unimportable
(`sys.modules[name] = None`), in the server and in the embedded DynamoDB's child process
alike. The distributions are read from `uv.lock`, every platform's, so a module imported at
run time from a distribution that only `dev` or `embedded` brings fails here.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from server.store.embedded import EMBEDDED_MODULES
from tests.documents import CREATE_PROJECT
from tests.servers import GRAPHQL_TRANSPORT_WS, free_port, wait_for_health

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "uv.lock"
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"
EMBEDDED_SERVER = ROOT / "server" / "store" / "embedded_server.py"
# What the embedded server alone imports: its data kept in EMBEDDED_DATA_DIR.
EMBEDDED_DATA = ROOT / "server" / "store" / "embedded_data.py"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]

SITECUSTOMIZE = """\
import os
import sys

for name in os.environ["UNINSTALLED_MODULES"].split(","):
    sys.modules[name] = None  # `import name` fails as if it were not installed
"""

BUILTIN_TOOL_NAMES = "{ builtinTools { name } }"

# `install(*extras)`: the environment of a process that sees only that install.
Install = Callable[..., dict[str, str]]


def canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def locked_distributions(*extras: str) -> frozenset[str]:
    """The distributions the lock installs for the project with `extras`, on any platform."""
    versions: dict[str, list[dict[str, Any]]] = {}
    for package in tomllib.loads(LOCK.read_text())["package"]:
        versions.setdefault(package["name"], []).append(package)
    wanted: list[tuple[str, str | None]] = [(PROJECT, None), *((PROJECT, e) for e in extras)]
    seen: set[tuple[str, str | None]] = set()
    while wanted:
        name, extra = wanted.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for package in versions[name]:
            if extra is None:
                requirements = package.get("dependencies", [])
            else:
                requirements = package.get("optional-dependencies", {}).get(extra, [])
            for requirement in requirements:
                wanted.append((requirement["name"], None))
                wanted.extend((requirement["name"], e) for e in requirement.get("extra", []))
    return frozenset(name for name, _ in seen)


def modules_outside(distributions: frozenset[str]) -> list[str]:
    """Top-level modules installed here that none of `distributions` provides."""
    return sorted(
        module
        for module, providers in importlib.metadata.packages_distributions().items()
        if module.isidentifier() and not any(canonical(p) in distributions for p in providers)
    )


@pytest.fixture
def install(tmp_path: Path) -> Install:

    def environment(*extras: str) -> dict[str, str]:
        (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
        uninstalled = modules_outside(locked_distributions(*extras))
        env = {k: v for k, v in os.environ.items() if k not in ("STORE", "AUTH_MODE")}
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
        env["UNINSTALLED_MODULES"] = ",".join(uninstalled)
        return env

    return environment


def cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@contextmanager
def serving(env: Mapping[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port)],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
        assert process.stdout is not None
        process.stdout.close()


def post(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_an_install_without_the_embedded_extra_cannot_import_moto(install: Install) -> None:
    runtime = install()
    embedded = install("embedded")

    assert {"moto", "flask", "werkzeug", "pytest", "uv"} <= set(
        runtime["UNINSTALLED_MODULES"].split(",")
    )
    assert "moto" not in embedded["UNINSTALLED_MODULES"].split(",")
    tried = subprocess.run(
        [sys.executable, "-c", "import moto"], env=runtime, capture_output=True, check=False
    )
    assert tried.returncode == 1
    assert b"ModuleNotFoundError" in tried.stderr


def test_the_runtime_install_alone_serves_on_dynamodb(
    install: Install, dynamodb_endpoint: str
) -> None:
    env = install()
    env.update(
        STORE="dynamodb",
        DYNAMODB_ENDPOINT_URL=dynamodb_endpoint,
        TABLE_PREFIX=f"slim-{uuid.uuid4().hex[:8]}-",
    )

    for command in ("create-tables", "seed-builtin-tools"):
        done = cli(env, command)
        assert done.returncode == 0, done.stderr
    with serving(env) as base:
        tools = post(base, BUILTIN_TOOL_NAMES)["builtinTools"]
        created = post(base, CREATE_PROJECT, {"input": {"name": "slim"}})["createProject"]
        projects = post(base, "{ projects { id name } }")["projects"]
        ready = httpx.get(f"{base}/readyz", timeout=30)
        with connect(
            f"ws{base.removeprefix('http')}/graphql", subprotocols=GRAPHQL_TRANSPORT_WS
        ) as socket:
            socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            acknowledged = json.loads(socket.recv(timeout=30))

    assert len(tools) > 0
    assert {"id": created["id"], "name": "slim"} in projects
    assert ready.status_code == 200
    assert acknowledged == {"type": "connection_ack"}


def test_the_embedded_extra_runs_the_embedded_store_as_make_run_does(install: Install) -> None:
    with serving(install("embedded")) as base:
        tools = post(base, BUILTIN_TOOL_NAMES)["builtinTools"]

    assert len(tools) > 0


def test_the_embedded_store_without_its_extra_stops_with_one_line_saying_how_to_install_it(
    install: Install,
) -> None:
    by_default = cli(install(), "serve", "--port", "1")
    named = cli({**install(), "STORE": "embedded"}, "serve", "--port", "1")

    for refused in (by_default, named):
        assert refused.returncode == 2
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert "pip install '.[embedded]'" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert by_default.stderr.startswith("error: STORE=embedded (the default) needs the embedded")
    assert named.stderr.startswith("error: STORE=embedded needs the embedded extra")


def third_party_imports(path: Path) -> set[str]:
    """The top-level names of the modules `path` imports when it runs: at the top or in a
    function, not under `if TYPE_CHECKING:`; neither the standard library nor `server`."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.partition(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return names - set(sys.stdlib_module_names) - {"__future__", "server"}


# The modules of `server/` that only an extra's install imports: STORE=embedded's child
# process, and the spans made when OTEL_EXPORTER_OTLP_ENDPOINT is set (`server/tracing.py`
# imports `server/otel.py` only then).
EXTRA_MODULES = {
    EMBEDDED_SERVER: "embedded",
    EMBEDDED_DATA: "embedded",
    ROOT / "server" / "otel.py": "otel",
}


def test_every_import_in_server_is_installed_by_pip_install_dot_or_its_modules_extra() -> None:
    providers = importlib.metadata.packages_distributions()
    outside = set()
    for path in sorted((ROOT / "server").rglob("*.py")):
        extra = EXTRA_MODULES.get(path)
        installed = locked_distributions(*([extra] if extra else []))
        outside |= {
            f"{path.relative_to(ROOT)}: {module}"
            for module in third_party_imports(path)
            if not any(canonical(provider) in installed for provider in providers.get(module, []))
        }

    assert outside == set(), "imported at run time, but not installed by its install"


def test_the_embedded_modules_are_those_the_embedded_server_imports() -> None:
    imported = third_party_imports(EMBEDDED_SERVER) | third_party_imports(EMBEDDED_DATA)
    assert imported - {"orjson"} <= set(EMBEDDED_MODULES)  # orjson: `pip install .` has it


def uv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uv", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_the_lock_is_current_with_pyproject() -> None:
    checked = uv("lock", "--check", "--offline")

    assert checked.returncode == 0, f"uv.lock is stale: run `make lock`\n{checked.stderr}"


def test_the_runtime_requirements_are_the_lock_exported() -> None:
    exported = uv("export", "--frozen", "--no-emit-project", "--format", "requirements-txt")

    def body(text: str) -> list[str]:
        lines = text.splitlines()
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        return lines

    assert exported.returncode == 0, exported.stderr
    assert body(RUNTIME_REQUIREMENTS.read_text()) == body(exported.stdout), (
        "requirements/runtime.txt is stale: run `make lock`"
    )
