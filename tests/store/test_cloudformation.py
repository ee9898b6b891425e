"""The tables' CloudFormation template: built from the tables' definitions, valid by
cfn-lint, and a stack of it on moto's CloudFormation makes the seed's seven tables.
(`tests/test_cli.py` checks that `deploy/tables.yaml` is the command's output.)"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
from cfnlint.api import ManualArgs, lint
from cfnlint.decode.decode import decode_str
from cfnlint.helpers import REGIONS
from moto import mock_aws

from server.settings import DEFAULT_TABLE_PREFIX, TABLE_PREFIX_PATTERN
from server.store.cloudformation import logical_id, template_yaml
from server.store.tables import TABLES
from tests.store.seed_tables import SEED_KEYS

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy" / "tables.yaml"


def generated() -> str:
    return template_yaml(prefix_default=DEFAULT_TABLE_PREFIX, prefix_pattern=TABLE_PREFIX_PATTERN)


def decoded(text: str) -> dict[str, Any]:
    """The template as CloudFormation reads it: short forms (`!Ref`) as their long ones."""
    template, errors = decode_str(text)
    assert not errors, errors
    assert template is not None
    return dict(template)


def test_cfn_lint_finds_nothing_in_the_template_in_any_region() -> None:
    # Every rule, the informational ones too, in every region; not the experimental ones
    # (I4010 asks every template for an LLM-oriented `Metadata` "Context" block).
    matches = lint(COMMITTED.read_text(), config=ManualArgs(include_checks=["I"], regions=REGIONS))

    assert [str(match) for match in matches] == []


def test_every_table_bills_on_demand_is_encrypted_recoverable_and_kept() -> None:
    resources = decoded(generated())["Resources"]

    assert sorted(resources) == sorted(logical_id(spec) for spec in TABLES)
    for name, resource in resources.items():
        properties = resource["Properties"]
        assert resource["Type"] == "AWS::DynamoDB::Table", name
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", name
        assert properties["BillingMode"] == "PAY_PER_REQUEST", name
        assert properties["SSESpecification"] == {"SSEEnabled": True}, name
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }, name
        assert properties["DeletionProtectionEnabled"] == {"Ref": "DeletionProtection"}, name
        if name == "DeploymentsTable":
            assert properties["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
        else:
            assert "StreamSpecification" not in properties, name


def test_the_parameters_are_the_prefix_setting_and_deletion_protection_on() -> None:
    parameters = decoded(generated())["Parameters"]

    assert parameters["TablePrefix"]["Default"] == "multi-agent-"
    assert parameters["TablePrefix"]["AllowedPattern"] == TABLE_PREFIX_PATTERN
    assert parameters["DeletionProtection"]["AllowedValues"] == ["true", "false"]
    assert parameters["DeletionProtection"]["Default"] == "true"


def test_a_stack_of_the_template_makes_the_seeds_seven_tables() -> None:
    prefix = f"stack-{uuid.uuid4().hex[:8]}-"
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")

        # When a stack is made of the committed template, with a prefix of its own
        cloudformation.create_stack(
            StackName="tables",
            TemplateBody=COMMITTED.read_text(),
            Parameters=[
                {"ParameterKey": "TablePrefix", "ParameterValue": prefix},
                {"ParameterKey": "DeletionProtection", "ParameterValue": "false"},
            ],
        )

        # Then it is complete, and the seven tables have the seed's names and keys
        stack = cloudformation.describe_stacks(StackName="tables")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert sorted(dynamodb.list_tables()["TableNames"]) == sorted(
            f"{prefix}{suffix}" for suffix in SEED_KEYS
        )
        for suffix, (partition, sort) in SEED_KEYS.items():
            table = dynamodb.describe_table(TableName=f"{prefix}{suffix}")["Table"]
            keys = {key["KeyType"]: key["AttributeName"] for key in table["KeySchema"]}
            assert keys == ({"HASH": partition} | ({"RANGE": sort} if sort else {})), suffix
            assert {a["AttributeType"] for a in table["AttributeDefinitions"]} == {"S"}, suffix
            assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST", suffix
        # And its outputs name each table and its ARN, exported under the stack's name
        outputs = {output["OutputKey"]: output for output in stack["Outputs"]}
        assert outputs["ProjectsTableName"]["OutputValue"] == f"{prefix}projects"
        assert outputs["ProjectsTableArn"]["OutputValue"].endswith(f":table/{prefix}projects")
        assert outputs["MainConfigTableArn"]["ExportName"] == "tables-MainConfigTableArn"
        # and the deployments stream's, for the change feed's IAM policy
        assert (
            ":table/" + f"{prefix}deployments/stream/"
            in (outputs["DeploymentsTableStreamArn"]["OutputValue"])
        )
        assert len(outputs) == 2 * len(SEED_KEYS) + 1
        deployments = dynamodb.describe_table(TableName=f"{prefix}deployments")["Table"]
        assert deployments["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
