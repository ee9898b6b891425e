"""The change feed: every write to the Deployments table, from any instance or pipeline,
read from the table's DynamoDB stream and handed to this instance's watchers.

Each instance reads every shard of the stream itself: the shards open when it starts from
their latest record (what came before, `Watchers.resync` re-reads), a shard that appears later
from its first record once its parent is read to its end (so an item's records arrive in the
order they were written, across a resharding too). Each record's new image goes to
`Watchers.changed`; the watchers keep only what is newer than what their subscribers got.

Whenever records may have been missed, the watchers are told to re-read (`resync`): at start,
after the stream was unreachable, after an iterator expired with nothing read from its shard
yet (so it cannot be resumed at an exact record), after the stream trimmed records not yet
read, and after the stream itself was replaced. An iterator that expired after a record is
resumed right after that record, so nothing is lost. An unreachable stream is retried with
back-off, logged, and never stops the server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

from server.metrics import CHANGE_FEED_FAILURES, CHANGE_FEED_RECORDS, CHANGE_FEED_RESYNCS
from server.models import Deployment
from server.store import Store
from server.store.streams import (
    LATEST,
    TRIM_HORIZON,
    DeploymentStream,
    IteratorExpired,
    Position,
    Shard,
    StreamGone,
    StreamUnavailable,
    TrimmedAway,
)

__all__ = ["ChangeFeed", "ChangeListener", "FeedTiming"]

logger = logging.getLogger(__name__)


class ChangeListener(Protocol):
    """What the feed tells: `server.deployments.watchers.Watchers`."""

    def changed(self, deployment: Deployment) -> None: ...

    def resync(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class FeedTiming:
    # A quiet shard is asked again after this; one whose records flow, at once. Half a second
    # keeps delivery within a second (p95) on a loaded machine, where a second did only just
    # (bench/subscriptions.py).
    idle_seconds: float = 0.5
    # How often the stream's shards are listed again, to find new ones (a shard that ends
    # has the stream listed at once, as its children follow on).
    discover_seconds: float = 60.0
    # Retries of an unreachable stream: the first after this, doubling up to the most.
    retry_first_seconds: float = 1.0
    retry_most_seconds: float = 30.0


@dataclass(kw_only=True)
class _ShardReading:
    """How far one shard has been read."""

    shard_id: str
    parent_id: str | None
    start: Position  # where reading starts when nothing of it has been read
    iterator: str | None = None
    last: str | None = None  # the sequence number of the last record read
    done: bool = False  # read to its end (or closed before the feed began)


class ChangeFeed:
    """Reads the Deployments table's stream until cancelled (`run`), telling `watchers`."""

    def __init__(
        self, store: Store, watchers: ChangeListener, *, timing: FeedTiming | None = None
    ) -> None:
        self._stream: DeploymentStream = store.deployment_stream()
        self._watchers = watchers
        self._timing = timing or FeedTiming()
        self._arn: str | None = None
        self._shards: dict[str, _ShardReading] = {}
        self._gap = True  # records may have been missed: the watchers re-read
        self._discover_at = 0.0

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._read_round()
            except StreamUnavailable as error:
                failures += 1
                CHANGE_FEED_FAILURES.inc()
                if isinstance(error, StreamGone):
                    self._arn = None  # find the table's stream again, and read it anew
                self._gap = True
                delay = self._retry_delay(failures)
                logger.warning(
                    "change feed: the deployments stream is unavailable (%s); retrying in %.0f s",
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if failures:
                logger.info("change feed: reading the deployments stream again")
                failures = 0

    def _retry_delay(self, failures: int) -> float:
        timing = self._timing
        return float(
            min(timing.retry_first_seconds * 2 ** (failures - 1), timing.retry_most_seconds)
        )

    async def _read_round(self) -> None:
        """Read each shard that can be read once, then wait unless records came."""
        if self._arn is None:
            await self._begin()
        elif time.monotonic() >= self._discover_at:
            await self._discover()
        readable = [shard for shard in self._shards.values() if self._readable(shard)]
        for shard in readable:
            if shard.iterator is None:
                shard.iterator = await self._iterator(shard)
        flowing = False
        for shard in readable:
            flowing |= await self._read(shard)
        if self._gap and all(shard.iterator is not None or shard.done for shard in readable):
            # Once the stream answers again, and every iterator is placed: what comes
            # later, they read.
            self._gap = False
            CHANGE_FEED_RESYNCS.inc()
            self._watchers.resync()
        if not flowing:
            await asyncio.sleep(self._timing.idle_seconds)

    async def _begin(self) -> None:
        arn = await self._stream.latest_arn()
        shards = await self._stream.shards(arn)
        self._arn = arn
        self._shards = {shard.shard_id: _begun(shard) for shard in shards}
        self._gap = True
        self._discover_at = time.monotonic() + self._timing.discover_seconds

    async def _discover(self) -> None:
        """Follow shards that appeared since, from their first record; forget the ones read
        to their end that the stream no longer keeps."""
        assert self._arn is not None
        listed = {shard.shard_id: shard for shard in await self._stream.shards(self._arn)}
        for shard_id, shard in listed.items():
            if shard_id not in self._shards:
                self._shards[shard_id] = _ShardReading(
                    shard_id=shard_id, parent_id=shard.parent_id, start=TRIM_HORIZON
                )
        for shard_id in [key for key, reading in self._shards.items() if reading.done]:
            if shard_id not in listed:
                del self._shards[shard_id]
        self._discover_at = time.monotonic() + self._timing.discover_seconds

    def _readable(self, shard: _ShardReading) -> bool:
        """Not read to its end, and its parent (if the feed follows it) is."""
        if shard.done:
            return False
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return parent is None or parent.done

    async def _iterator(self, shard: _ShardReading) -> str:
        assert self._arn is not None
        position = shard.start if shard.last is None else Position.after(shard.last)
        try:
            return await self._stream.iterator(self._arn, shard.shard_id, position)
        except TrimmedAway:
            # Records not yet read are gone: read on from the oldest kept, and re-read.
            logger.warning("change feed: records of shard %s were trimmed unread", shard.shard_id)
            shard.last, shard.start, self._gap = None, TRIM_HORIZON, True
            return await self._stream.iterator(self._arn, shard.shard_id, TRIM_HORIZON)

    async def _read(self, shard: _ShardReading) -> bool:
        """One page of the shard's records, to the watchers; True if it had any."""
        assert shard.iterator is not None
        try:
            page = await self._stream.records(shard.iterator)
        except IteratorExpired:
            shard.iterator = None  # a new one next round, after the last record read
            if shard.last is None and shard.start == LATEST:
                self._gap = True  # from LATEST again: what came meanwhile is re-read
            return True
        except TrimmedAway:
            shard.iterator, shard.last, shard.start, self._gap = None, None, TRIM_HORIZON, True
            return True
        for record in page.records:
            shard.last = record.sequence_number
            CHANGE_FEED_RECORDS.inc()
            if record.deployment is not None:
                self._watchers.changed(record.deployment)
        shard.iterator = page.next_iterator
        if shard.iterator is None:
            shard.done = True
            self._discover_at = 0.0  # its children follow on: list the shards now
        return bool(page.records) or shard.done


def _begun(shard: Shard) -> _ShardReading:
    """A shard as the feed finds it when it starts: an open one is read from what comes
    next; a closed one holds only what came before (the watchers' first re-read covers it)."""
    return _ShardReading(
        shard_id=shard.shard_id, parent_id=shard.parent_id, start=LATEST, done=shard.closed
    )
