"""Pydantic models: the single description of each stored item and each input's rules."""

from server.models.agent import (
    Agent,
    AgentConfig,
    AgentPatch,
    AgentType,
    ModelConfigInput,
    NewAgent,
)
from server.models.base import is_key, iso_time, new_id, now_iso, parse_input
from server.models.builtin_tool import BuiltinTool, BuiltinToolSpec
from server.models.bundle import BUNDLE_FORMAT, BUNDLE_VERSION, Bundle, BundleContents, read_bundle
from server.models.config import ModelSettings, StoredConfig
from server.models.deployment import (
    Deployment,
    DeploymentStatus,
    DeploymentSummary,
    StatusUpdate,
)
from server.models.env_var import EnvVar, EnvVarSpec, env_id
from server.models.main_config import (
    MainConfig,
    MainConfigSpec,
    OrchestratorConfig,
    main_config_id,
)
from server.models.project import NewProject, Project, ProjectPatch
from server.models.snapshot import Snapshot
from server.models.tool import NewTool, Tool, ToolConfig, ToolPatch, ToolType, name_reservation_id

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "Agent",
    "AgentConfig",
    "AgentPatch",
    "AgentType",
    "BuiltinTool",
    "BuiltinToolSpec",
    "Bundle",
    "BundleContents",
    "Deployment",
    "DeploymentStatus",
    "DeploymentSummary",
    "EnvVar",
    "EnvVarSpec",
    "MainConfig",
    "MainConfigSpec",
    "ModelConfigInput",
    "ModelSettings",
    "NewAgent",
    "NewProject",
    "NewTool",
    "OrchestratorConfig",
    "Project",
    "ProjectPatch",
    "Snapshot",
    "StatusUpdate",
    "StoredConfig",
    "Tool",
    "ToolConfig",
    "ToolPatch",
    "ToolType",
    "env_id",
    "is_key",
    "iso_time",
    "main_config_id",
    "name_reservation_id",
    "new_id",
    "now_iso",
    "parse_input",
    "read_bundle",
]
