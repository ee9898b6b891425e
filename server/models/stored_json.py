"""JSON from a client that DynamoDB can store: numbers it can hold, nesting it accepts.

DynamoDB numbers have at most 38 significant digits and magnitudes from 1E-130 to
9.9999999999999999999999999999999999999E+125 (zero aside); NaN and the infinities are not
numbers to it. An attribute's value may nest 31 maps or lists (DynamoDB caps nesting at 32
levels counting the scalar at the bottom). The walk is iterative, so a value nested thousands
of levels deep is measured, not recursed into.
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal

__all__ = ["MAX_DYNAMODB_LEVELS", "check_storable", "levels"]

MAX_DYNAMODB_LEVELS = 31
MAX_SIGNIFICANT_DIGITS = 38
MIN_EXPONENT = -130  # 1E-130
MAX_EXPONENT = 125  # 9.99...E+125
SHOWN = Context(prec=6)  # out-of-range numbers are shown to 6 digits, e.g. 1E+400

SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: not text UTF-8 can hold

Path = tuple[str | int, ...]


def levels(value: object) -> int:
    """How many objects and arrays `value` nests, itself included (0 for a scalar)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            stack.extend((inner, depth + 1) for inner in current.values())
        elif isinstance(current, list):
            stack.extend((inner, depth + 1) for inner in current)
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
    return deepest


def check_storable(value: object, *, max_levels: int, where: str) -> None:
    """Raise ValueError saying what in `value` DynamoDB could not store, `where` it is kept
    (e.g. "in a deployment snapshot") when it nests more than `max_levels`."""
    depth = levels(value)
    if depth > max_levels:
        raise ValueError(f"nests {depth} levels deep; at most {max_levels} fit {where}")
    stack: list[tuple[object, Path]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        if isinstance(current, dict):
            for key, inner in current.items():
                _check_text(key, path, "a key")
                stack.append((inner, (*path, key)))
        elif isinstance(current, list):
            stack.extend((inner, (*path, index)) for index, inner in enumerate(current))
        elif isinstance(current, str):
            _check_text(current, path, "a string")
        elif current is not None and not isinstance(current, bool):
            _check_number(current, path)


def _check_number(value: object, path: Path) -> None:
    if not isinstance(value, int | float):
        raise ValueError(f"holds a value that is not JSON at {_pointer(path)}")
    if isinstance(value, float) and not math.isfinite(value):
        shown = "NaN" if math.isnan(value) else ("-" if value < 0 else "") + "Infinity"
        raise ValueError(f"numbers must be finite ({shown} at {_pointer(path)})")
    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if not number:
        return
    digits = len("".join(map(str, number.as_tuple().digits)).rstrip("0"))
    if digits > MAX_SIGNIFICANT_DIGITS:
        raise ValueError(
            f"numbers may have at most {MAX_SIGNIFICANT_DIGITS} significant digits"
            f" ({digits} at {_pointer(path)})"
        )
    if not MIN_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise ValueError(
            "numbers must lie within 1E-130 and 9.9999999999999999999999999999999999999E+125"
            f" in magnitude ({number.normalize(SHOWN)} at {_pointer(path)})"
        )


def _check_text(text: object, path: Path, what: str) -> None:
    if not isinstance(text, str):
        raise ValueError(f"holds a value that is not JSON at {_pointer(path)}")
    if SURROGATE.search(text):
        raise ValueError(f"{what} at {_pointer(path)} is not valid Unicode (a lone surrogate)")


def _pointer(path: Path) -> str:
    """`path` as a JSON Pointer (RFC 6901), "/" for the value itself."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return "/" + "/".join(escaped)
