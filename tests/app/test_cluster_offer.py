"""Inference page: a large server folder is offered to the Ray cluster only when HAMACHO_RAY_ADDRESS is set; the
scoring runs as a job (its worker process drives the cluster)."""

from __future__ import annotations

import socket
from contextlib import closing
from pathlib import Path

import pytest
from app_support import APP
from streamlit.testing.v1 import AppTest

from hamacho_core.jobs import INFERENCE
from ui.state import get_manager


def _inference_page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["project"] = "検査A"
    at.run()
    at.switch_page("pages/inference.py").run()
    at.text_input(key="inf_path").set_value(path).run()
    assert not at.exception, at.exception
    return at


def test_large_folder_is_offered_to_the_cluster(trained_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = str(trained_home / "検査A" / "data" / "good")  # 12 pictures
    monkeypatch.setenv("HAMACHO_RAY_MIN_PICTURES", "5")
    assert "inf_cluster_go" not in [b.key for b in _inference_page(folder).button]  # no cluster configured
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"  # nothing will listen there
    monkeypatch.setenv("HAMACHO_RAY_ADDRESS", address)
    at = _inference_page(folder)
    assert any("12 pictures" in i.value and address in i.value for i in at.info)
    at.button(key="inf_cluster_go").click().run()
    assert not at.exception
    job = get_manager().jobs(trained_home / "検査A", kind=INFERENCE)[0]
    assert job.config["address"] == address and f"queued as job {job.id}" in "".join(i.value for i in at.info)
    assert get_manager().wait(job.key, timeout=300).status == "failed"
    at.run()
    assert any("cannot reach the Ray cluster" in e.value for e in at.error)  # a message, not a traceback
    assert not any("Traceback" in e.value for e in at.error)
    monkeypatch.setenv("HAMACHO_RAY_MIN_PICTURES", "100")
    assert "inf_cluster_go" not in [b.key for b in _inference_page(folder).button]  # small folder: runs as now
