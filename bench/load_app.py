"""Load run of the app: N browser sessions at once, each with its own project, through the whole path.

Each session (its own Playwright browser context) creates a project, uploads a small demo dataset through the
folder drop zones, starts a training, moves the threshold slider, and builds the report ZIP. Measured:

* training time of each job in its worker process (record ``started`` to ``finished``), against the same job
  run alone first (one session), and the wall time from "Start" to "Saved" (queue wait included);
* how long a slider move takes until the server has rerun the panel (key press to the ``script_finished``
  message on the session's websocket), median and p95, split by whether some job was training meanwhile;
* how long until the shown figures change: key press to the first change of the Precision/Recall metrics in the
  page (both times taken in the browser), which is what the analyst sees;
* cross-talk: each project ends with exactly its own run, job and ZIP.

With ``--test-pictures N`` the sessions skip upload and training: each opens its own copy of a project whose run has
N test pictures (``bench/synthetic_run.py``: a real run with synthetic test results) and only moves the slider, so
the figures measure the Threshold page on a large run.

Not a test (nothing is timed in the suite); run it by hand:

    PYTHONPATH=$PWD .venv/bin/python bench/load_app.py --sessions 5 [--sessions 10] [--out bench/results/load_app.json]
    PYTHONPATH=$PWD .venv/bin/python bench/load_app.py --test-pictures 2000 --sessions 5

The server is ``streamlit run app.py`` on a free 127.0.0.1 port with the repository's settings, stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from e2e_support import CHROMIUM, streamlit_server  # noqa: E402 - the browser tests' server: one way to start the app

from bench.synthetic_run import make_large_project  # noqa: E402
from hamacho_core.jobs import load_jobs  # noqa: E402
from hamacho_core.synthetic import make_demo_dataset  # noqa: E402

MOVES = 12  # slider moves per session
LONG = 1_800_000  # ms: waits that include queueing behind every other session's training
LOST = 120.0  # s: a slider move whose rerun never came back after this long is counted as lost
# In the page: the time of the last key press and of the first change of the Precision/Recall metrics after it.
WATCH_FIGURES = """
window.__figures = {pressed: 0, changed: 0, before: ""};
const shown = () => Array.from(document.querySelectorAll('[data-testid="stMetric"]'))
  .map(m => m.innerText).filter(text => /^(Precision|Recall)/.test(text)).join("|");
document.addEventListener("keydown", () => {
  Object.assign(window.__figures, {pressed: performance.now(), changed: 0, before: shown()});
}, true);
new MutationObserver(() => {
  const f = window.__figures;
  if (f.pressed && !f.changed && shown() !== f.before) f.changed = performance.now();
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def any_job_running(home: Path) -> bool:
    return any(job.status == "running" for project in home.iterdir() if project.is_dir()
               for job in load_jobs(project))


class Session:
    """One analyst: a browser context, a project, and the websocket messages that tell when a run finished."""

    def __init__(self, index: int, home: Path, photos: Path | None, url: str) -> None:
        self.name = f"load-{index:02d}"
        self.home, self.photos, self.url = home, photos, url  # photos None: the project exists (large run)
        self.finished: list[float] = []  # times of script_finished messages
        self.moves: list[tuple[float, bool]] = []  # (seconds, some job training meanwhile)
        self.figures: list[float] = []  # key press to the first change of the shown precision/recall (seconds)
        self.lost = 0  # moves whose rerun never came back
        self.result: dict[str, object] = {"project": self.name}

    def _on_frame(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, bytes):
            try:
                message = ForwardMsg.FromString(payload)
            except Exception:  # noqa: BLE001 - not a ForwardMsg
                return
            if message.WhichOneof("type") == "script_finished":
                self.finished.append(time.perf_counter())

    async def idle(self, page) -> None:
        await page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                     timeout=LONG)

    async def nav(self, page, label: str) -> None:
        await page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
        await self.idle(page)

    async def run(self, browser) -> dict[str, object]:
        context = await browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        context.set_default_timeout(LONG)
        page = await context.new_page()
        page.on("websocket", lambda ws: ws.on("framereceived", self._on_frame))
        await page.add_init_script(WATCH_FIGURES)
        if self.photos is None:
            await page.goto(f"{self.url}/?project={self.name}")
            await self.idle(page)
            await self.slider(page)
            await context.close()
            return self.result
        await page.goto(self.url)
        await page.get_by_role("button", name="Try the demo").wait_for()
        await page.get_by_label("New project").fill(self.name)
        await page.get_by_role("button", name="Create").click()
        await page.get_by_text(f"Project {self.name} created.").wait_for()
        await self.nav(page, "Data")
        for label, folder in (("Good images", "good"), ("Defect images", "bad"), ("Masks", "mask")):
            count = len(list((self.photos / folder).rglob("*.png")))
            zone = page.get_by_test_id("stFileUploader").filter(has_text=label).locator("input[type=file]")
            await zone.set_input_files(self.photos / folder)
            await page.get_by_text(f"{count} image(s) saved in the project.").wait_for()
            await self.idle(page)
        await self.nav(page, "Train")
        await page.get_by_text("Input shape:").wait_for()
        start = time.perf_counter()
        await page.get_by_role("button", name="Start training").click()
        await page.get_by_text("Saved. Image F1", exact=False).wait_for(timeout=LONG)
        self.result["start_to_saved_s"] = time.perf_counter() - start
        await self.slider(page)
        await self.nav(page, "Report")
        await page.get_by_role("button", name="Build the ZIP").click()
        await page.get_by_role("button", name="Download ZIP").wait_for(timeout=LONG)
        await context.close()
        return self.result

    async def slider(self, page) -> None:
        """Open the Threshold page and move the image-threshold slider MOVES times, one step each."""
        await self.nav(page, "Threshold")
        await page.get_by_text("Images that flip").wait_for()
        await self.idle(page)
        slider = page.get_by_test_id("stSlider").first.get_by_role("slider")
        await slider.focus()
        for _ in range(MOVES):
            training = any_job_running(self.home)
            seen = len(self.finished)
            pressed = time.perf_counter()
            await page.keyboard.press("ArrowRight")
            while len(self.finished) <= seen and time.perf_counter() - pressed < LOST:
                await asyncio.sleep(0.01)
            if len(self.finished) <= seen:  # no rerun came back: counted, not waited for forever
                self.lost += 1
                await slider.focus()
                continue
            self.moves.append((self.finished[seen] - pressed, training))
            await self.idle(page)
            shown = await page.evaluate("() => window.__figures")
            if shown["changed"]:  # a step that flips no picture changes no figure
                self.figures.append((shown["changed"] - shown["pressed"]) / 1000)

    def check(self) -> dict[str, object]:
        """Cross-talk: this project holds exactly its own run, job and ZIP."""
        if self.photos is None:
            return self.result
        project = self.home / self.name
        runs = [p for p in (project / "runs").iterdir() if p.is_dir()]
        jobs = load_jobs(project)
        zips = list((project / "exports").glob("*.zip")) if (project / "exports").is_dir() else []
        ok = (len(runs) == 1 and len(jobs) == 1 and jobs[0].status == "done" and jobs[0].run_dir == str(runs[0])
              and len(zips) == 1 and zips[0].name.startswith(self.name))
        self.result.update(train_s=jobs[0].finished - jobs[0].started if jobs else None, own_data_only=ok)
        return self.result


async def run_sessions(n: int, home: Path, photos: Path | None, url: str) -> tuple[list[Session], float]:
    from playwright.async_api import async_playwright

    sessions = [Session(i, home, photos, url) for i in range(n)]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        start = time.perf_counter()
        await asyncio.gather(*(session.run(browser) for session in sessions))
        wall = time.perf_counter() - start
        await browser.close()
    for session in sessions:
        session.check()
    return sessions, wall


def _quantiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median_s": None, "p95_s": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(values), "median_s": round(statistics.median(values), 3), "p95_s": round(p95, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, action="append", help="sessions at once (repeatable; default 5)")
    parser.add_argument("--images", type=int, default=12, help="good pictures per project (128 px demo washers)")
    parser.add_argument("--test-pictures", type=int, default=0,
                        help="skip upload and training: each session moves the slider on a run with this many test "
                             "pictures (synthetic test results of a real run)")
    parser.add_argument("--out", type=Path, default=None, help="default bench/results/load_app[_large].json")
    args = parser.parse_args()
    large = args.test_pictures > 0
    out = args.out or ROOT / "bench" / "results" / ("load_app_large.json" if large else "load_app.json")
    report: dict[str, object] = {"machine": f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
                                 "workers": os.environ.get("HAMACHO_WORKERS", "1"),
                                 "test_pictures": args.test_pictures or "uploaded demo (8)"}
    with tempfile.TemporaryDirectory(prefix="hamacho-load-") as tmp:
        photos = None if large else make_demo_dataset(Path(tmp) / "photos", n_good=args.images, n_bad_per_type=1,
                                                      size=128)
        template = None
        if large:  # one real run, its test results replaced; each session gets a copy of the project
            make_large_project(Path(tmp) / "template", "load-00", args.test_pictures)
            template = Path(tmp) / "template" / "load-00"
        for n in [1, *(args.sessions or [5])]:
            home = Path(tmp) / f"workspace-{n}"
            home.mkdir()
            if template is not None:
                for i in range(n):
                    make_large_project(home, f"load-{i:02d}", template=template)
            with streamlit_server(home, log=home.parent / "streamlit.log") as url:
                load_before = os.getloadavg()[0]
                sessions, wall = asyncio.run(run_sessions(n, home, photos, url))
            moves = [m for s in sessions for m in s.moves]
            entry: dict[str, object] = {"wall_s": round(wall, 1)}
            if not large:
                entry.update({
                    "all_finished_own_data_only": all(s.result.get("own_data_only") for s in sessions),
                    "train_s": [round(float(s.result["train_s"]), 1) for s in sessions],
                    "start_to_saved_s": [round(float(s.result["start_to_saved_s"]), 1) for s in sessions]})
            entry.update({
                "slider_while_training": _quantiles([t for t, busy in moves if busy]),
                "slider_idle": _quantiles([t for t, busy in moves if not busy]),
                "figures_shown": _quantiles([t for s in sessions for t in s.figures]),
                "moves_lost": sum(s.lost for s in sessions),
                "load_average_before": round(load_before, 1),
                "load_average_after": round(os.getloadavg()[0], 1),
            })
            report[f"{n}_sessions"] = entry
            print(json.dumps({f"{n}_sessions": entry}, indent=1), flush=True)
    alone = None if large else report["1_sessions"]["train_s"][0]  # type: ignore[index]
    for key, value in report.items():
        if key.endswith("_sessions") and isinstance(value, dict) and not large:
            value["train_vs_alone"] = round(max(value["train_s"]) / alone, 2) if alone else None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
