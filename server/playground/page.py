"""The playground's page and its files.

The page (`Playground.page`) has no inline script: it loads the vendored React, ReactDOM and
GraphiQL builds and `static/playground.js`, which mounts GraphiQL with the settings the page
carries in a `data-config` attribute (the pre-filled Dashboard query, and in dev mode the
`X-Dev-User` header). Files are served under `/playground/<name>`, only those the page names;
each URL carries `?v=` and the first 12 hex digits of the file's sha256, and a request with the
current one may be cached for a year (`immutable`): a new file is a new URL.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from server.edge.refusals import refusal
from server.playground.vendor import ASSETS, VENDORED

__all__ = [
    "ASSETS_PATH",
    "DASHBOARD_QUERY",
    "DEV_HEADERS",
    "OURS",
    "PLAYGROUND_CSP",
    "STATIC",
    "Asset",
    "Playground",
]

STATIC = Path(__file__).resolve().parent / "static"
ASSETS_PATH = "/playground"

# Everything comes from this origin; GraphiQL's stylesheet embeds its fonts and icons as data:
# URLs. `connect-src 'self'` covers the same origin's WebSocket too (CSP level 3).
PLAYGROUND_CSP = (
    "default-src 'none'; "
    "script-src 'self'; "
    "style-src 'self'; "
    "connect-src 'self'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "base-uri 'none'; "
    "form-action 'none'; "
    "frame-ancestors 'none'"
)

DASHBOARD_QUERY = """\
# Your projects: agents, tools, main config, latest deployment.
# Run it with ▶ (or Ctrl-Enter); the book icon opens the docs.
query Dashboard {
  viewer { userId isAdmin }
  projects {
    id
    name
    description
    updatedAt
    agents { id name model { modelId } toolNames builtinToolNames }
    tools { id name type }
    mainConfig { name }
    latestDeployment { id status createdAt error }
  }
}
"""

DEV_HEADERS = {"X-Dev-User": "dev-user"}

CACHE_FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}

# Our own files, beside the vendored ones.
OURS = ("playground.css", "playground.js")
# In the order the page loads them: the globals React, ReactDOM and GraphiQL before ours.
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
STYLESHEETS = ("graphiql.min.css", "playground.css")


@dataclass(frozen=True)
class Asset:
    path: Path
    content_type: str
    version: str  # the first 12 hex digits of the file's sha256

    @classmethod
    def of(cls, path: Path) -> Asset:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return cls(path, CONTENT_TYPES[path.suffix], digest[:12])


class Playground:
    """The page and the files it loads; `dev_mode` pre-fills the `X-Dev-User` header."""

    def __init__(self, *, dev_mode: bool) -> None:
        vendored = {file.name: ASSETS / file.name for file in VENDORED}
        ours = {name: STATIC / name for name in OURS}
        self.assets = {name: Asset.of(path) for name, path in {**vendored, **ours}.items()}
        self.config = {
            "query": DASHBOARD_QUERY,
            "headers": json.dumps(DEV_HEADERS, indent=2) if dev_mode else "",
        }

    def url(self, root_path: str, name: str) -> str:
        return f"{root_path}{ASSETS_PATH}/{name}?v={self.assets[name].version}"

    def page(self, request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        styles = "".join(
            f'<link rel="stylesheet" href="{self.url(root, name)}">\n' for name in STYLESHEETS
        )
        scripts = "".join(
            f'<script src="{self.url(root, name)}" defer></script>\n'
            for name in (*SCRIPTS, "playground.js")
        )
        config = html.escape(json.dumps(self.config), quote=True)
        return HTMLResponse(
            "<!doctype html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<title>GraphiQL · Multi-Agent Management API</title>\n"
            # No favicon request (it would be a 404 in the console).
            '<link rel="icon" href="data:,">\n'
            f"{styles}{scripts}</head>\n<body>\n"
            f'<div id="graphiql" data-config="{config}">'
            '<p class="playground-loading">Loading GraphiQL…</p></div>\n'
            "<noscript><p>GraphiQL needs JavaScript.</p></noscript>\n"
            "</body>\n</html>\n",
            headers={"Cache-Control": REVALIDATE},
        )

    async def asset(self, request: Request) -> Response:
        """A file the page names, else 404; cached for good when asked by its current URL."""
        asset = self.assets.get(request.path_params["name"])
        if asset is None:
            return refusal(404, f"the playground has no file {request.path_params['name']!r}")
        current = request.query_params.get("v") == asset.version
        return FileResponse(
            asset.path,
            media_type=asset.content_type,
            headers={"Cache-Control": CACHE_FOREVER if current else REVALIDATE},
        )
