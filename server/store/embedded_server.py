"""The embedded DynamoDB: a moto server in a child process of its own.

Run as `python -m server.store.embedded_server [--data-dir DIR --region REGION]`: binds a
free loopback port, prints it on the first line of stdout, serves until its stdin closes (so it
never outlives its parent, even one that was killed) or it gets SIGTERM; Ctrl-C is its parent's
to handle. With `--data-dir`, its tables are restored from that directory first and kept there
(`server/store/embedded_data.py`); a directory it cannot use makes the first line `error: ` and
the reason, and the exit code 2. `EMBEDDED_DYNAMODB_LATENCY_MS` (benchmarks only) delays every
request by that much, as a network would.

Reads answer in plain `json.dumps` of moto's result: moto 5.2 serializes every response by
walking botocore's output shape, which for an AttributeValue tries each of its ten members
(about 1.6 ms an item returned, more than all of the API's own work per item). moto hands
reads their items as DynamoDB JSON already, but for binary values, which it keeps as bytes and
which are written as base64 text, as the walk would; so the walk changes nothing but the time:
`tests/store/test_embedded.py` compares the answers with plain moto's.

An update that replaces an attribute is held to the item size limit as DynamoDB holds it: the
item as it will be. moto 5.2 adds the new value to the whole item, the value it replaces
included, so a deployment whose logs fill most of its item could never take another line.

A transaction backs up the items it writes, not the tables: moto 5.2 deep-copies every table
a transaction touches before writing, so each transaction cost time in proportion to all the
data of those tables (seconds once they held tens of megabytes of deployments).
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import moto.dynamodb.models as backends
from moto.core.responses import ActionContext, ActionResult
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.responses import DynamoResult
from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from server.store.data_file import DataDirError
from server.store.embedded_data import KeptData

# Results that are AttributeValues and JSON all through but for binaries (no timestamps).
PLAIN_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
# The `X-Amz-Target` prefix of the DynamoDB Streams API's requests.
STREAMS_TARGET = "DynamoDBStreams_20120810."
# The stream records a table keeps (DynamoDB keeps 24 hours of them; moto all, in memory).
STREAM_RECORDS_KEPT = 1000
# moto's own item size limit (between DynamoDB's 400 KB and what it was seen to accept).
MOTO_ITEM_LIMIT = 405_000


def main() -> None:
    args = _arguments()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    answer_reads_plainly()
    count_replaced_attributes_once()
    back_up_items_not_tables()
    keep_stream_records_bounded()
    requests = threading.Lock()
    kept = None
    if args.data_dir is not None:
        kept = KeptData(args.data_dir, region=args.region, requests=requests)
        try:
            kept.open()
        except DataDirError as error:
            sys.stdout.write(f"error: EMBEDDED_DATA_DIR: {error}\n")
            sys.stdout.flush()
            os._exit(2)
    server = make_server(
        "127.0.0.1",
        0,
        serialized(
            with_streams(create_backend_app("dynamodb")), requests, kept.written if kept else None
        ),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    stop = _stopper(kept)
    signal.signal(signal.SIGTERM, lambda *_: stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it, saving first
    threading.Thread(target=_stop_when_parent_goes, args=(stop,), daemon=True).start()
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    server.serve_forever()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server.store.embedded_server")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--region", default="us-east-1")
    return parser.parse_args()


def _stopper(kept: KeptData | None) -> Callable[[], None]:
    def stop() -> None:
        if kept is not None:
            kept.close()
        os._exit(0)

    return stop


def with_streams(dynamodb: Any) -> Any:
    """The DynamoDB app, and DynamoDB Streams on the same endpoint: moto serves each service
    as an app of its own, told apart here by the `X-Amz-Target` of the request, as in front
    of moto's whole server. Both read the same tables (the streams backend is a view of the
    DynamoDB backend of the account and region)."""
    streams = create_backend_app("dynamodbstreams")

    def route(environ: Any, start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        app = streams if target.startswith(STREAMS_TARGET) else dynamodb
        return app(environ, start_response)

    return route


def serialized(app: Any, lock: threading.Lock, note: Callable[[str], None] | None = None) -> Any:
    """The app, handling one request at a time under `lock`; `note` hears each request's
    operation while it is still held.

    moto's DynamoDB checks a condition and then writes without a lock, so two threads can
    both pass one condition; DynamoDB itself makes each write atomic. Connections are still
    served by threads, so keep-alive clients do not wait on each other's idle sockets.
    """
    latency = float(os.environ.get("EMBEDDED_DYNAMODB_LATENCY_MS", "0")) / 1000

    def handle(environ: Any, start_response: Any) -> Any:
        if latency:
            time.sleep(latency)  # a network's round trip, for the benchmark; outside the lock
        with lock:
            answer = list(app(environ, start_response))
            if note is not None:
                note(environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2])
            return answer

    return handle


def answer_reads_plainly() -> None:
    shape_walked = DynamoResult.execute_result

    def execute_result(self: ActionResult, context: ActionContext) -> Any:
        if context.operation_model.name not in PLAIN_READS or not isinstance(self.result, dict):
            return shape_walked(self, context)
        body = {key: value for key, value in self.result.items() if value is not None}
        text = json.dumps(body, default=_base64)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, text

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _base64(value: Any) -> str:
    """Binary values, as DynamoDB JSON writes them (moto keeps them as bytes)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not a DynamoDB value")


def count_replaced_attributes_once() -> None:
    """moto's size check on setting an attribute, without the value being replaced."""

    def size(part: Any) -> int:
        return part.size() if type(part) is DynamoType else bytesize(str(part))

    def __setitem__(self: LimitedSizeDict, key: str, value: Any) -> None:
        others = sum(bytesize(name) + size(kept) for name, kept in self.items() if name != key)
        if others + bytesize(key) + size(value) > MOTO_ITEM_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)

    LimitedSizeDict.__setitem__ = __setitem__  # type: ignore[method-assign]


class _TablesUncopied:
    """moto's backend module's `copy`, but a table's deep copy is the table itself."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def back_up_items_not_tables() -> None:
    """A failed transaction puts back the items it wrote, from copies of those items alone."""
    backends.copy = _TablesUncopied  # type: ignore[attr-defined,assignment]
    write_all = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        backups = [backup for item in transact_items if (backup := _backup(self, item))]
        try:
            write_all(self, transact_items)
        except Exception:
            for table, hash_key, range_key, old in reversed(backups):
                _restore(table, hash_key, range_key, old)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


Backup = tuple[Table, DynamoType, DynamoType | None, Item | None]


def _backup(backend: DynamoDBBackend, transact_item: dict[str, Any]) -> Backup | None:
    """The item a transaction's write may change, as it is (None: absent), with its key."""
    try:
        (operation,) = transact_item.values()
        table = backend.tables[operation["TableName"]]
        key = operation.get("Key") or operation["Item"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, ValueError):
        return None  # a malformed write: moto refuses the transaction before writing anything
    old = table.get_item(hash_key, range_key)
    return table, hash_key, range_key, copy.deepcopy(old)


def _restore(table: Table, hash_key: DynamoType, range_key: DynamoType | None, old: Any) -> None:
    if range_key is None:
        if old is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = old
    elif old is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = old


def keep_stream_records_bounded() -> None:
    """A table's stream keeps its newest `STREAM_RECORDS_KEPT` records, not all since the
    process started: each holds a whole item (a deployment's, up to 400 KB), so `make run`'s
    memory would grow with every write. The oldest are trimmed as DynamoDB trims records
    past 24 hours, sequence numbers unchanged; an iterator behind the trim reads on from the
    oldest record kept (DynamoDB would answer TrimmedDataAccessException)."""
    add = StreamShard.add

    def bounded_add(self: StreamShard, old: Item | None, new: Item | None) -> None:
        add(self, old, new)
        trimmed = len(self.items) - STREAM_RECORDS_KEPT
        if trimmed > 0:
            del self.items[:trimmed]
            self.starting_sequence_number += trimmed

    def get(self: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
        first = max(start - self.starting_sequence_number, 0)
        return [record.to_json() for record in self.items[first : first + quantity]]

    StreamShard.add = bounded_add  # type: ignore[method-assign]
    StreamShard.get = get  # type: ignore[method-assign]


def _stop_when_parent_goes(stop: Callable[[], None]) -> None:
    sys.stdin.read()
    stop()


if __name__ == "__main__":
    main()
