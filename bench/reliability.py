"""Write docs/reliability.md: the hostile inputs tried, the faults injected and the limits, each with its outcome.

Run from the repository root (a few minutes on 2 cores; the kill-point and fuzz suites run as pytest subprocesses)::

    PYTHONPATH=$PWD .venv/bin/python bench/reliability.py            # everything, rewrites docs/reliability.md
    PYTHONPATH=$PWD .venv/bin/python bench/reliability.py --no-suites  # without the kill-point and fuzz suites

Every outcome in the document is measured by this script on the machine it runs on; nothing is typed by hand.
The app side (worker processes, concurrent sessions, load) keeps its own section below ours.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the hostile-input corpus is test support (tests/hostile_inputs.py)

from hostile_inputs import huge_header_png, picture_corpus, png_bytes, zip_bytes  # noqa: E402

from hamacho_core.atomic import atomic_write_text  # noqa: E402
from hamacho_core.errors import HamachoError  # noqa: E402
from hamacho_core.imageio import read_image  # noqa: E402
from hamacho_core.limits import Limits  # noqa: E402
from hamacho_core.uploads import import_zip  # noqa: E402
from hamacho_core.workspace import check_import_source, inside, writable_folder  # noqa: E402

DOC = ROOT / "docs" / "reliability.md"
APP_HEADING = "## Concurrency and load (app side)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:400]


def _outcome(action) -> tuple[str, float]:
    start = time.perf_counter()
    try:
        result = action()
        text = "accepted" if result is None else f"accepted: {result}"
    except HamachoError as error:
        text = f"refused: {getattr(error, 'reason', None) or error}"
    except Exception as error:  # noqa: BLE001 - the point of the table: anything else is a failure
        text = f"**FAILED: {type(error).__name__}: {error}**"
    return text, time.perf_counter() - start


def pictures(folder: Path) -> list[tuple[str, str, str]]:
    rows = []
    for item in picture_corpus():
        path = folder / item.name
        path.write_bytes(item.data)

        def read(path: Path = path) -> str:
            image = read_image(path)
            return f"{image.shape[1]} x {image.shape[0]} px RGB"

        text, _ = _outcome(read)
        rows.append((item.kind, f"`{item.name}`", text))
    return rows


def archives(folder: Path) -> list[tuple[str, str, str]]:
    good = png_bytes(16, 16, seed=1)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for index in range(200_000):
            archive.writestr(f"good/{index}.png", b"x")
    cases = [
        ("member `../evil.png` (traversal)", zip_bytes({"good/1.png": good, "../evil.png": good})),
        ("absolute member `/tmp/evil.png`", zip_bytes({"good/1.png": good, "/tmp/evil.png": good})),
        ("Windows drive member `C:/evil.png`", zip_bytes({"good/1.png": good, "C:/evil.png": good})),
        ("zip bomb: 50 MiB of zeros packed to ~50 KiB", zip_bytes({"good/1.png": good, "good/z.png": bytes(50 << 20)})),
        ("200,000 one-byte members", many.getvalue()),
        ("not a ZIP (text)", b"PK but not a zip"),
        ("no good/ folder", zip_bytes({"bad/1.png": good})),
        ("hostile pictures among good ones (huge header, zero bytes, text as .png)",
         zip_bytes({"good/1.png": good, "good/huge.png": huge_header_png(), "good/zero.png": b"",
                    "good/text.png": b"hello"})),
        ("Japanese names inside a top folder", zip_bytes({"検査/good/良品1.png": good, "検査/bad/傷/不良1.png": good})),
    ]
    rows = []
    for index, (name, data) in enumerate(cases):
        target = folder / f"zip{index}"

        def run(data: bytes = data, target: Path = target) -> str:
            report = import_zip(target, io.BytesIO(data), len(data))
            problems = "; ".join(f"{Path(p.path).name}: {p.reason}" for p in report.problems)
            return f"{len(report.written)} written" + (f"; problems: {problems}" if problems else "")

        text, seconds = _outcome(run)
        written = sum(1 for p in target.rglob("*") if p.is_file()) if target.exists() else 0
        rows.append(("ZIP upload", name, f"{text} ({written} files on disk, {seconds:.2f} s)"))
    return rows


def paths(folder: Path) -> list[tuple[str, str, str]]:
    (folder / "file").write_text("x")
    (folder / "home").mkdir()
    (folder / "home" / "link").symlink_to(folder)
    rows = [
        ("workspace", "HAMACHO_HOME below a regular file", _outcome(lambda: writable_folder(folder / "file" / "w"))[0]),
        ("project name", "`../other` (leaves the workspace)", _outcome(lambda: inside(folder / "home", "../x"))[0]),
        ("project name", "a link pointing out of the workspace", _outcome(lambda: inside(folder / "home", "link"))[0]),
        ("server-folder import", "no HAMACHO_IMPORT_ROOTS set (Docker default)",
         _outcome(lambda: check_import_source(folder, []))[0]),
        ("server-folder import", "`/etc` with HAMACHO_IMPORT_ROOTS=/data/import",
         _outcome(lambda: check_import_source("/etc", [Path("/data/import")]))[0]),
    ]
    os.environ["HAMACHO_TEST_FAIL_AT"] = "saving config.yaml:1"
    try:
        text, _ = _outcome(lambda: atomic_write_text(folder / "run" / "config.yaml", "x"))
    finally:
        del os.environ["HAMACHO_TEST_FAIL_AT"]
    left = [p.name for p in (folder / "run").iterdir()]
    rows.append(("full disk (ENOSPC injected in an atomic write)", "`config.yaml`", f"{text}; files left: {left}"))
    readonly = folder / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    text, _ = _outcome(lambda: writable_folder(readonly))
    if text.startswith("accepted") and os.geteuid() == 0:
        text = "not testable here: running as root, which may write in a read-only folder (EROFS mounts are refused "\
               "with the same message as the full disk)"
    rows.append(("read-only workspace (mode 555)", "writable_folder", text))
    return rows


def _kill_row(output: str, passed: bool, seconds: float) -> tuple[str, str, str]:
    found = re.search(r"kill points survived: (\d+)", output)
    return ("SIGKILL during training", "first and last checkpoint of every stage (loading, fitting, "
            "predicting, writing pictures, saving the model, the evaluation, publishing)",
            f"{found.group(1) if found else '?'} kill points survived: no half run listed, data intact, next "
            f"training ran ({'passed' if passed else 'FAILED'}, {seconds:.0f} s)")


def _fuzz_row(examples: dict[str, int], passed: bool, seconds: float) -> tuple[str, str, str]:
    detail = ", ".join(f"{k} {v}" for k, v in examples.items())
    return ("hypothesis fuzzing", "picture and mask bytes, ZIP names and sizes, config.yaml, run-folder tampering",
            f"{sum(examples.values())} examples ({detail}): {'no traceback' if passed else 'FAILED'} "
            f"({seconds:.0f} s)")


def suites() -> list[tuple[str, str, str]]:
    """Run the kill-point and fuzz suites (pytest subprocesses) and read their figures."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           "tests/reliability/test_kill_points.py"], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    rows = [_kill_row(done.stdout, done.returncode == 0, time.perf_counter() - start)]
    counts = Path(tempfile.mkdtemp()) / "counts.json"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"], cwd=ROOT,
                          env={**env, "HAMACHO_FUZZ_COUNTS": str(counts)}, capture_output=True, text=True)
    examples = json.loads(counts.read_text()) if counts.is_file() else {}
    rows.append(_fuzz_row(examples, done.returncode == 0, time.perf_counter() - start))
    return rows


def suites_from(kill_log: Path, fuzz_log: Path, fuzz_counts: Path) -> list[tuple[str, str, str]]:
    """The same rows from the saved output of suites run separately (``pytest -s`` logs, the counts file)."""
    def read(log: Path) -> tuple[str, bool, float]:
        text = log.read_text(encoding="utf-8")
        seconds = float(found.group(1)) if (found := re.search(r"in ([\d.]+)s", text)) else 0.0
        return text, " passed" in text and " failed" not in text, seconds

    text, passed, seconds = read(kill_log)
    rows = [_kill_row(text, passed, seconds)]
    _, passed, seconds = read(fuzz_log)
    rows.append(_fuzz_row(json.loads(fuzz_counts.read_text(encoding="utf-8")), passed, seconds))
    return rows


def table(rows: list[tuple[str, str, str]], headers: tuple[str, str, str]) -> str:
    lines = [f"| {' | '.join(headers)} |", "|---|---|---|"]
    lines += [f"| {_cell(a)} | {_cell(b)} | {_cell(c)} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-suites", action="store_true", help="skip the kill-point and fuzz suites")
    parser.add_argument("--suite-logs", nargs=3, type=Path, metavar=("KILL_LOG", "FUZZ_LOG", "FUZZ_COUNTS"),
                        help="read the suites' figures from their saved pytest output instead of running them")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "pictures").mkdir()
        picture_rows = pictures(base / "pictures")
        zip_rows = archives(base)
        path_rows = paths(base)
    if options.suite_logs:
        suite_rows = suites_from(*options.suite_logs)
    else:
        suite_rows = [] if options.no_suites else suites()
    limits = Limits()
    limit_rows = [(name, value, field) for (name, value), field in zip(limits.describe().items(), [
        "width x height of one picture, read from its header before any decode",
        "one uploaded file or ZIP, and one picture file", "files in one ZIP", "unpacked bytes of one ZIP",
        "pictures in one dataset (project, CLI dataset)"], strict=True)]
    app_section = ""
    if DOC.is_file() and APP_HEADING in DOC.read_text(encoding="utf-8"):
        app_section = DOC.read_text(encoding="utf-8").split(APP_HEADING, 1)[1]
    text = f"""# Reliability

Written by `bench/reliability.py` (rerun it to refresh; {time.strftime('%Y-%m-%d')}). Every outcome below was
measured by the script, on this machine: "refused" rows are `HamachoError`s or file problems with the message a
user sees; a traceback would show as **FAILED**. Machine: {os.cpu_count()} CPUs, load average
{os.getloadavg()[0]:.1f} when the document was written (the times below are wall-clock seconds on it).

## Limits

Settings (environment variables, read at every door: CLI loading, app uploads and imports, the API). Values
accept `_` and K/M/G suffixes (`HAMACHO_MAX_IMAGE_PIXELS=400M`).

{table(limit_rows, ("variable", "default", "bounds"))}

## Hostile pictures

Read with `hamacho_core.imageio.read_image`: the size and the header are checked before anything is decoded;
in a dataset, an upload or an inference folder a refused picture is a problem row and the others go on.

{table(picture_rows, ("input", "file", "outcome"))}

## Archives

`hamacho_core.uploads.import_zip` (the Data page's ZIP upload); nothing is written when a ZIP is refused as a whole.

{table(zip_rows, ("door", "input", "outcome"))}

## Paths and the workspace

{table(path_rows, ("what", "input", "outcome"))}

## Faults injected

{table(suite_rows, ("fault", "where", "outcome")) if suite_rows else "(suites skipped: run without --no-suites)"}

{APP_HEADING}{app_section or '''

(Kept for the app side: worker processes, concurrent browser sessions, polling cost.)
'''}"""
    DOC.write_text(text.rstrip() + "\n", encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
