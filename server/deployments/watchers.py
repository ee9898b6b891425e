"""One watcher per deployment per instance, fanning its changes out to every subscriber.

Subscribers of the same deployment, keyed `(user_id, deployment_id)`, share one watcher: it
starts with its first subscriber, reads the deployment once (consistently) and stops when its
last subscriber leaves. What it learns after that comes one of two ways:

- `poll=True` (no change feed): it reads the deployment again, 0.25 s at first and backing
  off to 2 s while nothing changes, woken at once by a `DeploymentNotices` notice of a change
  made on this instance. Once per deployment, whatever its number of subscribers.
- `poll=False` (a change feed runs): no periodic read at all. The feed hands every new image
  to `changed()`; `resync()` makes each watcher read its deployment once more, after the feed
  may have missed something.

Each subscriber gets the deployment as it is now first, then every newer version in order,
never one twice, and ends after SUCCESS or FAILED. Its buffer is bounded: a subscriber with
more than `buffer` events waiting that takes none of them for `stall_seconds` (its socket is
not read, so sending to it blocks), or with `BURST_FACTOR` times `buffer` waiting whatever its
pace, is dropped: its subscription ends and its `on_drop` is called, without slowing anyone
else. A burst past `buffer` to a subscriber that keeps taking events is no reason to drop it:
a feed hands over a second's changes at once.

Subscriptions are capped per connection, per user and per instance; past a cap, `subscribe`
refuses with `QuotaExceeded` (connection, user) or `ServiceUnavailable` (instance: another
instance may have room).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable, Hashable
from contextlib import suppress
from dataclasses import dataclass

from server.deployments.notices import DeploymentNotices
from server.errors import NotFound, QuotaExceeded, ServiceUnavailable, SlowConsumer
from server.models import Deployment, is_key
from server.store import Store

__all__ = [
    "BURST_FACTOR",
    "FIRST_POLL_SECONDS",
    "LAST_POLL_SECONDS",
    "Subscription",
    "SubscriptionCaps",
    "Watchers",
]

BURST_FACTOR = 4
FIRST_POLL_SECONDS = 0.25
LAST_POLL_SECONDS = 2.0

log = logging.getLogger(__name__)

Key = tuple[str, str]


@dataclass(frozen=True)
class SubscriptionCaps:
    """How many subscriptions may be open at once, and how far one may fall behind."""

    per_connection: int = 25
    per_user: int = 100
    per_instance: int = 10_000
    # Events a subscriber may have waiting for as long as it likes; past them it must take
    # one every `stall_seconds`, and it may never have `BURST_FACTOR` times as many.
    buffer: int = 32
    stall_seconds: float = 2.0


class Subscription:
    """One subscriber's view of its watcher: an async iterator of deployments, ended by the
    watcher (completion, an error, a drop) or by the subscriber (`close`)."""

    def __init__(
        self, watcher: _Watcher, connection: Hashable, on_drop: Callable[[], None] | None
    ) -> None:
        self._watcher = watcher
        self.connection = connection
        self._on_drop = on_drop
        self._pending: deque[Deployment] = deque()
        self._last_version = 0
        self._wakeup = asyncio.Event()
        self._ended = False
        self._error: BaseException | None = None
        self._closed = False
        # When it last took an event, or had none waiting; the stall check, while one is due.
        self._progress = asyncio.get_running_loop().time()
        self._stall_check: asyncio.TimerHandle | None = None

    @property
    def user_id(self) -> str:
        return self._watcher.key[0]

    def deliver(self, deployment: Deployment, caps: SubscriptionCaps) -> None:
        """Queue `deployment` if it is newer than the last this subscriber got; past the
        buffer, watch that the subscriber keeps taking events, and drop it at once at
        `BURST_FACTOR` times the buffer."""
        if self._ended or deployment.version <= self._last_version:
            return
        if len(self._pending) >= caps.buffer * BURST_FACTOR:
            self._drop(caps.buffer)
            return
        if not self._pending:
            self._progress = asyncio.get_running_loop().time()
        self._pending.append(deployment)
        self._last_version = deployment.version
        if not deployment.status.is_active:
            self._ended = True
        self._wakeup.set()
        if len(self._pending) > caps.buffer and self._stall_check is None:
            self._check_stall_in(caps.stall_seconds, caps)

    def _check_stall_in(self, seconds: float, caps: SubscriptionCaps) -> None:
        self._stall_check = asyncio.get_running_loop().call_later(seconds, self._check_stall, caps)

    def _check_stall(self, caps: SubscriptionCaps) -> None:
        """Drop the subscriber if it is still past its buffer and took nothing for
        `stall_seconds`; look again later while it is past its buffer but moving."""
        self._stall_check = None
        if self._closed or len(self._pending) <= caps.buffer:
            return
        idle = asyncio.get_running_loop().time() - self._progress
        if idle >= caps.stall_seconds:
            self._drop(caps.buffer)
        else:
            self._check_stall_in(caps.stall_seconds - idle, caps)

    def end(self, error: BaseException | None = None) -> None:
        """Nothing more comes: after what is queued, stop (or raise `error`)."""
        if not self._ended:
            self._ended, self._error = True, error
            self._wakeup.set()

    def _drop(self, buffer: int) -> None:
        self._pending.clear()  # what it never read is let go at once
        self._cancel_stall_check()
        self.end(SlowConsumer(buffer))
        self.close()
        if self._on_drop is not None:
            try:
                self._on_drop()
            except Exception:  # the drop's cleanup must not reach the watcher
                log.exception("dropping a slow subscriber failed")

    def close(self) -> None:
        """The subscriber leaves (idempotent); the watcher stops with its last one."""
        if not self._closed:
            self._closed = True
            self._cancel_stall_check()
            self._watcher.leave(self)

    def _cancel_stall_check(self) -> None:
        if self._stall_check is not None:
            self._stall_check.cancel()
            self._stall_check = None

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Deployment:
        while not self._pending:
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        self._progress = asyncio.get_running_loop().time()
        return self._pending.popleft()


class _Watcher:
    """The shared state of one deployment's subscribers on this instance."""

    def __init__(self, watchers: Watchers, key: Key) -> None:
        self.watchers = watchers
        self.key = key
        self.subscribers: list[Subscription] = []
        self.latest: Deployment | None = None
        # Set by `resync()` with a feed: read once more.
        self.reread = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def join(self, subscription: Subscription) -> None:
        self.subscribers.append(subscription)
        if self.latest is not None:  # a late joiner gets the latest state at once, unread
            subscription.deliver(self.latest, self.watchers.caps)

    def leave(self, subscription: Subscription) -> None:
        with suppress(ValueError):
            self.subscribers.remove(subscription)
            self.watchers.left(self, subscription)

    def offer(self, deployment: Deployment) -> bool:
        """Fan `deployment` out if it is newer than the latest; True if it was."""
        if self.latest is not None and deployment.version <= self.latest.version:
            return False
        self.latest = deployment
        for subscription in list(self.subscribers):
            subscription.deliver(deployment, self.watchers.caps)
        return True

    def end(self, error: BaseException | None = None) -> None:
        for subscription in list(self.subscribers):
            subscription.end(error)

    @property
    def finished(self) -> bool:
        return self.latest is not None and not self.latest.status.is_active


class Watchers:
    """This instance's watchers, by `(user_id, deployment_id)`, and the caps on subscribing.

    `notices` wake a polling watcher when this instance changes its deployment.
    """

    def __init__(
        self,
        store: Store,
        *,
        caps: SubscriptionCaps,
        poll: bool,
        notices: DeploymentNotices | None = None,
    ) -> None:
        self.store = store
        self.caps = caps
        self.poll = poll
        self.notices = notices or DeploymentNotices()
        self._watchers: dict[Key, _Watcher] = {}
        self._per_connection: Counter[Hashable] = Counter()
        self._per_user: Counter[str] = Counter()
        self._subscriptions = 0

    @property
    def subscriptions(self) -> int:
        """Subscriptions open on this instance."""
        return self._subscriptions

    @property
    def watched(self) -> int:
        """Deployments watched on this instance."""
        return len(self._watchers)

    def is_watched(self, user_id: str, deployment_id: str) -> bool:
        return (user_id, deployment_id) in self._watchers

    def subscribe(
        self,
        user_id: str,
        deployment_id: str,
        *,
        connection: Hashable,
        on_drop: Callable[[], None] | None = None,
    ) -> Subscription:
        """A new subscriber of the caller's deployment: within the caps, or refused. A
        deployment id that could not be a key is NOT_FOUND at once."""
        if not is_key(deployment_id):
            raise NotFound("deployment", deployment_id)
        self._check_caps(user_id, connection)
        key = (user_id, deployment_id)
        watcher = self._watchers.get(key)
        if watcher is None:
            watcher = self._watchers[key] = _Watcher(self, key)
            watcher.task = asyncio.create_task(self._run(watcher), name=f"watch {deployment_id}")
        subscription = Subscription(watcher, connection, on_drop)
        self._per_connection[connection] += 1
        self._per_user[user_id] += 1
        self._subscriptions += 1
        watcher.join(subscription)
        return subscription

    def _check_caps(self, user_id: str, connection: Hashable) -> None:
        caps = self.caps
        if self._per_connection[connection] >= caps.per_connection:
            raise QuotaExceeded(
                "SUBSCRIPTIONS_PER_CONNECTION",
                caps.per_connection,
                "a connection",
                "subscriptions at once; complete one first",
            )
        if self._per_user[user_id] >= caps.per_user:
            raise QuotaExceeded(
                "SUBSCRIPTIONS_PER_USER",
                caps.per_user,
                "a user",
                "subscriptions at once on this server; complete one first",
            )
        if self._subscriptions >= caps.per_instance:
            raise ServiceUnavailable(
                f"this server holds at most {caps.per_instance:,} subscriptions at once"
                " (SUBSCRIPTIONS_PER_INSTANCE); retry later or on another instance"
            )

    def left(self, watcher: _Watcher, subscription: Subscription) -> None:
        """Count `subscription` out; stop `watcher` with its last subscriber."""
        self._per_connection[subscription.connection] -= 1
        if self._per_connection[subscription.connection] <= 0:
            del self._per_connection[subscription.connection]
        self._per_user[subscription.user_id] -= 1
        if self._per_user[subscription.user_id] <= 0:
            del self._per_user[subscription.user_id]
        self._subscriptions -= 1
        if not watcher.subscribers and self._watchers.get(watcher.key) is watcher:
            del self._watchers[watcher.key]
            if watcher.task is not None:
                watcher.task.cancel()

    def changed(self, deployment: Deployment) -> None:
        """A change feed's new image of a deployment (any user's): delivered to its
        subscribers here if it is newer than the last they got. Never blocks, never raises."""
        watcher = self._watchers.get((deployment.user_id, deployment.deployment_id))
        if watcher is not None:
            try:
                watcher.offer(deployment)
            except Exception:  # a feed must keep going whatever one delivery does
                log.exception("delivering a change of %s failed", deployment.deployment_id)

    def resync(self) -> None:
        """The feed may have missed changes: every watcher reads its deployment once more,
        consistently, and delivers it if newer."""
        for watcher in list(self._watchers.values()):
            if self.poll:
                self.notices.notify(watcher.key)
            else:
                watcher.reread.set()

    async def _run(self, watcher: _Watcher) -> None:
        """Read the deployment once, then follow it (polling, or by `resync` rereads) until it
        finishes or its last subscriber leaves."""
        try:
            first = await self._read(watcher.key)
        except Exception as error:
            self._detach(watcher, error)
            return
        if first is None:
            self._detach(watcher, NotFound("deployment", watcher.key[1]))
            return
        watcher.offer(first)
        delay = FIRST_POLL_SECONDS
        while not watcher.finished:
            if self.poll:
                await self.notices.wait(watcher.key, seconds=delay)
            else:
                await watcher.reread.wait()
                watcher.reread.clear()
            try:
                latest = await self._read(watcher.key)
            except Exception:  # an outage: keep the subscribers, read again later
                log.warning("reading watched deployment %s failed", watcher.key[1], exc_info=True)
                delay = LAST_POLL_SECONDS
                if not self.poll:
                    watcher.reread.set()
                    await asyncio.sleep(LAST_POLL_SECONDS)
                continue
            if latest is None:  # deleted (with its project): nothing more will come
                self._detach(watcher, None)
                return
            changed = watcher.offer(latest)
            delay = FIRST_POLL_SECONDS if changed else min(delay * 2, LAST_POLL_SECONDS)

    def _detach(self, watcher: _Watcher, error: BaseException | None) -> None:
        """End every subscriber of `watcher` (with `error`, if any) and let the next
        subscriber of its deployment start a watcher afresh."""
        if self._watchers.get(watcher.key) is watcher:
            del self._watchers[watcher.key]
        watcher.end(error)

    async def _read(self, key: Key) -> Deployment | None:
        return await self.store.deployments.get(key[0], key[1], consistent=True)
