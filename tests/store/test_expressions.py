"""Expressions build themselves: placeholders picked per request, parentheses by structure."""

from __future__ import annotations

import uuid

import pytest

from server.store import Store
from server.store.dynamo import ConditionFailed
from server.store.expressions import (
    Attr,
    Expression,
    Placeholders,
    Update,
    all_of,
    any_of,
    expression_params,
    if_not_exists,
    list_append,
)


def test_parts_built_apart_share_the_placeholders_of_their_request_without_clashing() -> None:
    # given a condition and an update built separately, both on `version`
    condition = Attr("version").eq(3)
    update = Update().set(Attr("version"), 4)

    # when both render into one request
    params = expression_params(ConditionExpression=condition, UpdateExpression=update)

    # then the name has one placeholder and each value its own
    assert params["ConditionExpression"] == "#n0 = :v0"
    assert params["UpdateExpression"] == "SET #n0 = :v1"
    assert params["ExpressionAttributeNames"] == {"#n0": "version"}
    assert params["ExpressionAttributeValues"] == {":v0": {"N": "3"}, ":v1": {"N": "4"}}


def test_a_condition_asks_for_the_item_as_it_was_and_other_parts_do_not() -> None:
    conditional = expression_params(ConditionExpression=Attr("projectId").exists())
    unconditional = expression_params(UpdateExpression=Update().remove(Attr("deleting")))

    assert conditional == {
        "ConditionExpression": "attribute_exists(#n0)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        "ExpressionAttributeNames": {"#n0": "projectId"},
    }
    assert "ReturnValuesOnConditionCheckFailure" not in unconditional


def test_nested_maps_and_list_indexes_render_as_paths_of_placeholders() -> None:
    entry = Attr("recentDeployments")[2]
    placeholders = Placeholders()

    text = entry["deploymentId"].eq("d1").render(placeholders)

    assert text == "#n0[2].#n1 = :v0"
    assert placeholders.names == {"#n0": "recentDeployments", "#n1": "deploymentId"}
    assert placeholders.values == {":v0": "d1"}


def test_a_disjunction_inside_a_conjunction_and_nothing_else_is_parenthesized() -> None:
    ids = Attr("deploymentIds")
    condition = (
        Attr("projectId").exists()
        & (ids.not_exists() | ids.eq(["d1"]))
        & Attr("agentIds").size().lt(3)
    )

    text = condition.render(Placeholders())

    assert text == (
        "attribute_exists(#n0) AND (attribute_not_exists(#n1) OR #n1 = :v0) AND size(#n2) < :v1"
    )


def test_a_conjunction_inside_a_disjunction_needs_no_parentheses() -> None:
    condition = Attr("a").not_exists() | (Attr("a").exists() & Attr("a").size().eq(0))

    assert condition.render(Placeholders()) == (
        "attribute_not_exists(#n0) OR attribute_exists(#n0) AND size(#n0) = :v0"
    )


def test_conjunctions_and_disjunctions_flatten_whatever_their_grouping() -> None:
    a, b, c = Attr("a").exists(), Attr("b").exists(), Attr("c").exists()

    assert all_of(a, b & c) == (a & b) & c == all_of(a, b, c)
    assert any_of(a | b, c) == a | (b | c)
    assert all_of(a) == a
    with pytest.raises(ValueError, match="no condition"):
        all_of()


def test_comparisons_and_membership_render_their_operators() -> None:
    status = Attr("status")
    conditions = [
        status.ne("x"),
        status.le(1),
        status.ge(2),
        status.gt(3),
        status.is_in("SUCCESS", "FAILED"),
    ]

    texts = [condition.render(Placeholders()) for condition in conditions]

    assert texts == [
        "#n0 <> :v0",
        "#n0 <= :v0",
        "#n0 >= :v0",
        "#n0 > :v0",
        "#n0 IN (:v0, :v1)",
    ]


def test_an_update_writes_its_clauses_in_dynamodbs_order_with_its_functions() -> None:
    ids, version = Attr("agentIds"), Attr("version")
    update = (
        Update()
        .add(Attr("agents"), 1)
        .remove(Attr("toolIds")[3])
        .set(ids, list_append(if_not_exists(ids, []), ["a1"]))
        .set(version, if_not_exists(version, 1) + 1)
        .delete(Attr("usedBy"), {"a1"})
    )
    placeholders = Placeholders()

    text = update.render(placeholders)

    assert text == (
        "SET #n0 = list_append(if_not_exists(#n0, :v0), :v1), #n1 = if_not_exists(#n1, :v2)"
        " + :v3 REMOVE #n2[3] ADD #n3 :v4 DELETE #n4 :v5"
    )
    assert placeholders.values == {
        ":v0": [],
        ":v1": ["a1"],
        ":v2": 1,
        ":v3": 1,
        ":v4": 1,
        ":v5": {"a1"},
    }


def test_an_update_with_no_action_is_refused() -> None:
    with pytest.raises(ValueError, match="no action"):
        Update().render(Placeholders())


def test_a_hand_written_expression_keeps_its_placeholders_and_built_ones_avoid_them() -> None:
    written = Expression("#n0 = :v0", {"#n0": "name"}, {":v0": "kept"})

    params = expression_params(
        ConditionExpression=written, UpdateExpression=Update().set(Attr("status"), "new")
    )

    assert params["ConditionExpression"] == "#n0 = :v0"
    assert params["UpdateExpression"] == "SET #n1 = :v1"
    assert params["ExpressionAttributeNames"] == {"#n0": "name", "#n1": "status"}


def test_hand_written_placeholders_that_mean_two_things_are_refused() -> None:
    placeholders = Placeholders()
    Expression("#v = :v", {"#v": "version"}, {":v": 1}).render(placeholders)

    with pytest.raises(ValueError, match="#v names both"):
        Expression("#v = :w", {"#v": "value"}, {":w": 1}).render(placeholders)
    with pytest.raises(ValueError, match=":v stands for two values"):
        Expression("#v = :v", {"#v": "version"}, {":v": 2}).render(placeholders)


async def test_built_expressions_reach_into_lists_and_maps_on_the_wire(store: Store) -> None:
    # given a project item with a summary list of two entries
    key = {"userId": f"paths-{uuid.uuid4().hex}", "projectId": "p1"}
    recent = [
        {"deploymentId": "d1", "status": "PENDING"},
        {"deploymentId": "d2", "status": "PENDING"},
    ]
    await store.dynamo.put_item(store.tables.projects, {**key, "recentDeployments": recent})
    entry, ids, version = Attr("recentDeployments")[1], Attr("deploymentIds"), Attr("version")

    # when the second entry is rewritten on condition that it still names its deployment
    updated = await store.dynamo.update_item(
        store.tables.projects,
        key,
        Update()
        .set(entry, {"deploymentId": "d2", "status": "SUCCESS"})
        .set(ids, list_append(if_not_exists(ids, []), ["d2"]))
        .set(version, if_not_exists(version, 1) + 1),
        condition=entry["deploymentId"].eq("d2") & (ids.not_exists() | ids.size().eq(0)),
    )

    # then only that entry changed, and a condition naming another deployment there fails
    assert updated == {
        **key,
        "recentDeployments": [recent[0], {"deploymentId": "d2", "status": "SUCCESS"}],
        "deploymentIds": ["d2"],
        "version": 2,
    }
    with pytest.raises(ConditionFailed) as failure:
        await store.dynamo.update_item(
            store.tables.projects,
            key,
            Update().remove(entry),
            condition=entry["deploymentId"].eq("d1"),
        )
    assert failure.value.item == updated
