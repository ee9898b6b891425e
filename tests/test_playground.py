"""The playground's page and files over HTTP, the vendored files against their manifest and
the npm lock, the vendoring script against a registry on loopback, and the wheel."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from server.playground.page import DASHBOARD_QUERY, OURS, PLAYGROUND_CSP, STATIC
from server.playground.vendor import (
    ASSETS,
    LOCK,
    MANIFEST,
    VENDORED,
    IntegrityError,
    locked_packages,
    read_manifest,
    sha256_of,
    vendor,
)
from server.settings import Settings
from server.store import Store
from tests.edge.test_hosts import COGNITO, client

ROOT = Path(__file__).resolve().parents[1]
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def page_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', page)


def page_config(page: str) -> Any:
    attribute = re.search(r'data-config="([^"]*)"', page)
    assert attribute is not None
    return json.loads(html.unescape(attribute.group(1)))


async def test_a_browser_gets_the_playground_with_every_file_from_this_server(
    app: ASGIApp,
) -> None:
    # Given the app, when a browser asks for /graphql
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        page = await http.get("/graphql", headers=BROWSER)
        files = {url: await http.get(url) for url in page_urls(page.text) if url != "data:,"}

    # Then the page has a strict CSP, no inline script, and names only this server's files
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == PLAYGROUND_CSP
    assert re.findall(r"<script>|<script [^>]*>[^<]", page.text) == []
    assert sorted(url.split("?")[0] for url in files) == [
        "/playground/graphiql.min.css",
        "/playground/graphiql.min.js",
        "/playground/playground.css",
        "/playground/playground.js",
        "/playground/react-dom.production.min.js",
        "/playground/react.production.min.js",
    ]
    # And each is served with its type, nosniff, and cached for good under its versioned URL
    for url, response in files.items():
        assert response.status_code == 200, url
        kind = "text/css" if url.split("?")[0].endswith(".css") else "text/javascript"
        assert response.headers["content-type"] == f"{kind}; charset=utf-8"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        version = url.split("?v=")[1]
        assert hashlib.sha256(response.content).hexdigest().startswith(version)


async def test_a_file_asked_for_without_its_current_version_is_not_cached_for_good(
    app: ASGIApp,
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        bare = await http.get("/playground/playground.js")
        stale = await http.get("/playground/playground.js?v=000000000000")

    assert bare.status_code == stale.status_code == 200
    assert bare.headers["cache-control"] == stale.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/playground/manifest.json",
        "/playground/vendor.py",
        "/playground/..%2Fpage.py",
        "/playground/%2e%2e/app.py",
        "/playground/",
    ],
)
async def test_only_the_files_the_page_loads_are_served(app: ASGIApp, path: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.get(path)

    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_in_dev_mode_the_playground_is_pre_filled_with_the_dashboard_and_dev_user(
    app: ASGIApp,
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        page = await http.get("/graphql", headers=BROWSER)

    config = page_config(page.text)
    assert config["query"] == DASHBOARD_QUERY
    assert "query Dashboard" in config["query"]
    assert json.loads(config["headers"]) == {"X-Dev-User": "dev-user"}


async def test_in_cognito_mode_the_playground_pre_fills_no_header(
    settings: Settings, store: Store
) -> None:
    async with client(settings, **COGNITO) as http:
        page = await http.get("/graphql", headers=BROWSER)

    assert page.status_code == 200
    assert page_config(page.text) == {"query": DASHBOARD_QUERY, "headers": ""}


def test_the_vendored_files_are_those_of_the_manifest_and_nothing_else() -> None:
    manifest = read_manifest()

    assert sorted(manifest) == sorted(file.name for file in VENDORED)
    assert sorted(path.name for path in ASSETS.iterdir()) == sorted([*manifest, MANIFEST.name])
    for name, entry in manifest.items():
        assert sha256_of((ASSETS / name).read_bytes()) == entry["sha256"], name


def test_the_manifest_is_the_npm_locks_pins() -> None:
    # Given the lock the vendoring script reads, and the manifest it wrote
    locked = locked_packages()
    manifest = read_manifest()

    # Then every vendored file comes from the version and tarball the lock pins
    for file in VENDORED:
        entry = manifest[file.name]
        assert entry["package"] == file.package
        assert entry["source"] == file.source
        assert entry["version"] == locked[file.package].version
        assert entry["integrity"] == locked[file.package].integrity
    # And the lock is of the packages package.json asks for, at those exact versions
    wanted = json.loads((LOCK.parent / "package.json").read_text())["dependencies"]
    assert {name: locked[name].version for name in wanted} == wanted


def test_the_page_script_reads_no_file_from_another_origin() -> None:
    ours = "\n".join((STATIC / name).read_text() for name in OURS)

    assert re.findall(r"https?://", ours) == []


# -- the vendoring script, against a registry on loopback -------------------------------------


def npm_tarball(files: dict[str, bytes]) -> bytes:
    """A tarball as npm packs one: every file under `package/`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@contextmanager
def registry(tarballs: dict[str, bytes]) -> Iterator[str]:
    """An HTTP server on loopback serving `tarballs` by path; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = tarballs.get(self.path)
            self.send_response(200 if data is not None else 404)
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def fake_packages() -> dict[str, bytes]:
    """A tarball for each vendored package, holding each file the page needs from it."""
    contents: dict[str, dict[str, bytes]] = {}
    for file in VENDORED:
        contents.setdefault(file.package, {})[file.source] = f"/* {file.name} */".encode()
    return {package: npm_tarball(files) for package, files in contents.items()}


def write_lock(path: Path, base: str, tarballs: dict[str, bytes], **integrities: str) -> Path:
    packages = {
        f"node_modules/{name}": {
            "version": "1.0.0",
            "resolved": f"{base}/{name}/-/{name}-1.0.0.tgz",
            "integrity": integrities.get(name.replace("-", "_"), integrity(data)),
        }
        for name, data in tarballs.items()
    }
    path.write_text(json.dumps({"lockfileVersion": 3, "packages": packages}))
    return path


def test_the_vendoring_script_writes_the_locked_tarballs_files_and_their_manifest(
    tmp_path: Path,
) -> None:
    # Given a lock whose tarballs a registry on loopback serves
    tarballs = fake_packages()
    served = {f"/{name}/-/{name}-1.0.0.tgz": data for name, data in tarballs.items()}
    with registry(served) as base:
        lock = write_lock(tmp_path / "package-lock.json", base, tarballs)
        assets = tmp_path / "assets"
        assets.mkdir()
        (assets / "left-over.js").write_text("from an older version")

        # When the script vendors them
        written = vendor(lock, assets)

    # Then each file is the tarball's, the manifest says where it came from, and nothing else
    assert written == sorted(file.name for file in VENDORED)
    manifest = read_manifest(assets / "manifest.json")
    for file in VENDORED:
        data = (assets / file.name).read_bytes()
        assert data == f"/* {file.name} */".encode()
        assert manifest[file.name] == {
            "package": file.package,
            "version": "1.0.0",
            "integrity": integrity(tarballs[file.package]),
            "source": file.source,
            "sha256": sha256_of(data),
        }
    assert not (assets / "left-over.js").exists()


def test_the_vendoring_script_writes_nothing_when_a_tarball_is_not_the_locked_one(
    tmp_path: Path,
) -> None:
    # Given a lock whose graphiql integrity is another tarball's
    tarballs = fake_packages()
    served = {f"/{name}/-/{name}-1.0.0.tgz": data for name, data in tarballs.items()}
    with registry(served) as base:
        lock = write_lock(
            tmp_path / "package-lock.json", base, tarballs, graphiql=integrity(b"another")
        )
        assets = tmp_path / "assets"

        # When the script runs, then it stops naming the package, and writes nothing
        with pytest.raises(IntegrityError, match="graphiql@1.0.0"):
            vendor(lock, assets)
    assert not assets.exists()


# -- the wheel --------------------------------------------------------------------------------


def test_the_wheel_ships_the_playground(tmp_path: Path) -> None:
    # Given the project built as `pip install .` and the container build it (sdist, then wheel)
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "build", "--quiet", "--out-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")

    # Then it holds the page script, every vendored file and the manifest
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"server/playground/static/{name}" for name in OURS} | {
        f"server/playground/assets/{name}" for name in [*read_manifest(), MANIFEST.name]
    }
    assert wanted <= names
