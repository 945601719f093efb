"""Inference page: more than a handful of pictures, or a server folder, runs as a job in a worker process.

The job shows in the page's jobs panel (progress, cancel), and its table and pictures appear on the page when it is
done, also in a new session (a page reload); a failing job says why in the page's language, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from app_support import open_page
from streamlit.testing.v1 import AppTest

from hamacho_core.jobs import INFERENCE
from ui.inference_view import SMALL_INPUT
from ui.state import get_manager


def _inference_page(lang: str = "en") -> AppTest:
    return open_page("inference", lang, timeout=300)


def _pictures(home: Path, n: int) -> list[tuple[str, bytes, str]]:
    data = home / "検査A" / "data"
    paths = sorted(data.glob("good/*.png")) + sorted(data.glob("bad/*/*.png"))
    assert len(paths) >= n
    return [(f"lot/{i:02d}_{p.name}", p.read_bytes(), "image/png") for i, p in enumerate(paths[:n])]


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.info, *at.success, *at.warning, *at.error))


def test_a_large_upload_runs_as_a_job_and_its_results_show_when_done(trained_home: Path) -> None:
    n = SMALL_INPUT + 1
    at = _inference_page()
    at.file_uploader(key="inf_files_0").set_value(_pictures(trained_home, 2)).run()  # a handful: scored at once
    assert len(at.dataframe[0].value) == 2 and not get_manager().jobs(trained_home / "検査A", kind=INFERENCE)
    at.file_uploader(key="inf_dir_1").set_value(_pictures(trained_home, n)).run()
    assert not at.exception, at.exception
    job = get_manager().jobs(trained_home / "検査A", kind=INFERENCE)[0]
    assert f"{n} picture(s): inference {job.id} queued" in _texts(at)
    assert job.config["source"].endswith("input") and len(at.dataframe[0].value) == 2  # not scored in the server
    done = get_manager().wait(job.key, timeout=900)
    assert done.status == "done", done.error
    assert done.pid not in (0, os.getpid())  # scored in a worker process
    at.run()
    assert f"{n} picture(s) scored" in _texts(at)
    assert len(at.dataframe[0].value) == n and len(at.image) == n  # the job's results are shown, as in-process
    reloaded = _inference_page()  # a new browser session: the job and its results are still there
    assert f"{n} picture(s) scored" in _texts(reloaded)
    reloaded.button(key=f"show_{job.id}").click().run()
    assert reloaded.session_state["inf_session"] == job.run_dir and len(reloaded.dataframe[0].value) == n


def test_cancel_in_the_jobs_panel_leaves_no_results(trained_home: Path) -> None:
    at = _inference_page()
    at.file_uploader(key="inf_files_0").set_value(_pictures(trained_home, SMALL_INPUT + 1)).run()
    job = get_manager().jobs(trained_home / "検査A", kind=INFERENCE)[0]
    at.button(key=f"cancel_{job.id}").click().run()
    assert not at.exception, at.exception
    cancelled = get_manager().wait(job.key, timeout=120)
    assert cancelled.status == "cancelled"
    folder = Path(job.run_dir)
    assert not (folder / "output").exists() and not (folder / "output.partial").exists()
    at.run()
    assert f"**{job.id}** · cancelled" in _texts(at) and "Drop images above" in _texts(at)  # no results to show


def test_a_server_folder_without_pictures_fails_with_a_message_in_japanese(trained_home: Path) -> None:
    empty = trained_home / "memos"
    empty.mkdir()
    (empty / "memo.txt").write_text("hello", encoding="utf-8")
    at = _inference_page(lang="ja")
    at.text_input(key="inf_path").set_value(str(empty)).run()
    at.button(key="inf_go").click().run()
    assert not at.exception, at.exception
    job = get_manager().jobs(trained_home / "検査A", kind=INFERENCE)[0]
    assert get_manager().wait(job.key, timeout=900).status == "failed"
    at.run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("エラーで停止しました: ") and "no readable image" in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)
