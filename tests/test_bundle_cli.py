"""The command line's bundles: export-project, import-project, seed-demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from server.demo import demo_bundle
from server.settings import Settings
from server.store import Store
from tests.servers import ROOT, serving


def run(
    settings: Settings, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m server ARGS` on the tests' DynamoDB (the moto server) and tables."""
    assert settings.dynamodb_endpoint_url is not None
    env = {
        **os.environ,
        "STORE": "dynamodb",
        "DYNAMODB_ENDPOINT_URL": settings.dynamodb_endpoint_url,
        "TABLE_PREFIX": settings.table_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "server", "--log-level", "warning", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def secrets_left_out(bundle: dict[str, Any]) -> dict[str, Any]:
    for variable in bundle["envVars"]:
        if variable["secret"]:
            variable["value"] = None
    bundle.pop("exportedAt")
    return bundle


def imported_id(stdout: str) -> str:
    first = stdout.splitlines()[0]
    assert first.startswith("imported project "), stdout
    return first.split()[2]


def test_import_project_then_export_project_round_trip_through_files_and_stdin(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    user = f"user-{uuid.uuid4().hex[:12]}"
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(demo_bundle()))

    # Given the demo imported from a file, and exported
    imported = run(settings, "import-project", user, str(path))
    assert imported.returncode == 0, imported.stderr
    exported = run(settings, "export-project", user, imported_id(imported.stdout))
    assert exported.returncode == 0, exported.stderr
    bundle = json.loads(exported.stdout)
    assert secrets_left_out(dict(bundle)) == secrets_left_out(demo_bundle())

    # When that export is imported by another user from stdin, under another name
    other = f"user-{uuid.uuid4().hex[:12]}"
    again = run(settings, "import-project", other, "-", "--name", "Copy", stdin=exported.stdout)

    # Then it says which secret needs a value, and exports as the same bundle
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1] == "needs a value (set it with setEnvVar): ORDERS_API_KEY"
    copy = json.loads(run(settings, "export-project", other, imported_id(again.stdout)).stdout)
    assert copy["project"]["name"] == "Copy"
    copy["project"]["name"] = bundle["project"]["name"]
    assert secrets_left_out(copy) == secrets_left_out(bundle)


def test_a_refused_import_is_one_line_and_exit_status_1(settings: Settings, tmp_path: Path) -> None:
    user = f"user-{uuid.uuid4().hex[:12]}"
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(demo_bundle()))
    assert run(settings, "import-project", user, str(path)).returncode == 0

    clash = run(settings, "import-project", user, str(path))
    not_json = run(settings, "import-project", user, "-", stdin="{nope")
    missing = run(settings, "export-project", user, "01J0000000000000000000NONE")

    for refused in (clash, not_json, missing):
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1
        assert refused.stderr.startswith("error: ")
        assert "Traceback" not in refused.stderr
    assert "'lookup_order'" in clash.stderr
    assert "- is not JSON" in not_json.stderr
    assert "does not exist" in missing.stderr


async def test_seed_demo_fills_a_user_with_a_deployed_project_and_refuses_a_second_run(
    settings: Settings, store: Store
) -> None:
    user = f"user-{uuid.uuid4().hex[:12]}"

    seeded = run(settings, "seed-demo", user)
    again = run(settings, "seed-demo", user)

    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith(f"seeded {user}: project ")
    (project,) = await store.projects.list_for_user(user)
    assert project.name == "Customer support (demo)"
    assert len(project.agent_ids) == 3
    assert len(project.tool_ids) == 4
    assert len(project.deployment_ids) == 1
    deployment = await store.deployments.get(user, project.deployment_ids[0], consistent=True)
    assert deployment is not None
    assert deployment.status.value == "pending"
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1
    assert f"error: {user} has the demo already" in again.stderr


def test_seed_demo_seeds_a_running_embedded_server_through_its_api() -> None:
    user = f"user-{uuid.uuid4().hex[:12]}"
    with serving() as (base, _process):
        seeded = subprocess.run(
            [sys.executable, "-m", "server", "seed-demo", user, "--url", f"{base}/graphql"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        again = subprocess.run(
            [sys.executable, "-m", "server", "seed-demo", user, "--url", f"{base}/graphql"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        answer = httpx.post(
            f"{base}/graphql",
            json={"query": "{ projects { name agents { name } deployments { id } } }"},
            headers={"X-Dev-User": user},
        ).json()

    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith(f"seeded {user}: project ")
    (project,) = answer["data"]["projects"]
    assert project["name"] == "Customer support (demo)"
    assert len(project["agents"]) == 3
    assert len(project["deployments"]) == 1
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1
    assert f"{user} has the demo already" in again.stderr


def test_seed_demo_without_a_server_says_how_to_start_one() -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "server", "seed-demo", "--url", "http://127.0.0.1:9/graphql"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )

    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "no server answers at http://127.0.0.1:9/graphql" in refused.stderr
    assert "make run" in refused.stderr
