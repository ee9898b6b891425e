"""Log lines: each carries its time, and none is longer than 2,000 characters."""

from __future__ import annotations

from server.lifecycle import stamped

NOW = "2026-11-25T10:00:00.000Z"


def test_a_line_gets_the_time_it_was_logged() -> None:
    assert stamped("image pushed", NOW) == f"{NOW} image pushed"


def test_a_line_with_its_own_timestamp_keeps_it() -> None:
    line = "2026-11-25T09:59:58.123Z image pushed"

    assert stamped(line, NOW) == line


def test_a_stamped_line_is_cut_to_2000_characters() -> None:
    assert stamped("x" * 1975, NOW) == f"{NOW} " + "x" * 1975
    assert len(stamped("x" * 2000, NOW)) == 2000
