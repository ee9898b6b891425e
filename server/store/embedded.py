"""Start and stop the embedded DynamoDB (a moto server) as a child process.

A child process rather than a thread: moto would otherwise share the GIL with the API server.
Given a data directory, the child restores its tables from it and keeps them there
(`server/store/embedded_data.py`); stopping it lets it save them first.
"""

from __future__ import annotations

import importlib.util
import select
import subprocess
import sys
from pathlib import Path

__all__ = [
    "EMBEDDED_MODULES",
    "INSTALL_EMBEDDED",
    "EmbeddedDynamoDB",
    "EmbeddedStartError",
    "missing_embedded_modules",
]

# Restoring tens of megabytes of data takes a few seconds, and so may saving them at the end.
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 60.0
ERROR_PREFIX = "error: "

# The top-level modules `server.store.embedded_server` imports: the `embedded` extra, which
# `pip install .` leaves out (a production server talks to DynamoDB itself).
EMBEDDED_MODULES = ("moto", "werkzeug", "flask", "flask_cors")
INSTALL_EMBEDDED = "pip install '.[embedded]'"


class EmbeddedStartError(RuntimeError):
    """The embedded DynamoDB did not start; the message is one line that says why."""


def missing_embedded_modules() -> list[str]:
    """The embedded server's modules this environment lacks; none with the extra installed.

    Looked up, not imported: moto is for the child process, never this one.
    """
    return [name for name in EMBEDDED_MODULES if importlib.util.find_spec(name) is None]


class EmbeddedDynamoDB:
    """`start()` returns the endpoint URL; `stop()` ends the process. Both block.

    `data_dir`: where the tables are kept (None: in memory only); `region`: the region the
    server's client names, whose tables are restored.
    """

    def __init__(self, data_dir: Path | None = None, *, region: str = "us-east-1") -> None:
        self._process: subprocess.Popen[str] | None = None
        self._arguments = [] if data_dir is None else ["--data-dir", str(data_dir)]
        self._arguments += ["--region", region]
        self.data_dir = data_dir
        self.endpoint_url: str | None = None

    def start(self) -> str:
        self.launch()
        return self.wait_until_ready()

    def launch(self) -> None:
        """Start the process; it gets ready (imports moto, restores data) meanwhile."""
        missing = missing_embedded_modules()
        if missing:
            raise EmbeddedStartError(
                f"the embedded DynamoDB needs {', '.join(missing)}: {INSTALL_EMBEDDED}"
            )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "server.store.embedded_server", *self._arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def wait_until_ready(self) -> str:
        """The endpoint URL once the process serves; `EmbeddedStartError` if it cannot."""
        process = self._process
        if process is None or process.stdout is None:
            raise EmbeddedStartError("the embedded DynamoDB was not launched")
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = process.stdout.readline() if ready else ""
        if not line.strip().isdigit():
            self._kill()
            if line.startswith(ERROR_PREFIX):
                raise EmbeddedStartError(line.removeprefix(ERROR_PREFIX).strip())
            raise EmbeddedStartError("the embedded DynamoDB (moto server) did not start")
        self.endpoint_url = f"http://127.0.0.1:{int(line)}"
        return self.endpoint_url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _kill(self) -> None:
        process, self._process = self._process, None
        self.endpoint_url = None
        if process is not None:
            process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()

    @property
    def running(self) -> bool:
        """Started and ready."""
        return self._process is not None and self.endpoint_url is not None

    def stop(self) -> None:
        """Close the child's stdin, which makes it save its data and exit; wait for that."""
        process, self._process = self._process, None
        self.endpoint_url = None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
