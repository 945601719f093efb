"""Datasets: the old tool's folder layout, the MVTec layout and explicit file lists.

Loading never crashes on a bad file: unusable items are left out and reported as :class:`Problem` rows
(file, reason) that the CLI prints and the app shows. Only an unusable dataset as a whole (no good images) raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from hamacho_core.choices import DATA_FORMATS
from hamacho_core.errors import ConfigError, DataError
from hamacho_core.imageio import decode_bytes, image_size, is_image_file, read_mask
from hamacho_core.limits import Limits
from hamacho_core.progress import ProgressCallback, track

__all__ = [
    "DATA_FORMATS",
    "Dataset",
    "Problem",
    "Sample",
    "collect_images",
    "ground_truth_masks",
    "read_masks",
    "list_images",
    "load_dataset",
    "load_filelist",
    "load_folder",
    "load_mvtec",
    "picture_problem",
    "relative_names",
    "split_good",
]

GOOD = "good"
_IGNORED_NAMES = {"thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Sample:
    """One image of the dataset."""

    path: Path  # image file
    label: int  # 0 good, 1 defect
    defect_type: str = GOOD  # "good" or the defect sub-folder, e.g. "scratch" or "scratch/deep"
    mask_path: Path | None = None  # ground-truth mask (non-zero = defect), when known
    size: tuple[int, int] = (0, 0)  # (height, width) of the image, 0 when not probed


@dataclass(frozen=True)
class Problem:
    """A file that was left out or only partly used, and why."""

    path: str
    reason: str


@dataclass
class Dataset:
    """Images ready for training: good train images, test images (good + defect), and the problems found."""

    train: list[Sample]
    test: list[Sample]
    problems: list[Problem] = field(default_factory=list)

    @property
    def has_defects(self) -> bool:
        return any(s.label == 1 for s in self.test)

    @property
    def has_masks(self) -> bool:
        """True when every defect test image has a mask (pixel metrics need it)."""
        defects = [s for s in self.test if s.label == 1]
        return bool(defects) and all(s.mask_path is not None for s in defects)

    def counts(self) -> dict[str, int]:
        """Images per subset and class: {"train/good": n, "test/good": n, "test/<type>": n}."""
        out: dict[str, int] = {"train/good": len(self.train)}
        for sample in self.test:
            key = f"test/{sample.defect_type}"
            out[key] = out.get(key, 0) + 1
        return out


def list_images(folder: Path, problems: list[Problem] | None = None) -> list[Path]:
    """Image files below ``folder`` (recursive, sorted). Other visible files are reported as problems."""
    found: list[Path] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.name.lower() in _IGNORED_NAMES:
            continue
        if is_image_file(path):
            found.append(path)
        elif problems is not None:
            problems.append(Problem(str(path), "not an image file (skipped)"))
    return found


def _require_good(folder: Path) -> None:
    if not folder.is_dir():
        raise DataError(f"good-image folder not found: {folder} (it must exist and hold the good images)")


def _find_mask(mask_dir: Path, relative: Path) -> Path | None:
    """Mask for an image at ``relative`` (to its class folder): same stem, any image extension, ``_mask`` optional."""
    folder = mask_dir / relative.parent
    for stem in (relative.stem, f"{relative.stem}_mask"):
        for candidate in sorted(folder.glob(f"{_glob_escape(stem)}.*")):
            if is_image_file(candidate):
                return candidate
    return None


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _defect_type(relative: Path, default: str) -> str:
    parent = relative.parent.as_posix()
    return default if parent in ("", ".") else parent


def _defect_samples(bad_dir: Path, mask_dir: Path | None, default_type: str, problems: list[Problem]) -> list[Sample]:
    samples = []
    for path in list_images(bad_dir, problems):
        relative = path.relative_to(bad_dir)
        mask = _find_mask(mask_dir, relative) if mask_dir is not None and mask_dir.is_dir() else None
        if mask_dir is not None and mask is None:
            problems.append(Problem(str(path), "defect image has no mask (image kept, left out of pixel metrics)"))
        samples.append(Sample(path, 1, _defect_type(relative, default_type), mask))
    return samples


def _orphan_masks(mask_dir: Path | None, samples: Sequence[Sample], problems: list[Problem]) -> None:
    if mask_dir is None or not mask_dir.is_dir():
        return
    used = {s.mask_path.resolve() for s in samples if s.mask_path is not None}
    for path in list_images(mask_dir):
        if path.resolve() not in used:
            problems.append(Problem(str(path), "mask has no matching defect image (ignored)"))


def load_folder(
    root: str | Path, *, with_masks: bool = True, no_bad: bool = False
) -> tuple[list[Sample], list[Sample], list[Problem]]:
    """Load the old tool's layout: ``good/``, ``bad/[<type>/]``, optional ``mask/`` mirroring ``bad/``.

    Returns:
        (good samples, defect samples, problems).
    """
    root = Path(root)
    problems: list[Problem] = []
    _require_good(root / "good")
    good = [Sample(p, 0) for p in list_images(root / "good", problems)]
    bad: list[Sample] = []
    if not no_bad and (root / "bad").is_dir():
        mask_dir = root / "mask" if with_masks and (root / "mask").is_dir() else None
        bad = _defect_samples(root / "bad", mask_dir, "bad", problems)
        _orphan_masks(mask_dir, bad, problems)
    return good, bad, problems


def load_mvtec(
    root: str | Path, *, no_bad: bool = False
) -> tuple[list[Sample], list[Sample], list[Sample], list[Problem]]:
    """Load the MVTec layout: ``train/good``, ``test/good``, ``test/<type>``, ``ground_truth/<type>/``.

    Masks may be named ``<stem>_mask.png`` or ``<stem>.png``.

    Returns:
        (train good, test good, test defect, problems).
    """
    root = Path(root)
    problems: list[Problem] = []
    _require_good(root / "train" / GOOD)
    train = [Sample(p, 0) for p in list_images(root / "train" / GOOD, problems)]
    test_dir = root / "test"
    test_good = [Sample(p, 0) for p in list_images(test_dir / GOOD, problems)] if (test_dir / GOOD).is_dir() else []
    bad: list[Sample] = []
    if not no_bad and test_dir.is_dir():
        gt = root / "ground_truth"
        for type_dir in sorted(p for p in test_dir.iterdir() if p.is_dir() and p.name != GOOD):
            mask_dir = gt / type_dir.name if gt.is_dir() else None
            bad += _defect_samples(type_dir, mask_dir, type_dir.name, problems)
            _orphan_masks(mask_dir, [s for s in bad if s.defect_type == type_dir.name], problems)
    return train, test_good, bad, problems


def _split_list(text: str | Sequence[str] | None) -> list[Path]:
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    return [Path(item.strip()) for item in items if str(item).strip()]


def load_filelist(
    good_files: str | Sequence[str], bad_files: str | Sequence[str] | None = None,
    mask_files: str | Sequence[str] | None = None,
) -> tuple[list[Sample], list[Sample], list[Problem]]:
    """Load explicit lists (comma-separated strings or sequences). Masks pair with defect images by file stem."""
    problems: list[Problem] = []
    good_paths = _split_list(good_files)
    if not good_paths:
        raise DataError("--good-file-list is empty: give a comma-separated list of good image files")
    masks_by_stem: dict[str, Path] = {}
    for mask in _split_list(mask_files):
        masks_by_stem[mask.stem.removesuffix("_mask")] = mask
    good, bad = [], []
    for path in good_paths:
        if path.is_file():
            good.append(Sample(path, 0))
        else:
            problems.append(Problem(str(path), "file not found"))
    for path in _split_list(bad_files):
        if not path.is_file():
            problems.append(Problem(str(path), "file not found"))
            continue
        mask = masks_by_stem.pop(path.stem, None)
        if mask_files and mask is None:
            problems.append(Problem(str(path), "defect image has no mask (image kept, left out of pixel metrics)"))
        bad.append(Sample(path, 1, "bad", mask))
    problems += [Problem(str(m), "mask has no matching defect image (ignored)") for m in masks_by_stem.values()]
    return good, bad, problems


def _reason(error: DataError, path: Path) -> str:
    """The error's message without the file name (the Problem row names the file)."""
    return getattr(error, "reason", None) or str(error).replace(f" {path}", "")


def picture_problem(data: bytes, name: str | Path, limits: Limits | None = None) -> Problem | None:
    """Check an imported picture's bytes (size, header pixels, then a decode): None when usable, else the Problem.

    Used at the door (uploads, ZIP and folder imports, the API) so unusable files are named before they are stored.
    """
    try:
        decode_bytes(data, name, limits)
    except DataError as error:
        return Problem(str(name), _reason(error, Path(name)))
    return None


def _probe(sample: Sample) -> tuple[Sample | None, list[Problem]]:
    """Decode the image (and mask) once: drop undecodable or over-limit images, drop masks of another size."""
    try:
        size = image_size(sample.path)
    except DataError as error:
        return None, [Problem(str(sample.path), _reason(error, sample.path))]
    mask, problems = sample.mask_path, []
    if mask is not None:
        try:
            mask_size = image_size(mask)
        except DataError as error:
            mask_size, problems = None, [Problem(str(mask), _reason(error, mask) + " (mask ignored)")]
        if mask_size is not None and tuple(mask_size) != tuple(size):
            problems.append(Problem(str(mask), f"mask is {mask_size[1]}x{mask_size[0]} but image is "
                                    f"{size[1]}x{size[0]} (mask ignored)"))
        if problems:
            mask = None
    return Sample(sample.path, sample.label, sample.defect_type, mask, tuple(size)), problems


def probe_samples(
    samples: Sequence[Sample], problems: list[Problem], progress: ProgressCallback | None = None, n_threads: int = 4
) -> list[Sample]:
    """Check every image decodes and every mask matches its image's size; record sizes."""
    with ThreadPoolExecutor(n_threads) as pool:
        results = list(track(pool.map(_probe, samples), len(samples), "checking images", progress))
    kept = []
    for sample, found in results:
        problems += found
        if sample is not None:
            kept.append(sample)
    return kept


def split_good(good: Sequence[Sample], split: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Move ``split`` of the good images (at least one) to test, chosen by ``seed``; the rest train.

    Returns:
        (train, test), each in the input's order.
    """
    if not 0.0 < split < 1.0:
        raise ConfigError(f"--split must be between 0.01 and 0.99, got {split}")
    n_test = min(len(good) - 1, max(1, round(split * len(good))))
    order = np.random.default_rng(seed).permutation(len(good))
    test_index = set(order[:n_test].tolist())
    train = [s for i, s in enumerate(good) if i not in test_index]
    test = [s for i, s in enumerate(good) if i in test_index]
    return train, test


def load_dataset(
    root: str | Path,
    data_format: str = "folder",
    *,
    split: float = 0.2,
    seed: int = 420,
    with_masks: bool = True,
    no_bad: bool = False,
    good_files: str | Sequence[str] | None = None,
    bad_files: str | Sequence[str] | None = None,
    mask_files: str | Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Dataset:
    """Load, check and split a dataset.

    Args:
        root: the category folder (``<dataset-root>/<category>``); unused for ``filelist``.
        data_format: "folder", "mvtec" or "filelist".
        split: share of good images held out for testing (folder/filelist, and mvtec without test/good).
        seed: random seed of the split.
        with_masks: use ground-truth masks when present.
        no_bad: good-only mode: defect images are ignored.
        good_files, bad_files, mask_files: file lists for ``filelist``.
        progress: called while images are checked.

    Returns:
        The :class:`Dataset`.

    Raises:
        DataError: no usable good image, a missing folder, or more pictures than HAMACHO_MAX_PROJECT_IMAGES.
        ConfigError: unknown format or split out of range.
    """
    if data_format not in DATA_FORMATS:
        raise ConfigError(f"unknown data format {data_format!r}: use one of {', '.join(DATA_FORMATS)}")
    if data_format == "mvtec":
        train, test_good, bad, problems = load_mvtec(root, no_bad=no_bad)
        good = train + test_good
    elif data_format == "folder":
        good, bad, problems = load_folder(root, with_masks=with_masks, no_bad=no_bad)
        test_good = []
    else:
        good, bad, problems = load_filelist(
            good_files or [], None if no_bad else bad_files, mask_files if with_masks else None)
        test_good = []
    if not with_masks:
        bad = [Sample(s.path, 1, s.defect_type) for s in bad]
    Limits.from_env().check_image_count(len(good) + len(bad), root if data_format != "filelist" else "the file lists")
    good = probe_samples(good, problems, progress)
    bad = probe_samples(bad, problems, progress)
    where = {"mvtec": Path(root) / "train" / GOOD, "folder": Path(root) / GOOD}.get(data_format, "--good-file-list")
    if len(good) < 2:
        raise DataError(f"need at least 2 readable good images, found {len(good)} in {where}")
    if data_format == "mvtec" and test_good:
        test_paths = {s.path for s in test_good}
        train = [s for s in good if s.path not in test_paths]
        test = [s for s in good if s.path in test_paths]
        if not train:
            raise DataError(f"no readable good training image in {where}")
    else:
        train, test = split_good(good, split, seed)
    return Dataset(train=train, test=test + bad, problems=problems)



def relative_names(paths: Sequence[Path], groups: Sequence[str]) -> list[Path]:
    """Output names ``<group>/<file name>``, made unique when two sources share a name."""
    seen: dict[Path, int] = {}
    names = []
    for path, group in zip(paths, groups, strict=True):
        name = Path(group) / Path(path).name
        count = seen.get(name, 0)
        seen[name] = count + 1
        names.append(name if count == 0 else name.with_name(f"{name.stem}_{count}{name.suffix}"))
    return names


def collect_images(
    image_path: str | Path | Sequence[str | Path], progress: ProgressCallback | None = None
) -> tuple[list[Path], list[Path], list[Problem]]:
    """The readable pictures to run inference on, their output names (sub-folders kept) and the files left out.

    Args:
        image_path: an image file, a folder (searched recursively), or a list of files.

    Raises:
        DataError: the file or folder does not exist, or the list is empty.
    """
    problems: list[Problem] = []
    if isinstance(image_path, str | Path):
        root = Path(image_path)
        if root.is_file():
            paths, names = [root], [Path(root.name)]
        elif not root.is_dir():
            raise DataError(f"--image-path not found: {root} (give an image file or a folder of images)")
        else:
            paths = list_images(root, problems)
            names = [p.relative_to(root) for p in paths]
    else:
        paths = [Path(p) for p in image_path]
        if not paths:
            raise DataError("no image given: pass at least one image file")
        names = relative_names(paths, ["."] * len(paths))
    kept = {s.path for s in probe_samples([Sample(p, 0) for p in paths], problems, progress)}
    return ([p for p in paths if p in kept], [n for p, n in zip(paths, names, strict=True) if p in kept],
            problems)


KEEP_MASK_BYTES = 256 << 20  # full-size masks kept for the report writer (bool); beyond, it reads them again


def read_masks(samples: Sequence[Sample], progress: ProgressCallback | None = None,
               limit: int = KEEP_MASK_BYTES) -> list[np.ndarray | None]:
    """Each sample's mask decoded once at its own size ((H, W) bool; None without a mask file, or where the memory
    budget ``limit`` ran out: ``ground_truth_masks`` and the report writer then read that file themselves)."""
    masks: list[np.ndarray | None] = []
    for sample in track(samples, len(samples), "reading masks", progress):
        mask = read_mask(sample.mask_path) if sample.mask_path is not None and limit > 0 else None
        limit -= mask.nbytes if mask is not None else 0
        masks.append(mask if limit >= 0 else None)
    return masks


def ground_truth_masks(samples: Sequence[Sample], shape: tuple[int, int],
                       progress: ProgressCallback | None = None,
                       decoded: Sequence[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """Ground truth at the model input shape (height, width): N (h, w) bool, all-False where no mask is known.

    ``decoded``: the masks already read (``read_masks``); the files are read only where it holds None.
    """
    height, width = shape
    masks = []
    shown = track(samples, len(samples), "reading masks", progress) if decoded is None else samples
    for index, sample in enumerate(shown):
        if sample.mask_path is None:
            masks.append(np.zeros((height, width), bool))
            continue
        mask = decoded[index] if decoded is not None and decoded[index] is not None else read_mask(sample.mask_path)
        masks.append(cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0)
    return masks
