"""The Train page's sealed hold-out control: suggested with enough defect pictures, its cost, too-few warning."""

from __future__ import annotations

from pathlib import Path

from app_support import make_project
from test_pages import _page, _texts


def test_train_page_suggests_a_hold_out_and_says_what_it_costs(home: Path) -> None:
    make_project(home, "p", n_good=16, n_bad=5)  # 20 defect pictures: a hold-out is suggested
    at = _page("train", "p")
    assert at.number_input(key="opt_holdout").value == 0.2
    at.number_input(key="opt_split").set_value(0.5).run()
    text = _texts(at)
    assert "Hold-out: 2 good and 4 defect pictures set aside" in text
    assert "6 good and 16 defect pictures remain" in text
    at.number_input(key="opt_holdout").set_value(0.0).run()
    assert "20 defect pictures: enough for a sealed hold-out" in _texts(at)


def test_train_page_warns_when_a_hold_out_leaves_too_few(home: Path) -> None:
    make_project(home, "q", n_good=8, n_bad=1)  # 4 defect pictures: none suggested
    at = _page("train", "q")
    assert at.number_input(key="opt_holdout").value == 0.0
    assert "4 defect picture(s): a sealed hold-out is worth it from about 20" in _texts(at)
    at.number_input(key="opt_holdout").set_value(0.2).run()
    assert "This share leaves too few pictures" in _texts(at)
    assert not at.exception
    assert "不良画像 4 枚: ホールドアウトは 20 枚程度から有効です" in _texts(_page("train", "q", lang="ja"))
