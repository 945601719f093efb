"""Outputs off the critical path: the ReportWriter's threads, decoded-picture reuse, streaming inference, the CSV."""

from pathlib import Path

import numpy as np

from hamacho_core.imageio import read_image, write_image
from hamacho_core.persistence import load_run
from hamacho_core.pipeline import infer
from hamacho_core.report import ReportSource, ReportWriter, write_pixel_csv, write_reports
from hamacho_core.thresholds import Normalization

NORMALIZATION = Normalization("adaptive", 1.0, 0.0, 2.0, 0.5, 0.0, 1.0)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_pixel_csv_is_the_five_decimal_text_row_by_row(tmp_path: Path) -> None:
    values = np.array([[0.0, 0.123456, 1.0, 1.7], [-0.2, 0.5, 0.999996, 0.000004]], np.float32)
    write_pixel_csv(tmp_path / "a.csv", values)
    expected = "".join(",".join(f"{min(max(float(v), 0.0), 1.0):.5f}" for v in row) + "\n" for row in values)
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == expected
    assert expected.startswith("0.00000,0.12346,1.00000,1.00000\n0.00000,0.50000,1.00000,0.00000")


def test_writer_reusing_decoded_pictures_writes_the_same_files_and_counts_written_sets(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths, images = [], []
    for i in range(5):
        image = rng.integers(0, 255, (30 + i, 50, 3), dtype=np.uint8)
        write_image(tmp_path / "in" / f"{i}.png", image)
        paths.append(tmp_path / "in" / f"{i}.png")
        images.append(read_image(paths[-1]))
    maps = rng.random((5, 8, 12)).astype(np.float32) * 2
    scores = rng.random(5) * 2
    sources = [ReportSource(p, Path("x") / p.name) for p in paths]
    calls: list[tuple[int, int, str]] = []
    writer = ReportWriter(tmp_path / "reused", NORMALIZATION, max_pending=1)  # one job in flight: bounded queue
    for source, raw_map, score, image in zip(sources, maps, scores, images, strict=True):
        writer.submit(source, raw_map, score, image)
    writer.close(lambda done, total, stage: calls.append((done, total, stage)))
    from hamacho_core.detectors import Prediction

    write_reports(tmp_path / "decoded", sources, Prediction(scores, maps), NORMALIZATION)
    reused, decoded = _tree(tmp_path / "reused"), _tree(tmp_path / "decoded")
    assert len(reused) == 5 * 6 + 1 and reused == decoded  # 5 pictures + CSV each, and defect_regions.csv
    assert calls[0] == (0, 5, "writing outputs") and calls[-1] == (5, 5, "writing outputs")
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_streaming_inference_writes_what_predict_then_write_does(trained: tuple[Path, str], demo_root: Path,
                                                                 tmp_path: Path) -> None:
    run_dir, _ = trained
    images = sorted((demo_root / "bad").rglob("*.png"))[:3] + sorted((demo_root / "good").glob("*.png"))[:2]
    result = infer(run_dir / "config.yaml", images, tmp_path / "streamed", batch_size=2, accelerator="cpu",
                   keep_maps=True)
    run = load_run(run_dir / "config.yaml", "cpu", batch_size=2)
    batches: list[tuple[int, int]] = []
    prediction = run.detector.predict(images, None, lambda start, s, m, pics: batches.append((start, len(pics))))
    assert batches == [(0, 2), (2, 2), (4, 1)]
    sources = [ReportSource(Path(r["filepath"]), Path(r["output_name"])) for r in result.rows]
    maps = write_reports(tmp_path / "after", sources, prediction, run.normalization, keep_maps=True)
    streamed = {k: v for k, v in _tree(tmp_path / "streamed").items() if not k.endswith("pred_outputs.csv")}
    assert streamed == _tree(tmp_path / "after") and len(streamed) == 5 * 6 + 1
    assert all(np.array_equal(a, b) for a, b in zip(result.normalized_maps, maps, strict=True))
    assert [r["raw_score"] for r in result.rows] == prediction.scores.tolist()
