"""The embedded DynamoDB's data on disk: one JSON file in `EMBEDDED_DATA_DIR`, and its lock.

The file, `dynamodb.json`, is ours and independent of moto's version:

    {"format": "multi-agent-api/embedded-dynamodb", "version": 1, "savedAt": "<ISO time>",
     "tables": [{"TableName": ..., "KeySchema": [...], "AttributeDefinitions": [...],
                 "BillingMode": ..., "Items": [<items in DynamoDB JSON>]}, ...]}

Each table is written as `CreateTable` takes it (its indexes too, when it has any) with its
items as `PutItem` takes them, so any DynamoDB can be filled from it. It is written whole, to a
temporary file in the same directory that is flushed to disk and then renamed over the old one
(`os.replace`, atomic on POSIX), and the directory is flushed too: a crash leaves the old file
or the new one, never a torn one. Temporary files a crash left behind are removed at the next
start; the data file itself is never deleted or overwritten unless it was read as ours.

A second server on the same directory is refused: each holds an exclusive `flock` on `lock`
while it runs (the kernel drops it when the process ends, however it ends).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "DATA_FILE",
    "FORMAT",
    "VERSION",
    "WHAT_TO_DO",
    "DataDirError",
    "DataDirLock",
    "Items",
    "StoredTable",
    "read_tables",
    "remove_leftover_temp_files",
    "write_tables",
]

DATA_FILE = "dynamodb.json"
LOCK_FILE = "lock"
FORMAT = "multi-agent-api/embedded-dynamodb"
VERSION = 1
TEMP_PREFIX = f".{DATA_FILE}."
TEMP_SUFFIX = ".tmp"
# What a table keeps beside its items: `CreateTable`'s own parameters.
DEFINITION_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
)
WHAT_TO_DO = "move it away to start afresh (or set EMBEDDED_DATA_DIR= to keep data in memory only)"


class DataDirError(Exception):
    """The data directory cannot be used; the message is one line that says what to do."""


# A table's items: as read, or already encoded by the writer.
Items = list[dict[str, Any]] | orjson.Fragment


@dataclass(frozen=True)
class StoredTable:
    """One table as the file keeps it: its `CreateTable` parameters and its items."""

    name: str
    definition: dict[str, Any]
    items: Items = field(default_factory=list)


class DataDirLock:
    """An exclusive lock on the data directory, held until `release` or the process ends;
    `holder_pid` is the process a refusal names (the server, whose child holds it)."""

    def __init__(self, directory: Path, *, holder_pid: int) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise DataDirError(
                f"{directory} cannot be used as a data directory ({error.strerror}): set"
                " EMBEDDED_DATA_DIR to a directory this user may write, or empty for memory only"
            ) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(self._fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise DataDirError(
                f"{directory} is in use by another server (pid {holder}): stop it, or set"
                " EMBEDDED_DATA_DIR to another directory"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{holder_pid}\n".encode())

    def release(self) -> None:
        os.close(self._fd)


def read_tables(directory: Path) -> list[StoredTable]:
    """The tables the directory's data file holds; none when there is no file yet.

    Anything but a file of ours, of this version, whole, is a `DataDirError` naming the file;
    the file is left as it is.
    """
    path = directory / DATA_FILE
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise DataDirError(f"{path} cannot be read ({error.strerror})") from None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise DataDirError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno});"
            f" {WHAT_TO_DO}"
        ) from None
    return _tables_of(path, document)


def _tables_of(path: Path, document: Any) -> list[StoredTable]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataDirError(
            f'{path} is not a data file of this server (no "format": "{FORMAT}"); {WHAT_TO_DO}'
        )
    if document.get("version") != VERSION:
        raise DataDirError(
            f"{path} is of format version {document.get('version')!r}, and this server reads"
            f" version {VERSION}: run the server that wrote it, or {WHAT_TO_DO}"
        )
    tables = document.get("tables")
    if not isinstance(tables, list) or not all(_is_table(table) for table in tables):
        raise DataDirError(f'{path} is damaged (its "tables" are not tables); {WHAT_TO_DO}')
    return [
        StoredTable(
            name=table["TableName"],
            definition={key: table[key] for key in DEFINITION_KEYS if key in table},
            items=table["Items"],
        )
        for table in tables
    ]


def _is_table(table: Any) -> bool:
    return (
        isinstance(table, dict)
        and isinstance(table.get("TableName"), str)
        and isinstance(table.get("KeySchema"), list)
        and isinstance(table.get("AttributeDefinitions"), list)
        and isinstance(table.get("Items"), list)
        and all(isinstance(item, dict) for item in table["Items"])
    )


def write_tables(directory: Path, tables: list[StoredTable]) -> int:
    """Replace the data file with `tables`, atomically; return the bytes written."""
    body = orjson.dumps(
        {
            "format": FORMAT,
            "version": VERSION,
            "savedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tables": [
                {"TableName": table.name, **table.definition, "Items": table.items}
                for table in tables
            ],
        }
    )
    fd, temp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, directory / DATA_FILE)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _flush_directory(directory)
    return len(body)


def _flush_directory(directory: Path) -> None:
    """Make the rename itself durable: it lives in the directory's own entries."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftover_temp_files(directory: Path) -> list[Path]:
    """Delete the temporary files a save interrupted by a crash left; call under the lock."""
    leftovers = sorted(directory.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers
