"""Vendors the playground's browser builds from the npm registry, pinned by the lock.

`python -m server.playground.vendor` (or `make playground`) reads `playground/package-lock.json`,
downloads each vendored package's tarball from the URL the lock resolved it to, checks the
tarball against the lock's `integrity` (sha512) before opening it, and writes the files the
page loads into `server/playground/assets/` with a manifest: for each file its package,
version, integrity, the path it came from in the tarball and its sha256. Nothing there is
copied by hand; the tests check the files against the manifest and the manifest against the
lock, and CI runs this again and diffs.

To move a version: change `playground/package.json`, re-lock (`npm install
--package-lock-only --ignore-scripts --omit-lockfile-registry-resolved=false` in
`playground/`), then run this.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ASSETS",
    "LOCK",
    "MANIFEST",
    "VENDORED",
    "IntegrityError",
    "LockedPackage",
    "Vendored",
    "locked_packages",
    "main",
    "manifest_for",
    "read_manifest",
    "sha256_of",
    "vendor",
]

ASSETS = Path(__file__).resolve().parent / "assets"
MANIFEST = ASSETS / "manifest.json"
# Beside the package, in the repository: the lock is how the assets are made, not served.
LOCK = Path(__file__).resolve().parents[2] / "playground" / "package-lock.json"
DOWNLOAD_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Vendored:
    """A file the page loads: `source` in the package's tarball, served as `name`."""

    package: str
    source: str
    name: str


# GraphiQL 3's UMD build bundles graphql-js and graphql-ws (its subscriptions fetcher) and
# expects React 18's UMD builds as the globals `React` and `ReactDOM`.
VENDORED = (
    Vendored("react", "umd/react.production.min.js", "react.production.min.js"),
    Vendored("react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"),
    Vendored("graphiql", "graphiql.min.js", "graphiql.min.js"),
    Vendored("graphiql", "graphiql.min.css", "graphiql.min.css"),
)


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    resolved: str
    integrity: str


class IntegrityError(Exception):
    """A tarball that is not the one the lock pins."""


def locked_packages(lock: Path = LOCK) -> dict[str, LockedPackage]:
    """The vendored packages as the lock pins them (npm lockfile v2/v3)."""
    packages = json.loads(lock.read_text())["packages"]
    found = {}
    for name in sorted({file.package for file in VENDORED}):
        entry = packages.get(f"node_modules/{name}")
        if entry is None or "resolved" not in entry or "integrity" not in entry:
            raise SystemExit(
                f"error: {lock} has no resolved URL and integrity for {name}; re-lock with"
                " --omit-lockfile-registry-resolved=false"
            )
        found[name] = LockedPackage(name, entry["version"], entry["resolved"], entry["integrity"])
    return found


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_integrity(package: LockedPackage, tarball: bytes) -> None:
    """`integrity` is a Subresource Integrity string: `sha512-<base64 digest>`."""
    algorithm, _, expected = package.integrity.partition("-")
    if algorithm != "sha512":
        raise IntegrityError(f"{package.name}: the lock's integrity is {algorithm}, not sha512")
    actual = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != expected:
        raise IntegrityError(
            f"{package.name}@{package.version}: the tarball from {package.resolved} has"
            f" sha512-{actual}, the lock says {package.integrity}"
        )


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
        data: bytes = response.read()
        return data


def extract(tarball: bytes, source: str) -> bytes:
    """One file of an npm tarball (its files sit under `package/`)."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(f"package/{source}")
        if member is None:
            raise IntegrityError(f"package/{source} is not a file of the tarball")
        return member.read()


def manifest_for(packages: dict[str, LockedPackage], files: dict[str, bytes]) -> dict[str, object]:
    return {
        "files": {
            file.name: {
                "package": file.package,
                "version": packages[file.package].version,
                "integrity": packages[file.package].integrity,
                "source": file.source,
                "sha256": sha256_of(files[file.name]),
            }
            for file in VENDORED
        }
    }


def read_manifest(path: Path = MANIFEST) -> dict[str, dict[str, str]]:
    files: dict[str, dict[str, str]] = json.loads(path.read_text())["files"]
    return files


def vendor(lock: Path = LOCK, assets: Path = ASSETS) -> list[str]:
    """Downloads, checks and writes every vendored file and the manifest; the names written."""
    packages = locked_packages(lock)
    tarballs = {}
    for package in packages.values():
        tarball = download(package.resolved)
        check_integrity(package, tarball)
        tarballs[package.name] = tarball
    files = {file.name: extract(tarballs[file.package], file.source) for file in VENDORED}
    assets.mkdir(parents=True, exist_ok=True)
    for stale in assets.iterdir():
        if stale.name not in files and stale.name != MANIFEST.name:
            stale.unlink()
    for name, data in files.items():
        (assets / name).write_bytes(data)
    manifest = json.dumps(manifest_for(packages, files), indent=2, sort_keys=True) + "\n"
    (assets / MANIFEST.name).write_text(manifest)
    return sorted(files)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m server.playground.vendor", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--assets", type=Path, default=ASSETS)
    args = parser.parse_args(argv)
    try:
        written = vendor(args.lock, args.assets)
    except IntegrityError as error:
        sys.exit(f"error: {error}")
    sys.stdout.write(f"vendored {', '.join(written)} into {args.assets}\n")


if __name__ == "__main__":
    main()
