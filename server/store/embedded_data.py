"""The embedded DynamoDB's tables kept in `EMBEDDED_DATA_DIR` (runs in the moto child process).

At start the data file's tables are put into moto before the server takes a request. Then a
write marks the data dirty, and a thread saves it every `SAVE_INTERVAL_SECONDS` while it is;
`close` saves once more for the last time (SIGTERM, or stdin closed because the parent stopped
or died). A save encodes the items as DynamoDB JSON under the lock every request holds (moto
updates items in place, so the encoding must not interleave with a write: ~90 ms for 24 MB of
items), then writes the file outside it.
"""

from __future__ import annotations

import base64
import gc
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from server.store.data_file import (
    DATA_FILE,
    WHAT_TO_DO,
    DataDirError,
    DataDirLock,
    StoredTable,
    read_tables,
    remove_leftover_temp_files,
    write_tables,
)

__all__ = ["SAVE_INTERVAL_SECONDS", "KeptData", "READ_ONLY_OPERATIONS"]

SAVE_INTERVAL_SECONDS = 0.5
# Requests that never change the data; any other marks it dirty.
READ_ONLY_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "TransactGetItems",
        "DescribeTable",
        "ListTables",
        "DescribeContinuousBackups",
        "DescribeTimeToLive",
        "DescribeEndpoints",
        "DescribeLimits",
        "ListTagsOfResource",
    }
)


class KeptData:
    """The data of one directory: restored by `open`, saved while dirty, and by `close`."""

    def __init__(self, directory: Path, *, region: str, requests: threading.Lock) -> None:
        self._directory = directory
        self._backend: DynamoDBBackend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
        self._requests = requests  # held by every request: a save's copy waits for none
        self._saving = threading.Lock()
        self._dirty = False
        self._closed = threading.Event()
        self._lock: DataDirLock | None = None

    def open(self) -> None:
        """Lock the directory and restore its tables; `DataDirError` if either fails."""
        self._lock = DataDirLock(self._directory, holder_pid=os.getppid())
        remove_leftover_temp_files(self._directory)
        # Millions of small objects, none garbage: the cyclic collector would walk them over
        # and over (24 MB of items restore in 0.8 s without it, 2.2 s with it).
        gc.disable()
        try:
            self._restore(read_tables(self._directory))
        finally:
            gc.enable()
        threading.Thread(target=self._save_while_open, daemon=True).start()

    def _restore(self, tables: list[StoredTable]) -> None:
        try:
            for table in tables:
                _restore(self._backend, table)
        except Exception as error:  # moto refusing a table or an item: the file was edited
            raise DataDirError(
                f"{self._directory / DATA_FILE} is damaged ({type(error).__name__}: {error});"
                f" {WHAT_TO_DO}"
            ) from None

    def written(self, operation: str) -> None:
        """Note a request; call it holding the requests' lock."""
        if operation not in READ_ONLY_OPERATIONS:
            self._dirty = True

    def close(self) -> None:
        """Save for the last time; later saves do nothing."""
        with self._saving:
            if not self._closed.is_set():
                self._save()
                self._closed.set()

    def _save_while_open(self) -> None:
        while not self._closed.wait(SAVE_INTERVAL_SECONDS):
            with self._saving:
                if not self._closed.is_set():
                    self._save()

    def _save(self) -> None:
        with self._requests:
            if not self._dirty:
                return
            self._dirty = False
            tables = [_stored(table) for table in self._backend.tables.values()]
        try:
            write_tables(self._directory, tables)
        except OSError as error:
            self._dirty = True  # try again at the next interval
            print(  # noqa: T201 - the child process's own stderr, the server's log
                f"{time.strftime('%H:%M:%S')} ERROR embedded DynamoDB: saving to"
                f" {self._directory} failed ({error}); will retry",
                file=sys.stderr,
                flush=True,
            )


def _restore(backend: DynamoDBBackend, stored: StoredTable) -> None:
    definition = stored.definition
    table = backend.create_table(
        stored.name,
        schema=definition["KeySchema"],
        throughput=None,
        attr=definition["AttributeDefinitions"],
        global_indexes=definition.get("GlobalSecondaryIndexes"),
        indexes=definition.get("LocalSecondaryIndexes"),
        streams=None,
        billing_mode=definition.get("BillingMode", "PAY_PER_REQUEST"),
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    assert isinstance(stored.items, list)  # as read: decoded
    for item in stored.items:
        for value in item.values():
            _binary_as_bytes(value)
        table.put_item(item)


def _binary_as_bytes(value: Any) -> None:
    """Turn the base64 text of a value's binaries into bytes, in place: moto keeps binaries
    as the bytes a request's base64 decodes to, and compares them so."""
    if not isinstance(value, dict) or len(value) != 1:
        return  # not a value: moto refuses the item
    ((kind, inner),) = value.items()
    if kind == "M" and isinstance(inner, dict):
        for part in inner.values():
            _binary_as_bytes(part)
    elif kind == "L" and isinstance(inner, list):
        for part in inner:
            _binary_as_bytes(part)
    elif kind == "B" and isinstance(inner, str):
        value["B"] = base64.b64decode(inner)
    elif kind == "BS" and isinstance(inner, list):
        value["BS"] = [base64.b64decode(part) for part in inner]


def _stored(table: Table) -> StoredTable:
    definition: dict[str, Any] = {
        "KeySchema": table.schema,
        "AttributeDefinitions": table.attr,
        "BillingMode": table.billing_mode or "PAY_PER_REQUEST",
    }
    if table.global_indexes:
        definition["GlobalSecondaryIndexes"] = [_index(index) for index in table.global_indexes]
    if table.indexes:
        definition["LocalSecondaryIndexes"] = [_index(index) for index in table.indexes]
    return StoredTable(name=table.name, definition=definition, items=_items(table))


def _index(index: Any) -> dict[str, Any]:
    return {"IndexName": index.name, "KeySchema": index.schema, "Projection": index.projection}


def _items(table: Table) -> orjson.Fragment:
    """The table's items as DynamoDB JSON, encoded now: moto changes items in place."""
    if table.range_key_attr is None:
        items: list[Item] = list(table.items.values())  # type: ignore[arg-type]
    else:
        items = [item for by_range in table.items.values() for item in by_range.values()]
    return orjson.Fragment(orjson.dumps([item.attrs for item in items], default=_wire))


def _wire(value: Any) -> Any:
    """What orjson cannot encode itself: moto's attribute values, as DynamoDB JSON (their
    maps and lists hold more of them), and binary values, as base64 text."""
    if type(value) is DynamoType:
        return {value.type: value.value}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not a DynamoDB value")
