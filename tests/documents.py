"""GraphQL documents that more than one test module, or a test and a benchmark, send.

One document per operation. A mutation takes its input whole (`$input`, and `$projectId` for a
project's child), so each test says in its variables what it writes; it selects the ids and
the few fields its callers check, all read from the item written. The `*_FIELDS` are
selections: every field a type holds itself (none that leads to another item), for tests that
read an item whole, and what the Dashboard shows of a project. A document that one module
alone sends, most often because its selection is what that module tests, stays there.
"""

from __future__ import annotations

__all__ = [
    "AGENT_FIELDS",
    "ALIASED_USED_BY_ATTACK",
    "CANCEL_DEPLOYMENT",
    "CREATE_AGENT",
    "CREATE_DEPLOYMENT",
    "CREATE_PROJECT",
    "CREATE_TOOL",
    "DASHBOARD",
    "DASHBOARD_PROJECT_FIELDS",
    "DELETE_AGENT",
    "DELETE_ENV_VAR",
    "DELETE_PROJECT",
    "DELETE_TOOL",
    "DEPLOYMENT_FIELDS",
    "ENV_VAR_FIELDS",
    "EXPORT_PROJECT",
    "IMPORT_PROJECT",
    "MAIN_CONFIG_FIELDS",
    "OVERVIEW",
    "PROJECT_FIELDS",
    "REDEPLOY",
    "SET_BUILTIN_TOOL_ACTIVE",
    "SET_ENV_VAR",
    "SET_MAIN_CONFIG",
    "TOOL_FIELDS",
    "UPDATE_AGENT",
    "UPDATE_DEPLOYMENT_STATUS",
    "UPDATE_PROJECT",
    "UPDATE_TOOL",
    "UPSERT_BUILTIN_TOOL",
    "USED_BY_ATTACK",
    "VIEWER",
]

# -- every scalar field of a type ------------------------------------------------------------

PROJECT_FIELDS = """
    id name description agentIds toolIds envIds deploymentIds version createdAt updatedAt
"""
AGENT_FIELDS = """
    id projectId name description type systemPrompt toolNames builtinToolNames
    model { region modelId } config version createdAt updatedAt
"""
TOOL_FIELDS = """
    id projectId name description type inputSchema code config version createdAt updatedAt
"""
MAIN_CONFIG_FIELDS = """
    id projectId name description systemPrompt model { region modelId } config version
    createdAt updatedAt
"""
ENV_VAR_FIELDS = "id projectId key value secret createdAt updatedAt"
DEPLOYMENT_FIELDS = "id projectId status config error logs createdAt updatedAt"

# -- identity --------------------------------------------------------------------------------

VIEWER = "{ viewer { userId isAdmin } }"

# -- projects --------------------------------------------------------------------------------

CREATE_PROJECT = """
mutation CreateProject($input: CreateProjectInput!) { createProject(input: $input) { id } }
"""
UPDATE_PROJECT = """
mutation UpdateProject($id: ID!, $input: UpdateProjectInput!) {
  updateProject(id: $id, input: $input) { id name }
}
"""
DELETE_PROJECT = "mutation DeleteProject($id: ID!) { deleteProject(id: $id) }"

# -- a project's children --------------------------------------------------------------------

CREATE_AGENT = """
mutation CreateAgent($projectId: ID!, $input: AgentInput!) {
  createAgent(projectId: $projectId, input: $input) { id projectId name }
}
"""
UPDATE_AGENT = """
mutation UpdateAgent($id: ID!, $input: UpdateAgentInput!) {
  updateAgent(id: $id, input: $input) { id toolNames }
}
"""
DELETE_AGENT = "mutation DeleteAgent($id: ID!) { deleteAgent(id: $id) }"
CREATE_TOOL = """
mutation CreateTool($projectId: ID!, $input: ToolInput!) {
  createTool(projectId: $projectId, input: $input) { id name }
}
"""
UPDATE_TOOL = """
mutation UpdateTool($id: ID!, $input: UpdateToolInput!) {
  updateTool(id: $id, input: $input) { id }
}
"""
DELETE_TOOL = "mutation DeleteTool($id: ID!) { deleteTool(id: $id) }"
SET_MAIN_CONFIG = """
mutation SetMainConfig($projectId: ID!, $input: MainAgentConfigInput!) {
  setMainConfig(projectId: $projectId, input: $input) { id version }
}
"""
SET_ENV_VAR = """
mutation SetEnvVar($projectId: ID!, $input: EnvVarInput!) {
  setEnvVar(projectId: $projectId, input: $input) { id }
}
"""
DELETE_ENV_VAR = """
mutation DeleteEnvVar($projectId: ID!, $key: String!) {
  deleteEnvVar(projectId: $projectId, key: $key)
}
"""

# -- deployments -----------------------------------------------------------------------------

CREATE_DEPLOYMENT = """
mutation CreateDeployment($projectId: ID!) { createDeployment(projectId: $projectId) { id status } }
"""
CANCEL_DEPLOYMENT = """
mutation CancelDeployment($id: ID!) { cancelDeployment(id: $id) { id status } }
"""
REDEPLOY = "mutation Redeploy($id: ID!) { redeploy(deploymentId: $id) { id status } }"
# An admin (or a pipeline) moving a deployment; variables left out are arguments left out.
UPDATE_DEPLOYMENT_STATUS = """
mutation UpdateDeploymentStatus(
  $userId: ID!, $id: ID!, $status: DeploymentStatus!, $error: String, $appendLogs: [String!],
  $leaseSeconds: Int
) {
  updateDeploymentStatus(
    userId: $userId, id: $id, status: $status, error: $error, appendLogs: $appendLogs,
    leaseSeconds: $leaseSeconds
  ) { id status logs }
}
"""

# -- built-in tools --------------------------------------------------------------------------

UPSERT_BUILTIN_TOOL = """
mutation UpsertBuiltinTool($input: BuiltinToolInput!) {
  upsertBuiltinTool(input: $input) { name isActive }
}
"""
SET_BUILTIN_TOOL_ACTIVE = """
mutation SetBuiltinToolActive($name: String!, $isActive: Boolean!) {
  setBuiltinToolActive(name: $name, isActive: $isActive) { name isActive }
}
"""

# -- reads the README shows and the benchmarks time ------------------------------------------

# What the Dashboard shows of each project (bench/dashboard.py reads one project the same way).
DASHBOARD_PROJECT_FIELDS = """
    id name description updatedAt
    agents { id name model { modelId } tools { id name } builtinTools { name category } }
    tools { id name type }
    mainConfig { name model { modelId } }
    envVars { key value secret }
    deployments(limit: 5) { id status createdAt }
    latestDeployment { id status }
"""
DASHBOARD = f"""
query Dashboard {{ viewer {{ userId }} projects {{ {DASHBOARD_PROJECT_FIELDS} }} }}
"""
OVERVIEW = """
query Overview($projectId: ID!) {
  project(id: $projectId) {
    name agentIds toolIds envIds deploymentIds
    agents { name model { modelId } tools { name } builtinTools { name } }
    tools { name type usedBy { name } }
    mainConfig { id name }
    envVars { key value secret }
    latestDeployment { id status }
  }
}
"""
# The costliest nesting a query may ask for, every agent's tools' users' tools; and the widest,
# 30 aliases (the most allowed) of every agent's tools' users.
USED_BY_ATTACK = (
    "query($p: ID!) { project(id: $p) { agents { tools { usedBy { tools { id } } } } } }"
)
ALIASED_USED_BY_ATTACK = (
    "query($p: ID!) { "
    + " ".join(
        f"a{n}: project(id: $p) {{ agents {{ tools {{ usedBy {{ id }} }} }} }}" for n in range(30)
    )
    + " }"
)

# -- import and export -----------------------------------------------------------------------

EXPORT_PROJECT = "query Export($id: ID!) { exportProject(id: $id) }"
IMPORT_PROJECT = """
mutation Import($bundle: JSON!, $name: String) {
  importProject(bundle: $bundle, name: $name) { id name envVars { key needsValue } }
}
"""
