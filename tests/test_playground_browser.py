"""The playground in a real browser: headless Chromium, driven by Playwright, against a real
`python -m server serve` on the embedded store, with no network beyond this machine.

Chromium is Debian's (`apt-get install chromium`, which `.ci/run` does when it is missing) or
the one `PLAYWRIGHT_CHROMIUM` names; Playwright's own browser downloads are never used. The
screenshot the test takes goes to `PLAYGROUND_SCREENSHOT_DIR` (`.ci/run` sets `.ci/artifacts`)
or the test's temporary directory, and the test prints where.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from tests.documents import CREATE_DEPLOYMENT, CREATE_PROJECT, UPDATE_DEPLOYMENT_STATUS
from tests.servers import serving

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Long enough for a loaded 2-core machine to parse GraphiQL's 3.5 MB build; waits end early.
PATIENCE_MS = 30_000
BROWSER_USER = "browser-user"


def chromium_path() -> str:
    """`PLAYWRIGHT_CHROMIUM`, else Debian's chromium; a machine without either fails here in
    one line saying what to install (the test is never skipped: CI installs chromium)."""
    configured = os.environ.get("PLAYWRIGHT_CHROMIUM")
    found = configured or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).is_file():
        pytest.fail(
            f"the playground's browser test needs Chromium, and {found} is missing:"
            " apt-get install chromium (Debian), or set PLAYWRIGHT_CHROMIUM=/path/to/chromium",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class PageWatch:
    """What a page did: every request, every failure, every console error."""

    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda socket: self.sockets.append(socket.url))
        page.on("requestfailed", self._failed)
        page.on("response", self._answered)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _failed(self, request: Request) -> None:
        self.failed.append(f"{request.failure} {request.url}")

    def _answered(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def _console(self, message: ConsoleMessage) -> None:
        # A CSP violation is a console error in Chromium, so it lands here too.
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")


class GraphQLOverHttp:
    def __init__(self, base: str) -> None:
        self.base = base

    def data(self, document: str, headers: dict[str, str], **variables: Any) -> Any:
        response = httpx.post(
            f"{self.base}/graphql",
            json={"query": document, "variables": variables},
            headers=headers,
            timeout=10,
        )
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


def replace_editor_text(page: Page, editor: Locator, text: str) -> None:
    """Types `text` into a GraphiQL editor in place of what it holds (inserted as typed text
    arrives from an input method, so the editor does not close brackets on its own)."""
    editor.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def run_operation(page: Page, document: str, name: str) -> None:
    """Types the operation `name` into the query editor and runs it, once GraphiQL has read
    it: the editor names the operation to run a moment after the last keystroke (it stores
    the name in localStorage then), and the run button would send the previous one before."""
    replace_editor_text(page, page.locator(".graphiql-query-editor"), document)
    page.wait_for_function(
        "name => localStorage.getItem('graphiql:operationName') === name", arg=name
    )
    page.locator(".graphiql-execute-button").click()


def test_the_playground_runs_a_typed_query_and_shows_a_subscriptions_events_offline(
    browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a server that leaves deployments to a pipeline, and a user with a deployment
    with serving(DEPLOYER="none") as (base, _):
        api = GraphQLOverHttp(base)
        user = {"X-Dev-User": BROWSER_USER}
        admin = {"X-Dev-User": "pipeline", "X-Dev-Groups": "admin"}
        project = api.data(CREATE_PROJECT, user, input={"name": "Browser demo"})["createProject"]
        deployment = api.data(CREATE_DEPLOYMENT, user, projectId=project["id"])
        deployment_id = deployment["createDeployment"]["id"]

        # When the playground is opened in Chromium
        page = browser.new_page()
        page.set_default_timeout(PATIENCE_MS)
        watch = PageWatch()
        watch.attach(page)
        page.goto(f"{base}/graphql")
        query_editor = page.locator(".graphiql-query-editor")
        headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor:visible")

        # Then it shows the Dashboard query and, in dev mode, the X-Dev-User header
        expect(query_editor).to_contain_text("query Dashboard", timeout=PATIENCE_MS)
        expect(headers_editor).to_contain_text('"X-Dev-User": "dev-user"', timeout=PATIENCE_MS)

        # When the user names themselves in the headers and types a query, then it runs
        replace_editor_text(page, headers_editor, f'{{"X-Dev-User": "{BROWSER_USER}"}}')
        run_operation(page, "query Mine { projects { name } }", "Mine")
        response = page.locator(".graphiql-response")
        expect(response).to_contain_text('"name": "Browser demo"', timeout=PATIENCE_MS)

        # When they subscribe to the deployment, then its current state shows at once
        run_operation(
            page,
            f'subscription Watch {{ deploymentUpdated(id: "{deployment_id}") {{ status logs }} }}',
            "Watch",
        )
        expect(response).to_contain_text('"status": "PENDING"', timeout=PATIENCE_MS)

        # And each change a pipeline makes over HTTP shows as it happens
        api.data(
            UPDATE_DEPLOYMENT_STATUS,
            admin,
            userId=BROWSER_USER,
            id=deployment_id,
            status="DEPLOYING",
            appendLogs=["building agents"],
        )
        expect(response).to_contain_text('"status": "DEPLOYING"', timeout=PATIENCE_MS)
        expect(response).to_contain_text("building agents", timeout=PATIENCE_MS)
        api.data(
            UPDATE_DEPLOYMENT_STATUS, admin, userId=BROWSER_USER, id=deployment_id, status="SUCCESS"
        )
        expect(response).to_contain_text('"status": "SUCCESS"', timeout=PATIENCE_MS)

        screenshot = Path(os.environ.get("PLAYGROUND_SCREENSHOT_DIR") or tmp_path)
        screenshot.mkdir(parents=True, exist_ok=True)
        screenshot /= "playground.png"
        page.screenshot(path=screenshot)
        with capsys.disabled():
            sys.stdout.write(f"\nplayground screenshot: {screenshot}\n")

    # And nothing failed, nothing left this server, and the console stayed clean
    assert watch.failed == []
    assert [url for url in watch.requests if not url.startswith(f"{base}/")] == []
    websocket_base = base.replace("http", "ws", 1)
    assert watch.sockets
    assert all(url == f"{websocket_base}/graphql" for url in watch.sockets)
    assert watch.errors == []
