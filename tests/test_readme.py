"""The README as a newcomer with only the repository reads it: every example runs as written,
in order, on a server started as `make run` starts it; nothing it points at is missing or
outside the repository. The directives a block may carry are in `tests/readme_examples.py`."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, OperationType, parse
from websockets.sync.client import connect

from server.settings import Settings
from tests.readme_examples import (
    CurlExample,
    Example,
    GraphQLExample,
    ReadmeError,
    examples,
    resolve,
)
from tests.servers import GRAPHQL_TRANSPORT_WS, serving

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WAIT = 15  # seconds for a subscription's first event: a bound, not a pause


class Servers:
    """One server per set of settings a block asks for, started when first needed, each
    with the answers its examples gave so far."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._bases: dict[tuple[tuple[str, str], ...], str] = {}
        self.answers: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}

    def base(self, settings: tuple[tuple[str, str], ...]) -> str:
        if settings not in self._bases:
            base, _ = self._stack.enter_context(serving(**dict(settings)))
            self._bases[settings] = base
            self.answers[settings] = {}
        return self._bases[settings]


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Servers with the defaults: none of the settings' variables set in their environment."""
    with pytest.MonkeyPatch.context() as environment, ExitStack() as stack:
        for name in [*Settings.model_fields, "prometheus_multiproc_dir"]:
            environment.delenv(name.upper(), raising=False)
        yield Servers(stack)


def test_every_example_of_the_readme_runs_as_written_in_order(servers: Servers) -> None:
    # given the README's examples, in the order a reader meets them
    found = examples(README)
    assert sum(isinstance(example, GraphQLExample) for example in found) >= 8
    assert sum(isinstance(example, CurlExample) for example in found) >= 2

    # when each runs on a server with the defaults (or the settings its block names)
    failures = [failure for example in found for failure in run(example, servers)]

    # then each answered without an error, or with the one its block says it shows
    assert not failures, "\n".join(failures)


def test_a_block_that_needs_a_variable_says_where_it_comes_from(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("```graphql\nquery Q($id: ID!) { project(id: $id) { id } }\n```\n")
    example = examples(readme)[0]

    with pytest.raises(ReadmeError, match=r"line 1: \$id has no `variables` directive"):
        resolve(example, ["id"], {})


def test_a_directive_above_anything_but_a_block_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text('<!-- example: headers {"X-Dev-User": "bob"} -->\nSome text.\n')

    with pytest.raises(ReadmeError, match="line 1: directives must sit right above a block"):
        examples(readme)


def test_directives_reach_the_block_below_them(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- example: server DEPLOYER=none -->\n"
        '<!-- example: variables {"id": "from a.b.0", "n": "as is"} -->\n'
        "<!-- example: expect CONFLICT -->\n\n"
        "```graphql\nquery Q($id: ID!, $n: String) { x }\n```\n"
    )
    example = examples(readme)[0]

    assert example.settings == (("DEPLOYER", "none"),)
    assert example.expect == "CONFLICT"
    assert resolve(example, ["id", "n"], {"a": {"b": ["first"]}}) == {"id": "first", "n": "as is"}


def run(example: Example, servers: Servers) -> list[str]:
    """What went wrong running `example` (nothing when it answered as its block says)."""
    base = servers.base(example.settings)
    answers = servers.answers[example.settings]
    try:
        if isinstance(example, CurlExample):
            bodies = [_curl(example, base)]
        else:
            assert isinstance(example, GraphQLExample)
            bodies = [
                _operation(example, operation, base, answers)
                for operation in _operations(example.document)
            ]
    except ReadmeError as error:
        return [str(error)]
    except (httpx.HTTPError, AssertionError, KeyError) as error:
        return [f"line {example.line}: {type(error).__name__}: {error}"]
    return [problem for body in bodies for problem in _checked(example, body)]


def _operations(document: str) -> list[OperationDefinitionNode]:
    return [
        definition
        for definition in parse(document).definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def _operation(
    example: GraphQLExample,
    operation: OperationDefinitionNode,
    base: str,
    answers: dict[str, Any],
) -> dict[str, Any]:
    wanted = [definition.variable.name.value for definition in operation.variable_definitions or ()]
    payload = {
        "query": example.document,
        "variables": resolve(example, wanted, answers),
        "operationName": operation.name.value if operation.name else None,
    }
    if operation.operation is OperationType.SUBSCRIPTION:
        return _first_event(base, payload, example.headers)
    response = httpx.post(f"{base}/graphql", json=payload, headers=example.headers, timeout=30)
    body: dict[str, Any] = response.json()
    answers.update(body.get("data") or {})
    return body


def _first_event(base: str, payload: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """A subscription's first event, over graphql-transport-ws as GraphiQL subscribes."""
    url = base.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=GRAPHQL_TRANSPORT_WS, open_timeout=WAIT) as socket:
        socket.send(json.dumps({"type": "connection_init", "payload": headers}))
        assert json.loads(socket.recv(timeout=WAIT))["type"] == "connection_ack"
        socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = json.loads(socket.recv(timeout=WAIT))
    if message["type"] == "error":
        return {"errors": message["payload"]}
    assert message["type"] == "next", message
    event: dict[str, Any] = message["payload"]
    return event


def _curl(example: CurlExample, base: str) -> dict[str, Any]:
    response = httpx.request(
        example.method,
        base + example.path,
        headers=example.curl_headers | example.headers,
        content=example.body,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _checked(example: Example, body: dict[str, Any]) -> list[str]:
    codes = [error.get("extensions", {}).get("code") for error in body.get("errors", [])]
    if example.expect is None and codes:
        return [f"line {example.line}: errors {body['errors']}"]
    if example.expect is not None and example.expect not in codes:
        return [f"line {example.line}: expected {example.expect}, answered {body}"]
    return []


# -- what the README points at ------------------------------------------------------------------

DOCUMENTS = [README, *sorted((ROOT / "docs").glob("**/*.md"))]
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
# A backticked path into the repository: a folder and a file, or a file with a known extension.
REPO_PATH = re.compile(
    r"`(?P<path>(?:[\w.-]+/)+[\w.-]*|[\w-]+\.(?:md|py|toml|lock|txt|json|yaml|yml|graphql|sh))`"
)
OUTSIDE = ("../shared", "INTERFACE.md", "dynamodb-tables.md")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_the_documentation_refers_to_nothing_outside_the_repository(document: Path) -> None:
    text = document.read_text()

    assert not [name for name in OUTSIDE if name in text]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_anchor_and_repository_path_exists(document: Path) -> None:
    text = document.read_text()
    links = [
        match["target"].split("#")[0]
        for match in LINK.finditer(text)
        if not re.match(r"[a-z]+:|#", match["target"])
    ]
    paths = [match["path"] for match in REPO_PATH.finditer(text)]

    anchors = [match["target"][1:] for match in LINK.finditer(text) if match["target"][0] == "#"]

    missing = [link for link in links if not (document.parent / link).exists()]
    missing += [f"#{anchor}" for anchor in anchors if anchor not in _headings(text)]
    missing += [path for path in paths if not _exists(path)]

    assert not missing, f"{document.name} points at what the repository lacks: {missing}"


def _headings(text: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped,
    spaces as hyphens (outside code blocks, where `#` starts a comment)."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    titles = re.findall(r"^#+ (.+)$", prose, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def _exists(path: str) -> bool:
    """Whether a backticked path is in the repository: a path under one of its top-level
    folders, or a file's bare name anywhere in it. Paths elsewhere (`build/lambda.zip`, what a
    tool makes) and things that only look like paths (`application/json`) are not its."""
    top, _, rest = path.partition("/")
    if not rest and not path.endswith("/"):
        return any(not _made(found) for found in ROOT.glob(f"**/{path}"))
    if not (ROOT / top).is_dir() or _made(ROOT / top):
        return True
    return (ROOT / path).exists() or _ignored(path)


def _made(path: Path) -> bool:
    """Whether `path` is something `make` or a tool made, not a file of the repository."""
    return bool({".venv", ".data", ".git", "node_modules"} & set(path.relative_to(ROOT).parts))


def _ignored(path: str) -> bool:
    """Whether git ignores `path`: what a tool makes there (`.ci/artifacts/`) is no file of
    the repository."""
    # Asked as a folder too: git matches `name/` patterns only to folders, and this one may
    # not be made yet.
    folder = path.rstrip("/") + "/"
    check = subprocess.run(
        ["git", "check-ignore", path, folder], cwd=ROOT, check=False, capture_output=True
    )
    return check.returncode == 0
