"""The depth limit: how many levels of fields an operation may nest, root field included.

`{ projects { agents { id } } }` is 3 levels deep. strawberry's QueryDepthLimiter counts the
root field as depth 0 (so "10" let 11 levels through) and skips subscriptions; this rule
counts every level of every operation, through fragments. Introspection fields (`__schema`,
`__type`) are left to graphql-core's MaxIntrospectionDepthRule, as strawberry's limiter left
them: the introspection query of every GraphQL client is deeper than 10.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

__all__ = ["depth_limit"]


def depth_limit(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations more than `max_depth` field levels deep."""

    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            fragments = {
                definition.name.value: definition
                for definition in self.context.document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            depth = _depth(node.selection_set, fragments, {}, set())
            if depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"'{name}' exceeds maximum operation depth of {max_depth}"
                        f" field levels (it has {depth})",
                        node,
                    )
                )

    return DepthLimit


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    known: dict[str, int],
    spreading: set[str],
) -> int:
    """Levels of fields in `selection_set`; each fragment is measured once (`known`), and a
    fragment spread inside itself (refused by another rule) adds nothing."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            depth = 1 + _depth(selection.selection_set, fragments, known, spreading)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection.selection_set, fragments, known, spreading)
        elif isinstance(selection, FragmentSpreadNode):
            depth = _fragment_depth(selection.name.value, fragments, known, spreading)
        else:
            depth = 0
        deepest = max(deepest, depth)
    return deepest


def _fragment_depth(
    name: str,
    fragments: dict[str, FragmentDefinitionNode],
    known: dict[str, int],
    spreading: set[str],
) -> int:
    if name in known:
        return known[name]
    fragment = fragments.get(name)
    if fragment is None or name in spreading:
        return 0
    spreading.add(name)
    known[name] = _depth(fragment.selection_set, fragments, known, spreading)
    spreading.discard(name)
    return known[name]
