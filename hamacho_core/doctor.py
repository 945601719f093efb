"""The data doctor: problems in a dataset before training, each with the one action that fixes it.

``examine(dataset_root, category, data_format)`` looks at every picture of the dataset and returns
:class:`Finding` s:

* ``duplicate`` / ``near_duplicate`` - the same picture twice (same pixels), or a copy of it: re-saved, re-encoded,
  resized or slightly cropped. Candidates share the perceptual hash (``imagehash`` pHash, Hamming distance <=
  ``DoctorConfig.near_distance`` of 64 bits) and roughly their 32 x 32 thumbnails; a candidate is a copy when, aligned
  to the other (affine ECC fit), it differs from it by at most ``copy_ratio`` times what a JPEG-75 re-save or a
  half-size round trip changes in either picture (99th percentile of the smoothed difference). Two photos of the
  same spot taken at another time pass the hash but not the pixels (other noise, lighting, dirt). Flagged ``high``
  across good / defect (a defect filed as good, or the other way) and across the train / test split (MVTec layout;
  in the folder layout the split is drawn at training, so two good copies may land on both sides): it inflates
  every figure; action: exclude the copy.
* ``unlike_good`` - a good picture that looks unlike the other good ones: scored (PatchCore-style nearest patch
  distance, the project's backbone at a small size) against a bank built from the other folds only (k-fold), far
  above the others (robust z-score); "is this really good?", with its heat map.
* ``defect_like_good`` - a defect picture that scores like the good ones: "is the defect visible?"
* ``mask_empty`` / ``mask_size`` / ``mask_large`` - a mask with no defect pixel, of another size than its picture,
  or covering most of it.
* ``odd_size`` / ``odd_channels`` / ``odd_brightness`` / ``blurred`` - pictures whose size, channels, brightness or
  sharpness (variance of the Laplacian) stand far apart from the rest (robust z-score).

Each finding carries a reason code (``kind``), its numbers (``values``) and the suggested action (``exclude``,
``relabel_good``, ``relabel_defect`` or ``check``); the CLI, the API and the Data page word and apply them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hamacho_core.data import DATA_FORMATS, load_folder, load_mvtec
from hamacho_core.errors import ConfigError, DataError
from hamacho_core.progress import ProgressCallback

__all__ = ["KINDS", "DoctorConfig", "DoctorReport", "Finding", "examine"]

KINDS = ("duplicate", "near_duplicate", "unlike_good", "defect_like_good", "mask_empty", "mask_size", "mask_large",
         "odd_size", "odd_channels", "odd_brightness", "blurred")
_MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data


@dataclass(frozen=True)
class DoctorConfig:
    """What counts as a problem, and how the features are computed (small and cheap by default)."""

    near_distance: int = 4  # pHash bits (of 64) within which two pictures may be near-duplicates ...
    near_pixels: float = 3.0  # ... when their 32 x 32 gray thumbnails differ by at most this mean (of 255) ...
    copy_ratio: float = 4.0  # ... and, aligned, differ by at most this many times a re-save's change (a copy)
    copy_side: int = 384  # longest side (px) at which copies are compared
    copy_floor: float = 0.25  # gray levels: the least re-save change assumed (pictures a re-save leaves as they are)
    outlier_z: float = 6.0  # robust z-score above which a good picture is unlike the others
    stats_z: float = 6.0  # robust z-score of brightness / sharpness that stands apart
    size_ratio: float = 4.0  # pixels (or aspect ratio) this many times above or below the median stand apart
    defect_quantile: float = 0.05  # a defect scoring below this quantile of the good pictures' scores scores like good
    mask_large: float = 0.5  # share of the picture a mask may cover
    image_size: int = 128  # side of the square input of the features
    folds: int = 5
    bank_patches: int = 20_000  # patches kept per fold's bank (random subset)
    backbone: str = "tf_efficientnet_lite0"
    features: bool = True  # False: only hashes, masks and statistics (no backbone)
    seed: int = 0


@dataclass(frozen=True)
class Finding:
    """One problem: ``pictures[0]`` is the one the action applies to."""

    kind: str
    severity: str  # high | medium
    pictures: list[str]
    action: str  # exclude | relabel_good | relabel_defect | check
    values: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One English line (the UI words the code and its numbers in its own language)."""
        numbers = ", ".join(f"{k} {v}" for k, v in self.values.items())
        return f"{self.kind} ({self.severity}): {' <-> '.join(self.pictures)}" + (f" [{numbers}]" if numbers else "")


@dataclass
class DoctorReport:
    findings: list[Finding]
    n_pictures: int
    seconds: float
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # heat maps (image_size / 8 square) of feature findings

    def to_dict(self) -> dict[str, Any]:
        return {"n_pictures": self.n_pictures, "seconds": round(self.seconds, 2),
                "findings": [asdict(f) for f in self.findings]}


@dataclass
class _Picture:
    path: Path
    group: str  # good | defect:<type>, the label
    split: str  # train | test | "" (folder layout: the split is drawn at training)
    mask: Path | None = None


def _pictures(root: Path, data_format: str) -> list[_Picture]:
    if data_format == "mvtec":
        train, test_good, bad, _ = load_mvtec(root)
        return ([_Picture(s.path, "good", "train") for s in train]
                + [_Picture(s.path, "good", "test") for s in test_good]
                + [_Picture(s.path, f"defect:{s.defect_type}", "test", s.mask_path) for s in bad])
    if data_format == "folder":
        good, bad, _ = load_folder(root)
        return ([_Picture(s.path, "good", "") for s in good]
                + [_Picture(s.path, f"defect:{s.defect_type}", "", s.mask_path) for s in bad])
    raise ConfigError(f"the doctor reads the folder and mvtec layouts, not {data_format!r}: use one of "
                      f"{', '.join(f for f in DATA_FORMATS if f != 'filelist')}")


def _robust_z(values: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """(value - median) / (MAD as a standard deviation), the spread at least ``floor`` (a tight set stays calm)."""
    median = np.median(values)
    mad = np.median(np.abs(values - median)) * _MAD_SCALE
    return (values - median) / max(mad, floor, 1e-9 + 1e-3 * abs(median))


@dataclass
class _Scan:
    """What the checks need of one picture, from a single decode."""

    digest: str  # SHA-256 of the gray pixels and their shape: identical pixels, whatever the file format
    phash: Any  # imagehash pHash (64 bits)
    thumb: np.ndarray  # 32 x 32 gray, float32: a coarse pixel check of pHash candidates
    work: np.ndarray  # gray at ``copy_side`` px (longest side), uint8: the aligned comparison of copies
    loss: float  # how far a JPEG-75 re-save or a half-size round trip moves this picture (the copy yardstick)
    shape: tuple[int, int]
    stats: tuple[float, float, float, float, float]  # pixels, channels, brightness, sharpness, aspect ratio
    small: np.ndarray | None  # RGB at image_size x image_size for the features (None without features)


def _working(gray: np.ndarray, side: int) -> np.ndarray:
    scale = side / max(gray.shape)
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    """99th percentile of the smoothed absolute difference (gray levels), 8 px of border left out."""
    diff = np.abs(cv2.GaussianBlur(a.astype(np.float32) - b.astype(np.float32), (0, 0), 2.0))
    inner = diff[8:-8, 8:-8] if min(diff.shape) > 32 else diff
    return float(np.quantile(inner, 0.99))


def _copy_loss(gray: np.ndarray, work: np.ndarray, side: int) -> float:
    """The difference a plain re-save (JPEG quality 75) or a half-size round trip makes to this picture."""
    h, w = gray.shape
    jpeg = cv2.imdecode(cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, 75])[1], cv2.IMREAD_GRAYSCALE)
    half = cv2.resize(cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA), (w, h))
    return max(_difference(work, _working(jpeg, side)), _difference(work, _working(half, side)))


def _aligned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b`` resized to ``a`` and aligned to it (an affine ECC fit at <= 256 px: a slight crop or shift)."""
    b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
    a = a.astype(np.float32)
    scale = min(1.0, 256 / max(a.shape))
    small_a = cv2.resize(a, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small_b = cv2.resize(b, (small_a.shape[1], small_a.shape[0]), interpolation=cv2.INTER_AREA)
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        _, warp = cv2.findTransformECC(small_a, small_b, warp, cv2.MOTION_AFFINE,
                                       (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5), None, 5)
    except cv2.error:  # no convergence (flat pictures): compare unaligned
        warp = np.eye(2, 3, dtype=np.float32)
    warp[:, 2] /= scale
    return cv2.warpAffine(b, warp, (a.shape[1], a.shape[0]), flags=cv2.INTER_LINEAR + cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def _scan(pictures: Sequence[_Picture], config: DoctorConfig,
          progress: ProgressCallback | None) -> list[_Scan | None]:
    """Decode every picture once (through the project's checked decoder); None for an unreadable one."""
    import hashlib

    import imagehash
    from PIL import Image

    from hamacho_core.imageio import read_raw, to_rgb_uint8
    from hamacho_core.limits import PictureError

    scans: list[_Scan | None] = []
    for index, picture in enumerate(pictures):
        try:
            image = read_raw(picture.path)
        except PictureError:
            image = None
        if image is None:
            scans.append(None)
        else:
            channels = 1 if image.ndim == 2 else image.shape[2]
            rgb = to_rgb_uint8(image)
            gray8 = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            work = _working(gray8, config.copy_side)
            small = cv2.resize(gray8, (256, 256), interpolation=cv2.INTER_AREA)
            scans.append(_Scan(
                digest=hashlib.sha256(gray8.tobytes() + str(gray8.shape).encode()).hexdigest(),
                phash=imagehash.phash(Image.fromarray(gray8)),
                thumb=cv2.resize(gray8, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32),
                work=work, loss=_copy_loss(gray8, work, config.copy_side), shape=gray8.shape[:2],
                stats=(gray8.shape[0] * gray8.shape[1], channels, float(gray8.mean()),
                       float(cv2.Laplacian(small, cv2.CV_64F).var()), gray8.shape[1] / gray8.shape[0]),
                small=(cv2.resize(rgb, (config.image_size,) * 2, interpolation=cv2.INTER_AREA)
                       if config.features else None)))
        if progress is not None:
            progress(index + 1, len(pictures), "hashing pictures")
    return scans


def _pair(a: _Picture, b: _Picture) -> tuple[_Picture, _Picture, str]:
    """(kept, copy, why): the copy is the one to exclude (a good copy of a defect, the test copy, the later name)."""
    if a.group != b.group:
        kept, copy = (b, a) if a.group == "good" else (a, b)
        return kept, copy, "good_and_defect"
    if a.split != b.split and "" not in (a.split, b.split):
        kept, copy = (a, b) if a.split == "train" else (b, a)
        return kept, copy, "train_and_test"
    kept, copy = sorted((a, b), key=lambda p: str(p.path))
    return kept, copy, "split_drawn" if a.split == "" and a.group == "good" else "same_label"


def _duplicates(pictures: Sequence[_Picture], scans: Sequence[_Scan | None], config: DoctorConfig) -> list[Finding]:
    findings = []
    exact: dict[str, int] = {}
    for index, scan in enumerate(scans):
        if scan is None:
            continue
        if scan.digest in exact:
            kept, copy, why = _pair(pictures[exact[scan.digest]], pictures[index])
            findings.append(Finding("duplicate", "high", [str(copy.path), str(kept.path)], "exclude", {"across": why}))
        else:
            exact[scan.digest] = index
    valid = [i for i, scan in enumerate(scans) if scan is not None]
    if len(valid) < 2:
        return findings
    bits = np.array([scans[i].phash.hash.flatten() for i in valid], dtype=bool)
    packed = np.packbits(bits, axis=1)
    for row, i in enumerate(valid[:-1]):
        distance = np.unpackbits(packed[row] ^ packed[row + 1:], axis=1).sum(axis=1)
        for offset in np.flatnonzero(distance <= config.near_distance):
            j = valid[row + 1 + int(offset)]
            a, b = scans[i], scans[j]
            if a.digest == b.digest:  # already an exact duplicate
                continue
            # a pHash match on plain textures is common (two photos of the same spot): the small pictures must
            # match roughly, then the aligned pictures within a few times what a re-save does to either of them
            if float(np.abs(a.thumb - b.thumb).mean()) > config.near_pixels:
                continue
            ratio = _difference(a.work, _aligned(a.work, b.work)) / max(a.loss, b.loss, config.copy_floor)
            if ratio > config.copy_ratio:
                continue
            kept, copy, why = _pair(pictures[i], pictures[j])
            severity = "medium" if why == "same_label" else "high"  # split_drawn: may land across the split
            findings.append(Finding("near_duplicate", severity, [str(copy.path), str(kept.path)], "exclude",
                                    {"across": why, "distance": int(distance[offset]),
                                     "copy_ratio": round(ratio, 2)}))
    return findings


def _statistics(pictures: Sequence[_Picture], stats: np.ndarray, config: DoctorConfig) -> list[Finding]:
    findings = []
    ok = ~np.isnan(stats[:, 0])
    if ok.sum() < 5:
        return findings
    values = stats[ok]
    where = np.flatnonzero(ok)
    channels = values[:, 1]
    majority = np.bincount(channels.astype(int)).argmax()
    for row in np.flatnonzero(channels != majority):
        findings.append(Finding("odd_channels", "medium", [str(pictures[where[row]].path)], "check",
                                {"channels": int(channels[row]), "most": int(majority)}))
    size_off = np.abs(np.log(values[:, 0] / np.median(values[:, 0])))
    shape_off = np.abs(np.log(values[:, 4] / np.median(values[:, 4])))
    far = np.log(config.size_ratio)
    for row in np.flatnonzero((size_off > far) | (shape_off > far)):
        findings.append(Finding("odd_size", "medium", [str(pictures[where[row]].path)], "check",
                                {"pixels": int(values[row, 0]), "median_pixels": int(np.median(values[:, 0]))}))
    bright_z = _robust_z(values[:, 2], floor=5.0)  # gray levels: a few are no difference
    for row in np.flatnonzero(np.abs(bright_z) > config.stats_z):
        findings.append(Finding("odd_brightness", "medium", [str(pictures[where[row]].path)], "check",
                                {"brightness": round(float(values[row, 2]), 1),
                                 "median": round(float(np.median(values[:, 2])), 1)}))
    sharp_z = _robust_z(np.log(values[:, 3] + 1.0), floor=0.25)
    for row in np.flatnonzero(sharp_z < -config.stats_z / 2):  # blur lowers the log sharpness by a lot
        findings.append(Finding("blurred", "medium", [str(pictures[where[row]].path)], "exclude",
                                {"sharpness": round(float(values[row, 3]), 1),
                                 "median": round(float(np.median(values[:, 3])), 1)}))
    return findings


def _masks(pictures: Sequence[_Picture], scans: Sequence[_Scan | None], config: DoctorConfig) -> list[Finding]:
    from hamacho_core.imageio import read_mask
    from hamacho_core.limits import PictureError

    findings = []
    for picture, scan in zip(pictures, scans, strict=True):
        if picture.mask is None or scan is None:
            continue
        try:
            mask = read_mask(picture.mask)
        except PictureError:
            continue
        share = float(mask.mean())
        paths = [str(picture.path), str(picture.mask)]
        if mask.shape[:2] != scan.shape:
            findings.append(Finding("mask_size", "high", paths, "check",
                                    {"mask": list(mask.shape[:2]), "picture": list(scan.shape)}))
        elif share == 0:
            findings.append(Finding("mask_empty", "high", paths, "check", {}))
        elif share > config.mask_large:
            findings.append(Finding("mask_large", "medium", paths, "check", {"share": round(share, 3)}))
    return findings


def _embeddings(images: Sequence[np.ndarray], config: DoctorConfig,
                progress: ProgressCallback | None) -> np.ndarray:
    """(N, h, w, D) float16 patch embeddings at ``image_size`` (the PatchCore embedding of the backbone)."""
    import torch

    from hamacho_core.backbone import create_feature_extractor
    from hamacho_core.detectors.patchcore import PatchCore

    extractor = create_feature_extractor(config.backbone, (8, 16))
    mean = np.asarray(extractor.mean, np.float32)
    std = np.asarray(extractor.std, np.float32)
    out, batch = [], 16
    for start in range(0, len(images), batch):
        chunk = [((image.astype(np.float32) / 255.0 - mean) / std).transpose(2, 0, 1)
                 for image in images[start:start + batch]]
        with torch.inference_mode():
            embedded = PatchCore.embed(extractor(torch.from_numpy(np.stack(chunk))))
        out.append(embedded.permute(0, 2, 3, 1).numpy().astype(np.float16))
        if progress is not None:
            progress(min(start + batch, len(images)), len(images), "extracting features")
    return np.concatenate(out)


def _nearest(queries: np.ndarray, bank: np.ndarray) -> np.ndarray:
    import torch

    q, b = torch.from_numpy(queries.astype(np.float32)), torch.from_numpy(bank.astype(np.float32))
    distances = torch.cdist(q, b)
    return distances.min(dim=1).values.numpy()


def _feature_findings(pictures: Sequence[_Picture], embeddings: np.ndarray, config: DoctorConfig,
                      progress: ProgressCallback | None) -> tuple[list[Finding], dict[str, np.ndarray]]:
    good = [i for i, p in enumerate(pictures) if p.group == "good"]
    defect = [i for i, p in enumerate(pictures) if p.group != "good"]
    if len(good) < 2 * config.folds:
        return [], {}
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(good)
    folds = np.array_split(order, config.folds)
    n, h, w, d = embeddings.shape
    scores, maps = np.zeros(n), {}
    done = 0
    for fold in range(config.folds):
        others = np.concatenate([folds[k] for k in range(config.folds) if k != fold])
        patches = embeddings[others].reshape(-1, d)
        bank = patches[rng.choice(len(patches), min(config.bank_patches, len(patches)), replace=False)]
        targets = list(folds[fold]) + ([i for i in defect if i % config.folds == fold])
        for index in targets:
            distances = _nearest(embeddings[index].reshape(-1, d), bank).reshape(h, w)
            scores[index] = float(distances.max())
            maps[str(pictures[index].path)] = distances.astype(np.float32)
            done += 1
            if progress is not None:
                progress(done, len(good) + len(defect), "scoring against the other good pictures")
    findings = []
    good_scores = scores[good]
    z = _robust_z(good_scores)
    for position in np.flatnonzero(z > config.outlier_z):
        index = good[position]
        findings.append(Finding("unlike_good", "high", [str(pictures[index].path)], "relabel_defect",
                                {"score": round(float(scores[index]), 3), "z": round(float(z[position]), 1)}))
    if defect:
        floor = float(np.quantile(good_scores, config.defect_quantile))
        for index in defect:
            if scores[index] < floor:
                findings.append(Finding("defect_like_good", "medium", [str(pictures[index].path)], "check",
                                        {"score": round(float(scores[index]), 3),
                                         "good_median": round(float(np.median(good_scores)), 3)}))
    flagged = {f.pictures[0] for f in findings}
    return findings, {k: v for k, v in maps.items() if k in flagged}


def examine(root: str | Path, data_format: str = "folder", config: DoctorConfig | None = None,
            progress: ProgressCallback | None = None) -> DoctorReport:
    """Every finding of the dataset at ``root`` (the category folder), most serious first.

    Args:
        root: ``<dataset-root>/<category>``.
        data_format: "folder" or "mvtec".
        config: thresholds and feature settings.
        progress: ``(done, total, stage)`` while hashing, extracting features and scoring.

    Raises:
        DataError: no good picture folder; ConfigError: an unsupported format.
    """
    config = config or DoctorConfig()
    started = time.perf_counter()
    pictures = _pictures(Path(root), data_format)
    if not pictures:
        raise DataError(f"no picture found in {root}: the doctor needs good/ (and bad/) pictures")
    scans = _scan(pictures, config, progress)
    stats = np.asarray([scan.stats if scan is not None else (np.nan,) * 5 for scan in scans], dtype=np.float64)
    findings = (_duplicates(pictures, scans, config) + _masks(pictures, scans, config)
                + _statistics(pictures, stats, config))
    maps: dict[str, np.ndarray] = {}
    if config.features:
        usable = [i for i, scan in enumerate(scans) if scan is not None]
        chosen = [pictures[i] for i in usable]
        embeddings = _embeddings([scans[i].small for i in usable], config, progress)
        more, maps = _feature_findings(chosen, embeddings, config, progress)
        # a defect with a copy among the good pictures scores like good because of that copy: the duplicate
        # finding names both and carries the action, a second finding would only repeat it
        copied = {p for f in findings if f.kind in ("duplicate", "near_duplicate")
                  and f.values.get("across") == "good_and_defect" for p in f.pictures}
        findings += [f for f in more if not (f.kind == "defect_like_good" and f.pictures[0] in copied)]
    findings.sort(key=lambda f: (f.severity != "high", KINDS.index(f.kind), f.pictures))
    return DoctorReport(findings, len(pictures), time.perf_counter() - started, maps)
