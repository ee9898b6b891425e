"""One watcher per deployment per instance: shared reads, fan-out in order, the seam a change
feed calls (`changed`, `resync`), the caps and slow consumers; on the real DynamoDB wire."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from server.deployments.lifecycle import change_status
from server.deployments.notices import DeploymentNotices
from server.deployments.watchers import BURST_FACTOR, Subscription, SubscriptionCaps, Watchers
from server.errors import NotFound, QuotaExceeded, ServiceUnavailable, SlowConsumer
from server.models import Deployment, DeploymentStatus, StatusUpdate
from server.store import Store, instrument
from tests.conftest import GraphQLClient
from tests.documents import CREATE_DEPLOYMENT, CREATE_PROJECT

WAIT = 10.0  # the most any one event may take before the test fails
CAPS = SubscriptionCaps()
ONE_CONNECTION = "one connection"


@pytest.fixture
async def deployment(client: GraphQLClient, store: Store, user_id: str) -> Deployment:
    """A PENDING deployment of the test's user."""
    created = await client.data(CREATE_PROJECT, {"input": {"name": "Watched"}})
    deployed = await client.data(CREATE_DEPLOYMENT, {"projectId": created["createProject"]["id"]})
    found = await store.deployments.get(user_id, deployed["createDeployment"]["id"])
    assert found is not None
    return found


@pytest.fixture
async def notices() -> DeploymentNotices:
    return DeploymentNotices()


@pytest.fixture
async def polling(store: Store, notices: DeploymentNotices) -> AsyncIterator[Watchers]:
    watchers = Watchers(store, caps=CAPS, poll=True, notices=notices)
    yield watchers
    assert watchers.subscriptions == 0, "a test left a subscription open"


@pytest.fixture
async def fed(store: Store) -> AsyncIterator[Watchers]:
    """Watchers as they run beside a change feed: no periodic read."""
    watchers = Watchers(store, caps=CAPS, poll=False)
    yield watchers
    assert watchers.subscriptions == 0, "a test left a subscription open"


def subscribe(
    watchers: Watchers, deployment: Deployment, connection: object = ONE_CONNECTION
) -> Subscription:
    return watchers.subscribe(deployment.user_id, deployment.deployment_id, connection=connection)


async def next_of(subscription: Subscription) -> Deployment:
    return await asyncio.wait_for(anext(subscription), WAIT)


async def rest_of(subscription: Subscription) -> list[Deployment]:
    return [d async for d in subscription]


def get_items(tally: instrument.Tally) -> int:
    return sum(1 for call in tally.calls if call.startswith("GetItem"))


def newer(deployment: Deployment, status: DeploymentStatus, by: int = 1) -> Deployment:
    """The image a change feed would bring of `deployment` moved to `status`."""
    return deployment.model_copy(update={"status": status, "version": deployment.version + by})


async def move(
    store: Store, notices: DeploymentNotices, deployment: Deployment, status: DeploymentStatus
) -> Deployment:
    update = StatusUpdate.model_validate({"status": status, "appendLogs": [f"now {status.name}"]})
    return await change_status(store, notices, deployment.user_id, deployment.deployment_id, update)


async def test_subscribers_of_one_deployment_share_the_one_read_of_its_watcher(
    fed: Watchers, deployment: Deployment
) -> None:
    with instrument.track() as tally:
        subscriptions = [subscribe(fed, deployment) for _ in range(20)]
        firsts = [await next_of(subscription) for subscription in subscriptions]

    assert get_items(tally) == 1
    assert {first.version for first in firsts} == {deployment.version}
    assert fed.watched == 1
    assert fed.subscriptions == 20
    for subscription in subscriptions:
        subscription.close()


async def test_polling_subscribers_of_one_deployment_poll_once_between_them(
    polling: Watchers, store: Store, notices: DeploymentNotices, deployment: Deployment
) -> None:
    many = 40
    with instrument.track() as tally:
        subscriptions = [subscribe(polling, deployment, connection=n) for n in range(many)]
        for subscription in subscriptions:
            await next_of(subscription)
        with instrument.track():  # the move's own reads are not the watcher's
            moved = await move(store, notices, deployment, DeploymentStatus.DEPLOYING)
        seen = [await next_of(subscription) for subscription in subscriptions]
    reads = get_items(tally)

    assert {d.version for d in seen} == {moved.version}
    # One watcher's reads: the first, the one its notice woke, and its polls meanwhile (a
    # subscription each would make at least two reads each: 80).
    assert reads < many / 4, tally.calls
    for subscription in subscriptions:
        subscription.close()


async def test_every_subscriber_gets_each_version_once_in_order_and_completes_after_success(
    polling: Watchers, store: Store, notices: DeploymentNotices, deployment: Deployment
) -> None:
    early = subscribe(polling, deployment)
    await next_of(early)
    deploying = await move(store, notices, deployment, DeploymentStatus.DEPLOYING)
    assert (await next_of(early)).version == deploying.version
    late = subscribe(polling, deployment)  # joins with the latest state at once

    done = await move(store, notices, deploying, DeploymentStatus.SUCCESS)
    polling.changed(deploying)  # an older image, as a feed may bring: never delivered again
    polling.changed(done)  # the same version twice: delivered once
    early_rest = await asyncio.wait_for(rest_of(early), WAIT)
    late_all = await asyncio.wait_for(rest_of(late), WAIT)

    assert [d.status for d in early_rest] == [DeploymentStatus.SUCCESS]
    assert [d.status for d in late_all] == [DeploymentStatus.DEPLOYING, DeploymentStatus.SUCCESS]
    assert [d.version for d in late_all] == [deploying.version, done.version]
    early.close()
    late.close()
    assert not polling.is_watched(deployment.user_id, deployment.deployment_id)


async def test_the_watcher_stops_when_its_last_subscriber_leaves(
    polling: Watchers, deployment: Deployment
) -> None:
    first, second = subscribe(polling, deployment), subscribe(polling, deployment)
    await next_of(first)
    await next_of(second)
    (task,) = [
        t for t in asyncio.all_tasks() if t.get_name() == f"watch {deployment.deployment_id}"
    ]

    first.close()
    still = polling.is_watched(deployment.user_id, deployment.deployment_id)
    second.close()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT)

    assert still
    assert not polling.is_watched(deployment.user_id, deployment.deployment_id)
    assert polling.watched == 0
    assert polling.subscriptions == 0


async def test_changed_delivers_a_newer_image_without_reading(
    fed: Watchers, deployment: Deployment
) -> None:
    subscription = subscribe(fed, deployment)
    await next_of(subscription)

    with instrument.track() as tally:
        fed.changed(newer(deployment, DeploymentStatus.DEPLOYING))
        fed.changed(newer(deployment, DeploymentStatus.FAILED, by=2))
        delivered = await asyncio.wait_for(rest_of(subscription), WAIT)

    assert [d.status for d in delivered] == [DeploymentStatus.DEPLOYING, DeploymentStatus.FAILED]
    assert tally.calls == []
    subscription.close()


async def test_changed_of_a_deployment_nobody_watches_here_is_a_no_op(
    fed: Watchers, deployment: Deployment
) -> None:
    fed.changed(newer(deployment, DeploymentStatus.DEPLOYING))

    assert not fed.is_watched(deployment.user_id, deployment.deployment_id)
    assert fed.watched == 0


async def test_changed_reaches_only_the_owners_subscribers(
    fed: Watchers, deployment: Deployment
) -> None:
    subscription = subscribe(fed, deployment)
    await next_of(subscription)
    someone_else = deployment.model_copy(update={"user_id": f"other-{uuid.uuid4().hex[:8]}"})

    fed.changed(newer(someone_else, DeploymentStatus.SUCCESS))
    fed.changed(newer(deployment, DeploymentStatus.DEPLOYING, by=2))

    assert (await next_of(subscription)).status == DeploymentStatus.DEPLOYING
    subscription.close()


async def test_resync_rereads_each_watched_deployment_once_and_delivers_what_changed(
    fed: Watchers, store: Store, deployment: Deployment
) -> None:
    with instrument.track() as tally:  # the watcher's task counts in its first subscriber's
        subscription = subscribe(fed, deployment)
        await next_of(subscription)
        # A change the feed missed (these notices reach no watcher); its reads are its own.
        with instrument.track():
            moved = await move(store, DeploymentNotices(), deployment, DeploymentStatus.DEPLOYING)
        fed.resync()
        seen = await next_of(subscription)

    assert seen.version == moved.version
    assert get_items(tally) == 2  # its first read and the one of the resync
    subscription.close()


async def test_a_late_joiner_gets_the_latest_state_without_a_read(
    fed: Watchers, deployment: Deployment
) -> None:
    first = subscribe(fed, deployment)
    await next_of(first)

    with instrument.track() as tally:
        late = subscribe(fed, deployment)
        seen = await next_of(late)

    assert seen.version == deployment.version
    assert tally.calls == []
    first.close()
    late.close()


async def test_another_users_deployment_is_not_found(fed: Watchers, deployment: Deployment) -> None:
    snoop = fed.subscribe(
        f"snoop-{uuid.uuid4().hex[:8]}", deployment.deployment_id, connection=ONE_CONNECTION
    )

    with pytest.raises(NotFound, match=deployment.deployment_id):
        await next_of(snoop)
    snoop.close()
    with pytest.raises(NotFound):
        fed.subscribe(deployment.user_id, "not a key!", connection=ONE_CONNECTION)


async def test_past_the_connection_cap_subscribing_is_refused_and_a_freed_slot_is_reused(
    store: Store, deployment: Deployment
) -> None:
    watchers = Watchers(store, caps=SubscriptionCaps(per_connection=2), poll=False)
    held = [subscribe(watchers, deployment), subscribe(watchers, deployment)]

    with pytest.raises(QuotaExceeded) as refused:
        subscribe(watchers, deployment)
    elsewhere = subscribe(watchers, deployment, connection="another connection")
    held.pop().close()
    again = subscribe(watchers, deployment)

    assert refused.value.extensions == {
        "code": "QUOTA_EXCEEDED",
        "quota": "SUBSCRIPTIONS_PER_CONNECTION",
        "limit": 2,
    }
    assert "at most 2 subscriptions" in refused.value.message
    for subscription in (*held, elsewhere, again):
        subscription.close()


async def test_past_the_user_cap_subscribing_is_refused_on_any_connection(
    store: Store, deployment: Deployment
) -> None:
    watchers = Watchers(store, caps=SubscriptionCaps(per_user=2), poll=False)
    held = [subscribe(watchers, deployment, connection=n) for n in range(2)]

    with pytest.raises(QuotaExceeded) as refused:
        subscribe(watchers, deployment, connection=3)
    held.pop().close()
    again = subscribe(watchers, deployment, connection=3)

    assert refused.value.extensions["quota"] == "SUBSCRIPTIONS_PER_USER"
    assert refused.value.extensions["limit"] == 2
    for subscription in (*held, again):
        subscription.close()


async def test_past_the_instance_cap_subscribing_is_refused_as_unavailable(
    store: Store, deployment: Deployment
) -> None:
    watchers = Watchers(store, caps=SubscriptionCaps(per_instance=1), poll=False)
    held = subscribe(watchers, deployment)

    with pytest.raises(ServiceUnavailable) as refused:
        watchers.subscribe("someone-else", deployment.deployment_id, connection=2)
    held.close()
    again = subscribe(watchers, deployment)

    assert refused.value.code == "SERVICE_UNAVAILABLE"
    assert "at most 1 subscriptions" in refused.value.message
    assert "SUBSCRIPTIONS_PER_INSTANCE" in refused.value.message
    again.close()


async def test_a_subscriber_past_its_buffer_taking_nothing_is_dropped_and_the_others_get_all(
    store: Store, deployment: Deployment
) -> None:
    # Given a subscriber that never takes an event beside one that takes each as it comes
    watchers = Watchers(store, caps=SubscriptionCaps(buffer=3, stall_seconds=0.05), poll=False)
    dropped = asyncio.Event()
    slow = watchers.subscribe(
        deployment.user_id,
        deployment.deployment_id,
        connection="slow",
        on_drop=dropped.set,
    )
    reader = subscribe(watchers, deployment)
    await next_of(reader)
    images = [newer(deployment, DeploymentStatus.DEPLOYING, by=n) for n in range(1, 6)]

    # When more changes come than the buffer holds
    got = []
    for image in images:
        watchers.changed(image)
        got.append(await next_of(reader))

    # Then the idle one is dropped once it has taken nothing for `stall_seconds`, its events
    # let go; the other got every change
    await asyncio.wait_for(dropped.wait(), WAIT)
    with pytest.raises(SlowConsumer):
        await next_of(slow)
    assert [d.version for d in got] == [d.version for d in images]
    assert watchers.subscriptions == 1
    reader.close()
    slow.close()


async def test_a_burst_past_the_buffer_to_a_subscriber_that_keeps_taking_is_delivered_whole(
    store: Store, deployment: Deployment
) -> None:
    # Given a subscriber with a buffer of 3, whose stall check is due soon
    caps = SubscriptionCaps(buffer=3, stall_seconds=0.05)
    watchers = Watchers(store, caps=caps, poll=False)
    reader = subscribe(watchers, deployment)
    await next_of(reader)

    # When a feed hands over 9 changes at once (under BURST_FACTOR times the buffer), and the
    # subscriber takes them one by one, more slowly than the stall check looks
    images = [newer(deployment, DeploymentStatus.DEPLOYING, by=n) for n in range(1, 10)]
    for image in images:
        watchers.changed(image)
    got = []
    for _ in images:
        got.append(await next_of(reader))
        await asyncio.sleep(0.02)  # the subscriber's own pace, under `stall_seconds`

    # Then it gets them all, in order: taking events is not stalling
    assert [d.version for d in got] == [d.version for d in images]
    assert watchers.subscriptions == 1
    reader.close()


async def test_a_burst_of_burst_factor_times_the_buffer_drops_a_subscriber_at_once(
    store: Store, deployment: Deployment
) -> None:
    # Given a subscriber that took the first event
    caps = SubscriptionCaps(buffer=2, stall_seconds=3600)
    watchers = Watchers(store, caps=caps, poll=False)
    reader = subscribe(watchers, deployment)
    await next_of(reader)

    # When more changes come at once than BURST_FACTOR times its buffer
    for n in range(1, BURST_FACTOR * caps.buffer + 2):
        watchers.changed(newer(deployment, DeploymentStatus.DEPLOYING, by=n))

    # Then it is dropped at once, its memory bounded whatever its pace
    with pytest.raises(SlowConsumer):
        await next_of(reader)
    assert watchers.subscriptions == 0
    reader.close()
