"""UI text: both languages complete, placeholders agree, every key the code uses exists."""

from __future__ import annotations

import re
import string
from types import SimpleNamespace

import pytest
from app_support import ROOT

from hamacho_core.preprocess import SHAPE_REASONS, ShapeReason, choose_input_shape
from ui.i18n import EN, JA, translate

# t("key"...) and translate(language, "key"...)
_USED = re.compile(r"\b(?:t\(|translate\(\s*\w+\s*,)\s*[\"']([a-z_\-]+)[\"']\s*[,)]")


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


def test_every_shape_reason_code_is_worded() -> None:
    assert sorted(c for c in SHAPE_REASONS if f"shape_{c}" not in EN) == []


@pytest.mark.parametrize("sizes, size, tiling", [([(300, 400)], None, "auto"), ([(100, 400), (400, 100), (300, 300)],
                                                  None, "auto"), ([(480, 4000)] * 2, 256, "on")])
def test_the_ui_words_the_cores_reason_code(sizes: list, size: int | None, tiling: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.i18n

    why = choose_input_shape(sizes, size, tiling=tiling).why
    assert why is not None and why.code in SHAPE_REASONS
    monkeypatch.setattr(ui.i18n, "st", SimpleNamespace(session_state={"lang": "en"}))
    assert ui.i18n.explain(why) == why.text()  # the English catalogue words it as the CLI does
    monkeypatch.setattr(ui.i18n, "st", SimpleNamespace(session_state={"lang": "ja"}))
    japanese = ui.i18n.explain(why)
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", japanese) and not re.search(r"(?i)square|tiles|long side",
                                                                                 japanese)
    assert [number for number in re.findall(r"\d+", why.text()) if number not in japanese] == []


def test_a_reason_survives_the_run_file() -> None:
    why = choose_input_shape([(100, 400), (400, 100), (300, 300)]).why
    assert why is not None and why.code == "mixed_aspect" and why.inner is not None
    assert ShapeReason.from_dict(why.to_dict()) == why


def test_translate_formats_and_falls_back() -> None:
    assert translate("ja", "n_runs", n=3) == "学習結果 3 件"
    assert translate("en", "n_runs", n=3) == "3 run(s)"
    assert translate("xx", "open") == "Open"
    assert translate("en", "no_such_key") == "no_such_key"
