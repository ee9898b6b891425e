"""The items of a transaction, each saying what its failed condition means.

An item (`put`, `update`, `delete`, `check`) may carry, with its condition, the error its
failure means: an exception (`otherwise=NotFound("project", project_id)`), or a function of
the item as it was, None if there was none, for errors that depend on it (a quota reached or
the project gone; a project busy or a lost race). When conditions fail, `Dynamo.transact`
raises the error of the first failed item in the transaction's order, so a transaction lists
its items in the order their errors take precedence. An item that declares none raises
`TransactionCancelled`, which says which items failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from server.store.codec import Item, from_item, to_item
from server.store.expressions import ConditionLike, UpdateLike, expression_params

__all__ = [
    "LostRace",
    "Refusal",
    "TransactItem",
    "TransactionCancelled",
    "check",
    "delete",
    "gone_or_lost",
    "put",
    "refusal",
    "update",
]

# What a failed condition means: an error, or the error for the item as it was (None: absent).
Refusal = Exception | Callable[[Item | None], Exception]


class LostRace(Exception):
    """Another writer changed what a transaction was conditioned on; read again and retry."""


class TransactionCancelled(Exception):
    """A transaction did not happen because the condition of an item that declares no error
    failed.

    `failed` maps the index of each item whose condition failed to that item as it was
    (None where there was none).
    """

    def __init__(self, failed: dict[int, Item | None]) -> None:
        super().__init__(f"transaction cancelled by items {sorted(failed)}")
        self.failed = failed


@dataclass(frozen=True)
class TransactItem:
    """One item of `Dynamo.transact`: its request, and what the failure of its condition
    means."""

    request: dict[str, Any]
    otherwise: Refusal | None = None


def gone_or_lost(gone: Exception) -> Refusal:
    """`gone` when the item is missing; otherwise it changed since it was read: a lost race."""
    return lambda item: gone if item is None else LostRace()


def put(
    table: str,
    item: Mapping[str, object],
    *,
    condition: ConditionLike | None = None,
    otherwise: Refusal | None = None,
) -> TransactItem:
    request = {"TableName": table, "Item": to_item(item)}
    return _item("Put", request, condition, otherwise)


def update(
    table: str,
    key: Mapping[str, object],
    changes: UpdateLike,
    *,
    condition: ConditionLike | None = None,
    otherwise: Refusal | None = None,
) -> TransactItem:
    request = {"TableName": table, "Key": to_item(key)}
    return _item("Update", request, condition, otherwise, changes)


def delete(
    table: str,
    key: Mapping[str, object],
    *,
    condition: ConditionLike | None = None,
    otherwise: Refusal | None = None,
) -> TransactItem:
    request = {"TableName": table, "Key": to_item(key)}
    return _item("Delete", request, condition, otherwise)


def check(
    table: str,
    key: Mapping[str, object],
    condition: ConditionLike,
    *,
    otherwise: Refusal | None = None,
) -> TransactItem:
    request = {"TableName": table, "Key": to_item(key)}
    return _item("ConditionCheck", request, condition, otherwise)


def _item(
    operation: str,
    request: dict[str, Any],
    condition: ConditionLike | None,
    otherwise: Refusal | None,
    changes: UpdateLike | None = None,
) -> TransactItem:
    request.update(expression_params(ConditionExpression=condition, UpdateExpression=changes))
    return TransactItem({operation: request}, otherwise)


def refusal(items: Sequence[TransactItem], reasons: Sequence[Mapping[str, Any]]) -> Exception:
    """The error of a transaction of `items` that DynamoDB cancelled for `reasons` (one per
    item, in order) among which a condition failed: that of the first failed item."""
    failed = {
        index: from_item(reason["Item"]) if reason.get("Item") else None
        for index, reason in enumerate(reasons)
        if reason.get("Code") == "ConditionalCheckFailed"
    }
    first = min(failed)
    otherwise = items[first].otherwise
    if otherwise is None:
        return TransactionCancelled(failed)
    return otherwise if isinstance(otherwise, Exception) else otherwise(failed[first])
