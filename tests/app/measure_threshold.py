"""Time threshold-slider moves on a run with 2,000 test pictures (not a test: run it by hand).

    PYTHONPATH=$PWD .venv/bin/python tests/app/measure_threshold.py [--test-pictures 2000] [--moves 25]

The run is a real one whose test results are replaced by synthetic ones (``bench/synthetic_run.py``), so everything
goes through the page's own code and files. Measured, median / p95 / max per move:

* the page: ``pages/threshold.py`` through Streamlit's AppTest (the router, the decision tools, the gallery), the
  image-threshold slider set to a new value and the page rerun. AppTest reruns the whole page on every widget
  change, a browser only the slider's fragment (``ui.threshold_panel.threshold_panel``): both are timed, the
  fragment by a wrapper around it (what a move costs the server; ``bench/load_app.py`` measures it in browsers);
* the core: one :meth:`~hamacho_core.decisions.Decisions.answer` per move (every figure, interval, cost, per-type
  and per-folder result at the threshold, costs given), the run-level part built once beforehand.

The time to build the run-level part (bootstrap, bands, cost curve) is printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "app")]

from bench.synthetic_run import RUN, make_large_project  # noqa: E402


def _stats(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"


def _page(moves: np.ndarray) -> tuple[list[float], list[float], float]:
    """Slider moves on the Threshold page through AppTest; (seconds per move: the whole page, the slider's fragment;
    seconds of the first page run)."""
    from app_support import open_page

    import ui.threshold_panel as panel

    fragment, spent = panel.threshold_panel, []

    def timed(*args: object, **kwargs: object) -> None:  # the page imports the name on each run: this one
        begin = time.perf_counter()
        try:
            fragment(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - begin)

    panel.threshold_panel = timed
    start = time.perf_counter()
    at = open_page("threshold", project="large", timeout=600)
    first = time.perf_counter() - start
    key = f"thr_image_{RUN}"
    at.number_input(key=f"d_cost_miss_{RUN}").set_value(500.0).run()  # decision tools on: costs given
    times, fragments = [], []
    for value in moves:
        slider = at.slider(key=key).set_value(float(value))
        start = time.perf_counter()
        slider.run()
        times.append(time.perf_counter() - start)
        fragments.append(spent[-1])
        assert not at.exception, at.exception
    return times, fragments, first


def _core(run_dir: Path, moves: np.ndarray) -> tuple[list[float], float]:
    """One ThresholdAnswer per move; (seconds per move, seconds to build the run-level part)."""
    from hamacho_core.decisions import Costs, Decisions

    costs = Costs(500.0, 5.0, 0.003)
    start = time.perf_counter()
    decisions = Decisions.for_run(run_dir)
    decisions.pr_band(), decisions.roc_band(), decisions.cheapest(costs)
    once = time.perf_counter() - start
    pixel = float(decisions.evaluation.normalization.normalized_pixel_threshold)
    times = []
    for value in moves:
        start = time.perf_counter()
        decisions.answer(float(value), costs, 0.1, pixel)
        times.append(time.perf_counter() - start)
    return times, once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-pictures", type=int, default=2000)
    parser.add_argument("--moves", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hamacho-slider-") as tmp:
        home = Path(tmp) / "workspace"
        home.mkdir()
        os.environ["HAMACHO_HOME"] = str(home)
        run_dir = make_large_project(home, "large", args.test_pictures)
        moves = np.round(np.linspace(0.3, 0.7, args.moves), 3)
        print(f"{args.test_pictures} test pictures, {args.moves} slider moves, load average "
              f"{os.getloadavg()[0]:.1f} at start", flush=True)
        core, once = _core(run_dir, moves)
        print(f"  core, one answer per move:    {_stats(core)}", flush=True)
        print(f"  core, once per run (bootstrap of 1,000 resamples, bands, cheapest threshold): {once * 1000:.0f} ms")
        page, fragment, first = _page(moves)
        print(f"  page, the slider's fragment:  {_stats(fragment)}")
        print(f"  page (AppTest, whole page):   {_stats(page)}")
        print(f"  page, first run (run-level part built): {first:.1f} s; load average {os.getloadavg()[0]:.1f} "
              "at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
