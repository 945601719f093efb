"""Access to the app: the password login and the warning shown when it is open to a network without a login."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import APP
from streamlit.testing.v1 import AppTest

from hamacho_core.passwords import hash_password

HOME_TITLE = "Hamacho — visual anomaly detection"


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.warning, *at.error, *at.markdown))


def test_password_login_keeps_every_page_closed_until_the_right_password(home: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["hamacho"] = {"password_hash": hash_password("Kensa-2025!")}
    at.run()
    assert HOME_TITLE not in _texts(at) and len(at.text_input) == 1
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert "Wrong password." in _texts(at) and HOME_TITLE not in _texts(at)
    at.switch_page("pages/train.py").run()  # another page: still closed
    assert "Train" not in [t.value for t in at.title] and len(at.text_input) == 1
    at.text_input[0].input("Kensa-2025!")
    at.button[0].click().run()
    assert not at.exception
    assert not at.text_input and "Wrong password." not in _texts(at)  # the form is gone: the page itself shows
    assert "Open or create a project first." in [i.value for i in at.info]
    assert any(b.key == "logout" for b in at.button)


@pytest.mark.parametrize(("published", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_a_warning_on_every_page_when_open_to_a_network_without_login(
        home: Path, monkeypatch: pytest.MonkeyPatch, published: str, warned: bool) -> None:
    monkeypatch.setenv("HAMACHO_PUBLISHED_ON", published)
    for page in ("home", "train"):
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        if page != "home":
            at.switch_page(f"pages/{page}.py").run()
        assert ("reachable from other machines" in _texts(at)) is warned, page
