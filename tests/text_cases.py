"""Text that names and free text refuse or keep, shared by the tests of every input."""

from __future__ import annotations

__all__ = ["ORDINARY_NAMES", "ORDINARY_TEXT", "UNPRINTABLE_NAMES", "UNPRINTABLE_TEXT"]

# Control (Cc), format (Cf) and line-separator characters, and names blank without them.
UNPRINTABLE_NAMES = {
    "NUL": "nul\x00name",
    "ESC sequence": "\x1b[2J\x1b[31mred",
    "DEL": "del\x7f",
    "C1 CSI": "c1\x9b31m",
    "newline": "two\nlines",
    "RLO U+202E": "abc\u202etxt.exe",
    "LRI U+2066": "\u2066isolated",
    "zero-width only": "\u200b\u200c\u200d",
    "BOM": "\ufeffname",
    "soft hyphen": "soft\u00adhyphen",
    "ZWJ between ASCII": "ad\u200dmin",
    "line separator": "a\u2028b",
    "blank": " \u3000 ",
}
ORDINARY_NAMES = {
    "accents": "Café Müller – Ørsted",
    "CJK": "東京の研究チーム",
    "Arabic": "مساعد البحث",
    "Persian with ZWNJ": "می\u200cخواهم",
    "emoji": "Launch 🚀",
    "emoji ZWJ sequence": "Family 👨\u200d👩\u200d👧",
    "flag with ZWJ": "🏳️\u200d🌈 team",
}
# Free text keeps tab and line breaks, and format characters but the bidi controls.
UNPRINTABLE_TEXT = {
    "NUL": "before\x00after",
    "ESC sequence": "\x1b]0;owned\x07title",
    "C1 CSI": "c1\x9b31m",
    "RLO U+202E": "access = 'user\u202e \u2066// admin\u2069 \u2066'",
    "PDI U+2069": "end\u2069",
}
ORDINARY_TEXT = (
    "Line one\n\tindented line two\r\nزبان فارسی\u200c ok, 👩\u200d💻 and a\u200bzero-width space"
)
