"""Transaction items say what their failed conditions mean; the first failed item's error wins.

`server/store/transactions.py` builds the items, `Dynamo.transact` raises the error of the
first item (in the transaction's order) whose condition failed. The stores list their items in
the order their errors take precedence; the last tests here pin that order where two items of
one transaction fail at once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from server.errors import Conflict, NotFound, ProjectBusy
from server.models import now_iso
from server.store import LostRace, Store
from server.store.codec import Item
from server.store.expressions import Attr, Condition, Update
from server.store.transactions import (
    TransactionCancelled,
    TransactItem,
    check,
    delete,
    gone_or_lost,
    put,
    update,
)
from tests.conftest import GraphQLClient
from tests.documents import CREATE_TOOL, SET_ENV_VAR, SET_MAIN_CONFIG
from tests.schema.test_deployment import CANCEL, MODEL, deploy, new_project


def env_key(user_id: str, name: str) -> dict[str, str]:
    return {"userId": user_id, "envId": name}


def exists() -> Condition:
    return Attr("envId").exists()


async def test_a_failed_item_raises_the_error_it_declares(store: Store, user_id: str) -> None:
    gone = NotFound("thing", "absent")

    with pytest.raises(NotFound) as raised:
        await store.dynamo.transact(
            [check(store.tables.environment, env_key(user_id, "absent"), exists(), otherwise=gone)]
        )

    assert raised.value is gone


async def test_a_refusal_is_told_the_item_as_it_was_or_none_where_there_was_none(
    store: Store, user_id: str
) -> None:
    # given an item at version 3
    table = store.tables.environment
    present = {**env_key(user_id, "present"), "version": 3}
    await store.dynamo.put_item(table, present)
    seen: list[Item | None] = []

    def refusal(item: Item | None) -> Exception:
        seen.append(item)
        return Conflict("refused")

    # when an update expecting version 2, and a delete of a missing item, fail
    with pytest.raises(Conflict):
        await store.dynamo.transact(
            [
                update(
                    table,
                    env_key(user_id, "present"),
                    Update().set(Attr("value"), "changed"),
                    condition=Attr("version").eq(2),
                    otherwise=refusal,
                )
            ]
        )
    with pytest.raises(Conflict):
        await store.dynamo.transact(
            [delete(table, env_key(user_id, "absent"), condition=exists(), otherwise=refusal)]
        )

    # then each refusal was given the item as it was
    assert seen == [present, None]


@pytest.mark.parametrize("order", ["first, second", "second, first"])
async def test_of_two_failed_items_the_first_in_the_transaction_decides_and_nothing_is_written(
    store: Store, user_id: str, order: str
) -> None:
    # given a put that would succeed and two checks that fail, each with its own error
    table = store.tables.environment
    errors = {name: NotFound("thing", name) for name in ("first", "second")}
    checks = {
        name: check(table, env_key(user_id, name), exists(), otherwise=error)
        for name, error in errors.items()
    }
    names = order.split(", ")

    # when they run in one transaction in the given order
    with pytest.raises(NotFound) as raised:
        await store.dynamo.transact(
            [put(table, env_key(user_id, "written")), *(checks[name] for name in names)]
        )

    # then the error is the first failed item's, and the put did not happen
    assert raised.value is errors[names[0]]
    assert await store.dynamo.get_item(table, env_key(user_id, "written"), consistent=True) is None


async def test_an_item_that_declares_no_error_cancels_the_transaction_naming_the_failed_items(
    store: Store, user_id: str
) -> None:
    table = store.tables.environment
    await store.dynamo.put_item(table, env_key(user_id, "present"))

    with pytest.raises(TransactionCancelled) as cancelled:
        await store.dynamo.transact(
            [
                check(table, env_key(user_id, "present"), exists(), otherwise=LostRace()),
                check(table, env_key(user_id, "absent"), exists()),
                check(table, env_key(user_id, "other"), exists(), otherwise=LostRace()),
            ]
        )

    assert cancelled.value.failed == {1: None, 2: None}


async def test_gone_or_lost_tells_a_missing_item_from_one_changed_since_it_was_read(
    store: Store, user_id: str
) -> None:
    table = store.tables.environment
    await store.dynamo.put_item(table, {**env_key(user_id, "changed"), "version": 2})

    def at_first_version(name: str) -> TransactItem:
        return check(
            table,
            env_key(user_id, name),
            Attr("version").eq(1),
            otherwise=gone_or_lost(NotFound("thing", name)),
        )

    with pytest.raises(LostRace):
        await store.dynamo.transact([at_first_version("changed")])
    with pytest.raises(NotFound, match="'absent'"):
        await store.dynamo.transact([at_first_version("absent")])


async def test_replacing_a_gone_variable_of_a_project_being_deleted_is_the_project_not_found(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a variable read, then its project marked for deletion and the variable deleted
    project_id = await new_project(client)
    await client.data(SET_ENV_VAR, {"projectId": project_id, "input": {"key": "K", "value": "v"}})
    variable = await store.env_vars.get(user_id, f"project-{project_id}-K", consistent=True)
    assert variable is not None
    await store.projects.mark_deleting(user_id, project_id, now=now_iso())
    await store.dynamo.delete_item(store.tables.environment, env_key(user_id, variable.env_id))

    # when its new value is written: both the project's check and the variable's update fail
    with pytest.raises(NotFound) as raised:
        await store.env_vars.replace(variable.model_copy(update={"value": "new"}))

    # then the project's error wins over the variable's lost race
    assert str(raised.value) == f"project {project_id!r} does not exist"


async def test_replacing_a_gone_main_config_of_a_project_being_deleted_is_the_project_not_found(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    project_id = await new_project(client)
    spec = {"name": "Main", "systemPrompt": "Route.", "model": MODEL}
    await client.data(SET_MAIN_CONFIG, {"projectId": project_id, "input": spec})
    old = await store.main_configs.get(user_id, f"project-{project_id}", consistent=True)
    assert old is not None
    await store.projects.mark_deleting(user_id, project_id, now=now_iso())
    await store.dynamo.delete_item(
        store.tables.main_config, {"userId": user_id, "configId": old.config_id}
    )

    with pytest.raises(NotFound) as raised:
        await store.main_configs.replace(old, old.model_copy(update={"version": old.version + 1}))

    assert str(raised.value) == f"project {project_id!r} does not exist"


async def test_a_tool_whose_id_name_and_project_are_all_refused_is_refused_for_its_name(
    client: GraphQLClient, store: Store, user_id: str
) -> None:
    # given a tool in one project, and another project being deleted
    first, second = await new_project(client), await new_project(client)
    spec = {"name": "lookup", "type": "FRONTEND_ACTION", "inputSchema": {"type": "object"}}
    tool_id = (await client.data(CREATE_TOOL, {"projectId": first, "input": spec}))["createTool"][
        "id"
    ]
    tool = await store.tools.get(user_id, tool_id, consistent=True)
    assert tool is not None
    await store.projects.mark_deleting(user_id, second, now=now_iso())

    # when the same tool (its id and name taken) is created in the second project
    with pytest.raises(Conflict) as raised:
        await store.tools.create(tool.model_copy(update={"project_id": second}))

    # then the name's error wins over the project's and the id's
    assert str(raised.value) == "a tool named 'lookup' already exists"


async def test_a_create_refused_by_the_held_slot_and_an_active_pruned_deployment_names_the_slot(
    client: GraphQLClient, store: Store, user_id: str, lower_quotas: Callable[..., None]
) -> None:
    # given a project at its retention bound of 2, whose slot the newest deployment holds
    # while the oldest, to be pruned by the next create, is active too (written elsewhere)
    lower_quotas(DEPLOYMENTS_PER_PROJECT=2)
    project_id = await new_project(client)
    oldest = (await deploy(client, project_id))["id"]
    await client.data(CANCEL, {"id": oldest})
    holder = (await deploy(client, project_id))["id"]
    await store.dynamo.update_item(
        store.tables.deployments,
        {"userId": user_id, "deploymentId": oldest},
        Update().set(Attr("status"), "pending"),
    )
    project = await store.projects.get(user_id, project_id, consistent=True)
    deployment = await store.deployments.get(user_id, holder, consistent=True)
    assert project is not None
    assert deployment is not None

    # when another deployment is created: the claim and the prune both fail
    with pytest.raises(ProjectBusy) as raised:
        await store.deployments.create(
            deployment.model_copy(update={"deployment_id": f"{holder}-next"}), project
        )

    # then the project's error wins: it names the deployment holding the slot
    assert raised.value.deployment_id == holder
