"""The data file of `EMBEDDED_DATA_DIR`: ours alone, read whole or refused, written atomically,
and one server's at a time."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from server.store.data_file import (
    DATA_FILE,
    FORMAT,
    VERSION,
    DataDirError,
    DataDirLock,
    StoredTable,
    read_tables,
    remove_leftover_temp_files,
    write_tables,
)

DEFINITION = {
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}
ITEMS = [{"id": {"S": "a"}, "n": {"N": "1.5"}, "tags": {"SS": ["x", "y"]}, "m": {"M": {}}}]
WHAT_TO_DO = "move it away to start afresh (or set EMBEDDED_DATA_DIR= to keep data in memory only)"

NOT_OURS = {
    "bad JSON": (b'{"format": "multi-agent-api/embedded-dynamodb", "vers', "is not valid JSON ("),
    "not UTF-8": (b"\xff\xfe{}", "is not valid JSON ("),
    "empty": (b"", "is not valid JSON ("),
    "another program's JSON": (b'{"tables": []}', "is not a data file of this server"),
    "a JSON list": (b"[]", "is not a data file of this server"),
    "a newer version": (
        b'{"format": "%s", "version": 2, "tables": []}' % FORMAT.encode(),
        "is of format version 2, and this server reads version 1",
    ),
    "tables that are not tables": (
        b'{"format": "%s", "version": %d, "tables": [{"TableName": 3}]}'
        % (FORMAT.encode(), VERSION),
        "is damaged",
    ),
    "items that are not items": (
        b'{"format": "%s", "version": %d, "tables": [{"TableName": "t", "KeySchema": [],'
        b' "AttributeDefinitions": [], "Items": [1]}]}' % (FORMAT.encode(), VERSION),
        "is damaged",
    ),
}


def test_what_is_written_is_read_back_as_it_was(tmp_path: Path) -> None:
    # given two tables written to the directory, one with its items already encoded
    tables = [
        StoredTable(name="plain", definition=DEFINITION, items=ITEMS),
        StoredTable(name="encoded", definition=DEFINITION, items=orjson.Fragment(b"[]")),
    ]
    size = write_tables(tmp_path, tables)
    # when they are read
    read = read_tables(tmp_path)
    # then they are the same tables, in a file marked as ours, of this version
    assert read == [
        StoredTable(name="plain", definition=DEFINITION, items=ITEMS),
        StoredTable(name="encoded", definition=DEFINITION, items=[]),
    ]
    document = orjson.loads((tmp_path / DATA_FILE).read_bytes())
    assert (document["format"], document["version"]) == (FORMAT, VERSION)
    assert size == (tmp_path / DATA_FILE).stat().st_size


def test_a_directory_without_a_file_holds_no_tables(tmp_path: Path) -> None:
    assert read_tables(tmp_path) == []


@pytest.mark.parametrize("case", sorted(NOT_OURS))
def test_a_file_that_is_not_ours_is_refused_in_one_line_and_left_as_it_is(
    tmp_path: Path, case: str
) -> None:
    content, reason = NOT_OURS[case]
    path = tmp_path / DATA_FILE
    path.write_bytes(content)

    with pytest.raises(DataDirError) as refused:
        read_tables(tmp_path)

    message = str(refused.value)
    assert message.startswith(f"{path} {reason}")
    assert message.endswith(WHAT_TO_DO) or "run the server that wrote it" in message
    assert "\n" not in message
    assert path.read_bytes() == content


def test_a_save_that_fails_part_way_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a directory holding saved data
    write_tables(tmp_path, [StoredTable(name="old", definition=DEFINITION, items=ITEMS)])
    before = (tmp_path / DATA_FILE).read_bytes()

    # when the next save fails before its data is on disk (the disk is full)
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_tables(tmp_path, [StoredTable(name="new", definition=DEFINITION)])

    # then the data file is the old one, whole, and no temporary file is left
    assert (tmp_path / DATA_FILE).read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [DATA_FILE]


def test_temp_files_left_by_a_crash_are_removed_and_nothing_else(tmp_path: Path) -> None:
    write_tables(tmp_path, [StoredTable(name="kept", definition=DEFINITION, items=ITEMS)])
    torn = tmp_path / f".{DATA_FILE}.k3j4h5.tmp"
    torn.write_bytes(b'{"format": "multi-agent-api/embedded-dynamodb", "ta')
    unrelated = tmp_path / "notes.tmp"
    unrelated.write_text("mine")

    removed = remove_leftover_temp_files(tmp_path)

    assert removed == [torn]
    assert not torn.exists()
    assert unrelated.read_text() == "mine"
    assert read_tables(tmp_path)[0].name == "kept"


def test_a_second_lock_on_a_directory_is_refused_naming_its_holder(tmp_path: Path) -> None:
    # given a directory locked for the server of pid 4242
    first = DataDirLock(tmp_path / "data", holder_pid=4242)
    try:
        # when another takes the lock, then it is refused, naming the holder
        with pytest.raises(DataDirError) as refused:
            DataDirLock(tmp_path / "data", holder_pid=99)
        assert str(refused.value) == (
            f"{tmp_path / 'data'} is in use by another server (pid 4242): stop it, or set"
            " EMBEDDED_DATA_DIR to another directory"
        )
    finally:
        first.release()
    # and once released, the directory can be locked again
    DataDirLock(tmp_path / "data", holder_pid=99).release()


def test_a_path_that_cannot_be_a_directory_is_refused_in_one_line(tmp_path: Path) -> None:
    # given EMBEDDED_DATA_DIR naming a path under a regular file
    (tmp_path / "a-file").write_text("not a directory")
    wanted = tmp_path / "a-file" / "data"
    # when it is locked, then it is refused, saying why and what to do
    with pytest.raises(DataDirError) as refused:
        DataDirLock(wanted, holder_pid=1)
    assert str(refused.value) == (
        f"{wanted} cannot be used as a data directory (Not a directory): set EMBEDDED_DATA_DIR"
        " to a directory this user may write, or empty for memory only"
    )
