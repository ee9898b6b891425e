"""The example stack (`deploy/app.yaml`): it lints, its role allows exactly what the store
does on exactly the seven tables, and its function is configured as the server reads it."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name
from botocore.session import get_session
from cfnlint.decode import cfn_yaml

from server.lambda_handler import handler
from server.settings import load_settings
from server.store.tables import TABLES

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "deploy" / "app.yaml"
STORE = ROOT / "server" / "store"
# Table management, which `create-tables` runs with an operator's credentials (and the
# embedded DynamoDB); the server never calls it on STORE=dynamodb, so its role needs none of it.
NOT_SERVING = frozenset({"tables.py", "embedded.py", "embedded_server.py"})
# What the client has beside the operations: botocore's plumbing (`meta`, and private parts such
# as the `_endpoint` whose parser `server/store/wire.py` replaces).
PLUMBING = frozenset({"meta"})
# A TransactWriteItems is authorized item by item, each by the action its kind performs.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
TABLE_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
# The module that reads the Deployments table's stream (the change feed).
STREAMS = "streams.py"


def template() -> Any:
    return cfn_yaml.load(str(APP))


def dynamodb_statements() -> dict[str, Any]:
    """The role's statements on DynamoDB, by their Sid: the tables' and the stream's."""
    role = template()["Resources"]["FunctionRole"]["Properties"]
    statements = {
        statement["Sid"]: statement
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if any(action.startswith("dynamodb:") for action in statement["Action"])
    }
    assert sorted(statements) == ["TheChangeFeed", "TheStoreOperations"], statements
    return statements


def store_statement() -> Any:
    return dynamodb_statements()["TheStoreOperations"]


def stream_statement() -> Any:
    return dynamodb_statements()["TheChangeFeed"]


def stream_operations() -> set[str]:
    """The DynamoDB Streams operations `server/store/streams.py` calls (its `self._client`)."""
    operations = {
        xform_name(name): name
        for name in get_session().get_service_model("dynamodbstreams").operation_names
    }
    used = set()
    for name in client_attributes(STORE / STREAMS, clients=("_client",)) - PLUMBING:
        assert name in operations, f"{STREAMS} uses _client.{name}, not a streams operation"
        used.add(operations[name])
    return used


def client_attributes(module: Path, clients: tuple[str, ...] = ("client", "_client")) -> set[str]:
    """What a module takes from the DynamoDB client: `client.<name>`, `self._client.<name>`."""
    names = set()
    for node in ast.walk(ast.parse(module.read_text(), str(module))):
        if isinstance(node, ast.Attribute) and (
            (isinstance(node.value, ast.Name) and node.value.id in clients)
            or (isinstance(node.value, ast.Attribute) and node.value.attr in clients)
        ):
            names.add(node.attr)
    return names


def transaction_item_kinds() -> set[str]:
    """The kinds of item the store's transactions hold: `_item("Put", ...)` and the like."""
    module = STORE / "transactions.py"
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_item"
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def serving_operations() -> set[str]:
    """The DynamoDB API operations the store calls while serving, by their API names."""
    operations = {xform_name(name): name for name in dynamodb_operation_names()}
    used = set()
    for module in sorted(STORE.glob("*.py")):
        if module.name in NOT_SERVING:
            continue
        # streams.py's `_client` is the DynamoDB Streams client; its DynamoDB one `_dynamodb`.
        clients = ("_dynamodb",) if module.name == STREAMS else ("client", "_client")
        for name in client_attributes(module, clients) - PLUMBING:
            if name.startswith("_"):
                continue
            assert name in operations, f"{module.name} uses client.{name}, not an operation"
            used.add(operations[name])
    return used


def dynamodb_operation_names() -> list[str]:
    names: list[str] = get_session().get_service_model("dynamodb").operation_names
    return names


def iam_actions(operations: set[str]) -> set[str]:
    actions = set()
    for operation in operations:
        if operation == "TransactWriteItems":
            actions |= {TRANSACTION_ITEM_ACTIONS[kind] for kind in transaction_item_kinds()}
        else:
            assert not operation.startswith("Transact"), f"map {operation} to its item actions"
            actions.add(operation)
    return {f"dynamodb:{action}" for action in actions}


def test_cfn_lint_passes_on_the_example_stack() -> None:
    linted = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(APP)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert (linted.returncode, linted.stdout, linted.stderr) == (0, "", "")


def test_the_role_allows_exactly_the_dynamodb_operations_the_store_calls() -> None:
    # Given what server/store/ calls on its client while serving
    needed = iam_actions(serving_operations())

    # Then the role allows exactly those actions, no more, no fewer
    allowed = store_statement()["Action"]
    assert set(allowed) == needed
    assert len(allowed) == len(needed)  # each once


def test_the_role_allows_exactly_the_change_feeds_reads_on_the_deployments_stream() -> None:
    # Given what server/store/streams.py calls on its DynamoDB Streams client
    needed = {f"dynamodb:{operation}" for operation in stream_operations()}

    # Then the change feed's statement allows exactly those, on the deployments table's
    # streams only (IAM names the stream actions dynamodb:*, on the stream's ARN)
    statement = stream_statement()
    assert needed == {"dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"}
    assert sorted(statement["Action"]) == sorted(needed)
    assert [resource["Fn::Sub"] for resource in statement["Resource"]] == [
        f"{TABLE_ARN}${{TablePrefix}}deployments/stream/*"
    ]


def test_the_scan_finds_the_operations_of_each_kind_of_call() -> None:
    # The scan reads direct calls, methods passed to the retrying wrapper, and readiness
    operations = serving_operations()

    assert {"GetItem", "TransactWriteItems", "BatchWriteItem", "DescribeTable"} <= operations
    assert "CreateTable" not in operations  # create-tables is the operator's
    assert transaction_item_kinds() == set(TRANSACTION_ITEM_ACTIONS)


def test_the_role_is_on_the_seven_tables_named_by_the_prefix_parameter() -> None:
    resources = {resource["Fn::Sub"] for resource in store_statement()["Resource"]}

    assert resources == {f"{TABLE_ARN}${{TablePrefix}}{spec.suffix}" for spec in TABLES}


def test_the_function_runs_the_lambda_handler() -> None:
    function = template()["Resources"]["Function"]["Properties"]
    module, _, name = function["Handler"].rpartition(".")

    assert getattr(importlib.import_module(module), name) is handler


@pytest.mark.parametrize("cors", ["", "https://app.example.com"], ids=["no origin", "origin"])
def test_the_function_environment_is_valid_settings_in_cognito_mode(cors: str) -> None:
    # Given the function's environment, with the values CloudFormation would put in it
    values = {
        "TablePrefix": "multi-agent-",
        "AWS::Region": "eu-west-1",
        "UserPool": "eu-west-1_AbCdEf123",
        "UserPoolClient": "4k3l2j1h0g9f8e7d6c5b4a3z2y",
        "AdminGroup": "admin",
        "CorsOrigins": cors,
    }
    variables = template()["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    environment = {
        name: values[value["Ref"]] if isinstance(value, dict) else value
        for name, value in variables.items()
    }

    # When the server reads it
    settings = load_settings(**{name.lower(): value for name, value in environment.items()})

    # Then every variable is one of the settings, and they make a cognito-mode server
    assert set(environment) <= {name.upper() for name in type(settings).model_fields}
    assert (settings.store, settings.auth_mode) == ("dynamodb", "cognito")
    assert settings.cognito_client_ids == ("4k3l2j1h0g9f8e7d6c5b4a3z2y",)
    assert settings.table_prefix == "multi-agent-"


# -- the container image ---------------------------------------------------------------------

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [
        (keyword.upper(), rest.strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
        for keyword, _, rest in [line.strip().partition(" ")]
    ]


def test_hadolint_passes_on_the_dockerfile() -> None:
    linted = subprocess.run(
        [str(Path(sys.executable).parent / "hadolint"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert (linted.returncode, linted.stdout, linted.stderr) == (0, "", "")


def test_the_image_serves_on_all_interfaces_in_cognito_mode_as_a_user_with_a_health_check() -> None:
    steps = instructions()
    stages = [rest for keyword, rest in steps if keyword == "FROM"]
    final = steps[max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM") :]

    assert len(stages) == 2  # a build stage, and the image that runs
    assert [rest for keyword, rest in final if keyword == "USER"] == ["10001"]
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert "STORE=dynamodb" in env
    assert "AUTH_MODE=cognito" in env
    [command] = [rest for keyword, rest in final if keyword == "CMD"]
    assert "python -m server serve --host 0.0.0.0" in command
    [health] = [rest for keyword, rest in final if keyword == "HEALTHCHECK"]
    assert "/healthz" in health
