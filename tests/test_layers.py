"""The layers of `server/` only point down.

Every module of the package sits in one layer; a module may import from its own layer and
from the layers below it, never from one above:

    app → schema → resolvers → deployments → dataloaders → store → models → beside

"Beside" holds what every layer may use and which uses nothing of the layers: the settings,
the domain's errors, who is calling and how that is checked, logging, metrics and traces, and
the HTTP edge (ASGI middleware and the uvicorn protocol, which know nothing of GraphQL's
schema or the store; the settings parse the Host and Origin policies the edge defines).

Every import counts, wherever it is written: at the top of a module, inside a function (the
command line imports the app lazily), and under `if TYPE_CHECKING:`. A typing-only import is
still a dependency a reader has to follow, and it is one refactoring away from a real one;
where a lower layer needs to name something of a higher one, it declares a protocol of its own
(as `server.context.OperationCost` does for the schema's cost meter).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "server"


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]  # these modules and packages, and everything under them


# Top to bottom.
LAYERS = (
    Layer(
        "app",
        (
            "server.__main__",
            "server.cli",
            "server.app",
            "server.lambda_handler",  # AWS Lambda: the app behind Mangum
            "server.wiring",  # the store's options from the settings, for the app and the CLI
            "server.health",
            "server.limits",
            "server.playground",  # the GraphiQL page and its vendored files, for the app
            "server.runtime",
            "server.bundle_cli",  # the command line's export-project, import-project, seed-demo
            "server.demo",  # the demo bundle `seed-demo` imports
        ),
    ),
    Layer("schema", ("server.schema",)),
    # The request context is what every resolver receives.
    Layer("resolvers", ("server.resolvers", "server.context")),
    Layer("deployments", ("server.deployments",)),
    # The catalog cache is read through the loaders and by the deployment worker.
    Layer("dataloaders", ("server.dataloaders", "server.builtin_catalog")),
    # The shipped catalog file is what the store seeds.
    Layer("store", ("server.store", "server.catalog")),
    Layer("models", ("server.models", "server.quotas")),
    Layer(
        "beside",
        (
            "server.settings",
            "server.errors",
            "server.identity",
            "server.auth",
            "server.cognito",
            "server.logs",
            "server.edge",
            # What the server counts and traces, and the request a log line belongs to.
            "server.metrics",
            "server.tracing",
            "server.otel",
            "server.request_id",
        ),
    ),
)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of `server/` by name; the package's own `__init__` holds only its
    docstring, so it is neither importer nor imported."""
    found = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    found.pop("server")
    return found


def imports(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    """The modules of `server/` that `name` imports, wherever the import is written."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            # `from server import models` imports the module `server.models`.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target == "server" or target.startswith("server."):
                yield Import(name, target, node.lineno)


def layers_of(module: str) -> list[int]:
    """The indexes in `LAYERS` (0 is the top) of the layers that hold `module`."""
    return [
        index
        for index, layer in enumerate(LAYERS)
        if any(module == held or module.startswith(f"{held}.") for held in layer.modules)
    ]


def layer_of(module: str) -> int | None:
    """The index of `module`'s layer, None if it has none."""
    found = layers_of(module)
    return found[0] if found else None


def test_every_module_of_the_server_sits_in_one_layer() -> None:
    # Given every module of the package
    names = modules()

    # When each is looked up in the layers
    unplaced = [name for name in names if not layers_of(name)]
    placed_twice = [name for name in names if len(layers_of(name)) > 1]

    # Then each sits in exactly one (a new module gets its place in LAYERS)
    assert unplaced == [], f"modules with no layer in LAYERS: {unplaced}"
    assert placed_twice == [], f"modules in more than one layer: {placed_twice}"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    # Given every import between modules of the package
    names = modules()
    found = [
        found
        for name, path in names.items()
        for found in imports(name, path, set(names) | {"server"})
    ]

    # When the imported module sits higher than the importer
    upward = [
        f"{i.importer} ({LAYERS[low].name}) imports {i.imported} ({LAYERS[high].name})"
        f" at line {i.line}"
        for i in found
        if (low := layer_of(i.importer)) is not None
        and (high := layer_of(i.imported)) is not None
        and high < low
    ]
    unknown = [
        f"{i.importer} imports {i.imported}, which is not a module of server/"
        for i in found
        if layer_of(i.imported) is None
    ]

    # Then there is none: every layer points down
    assert upward == [], "imports against the layers:\n" + "\n".join(upward)
    assert unknown == [], "\n".join(unknown)


def test_the_check_sees_imports_wherever_they_are_written() -> None:
    # Given modules that import inside a function (the command line imports the app when it
    # serves), only for typing (the resolvers name the request context), and a module of a
    # package by `from server import models`
    names = modules()
    known = set(names) | {"server"}

    def imported_by(name: str) -> set[str]:
        return {found.imported for found in imports(name, names[name], known)}

    # When their imports are read, then each of those is found
    assert "server.app" in imported_by("server.cli")
    assert "server.context" in imported_by("server.resolvers.agent")
    assert "server.models" in imported_by("server.schema.agent")
