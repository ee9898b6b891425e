"""DynamoDB expressions built from typed parts, with placeholders picked as they render.

A condition is built from attribute paths (`Attr("recentDeployments")[2]["deploymentId"]`)
compared with values (`.eq(...)`, `.le(...)`, `.is_in(...)`), tested (`.exists()`,
`.size()`) and combined with `&` and `|`; an update is a set of SET, REMOVE, ADD and DELETE
clauses. Nothing is spliced into text: each part renders itself into the `Placeholders` of the
one request it belongs to, every attribute name as a `#n` placeholder and every value as a
`:v` one, so parts built apart never clash; and a disjunction inside a conjunction, and only
that, gets parentheses (DynamoDB refuses redundant ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from server.store.codec import to_item

__all__ = [
    "Attr",
    "Condition",
    "ConditionLike",
    "Expression",
    "Placeholders",
    "Projection",
    "Renderable",
    "Update",
    "UpdateLike",
    "all_of",
    "any_of",
    "expression_params",
    "if_not_exists",
    "list_append",
    "user_partition",
]


class Placeholders:
    """The placeholders of one request: `#n0`, `#n1`, ... for attribute names (one per name),
    `:v0`, `:v1`, ... for values (one per use)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, object] = {}
        self._of_name: dict[str, str] = {}

    def name(self, attribute: str) -> str:
        if (placeholder := self._of_name.get(attribute)) is None:
            placeholder = _free("#n", self.names)
            self.names[placeholder] = attribute
            self._of_name[attribute] = placeholder
        return placeholder

    def value(self, value: object) -> str:
        placeholder = _free(":v", self.values)
        self.values[placeholder] = value
        return placeholder

    def adopt(self, names: Mapping[str, str], values: Mapping[str, object]) -> None:
        """Take on the placeholders of an expression written by hand; a placeholder it shares
        with another part of the request must mean the same there."""
        for placeholder, name in names.items():
            if self.names.setdefault(placeholder, name) != name:
                raise ValueError(
                    f"{placeholder} names both {self.names[placeholder]!r} and {name!r}"
                )
            self._of_name.setdefault(name, placeholder)
        for placeholder, value in values.items():
            if placeholder in self.values and self.values[placeholder] != value:
                raise ValueError(f"{placeholder} stands for two values")
            self.values[placeholder] = value

    def params(self) -> dict[str, Any]:
        """`ExpressionAttributeNames` and `ExpressionAttributeValues`, those not empty."""
        params: dict[str, Any] = {}
        if self.names:
            params["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            params["ExpressionAttributeValues"] = to_item(self.values)
        return params


def _free(prefix: str, taken: Mapping[str, object]) -> str:
    index = len(taken)
    while f"{prefix}{index}" in taken:  # taken by a hand-written expression
        index += 1
    return f"{prefix}{index}"


class Renderable(Protocol):
    """A part of a request that writes itself with the request's placeholders."""

    def render(self, placeholders: Placeholders) -> str: ...


def expression_params(**parts: Renderable | None) -> dict[str, Any]:
    """A request's expression parameters: each part given, by its parameter name
    (`ConditionExpression=...`, `UpdateExpression=...`, ...), rendered with one set of
    placeholders, and those placeholders. A failed condition returns the item as it was:
    what a failure means can depend on it."""
    placeholders = Placeholders()
    params: dict[str, Any] = {
        name: part.render(placeholders) for name, part in parts.items() if part is not None
    }
    if "ConditionExpression" in params:
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    params.update(placeholders.params())
    return params


class Expression:
    """An expression written by hand with its own placeholders (`#name`, `:value`), for a
    one-off read or write; the server builds its conditions and updates instead."""

    __slots__ = ("names", "text", "values")

    def __init__(
        self,
        text: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, object] | None = None,
    ) -> None:
        self.text = text
        self.names = dict(names or {})
        self.values = dict(values or {})

    def render(self, placeholders: Placeholders) -> str:
        placeholders.adopt(self.names, self.values)
        return self.text


def user_partition(user_id: str) -> Expression:
    """The key condition of a user's partition. Written by hand for its value's placeholder:
    the debug extension reports a Query's key by it (`{":user": ...}`)."""
    return Expression("userId = :user", values={":user": user_id})


class Operand:
    """What an expression compares or assigns: an attribute, a value, a function of them.

    (Its subclasses and `Condition`'s are plain classes, not ABCs: `isinstance` on an ABC is
    several times slower, and every part of every request is checked as it is built.)"""

    __slots__ = ()

    def render(self, placeholders: Placeholders) -> str:
        raise NotImplementedError

    def __add__(self, other: object) -> Operand:
        """The sum, in an update's SET (`#n0 = if_not_exists(#n0, :v0) + :v1`)."""
        return _Sum(self, _operand(other))


@dataclass(frozen=True, slots=True)
class _Value(Operand):
    value: object

    def render(self, placeholders: Placeholders) -> str:
        return placeholders.value(self.value)


def _operand(value: object) -> Operand:
    return value if isinstance(value, Operand) else _Value(value)


@dataclass(frozen=True, slots=True)
class _Sum(Operand):
    left: Operand
    right: Operand

    def render(self, placeholders: Placeholders) -> str:
        return f"{self.left.render(placeholders)} + {self.right.render(placeholders)}"


@dataclass(frozen=True, slots=True)
class _Call(Operand):
    """A function of an update's SET."""

    function: str
    arguments: tuple[Operand, ...]

    def render(self, placeholders: Placeholders) -> str:
        arguments = ", ".join(argument.render(placeholders) for argument in self.arguments)
        return f"{self.function}({arguments})"


def if_not_exists(attribute: Attr, default: object) -> Operand:
    """The attribute's value, or `default` where the item has none."""
    return _Call("if_not_exists", (attribute, _operand(default)))


def list_append(first: object, second: object) -> Operand:
    """The list `first` followed by the list `second` (either an attribute or a value)."""
    return _Call("list_append", (_operand(first), _operand(second)))


class _Comparable(Operand):
    """An operand a condition compares: an attribute or its size."""

    __slots__ = ()

    def eq(self, other: object) -> Condition:
        return _Comparison(self, "=", _operand(other))

    def ne(self, other: object) -> Condition:
        return _Comparison(self, "<>", _operand(other))

    def lt(self, other: object) -> Condition:
        return _Comparison(self, "<", _operand(other))

    def le(self, other: object) -> Condition:
        return _Comparison(self, "<=", _operand(other))

    def gt(self, other: object) -> Condition:
        return _Comparison(self, ">", _operand(other))

    def ge(self, other: object) -> Condition:
        return _Comparison(self, ">=", _operand(other))


@dataclass(frozen=True, slots=True, init=False)
class Attr(_Comparable):
    """An attribute's path: its name, then names in nested maps and indexes in lists
    (`Attr("recentDeployments")[2]["deploymentId"]`)."""

    name: str
    path: tuple[str | int, ...]

    def __init__(self, name: str, *path: str | int) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "path", path)

    def __getitem__(self, part: str | int) -> Attr:
        return Attr(self.name, *self.path, part)

    def render(self, placeholders: Placeholders) -> str:
        text = placeholders.name(self.name)
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{placeholders.name(part)}"
        return text

    def exists(self) -> Condition:
        return _Function("attribute_exists", self)

    def not_exists(self) -> Condition:
        return _Function("attribute_not_exists", self)

    def size(self) -> _Comparable:
        """Its size: a string's length, a list's or map's number of elements."""
        return _Size(self)

    def is_in(self, *values: object) -> Condition:
        return _In(self, tuple(_operand(value) for value in values))


@dataclass(frozen=True, slots=True)
class _Size(_Comparable):
    attribute: Attr

    def render(self, placeholders: Placeholders) -> str:
        return f"size({self.attribute.render(placeholders)})"


class Condition:
    """A condition on an item; `a & b` holds when both do, `a | b` when either does."""

    __slots__ = ()

    def render(self, placeholders: Placeholders) -> str:
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return all_of(self, other)

    def __or__(self, other: Condition) -> Condition:
        return any_of(self, other)


@dataclass(frozen=True, slots=True)
class _Comparison(Condition):
    left: Operand
    operator: str
    right: Operand

    def render(self, placeholders: Placeholders) -> str:
        left, right = self.left.render(placeholders), self.right.render(placeholders)
        return f"{left} {self.operator} {right}"


@dataclass(frozen=True, slots=True)
class _Function(Condition):
    function: str
    attribute: Attr

    def render(self, placeholders: Placeholders) -> str:
        return f"{self.function}({self.attribute.render(placeholders)})"


@dataclass(frozen=True, slots=True)
class _In(Condition):
    attribute: Attr
    values: tuple[Operand, ...]

    def render(self, placeholders: Placeholders) -> str:
        values = ", ".join(value.render(placeholders) for value in self.values)
        return f"{self.attribute.render(placeholders)} IN ({values})"


@dataclass(frozen=True, slots=True)
class _And(Condition):
    parts: tuple[Condition, ...]

    def render(self, placeholders: Placeholders) -> str:
        # AND binds tighter than OR: only a disjunction among the parts needs parentheses.
        return " AND ".join(
            f"({part.render(placeholders)})" if isinstance(part, _Or) else part.render(placeholders)
            for part in self.parts
        )


@dataclass(frozen=True, slots=True)
class _Or(Condition):
    parts: tuple[Condition, ...]

    def render(self, placeholders: Placeholders) -> str:
        return " OR ".join(part.render(placeholders) for part in self.parts)


def all_of(*conditions: Condition) -> Condition:
    """The conjunction of `conditions` (at least one)."""
    parts = tuple(p for c in conditions for p in (c.parts if isinstance(c, _And) else (c,)))
    if not parts:
        raise ValueError("a conjunction of no condition")
    return parts[0] if len(parts) == 1 else _And(parts)


def any_of(*conditions: Condition) -> Condition:
    """The disjunction of `conditions` (at least one)."""
    parts = tuple(p for c in conditions for p in (c.parts if isinstance(c, _Or) else (c,)))
    if not parts:
        raise ValueError("a disjunction of no condition")
    return parts[0] if len(parts) == 1 else _Or(parts)


@dataclass(frozen=True, slots=True)
class Update:
    """An update expression; each method returns the update with one more action."""

    assignments: tuple[tuple[Attr, Operand], ...] = ()
    removals: tuple[Attr, ...] = ()
    additions: tuple[tuple[Attr, Operand], ...] = ()
    deletions: tuple[tuple[Attr, Operand], ...] = ()

    def set(self, attribute: Attr, value: object) -> Update:
        """SET the attribute to `value` (a value, an attribute, `if_not_exists`, ...)."""
        assignments = (*self.assignments, (attribute, _operand(value)))
        return Update(assignments, self.removals, self.additions, self.deletions)

    def remove(self, attribute: Attr) -> Update:
        removals = (*self.removals, attribute)
        return Update(self.assignments, removals, self.additions, self.deletions)

    def add(self, attribute: Attr, value: object) -> Update:
        """ADD `value` to a number, or its elements to a set."""
        additions = (*self.additions, (attribute, _operand(value)))
        return Update(self.assignments, self.removals, additions, self.deletions)

    def delete(self, attribute: Attr, value: object) -> Update:
        """DELETE the elements of the set `value` from a set."""
        deletions = (*self.deletions, (attribute, _operand(value)))
        return Update(self.assignments, self.removals, self.additions, deletions)

    def render(self, placeholders: Placeholders) -> str:
        def pairs(actions: tuple[tuple[Attr, Operand], ...], separator: str) -> str:
            return ", ".join(
                f"{path.render(placeholders)}{separator}{value.render(placeholders)}"
                for path, value in actions
            )

        clauses = [
            f"{keyword} {text}"
            for keyword, text in (
                ("SET", pairs(self.assignments, " = ")),
                ("REMOVE", ", ".join(path.render(placeholders) for path in self.removals)),
                ("ADD", pairs(self.additions, " ")),
                ("DELETE", pairs(self.deletions, " ")),
            )
            if text
        ]
        if not clauses:
            raise ValueError("an update with no action")
        return " ".join(clauses)


@dataclass(frozen=True, slots=True)
class Projection:
    """The top-level attributes a read returns."""

    attributes: tuple[str, ...]

    def render(self, placeholders: Placeholders) -> str:
        return ", ".join(placeholders.name(attribute) for attribute in self.attributes)


# What Dynamo's methods take: built, or written by hand.
ConditionLike = Condition | Expression
UpdateLike = Update | Expression
