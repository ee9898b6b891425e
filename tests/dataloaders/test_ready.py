"""Nested fields answer at once from a primed loader, and wait only for what is not loaded."""

from __future__ import annotations

import inspect

import pytest
from strawberry.dataloader import DataLoader

from server.dataloaders.ready import when_all_loaded, when_loaded


def counting_loader() -> tuple[DataLoader[str, str], list[list[str]]]:
    batches: list[list[str]] = []

    async def load(keys: list[str]) -> list[str]:
        batches.append(keys)
        return [key.upper() for key in keys]

    return DataLoader(load_fn=load), batches


async def test_a_primed_key_gives_the_value_itself() -> None:
    loader, batches = counting_loader()
    loader.prime("a", "primed")

    result = when_loaded(loader, "a", lambda value: f"<{value}>")

    assert result == "<primed>"
    assert batches == []


async def test_a_key_not_yet_loaded_gives_an_awaitable_that_loads_it() -> None:
    loader, batches = counting_loader()

    result = when_loaded(loader, "a", lambda value: f"<{value}>")

    assert inspect.isawaitable(result)
    assert await result == "<A>"
    assert batches == [["a"]]


async def test_a_loaded_key_answers_at_once_the_second_time() -> None:
    loader, batches = counting_loader()
    await loader.load("a")

    assert when_loaded(loader, "a", str.lower) == "a"
    assert batches == [["a"]]


async def test_many_keys_answer_at_once_only_when_all_are_primed() -> None:
    loader, batches = counting_loader()
    loader.prime_many({"a": "1", "b": "2"})

    assert when_all_loaded(loader, ["b", "a"], "".join) == "21"

    pending = when_all_loaded(loader, ["a", "c", "b"], "".join)
    assert inspect.isawaitable(pending)
    assert await pending == "1C2"
    assert batches == [["c"]]


async def test_a_failed_load_raises_from_the_field_either_way() -> None:
    async def fail(keys: list[str]) -> list[str]:
        raise LookupError("gone")

    loader: DataLoader[str, str] = DataLoader(load_fn=fail)
    pending = when_loaded(loader, "a", str.lower)
    assert inspect.isawaitable(pending)
    with pytest.raises(LookupError, match="gone"):
        await pending

    with pytest.raises(LookupError, match="gone"):
        when_loaded(loader, "a", str.lower)
