"""UI text: both languages complete, placeholders agree, every key the code uses exists."""

from __future__ import annotations

import re
import string

from app_support import ROOT

from ui.i18n import EN, JA, translate

_USED = re.compile(r"\bt\(\s*[\"']([a-z_\-]+)[\"']\s*[,)]")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys() -> None:
    assert set(EN) - set(JA) == set()
    assert set(JA) - set(EN) == set()


def test_placeholders_agree() -> None:
    assert [k for k in EN if _fields(EN[k]) != _fields(JA[k])] == []


def test_every_literal_key_in_the_code_exists() -> None:
    sources = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
    used = {key for path in sources for key in _USED.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 100
    assert sorted(used - set(EN)) == []


def test_translate_formats_and_falls_back() -> None:
    assert translate("ja", "n_runs", n=3) == "学習結果 3 件"
    assert translate("en", "n_runs", n=3) == "3 run(s)"
    assert translate("xx", "open") == "Open"
    assert translate("en", "no_such_key") == "no_such_key"
