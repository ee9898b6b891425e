"""The embedded DynamoDB is a child process that never outlives its parent, and answers as moto."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from server.store import Store
from server.store.dynamo import Expression
from server.store.embedded import EmbeddedDynamoDB
from server.store.transactions import TransactionCancelled, check, delete, put, update
from tests.servers import free_port

SCOPE = "us-east-1/dynamodb/aws4_request"


def test_it_serves_dynamodb_on_a_loopback_port_until_stopped() -> None:
    embedded = EmbeddedDynamoDB()
    endpoint = embedded.start()
    process = embedded._process
    assert process is not None

    response = httpx.post(
        endpoint,
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=x/20260101/{SCOPE}",
        },
        content="{}",
    )
    embedded.stop()

    assert endpoint.startswith("http://127.0.0.1:")
    assert response.status_code == 200
    assert "TableNames" in response.json()
    assert process.poll() is not None


def test_it_exits_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import os, time
                from server.store.embedded import EmbeddedDynamoDB
                embedded = EmbeddedDynamoDB()
                embedded.start()
                print(embedded._process.pid, flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())

    parent.send_signal(signal.SIGKILL)
    parent.wait()

    assert _exits_within(child_pid, seconds=10)
    parent.stdout.close()


def _exits_within(pid: int, *, seconds: float) -> bool:
    """Poll for another process's exit, bounded; a zombie awaiting its reaper has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


ITEMS = [
    {
        "userId": {"S": "u"},
        "itemId": {"S": f"i{n:02d}"},
        "name": {"S": f"item {n}"},
        "count": {"N": str(n)},
        "ratio": {"N": "0.25"},
        "on": {"BOOL": n % 2 == 0},
        "nothing": {"NULL": True},
        "usedBy": {"SS": ["a", "b"]},
        "config": {
            "M": {
                "tools": {"L": [{"S": "t1"}, {"N": "2"}, {"M": {"deep": {"L": []}}}]},
                "model": {"M": {"model_id": {"S": "m"}, "empty": {"M": {}}}},
            }
        },
    }
    for n in range(12)
]
READS: list[tuple[str, dict[str, Any]]] = [
    (
        "query",
        {"KeyConditionExpression": "userId = :u", "ExpressionAttributeValues": {":u": {"S": "u"}}},
    ),
    (
        "query",
        {
            "KeyConditionExpression": "userId = :u",
            "FilterExpression": "#c > :n",
            "ProjectionExpression": "itemId, config.model, usedBy",
            "ExpressionAttributeNames": {"#c": "count"},
            "ExpressionAttributeValues": {":u": {"S": "u"}, ":n": {"N": "3"}},
            "Limit": 5,
            "ScanIndexForward": False,
            "ReturnConsumedCapacity": "TOTAL",
        },
    ),
    (
        "query",
        {
            "KeyConditionExpression": "userId = :u",
            "Select": "COUNT",
            "ExpressionAttributeValues": {":u": {"S": "u"}},
        },
    ),
    ("scan", {"Limit": 4, "ConsistentRead": True}),
    ("get_item", {"Key": {"userId": {"S": "u"}, "itemId": {"S": "i03"}}}),
    ("get_item", {"Key": {"userId": {"S": "u"}, "itemId": {"S": "missing"}}}),
]


def test_reads_answer_as_plain_moto_does(dynamodb_endpoint: str) -> None:
    """The embedded server skips moto's shape walk for reads; the answers stay the same."""
    plain_port = free_port()
    plain = ThreadedMotoServer(ip_address="127.0.0.1", port=plain_port, verbose=False)
    plain.start()
    try:
        answers = [
            _reads(dynamodb_endpoint, f"embedded-{uuid.uuid4().hex}"),
            _reads(f"http://127.0.0.1:{plain_port}", "plain"),
        ]
    finally:
        plain.stop()

    embedded, expected = answers
    assert len(embedded) == len(READS) + 2
    assert embedded == expected


def _reads(endpoint: str, table: str) -> list[dict[str, Any]]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "userId", "KeyType": "HASH"},
            {"AttributeName": "itemId", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "userId", "AttributeType": "S"},
            {"AttributeName": "itemId", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for item in ITEMS:
        client.put_item(TableName=table, Item=item)
    keys = [{"userId": {"S": "u"}, "itemId": {"S": key}} for key in ("i01", "i07", "nope")]
    answers = [getattr(client, read)(TableName=table, **request) for read, request in READS]
    answers.append(client.batch_get_item(RequestItems={table: {"Keys": keys}}))
    answers.append(
        client.transact_get_items(
            TransactItems=[{"Get": {"TableName": table, "Key": key}} for key in keys]
        )
    )
    client.delete_table(TableName=table)
    return [_comparable(answer, table) for answer in answers]


def _comparable(answer: dict[str, Any], table: str) -> dict[str, Any]:
    """The answer without what may differ between two servers: request ids, table names, the
    order of a set's members."""
    answer.pop("ResponseMetadata")
    text = json.dumps(answer).replace(table, "TABLE")
    comparable: dict[str, Any] = json.loads(text, object_hook=_sets_sorted)
    return comparable


def _sets_sorted(value: dict[str, Any]) -> dict[str, Any]:
    return {key: sorted(inner) if key in ("SS", "NS") else inner for key, inner in value.items()}


def test_an_update_is_held_to_the_item_limit_as_the_item_will_be(dynamodb_endpoint: str) -> None:
    """DynamoDB counts the item after the update; moto alone also counts the value replaced."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    table = f"sizes-{uuid.uuid4().hex}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key = {"id": {"S": "big"}}
    try:
        client.put_item(TableName=table, Item={**key, "logs": {"S": "a" * 300_000}})

        def replace_logs(size: int) -> None:
            client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET logs = :logs",
                ExpressionAttributeValues={":logs": {"S": "b" * size}},
            )

        replace_logs(300_000)  # 300 KB replacing 300 KB: an item of 300 KB
        with pytest.raises(client.exceptions.ClientError, match="Item size to update"):
            replace_logs(420_000)
        stored = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    finally:
        client.delete_table(TableName=table)

    assert stored["logs"]["S"] == "b" * 300_000


async def test_a_cancelled_transaction_leaves_every_item_as_it_was(store: Store) -> None:
    """The embedded DynamoDB backs up the items a transaction writes (not whole tables, as moto
    does): a put, an update and a delete before a failing condition are all undone."""
    user = f"rollback-{uuid.uuid4().hex}"
    table = store.tables.environment
    kept = {"userId": user, "envId": "kept", "value": "before"}
    doomed = {"userId": user, "envId": "doomed", "value": "stays"}
    await store.dynamo.batch_write(table, puts=[kept, doomed])
    writes = [
        put(table, {"userId": user, "envId": "new", "value": "never"}),
        update(
            table,
            {"userId": user, "envId": "kept"},
            Expression("SET #v = :v", {"#v": "value"}, {":v": "after"}),
        ),
        delete(table, {"userId": user, "envId": "doomed"}),
        check(table, {"userId": user, "envId": "absent"}, Expression("attribute_exists(envId)")),
    ]

    with pytest.raises(TransactionCancelled) as cancelled:
        await store.dynamo.transact(writes)

    assert list(cancelled.value.failed) == [3]
    keys = [{"userId": user, "envId": name} for name in ("kept", "doomed", "new")]
    found = await store.dynamo.batch_get(table, keys, consistent=True)
    assert sorted(found, key=lambda item: item["envId"]) == [doomed, kept]


async def test_a_transaction_refused_for_naming_an_item_twice_writes_nothing(store: Store) -> None:
    user = f"twice-{uuid.uuid4().hex}"
    table = store.tables.environment
    original = {"userId": user, "envId": "one", "value": "before"}
    await store.dynamo.batch_write(table, puts=[original])
    changed = Expression("SET #v = :v", {"#v": "value"}, {":v": "after"})

    with pytest.raises(ClientError):
        await store.dynamo.transact(
            [
                put(table, {"userId": user, "envId": "two", "value": "never"}),
                update(table, {"userId": user, "envId": "one"}, changed),
                update(table, {"userId": user, "envId": "one"}, changed),
            ]
        )

    keys = [{"userId": user, "envId": name} for name in ("one", "two")]
    assert await store.dynamo.batch_get(table, keys, consistent=True) == [original]
