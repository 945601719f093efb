"""Property tests (hypothesis) over everything a user or an attacker can hand in: never a traceback, always a
usable result, a ``Problem`` or a ``HamachoError``.

Bounded (``max_examples``, no deadline) so the whole file runs in well under a minute on 2 cores; the number of
examples each property ran is printed at the end (``-s``) and written to ``$HAMACHO_FUZZ_COUNTS`` when set (the
reliability report reads it).

Why hypothesis rather than hand-written loops: it generates the odd cases (empty, huge, unicode, boundary values)
itself, shrinks a failure to the smallest input that shows it, and remembers it in its database for the next run.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from hostile_inputs import png_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hamacho_core.data import Sample, picture_problem, probe_samples
from hamacho_core.errors import HamachoError
from hamacho_core.evaluation import Evaluation
from hamacho_core.imageio import read_image, read_mask
from hamacho_core.limits import Limits
from hamacho_core.persistence import list_runs, load_run, read_config, update_thresholds
from hamacho_core.uploads import import_zip, save_uploads

COUNTS: Counter[str] = Counter()
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEDIUM = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = Limits(max_image_pixels=4_000_000)  # small pictures only, so a header claiming 2,000 x 2,000 is refused


def _valid_pictures() -> list[bytes]:
    import cv2

    array = np.random.default_rng(0).integers(0, 255, (24, 20, 3), endpoint=True).astype(np.uint8)
    return [cv2.imencode(s, array)[1].tobytes() for s in (".png", ".jpg", ".bmp", ".tiff", ".webp")] + [
        png_bytes(16, 16, seed=1, dtype=np.uint16), png_bytes(16, 16, channels=4, seed=2)]


VALID = _valid_pictures()


@st.composite
def picture_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or a valid picture with some bytes overwritten, truncated or extended."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=512))
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut] if draw(st.booleans()) else data) + draw(st.binary(max_size=16))


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    print("\nfuzz examples run:", dict(COUNTS), "total", sum(COUNTS.values()))
    if target := os.environ.get("HAMACHO_FUZZ_COUNTS"):
        Path(target).write_text(json.dumps(dict(COUNTS)), encoding="utf-8")


@FAST
@given(data=picture_bytes(), suffix=st.sampled_from([".png", ".jpg", ".bmp", ".tif", ".webp"]))
def test_picture_bytes_read_or_refused(data: bytes, suffix: str) -> None:
    COUNTS["picture bytes"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"画像{suffix}"
        path.write_bytes(data)
        try:
            image = read_image(path)
        except HamachoError:
            image = None
        if image is not None:
            assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
        problem = picture_problem(data, path.name, LIMITS)
        assert problem is None or (problem.path == path.name and problem.reason)


@MEDIUM
@given(image=st.sampled_from(VALID[:2]), mask=picture_bytes())
def test_mask_bytes_read_or_refused(image: bytes, mask: bytes) -> None:
    COUNTS["mask bytes"] += 1
    with tempfile.TemporaryDirectory() as folder:
        image_path, mask_path = Path(folder) / "a.png", Path(folder) / "a_mask.png"
        image_path.write_bytes(image)
        mask_path.write_bytes(mask)
        try:
            found = read_mask(mask_path)
            assert found.ndim == 2 and found.dtype == bool
        except HamachoError:
            pass
        problems: list = []
        [sample] = probe_samples([Sample(image_path, 1, "scratch", mask_path)], problems)
        assert sample.mask_path is None or sample.mask_path == mask_path
        assert (sample.mask_path is None) == bool(problems)


_NAME_PARTS = st.sampled_from(["good", "bad", "mask", "scratch", "..", ".", "", "傷", "C:", "/", "\\", "a.png",
                               "b.PNG", "c.jpg", ".hidden.png", "x" * 60, "notes.txt", "~"])


@st.composite
def zip_members(draw: st.DrawFn) -> dict[str, bytes]:
    members = {}
    for _ in range(draw(st.integers(0, 8))):
        name = "/".join(draw(st.lists(_NAME_PARTS, min_size=1, max_size=5)))
        members[name] = draw(st.sampled_from(VALID[:2])) if draw(st.booleans()) else draw(st.binary(max_size=300))
    return members


@MEDIUM
@given(members=zip_members(), compress=st.booleans())
def test_zip_names_and_sizes_import_or_refuse(members: dict[str, bytes], compress: bool) -> None:
    COUNTS["zip members"] += 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name or "empty", data)
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        try:
            report = import_zip(data_dir, io.BytesIO(buffer.getvalue()), len(buffer.getvalue()), limits=LIMITS)
        except HamachoError:
            report = None
        written = [p for p in Path(folder).rglob("*") if p.is_file()]
        assert all(p.resolve().is_relative_to(data_dir.resolve()) for p in written)
        if report is not None:
            assert sorted(report.written) == sorted(written)
            assert all(picture_problem(p.read_bytes(), p.name, LIMITS) is None for p in written)


@MEDIUM
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_a_zip(data: bytes) -> None:
    COUNTS["zip bytes"] += 1
    with tempfile.TemporaryDirectory() as folder:
        try:
            import_zip(Path(folder) / "data", io.BytesIO(b"PK\x03\x04" + data), len(data) + 4, limits=LIMITS)
        except HamachoError:
            pass


@MEDIUM
@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4), kind=st.sampled_from(["good", "bad"]))
def test_uploaded_names_stay_inside(names: list[str], kind: str) -> None:
    COUNTS["upload names"] += 1
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        try:
            save_uploads(data_dir, kind, [(name + ".png", VALID[0]) for name in names], LIMITS)
        except HamachoError:
            pass
        assert all(p.resolve().is_relative_to(data_dir.resolve()) for p in Path(folder).rglob("*"))


# --------------------------------------------------------------------------------------- saved runs
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: tiny PatchCore, saved with its evaluation."""
    from hamacho_core.detectors import PatchCore, PatchCoreConfig
    from hamacho_core.persistence import save_run
    from hamacho_core.thresholds import Normalization

    images = [np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8) for i in range(3)]
    detector = PatchCore(PatchCoreConfig(input_shape=(64, 64), device="cpu")).fit(images)
    folder = tmp_path_factory.mktemp("runs") / "r"
    normalization = Normalization("adaptive", 1.0, 0.0, 2.0, 1.0, 0.0, 2.0)
    save_run(folder, detector, normalization, {"category": "x"}, {"image_auroc": 0.9})
    Evaluation(["a.png", "b.png"], ["good", "scratch"], np.array([0, 1]), np.array([0.5, 1.5]),
               np.zeros((2, 8, 8), np.float16), None, normalization).save(folder)
    return folder


_YAML_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=True)
                            | st.text(max_size=20), lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
_KEYS = ["format_version", "model", "detector", "state", "normalization", "settings", "metrics", "weights",
         "created"]


@st.composite
def tampered_config(draw: st.DrawFn, original: dict) -> str:
    """config.yaml text: the original with keys removed or replaced by odd values, or arbitrary text."""
    if draw(st.integers(0, 5)) == 0:
        return draw(st.text(max_size=200))
    config = json.loads(json.dumps(original))
    for key in draw(st.lists(st.sampled_from(_KEYS), max_size=3)):
        if draw(st.booleans()):
            config.pop(key, None)
        else:
            config[key] = draw(_YAML_VALUES)
    if isinstance(config.get("normalization"), dict) and config["normalization"] and draw(st.booleans()):
        name = draw(st.sampled_from(sorted(config["normalization"])))
        config["normalization"][name] = draw(_YAML_VALUES)
    return yaml.safe_dump(config, allow_unicode=True)


def _copy(run: Path, folder: str) -> Path:
    target = Path(folder) / "runs" / "r"
    shutil.copytree(run, target)
    return target


@MEDIUM
@given(data=st.data())
def test_config_contents_read_or_refused(trained_run: Path, data: st.DataObject) -> None:
    COUNTS["config.yaml contents"] += 1
    original = yaml.safe_load((trained_run / "config.yaml").read_text(encoding="utf-8"))
    text = data.draw(tampered_config(original))
    with tempfile.TemporaryDirectory() as folder:
        run = _copy(trained_run, folder)
        (run / "config.yaml").write_text(text, encoding="utf-8")
        errors: list = []
        runs = list_runs(Path(folder), errors)
        assert len(runs) + len(errors) == 1
        for action in (lambda: read_config(run), lambda: Evaluation.load(run).metrics_at(0.5),
                       lambda: update_thresholds(run, image_norm=0.4)):
            try:
                action()
            except HamachoError:
                pass


@SLOW
@given(data=st.data())
def test_config_contents_load_or_refuse(trained_run: Path, data: st.DataObject) -> None:
    COUNTS["config.yaml loaded"] += 1
    original = yaml.safe_load((trained_run / "config.yaml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        run = _copy(trained_run, folder)
        (run / "config.yaml").write_text(data.draw(tampered_config(original)), encoding="utf-8")
        try:
            load_run(run, "cpu")
        except HamachoError:
            pass


_RUN_FILES = ["config.yaml", "weights/model.safetensors", "evaluation.safetensors", "evaluation.json"]


@MEDIUM
@given(target=st.sampled_from(_RUN_FILES), how=st.sampled_from(["delete", "truncate", "garbage", "folder", "flip"]),
       cut=st.floats(0, 1), garbage=st.binary(max_size=64))
def test_run_folder_tampering(trained_run: Path, target: str, how: str, cut: float, garbage: bytes) -> None:
    COUNTS["run-folder tampering"] += 1
    with tempfile.TemporaryDirectory() as folder:
        run = _copy(trained_run, folder)
        path = run / target
        content = path.read_bytes()
        path.unlink()
        if how == "truncate":
            path.write_bytes(content[:int(len(content) * cut)])
        elif how == "garbage":
            path.write_bytes(garbage)
        elif how == "folder":
            path.mkdir()
        elif how == "flip":
            position = int((len(content) - 1) * cut)
            path.write_bytes(content[:position] + bytes([content[position] ^ 0xFF]) + content[position + 1:])
        list_runs(Path(folder), [])
        actions = [lambda: Evaluation.load(run)]
        if target == "weights/model.safetensors":  # the slow path (backbone) only where the weights changed
            actions.append(lambda: load_run(run, "cpu"))
        for action in actions:
            try:
                action()
            except HamachoError:
                pass
