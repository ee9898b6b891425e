"""Log lines: each carries its time, none is longer than 2,000 characters or carries control
characters, and the newest that fit are kept within DynamoDB's item size."""

from __future__ import annotations

from server.lifecycle import MAX_ITEM_BYTES, fit_logs, stamped
from server.models import Deployment, DeploymentStatus
from server.store.codec import item_size

NOW = "2026-11-25T10:00:00.000Z"


def deployment(config_bytes: int, error: str | None = None) -> Deployment:
    return Deployment(
        user_id="user-1",
        deployment_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
        project_id="01ARZ3NDEKTSV4RRFFQ69G5FAW",
        status=DeploymentStatus.DEPLOYING,
        config={"code": "#" * (config_bytes - len("code"))},
        logs=[],
        error=error,
        created_at=NOW,
        updated_at=NOW,
    )


def full_lines(count: int, start: int = 0) -> list[str]:
    return [stamped(f"line {start + index:04d} " + "x" * 2000, NOW) for index in range(count)]


def test_a_line_gets_the_time_it_was_logged() -> None:
    assert stamped("image pushed", NOW) == f"{NOW} image pushed"


def test_a_line_with_its_own_timestamp_keeps_it() -> None:
    line = "2026-11-25T09:59:58.123Z image pushed"

    assert stamped(line, NOW) == line


def test_a_stamped_line_is_cut_to_2000_characters() -> None:
    assert stamped("x" * 1975, NOW) == f"{NOW} " + "x" * 1975
    assert len(stamped("x" * 2000, NOW)) == 2000


def test_control_characters_and_bidi_overrides_in_a_line_are_written_out() -> None:
    line = "\x1b[31mred\x1b[0m\tnul\x00 two\nlines \u202eevil\u2066 c1\x9b"

    assert stamped(line, NOW) == (
        f"{NOW} \\x1b[31mred\\x1b[0m\tnul\\x00 two\\x0alines \\u202eevil\\u2066 c1\\x9b"
    )


def test_the_newest_lines_that_fit_are_kept_and_the_item_stays_under_the_limit() -> None:
    given = deployment(config_bytes=100_000)
    lines = full_lines(450)

    kept = fit_logs(given, lines)

    assert kept == lines[-len(kept) :]
    assert item_size(given.model_copy(update={"logs": kept}).to_item()) <= MAX_ITEM_BYTES
    one_more = lines[-len(kept) - 1 :]
    assert item_size(given.model_copy(update={"logs": one_more}).to_item()) > MAX_ITEM_BYTES


def test_a_snapshot_at_its_maximum_and_the_longest_error_still_leave_room_for_lines() -> None:
    given = deployment(config_bytes=350_000, error="é" * 4000)  # 8,000 bytes of error

    kept = fit_logs(given, full_lines(450))

    assert len(kept) >= 10
    assert kept[-1].startswith(f"{NOW} line 0449 ")
    assert item_size(given.model_copy(update={"logs": kept}).to_item()) <= MAX_ITEM_BYTES


def test_lines_beyond_1000_lose_the_oldest_even_when_small() -> None:
    lines = [f"{NOW} step {index}" for index in range(1200)]

    assert fit_logs(deployment(config_bytes=1000), lines) == lines[200:]
