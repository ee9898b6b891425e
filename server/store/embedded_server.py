"""The embedded DynamoDB: a moto server in a child process of its own.

Run as `python -m server.store.embedded_server`: binds a free loopback port, prints it on the
first line of stdout, serves until its stdin closes (so it never outlives its parent, even
one that was killed) or it gets SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(
        "127.0.0.1",
        0,
        create_backend_app("dynamodb"),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


def _exit_when_parent_goes() -> None:
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
