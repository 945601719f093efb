"""UI text in English and Japanese: ``t(key, **values)`` in the language chosen in the sidebar.

The text lives in one catalogue per language, ``ui/locales/en.py`` and ``ui/locales/ja.py``: plain dicts grouped by
page, so a missing comma or a repeated key is a lint error, a diff shows the two languages side by side, and nothing
is parsed at start-up. The core returns reason codes with their numbers (e.g. :class:`ShapeReason`); the catalogues
word them.
"""

from __future__ import annotations

import streamlit as st

from hamacho_core.preprocess import ShapeReason
from ui.locales.en import EN
from ui.locales.ja import JA

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "STRINGS", "explain", "t", "translate"]

LANGUAGES = {"en": "English", "ja": "日本語"}
DEFAULT_LANGUAGE = "en"
STRINGS: dict[str, dict[str, str]] = {"en": EN, "ja": JA}


def translate(language: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``language`` (English, then the key itself, when missing)."""
    text = STRINGS.get(language, EN).get(key) or EN.get(key) or key
    return text.format(**values) if values else text


def t(key: str, **values: object) -> str:
    """The text of ``key`` in the session's language."""
    return translate(st.session_state.get("lang", DEFAULT_LANGUAGE), key, **values)


def explain(reason: ShapeReason | None) -> str:
    """The core's input-shape reason (its code and numbers) in the session's language."""
    if reason is None:
        return ""
    inner = {"inner": explain(reason.inner)} if reason.inner else {}
    return t(f"shape_{reason.code}", **reason.values, **inner)
