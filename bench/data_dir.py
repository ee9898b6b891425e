"""What keeping the embedded store's data in `EMBEDDED_DATA_DIR` costs, at ~24 MB of items.

In one process, with moto's DynamoDB backend filled directly: 20 users' deployments (each a
snapshot of 20 tools with code and 5 agents with prompts, and 20 log lines: ~8 KB) until they
hold 20 MB, and 2,000 agents of ~2 KB. Reported, as `server/store/embedded_data.py` does them:
a save's part under the requests' lock (encoding the items), its part outside it (writing,
`fsync`, rename), and a start's restore (reading the file, putting the items into moto).

Usage: python bench/data_dir.py [--megabytes 20]
"""

from __future__ import annotations

import argparse
import gc
import random
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.dynamodb.models import dynamodb_backends  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402

from server.store import embedded_data  # noqa: E402
from server.store.data_file import read_tables, write_tables  # noqa: E402

KEYS = [{"AttributeName": "userId", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}]
ATTRIBUTES = [
    {"AttributeName": "userId", "AttributeType": "S"},
    {"AttributeName": "id", "AttributeType": "S"},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=20)
    args = parser.parse_args()
    random.seed(7)
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    items, size = fill(_table(backend, "deployments"), _table(backend, "agents"), args.megabytes)
    directory = Path(tempfile.mkdtemp(prefix="data-dir-bench-"))

    started = time.perf_counter()
    tables = [embedded_data._stored(table) for table in backend.tables.values()]
    encoded = time.perf_counter()
    written = write_tables(directory, tables)
    saved = time.perf_counter()

    restore_into = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"]
    gc.disable()  # as `KeptData.open` restores
    read = read_tables(directory)
    parsed = time.perf_counter()
    for table in read:
        embedded_data._restore(restore_into, table)
    restored = time.perf_counter()
    gc.enable()

    print(f"{items:,} items, {size / 1e6:.1f} MB as DynamoDB counts them")  # noqa: T201
    print(  # noqa: T201
        f"save: {_ms(encoded - started)} encoding under the lock, then {_ms(saved - encoded)}"
        f" writing {written / 1e6:.1f} MB outside it\n"
        f"start: {_ms(parsed - saved)} reading the file, {_ms(restored - parsed)} restoring"
    )


def fill(deployments: Table, agents: Table, megabytes: float) -> tuple[int, int]:
    size = count = 0
    while size < megabytes * 1_000_000:
        item = deployments.put_item(_deployment(count))
        size, count = size + item.size(), count + 1
    for number in range(2_000):
        prompt = {"M": {"system_prompt": {"S": _text(2_000)}}}
        item = agents.put_item(
            {"userId": {"S": f"u{number % 20}"}, "id": {"S": f"a{number}"}, "config": prompt}
        )
        size, count = size + item.size(), count + 1
    return count, size


def _deployment(number: int) -> dict[str, Any]:
    tools = [
        {
            "M": {
                "name": {"S": f"tool_{n}"},
                "code": {"S": _text(800)},
                "input_schema": {"M": {"type": {"S": "object"}}},
            }
        }
        for n in range(20)
    ]
    agents = [
        {"M": {"name": {"S": f"agent {n}"}, "system_prompt": {"S": _text(500)}}} for n in range(5)
    ]
    return {
        "userId": {"S": f"u{number % 20}"},
        "id": {"S": f"d{number:06d}"},
        "status": {"S": "success"},
        "config": {"M": {"tools": {"L": tools}, "agents": {"L": agents}}},
        "logs": {"L": [{"S": _text(80)} for _ in range(20)]},
    }


def _table(backend: Any, name: str) -> Table:
    table: Table = backend.create_table(
        name,
        schema=KEYS,
        throughput=None,
        attr=ATTRIBUTES,
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    return table


def _text(length: int) -> str:
    return "".join(random.choices(string.ascii_letters + " ", k=length))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


if __name__ == "__main__":
    main()
