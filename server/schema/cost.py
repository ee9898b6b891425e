"""What an operation costs: the fields it can resolve, estimated before it runs, counted as it runs.

Every selected field counts once for each object it is resolved on, times its weight
(`FIELD_WEIGHTS`: 1 unless it costs more than a field). A list field multiplies what it
selects by the most items it can hold (`LIST_BOUNDS`, from the quotas of `server/quotas.py`);
aliases are resolved again, so they count again; fragments count where they are spread.

Along ownership edges from the root (projects, then their agents, tools, env vars and
deployments) every item appears at most once, so the items reached there are also capped by
the account's quota: a Dashboard of every project costs what the account can hold, not the
projects' quota times the agents' one. Many-to-many and back edges (`Agent.tools`,
`Tool.usedBy`, `Agent.project`, ...) repeat items, so below them only products bound.

`Estimator.operation` gives the bound before execution; `Estimator.per_item` what one item
of a list adds, which `CostMeter` counts where graphql-core completes a list (the runtime
backstop for accounts holding more than their quotas). Introspection fields count 1 each and
are not followed: the schema bounds them, and their depth is limited apart.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.pyutils import Undefined

from server.deployments.snapshot import MAX_SNAPSHOT_BYTES
from server.errors import CostExceeded
from server.models.agent import MAX_SYSTEM_PROMPT
from server.models.deployment import MAX_LOG_LINES
from server.models.env_var import MAX_VALUE_BYTES
from server.models.json_schema import MAX_SCHEMA_BYTES
from server.models.tool import MAX_CODE
from server.quotas import (
    AGENTS_PER_PROJECT,
    AGENTS_PER_USER,
    BUILTIN_TOOLS,
    BUILTIN_TOOLS_PER_AGENT,
    DEFAULT_DEPLOYMENTS_PER_LISTING,
    DEPLOYMENTS_PER_LISTING,
    DEPLOYMENTS_PER_PROJECT,
    ENV_VARS_PER_PROJECT,
    ENV_VARS_PER_USER,
    PROJECTS_PER_USER,
    TOOLS_PER_AGENT,
    TOOLS_PER_PROJECT,
    TOOLS_PER_USER,
)

__all__ = [
    "FIELD_WEIGHTS",
    "LIST_BOUNDS",
    "SHARED_EDGES",
    "Bound",
    "CostMeter",
    "Estimator",
    "by_size",
]


@dataclass(frozen=True)
class Bound:
    """The most items a list field holds."""

    per_parent: int
    """... for one object it is resolved on."""
    per_account: int | None = None
    """... across one account, when reached along ownership edges from the root."""
    owned: bool = False
    """Its items are owned by the parent: distinct parents have distinct items."""
    limit_argument: str | None = None
    """An argument that lowers `per_parent` (clamped to it), `default_limit` when absent."""
    default_limit: int = 0


# Not a quota: a diff has a change per differing leaf of two snapshots, about 1,100 when every
# field of an account at quotas differs (more with deep input schemas, which the count while
# running catches).
CONFIG_CHANGES_PER_DIFF = 2_000

LIST_BOUNDS: dict[tuple[str, str], Bound] = {
    ("Query", "projects"): Bound(PROJECTS_PER_USER, owned=True),
    ("Query", "builtinTools"): Bound(BUILTIN_TOOLS),
    ("Project", "agents"): Bound(AGENTS_PER_PROJECT, AGENTS_PER_USER, owned=True),
    ("Project", "agentIds"): Bound(AGENTS_PER_PROJECT, AGENTS_PER_USER, owned=True),
    ("Project", "tools"): Bound(TOOLS_PER_PROJECT, TOOLS_PER_USER, owned=True),
    ("Project", "toolIds"): Bound(TOOLS_PER_PROJECT, TOOLS_PER_USER, owned=True),
    ("Project", "envVars"): Bound(ENV_VARS_PER_PROJECT, ENV_VARS_PER_USER, owned=True),
    ("Project", "envIds"): Bound(ENV_VARS_PER_PROJECT, ENV_VARS_PER_USER, owned=True),
    ("Project", "deployments"): Bound(
        DEPLOYMENTS_PER_LISTING,
        owned=True,
        limit_argument="limit",
        default_limit=DEFAULT_DEPLOYMENTS_PER_LISTING,
    ),
    ("Project", "deploymentIds"): Bound(DEPLOYMENTS_PER_PROJECT, owned=True),
    ("Agent", "tools"): Bound(TOOLS_PER_AGENT),
    ("Agent", "toolNames"): Bound(TOOLS_PER_AGENT),
    ("Agent", "builtinTools"): Bound(BUILTIN_TOOLS_PER_AGENT),
    ("Agent", "builtinToolNames"): Bound(BUILTIN_TOOLS_PER_AGENT),
    ("Tool", "usedBy"): Bound(AGENTS_PER_PROJECT),
    ("Deployment", "logs"): Bound(MAX_LOG_LINES),
    ("Deployment", "changes"): Bound(CONFIG_CHANGES_PER_DIFF),
}

# How much of a big text or JSON value one field's worth of server CPU (~10 us) encodes, at the
# ~2 ms per MB `bench/cost.py` measured. Such fields weigh by their largest value, not their
# usual one: many-to-many edges repeat them (`agents { tools { code } }`).
BYTES_PER_FIELD = 5_000


def by_size(max_bytes: int) -> int:
    """The weight of a field whose value may hold `max_bytes`."""
    return 1 + max_bytes // BYTES_PER_FIELD


# Fields that cost more than one: their largest values. A deployment's `config` is also read by
# id, decoded and encoded: `bench/cost.py` measured ~1.7 ms per 300 KB snapshot, ~170 fields;
# `changes` reads two snapshots and diffs them.
FIELD_WEIGHTS: dict[tuple[str, str], int] = {
    ("Agent", "systemPrompt"): by_size(MAX_SYSTEM_PROMPT),
    ("Agent", "config"): by_size(MAX_SYSTEM_PROMPT),
    ("MainAgentConfig", "systemPrompt"): by_size(MAX_SYSTEM_PROMPT),
    ("MainAgentConfig", "config"): by_size(MAX_SYSTEM_PROMPT),
    ("Tool", "code"): by_size(MAX_CODE),
    ("Tool", "inputSchema"): by_size(MAX_SCHEMA_BYTES),
    ("Tool", "config"): by_size(MAX_CODE + MAX_SCHEMA_BYTES),
    ("BuiltinTool", "inputSchema"): by_size(MAX_SCHEMA_BYTES),
    ("EnvVar", "value"): by_size(MAX_VALUE_BYTES),
    ("Deployment", "config"): 3 * by_size(MAX_SNAPSHOT_BYTES),
    ("Deployment", "changes"): 4 * by_size(MAX_SNAPSHOT_BYTES),
}

# Object fields back to a parent many children share: below them, items repeat.
SHARED_EDGES: frozenset[tuple[str, str]] = frozenset(
    {("Agent", "project"), ("Tool", "project"), ("Deployment", "project")}
)


class Estimator:
    """Costs of one operation's selections, with its fragments and (coerced) variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, object],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables
        self._memo: dict[tuple[object, ...], int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        """The most fields the operation can resolve."""
        root = self._schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self._selection(root, (operation.selection_set,), 1, distinct=True, shallow=False)

    def root(self, operation: OperationDefinitionNode) -> int:
        """The fields of the operation outside any list (what `per_item` does not count)."""
        root = self._schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self._selection(root, (operation.selection_set,), 1, distinct=True, shallow=True)

    def per_item(self, item_type: GraphQLNamedType, nodes: Sequence[FieldNode]) -> int:
        """What one item of a list of `item_type` selected by `nodes` resolves, up to (and
        counting) the list fields below it, which count their own items."""
        if not isinstance(item_type, GraphQLObjectType):
            return 1
        return self._selection(item_type, _sub_selections(nodes), 1, distinct=False, shallow=True)

    def _selection(
        self,
        parent: GraphQLObjectType,
        selections: tuple[SelectionSetNode, ...],
        count: int,
        *,
        distinct: bool,
        shallow: bool,
    ) -> int:
        """Fields of `selections` on `count` objects of `parent` (`distinct`: all different)."""
        key = (parent.name, tuple(map(id, selections)), count, distinct, shallow)
        cost = self._memo.get(key)
        if cost is None:
            cost = sum(
                self._field(parent, nodes, count, distinct=distinct, shallow=shallow)
                for nodes in self._collect(parent, selections).values()
            )
            self._memo[key] = cost
        return cost

    def _field(
        self,
        parent: GraphQLObjectType,
        nodes: list[FieldNode],
        count: int,
        *,
        distinct: bool,
        shallow: bool,
    ) -> int:
        name = nodes[0].name.value
        definition = parent.fields.get(name)
        cost = count * FIELD_WEIGHTS.get((parent.name, name), 1)
        if definition is None:  # __typename, __schema, __type
            return cost
        field_type = get_nullable_type(definition.type)
        named = get_named_type(field_type)
        if is_list_type(field_type):
            if shallow:
                return cost
            bound = LIST_BOUNDS[(parent.name, name)]
            items = self._items(bound, nodes[0], count, distinct=distinct)
            if not isinstance(named, GraphQLObjectType):
                return cost + items
            owned = distinct and bound.owned
            sub = _sub_selections(nodes)
            return cost + self._selection(named, sub, items, distinct=owned, shallow=False)
        if isinstance(named, GraphQLObjectType):
            still_distinct = distinct and (parent.name, name) not in SHARED_EDGES
            sub = _sub_selections(nodes)
            return cost + self._selection(
                named, sub, count, distinct=still_distinct, shallow=shallow
            )
        return cost

    def _items(self, bound: Bound, node: FieldNode, count: int, *, distinct: bool) -> int:
        per_parent = bound.per_parent
        if bound.limit_argument is not None:
            per_parent = self._limit(node, bound)
        items = count * per_parent
        if distinct and bound.per_account is not None:
            items = min(items, bound.per_account)
        return items

    def _limit(self, node: FieldNode, bound: Bound) -> int:
        value: object = None
        for argument in node.arguments or ():
            if argument.name.value == bound.limit_argument:
                value = value_from_ast_untyped(argument.value, dict(self._variables))
        if value is None or value is Undefined:
            value = bound.default_limit
        if not isinstance(value, int) or isinstance(value, bool):
            return bound.per_parent
        return max(0, min(value, bound.per_parent))

    def _collect(
        self, parent: GraphQLObjectType, selections: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """The fields of `selections` on `parent` by response key, through fragments, as
        graphql-core merges them (`@skip`/`@include` are ignored: both count)."""
        fields: dict[str, list[FieldNode]] = {}
        spread: set[str] = set()

        def walk(selection_set: SelectionSetNode) -> None:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    if self._applies(selection.type_condition, parent):
                        walk(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self._fragments.get(name)
                    if name in spread or fragment is None:
                        continue
                    spread.add(name)
                    if self._applies(fragment.type_condition, parent):
                        walk(fragment.selection_set)

        for selection_set in selections:
            walk(selection_set)
        return fields

    def _applies(self, condition: NamedTypeNode | None, parent: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        named = self._schema.get_type(condition.name.value)
        if named is parent:
            return True
        return is_abstract_type(named) and self._schema.is_sub_type(named, parent)


def _sub_selections(nodes: Iterable[FieldNode]) -> tuple[SelectionSetNode, ...]:
    return tuple(node.selection_set for node in nodes if node.selection_set is not None)


@dataclass
class CostMeter:
    """One operation's cost: its estimate, and the fields counted as lists complete.

    Once the count passes the limit every later list refuses at once, so the rest of the
    execution does not keep spending CPU on an answer that will be an error.
    """

    estimator: Estimator
    limit: int
    requested: int
    root: int
    actual: int = 0
    """Counted so far: nothing until the operation runs, then its root fields, then lists."""
    stopped: bool = False
    _per_item: dict[tuple[int, ...], int] = field(default_factory=dict)

    def restart(self) -> None:
        """Count afresh (each event of a subscription resolves its own answer)."""
        self.actual = self.root
        self.stopped = False

    def refusal(self) -> CostExceeded:
        return CostExceeded(requested=self.requested, limit=self.limit)

    def count_list(
        self, item_type: GraphQLNamedType, nodes: Sequence[FieldNode], items: object
    ) -> None:
        """Count a list's items; raise `CostExceeded` once past the limit."""
        if self.stopped:
            raise self._stop()
        if not isinstance(items, Collection):
            return
        key = tuple(map(id, nodes))
        per_item = self._per_item.get(key)
        if per_item is None:
            per_item = self._per_item[key] = self.estimator.per_item(item_type, nodes)
        self.actual += len(items) * per_item
        if self.actual > self.limit:
            self.stopped = True
            raise self._stop()

    def _stop(self) -> CostExceeded:
        return CostExceeded(requested=self.requested, limit=self.limit, actual=self.actual)
