"""Sequence discovery for the folder layouts of the standard video-deblurring data sets and of plain frames.

Every function returns the sequences of one split in a fixed (natural) order; a sequence's position in that
list is its clip id. Blurry and sharp frames are paired by file name. Anything missing or inconsistent raises
:class:`~flowdeblur.data.images.FrameError` naming the path and what was expected.

- ``gopro``: GOPRO_Large, ``<root>/{train,test}/<seq>/{blur,blur_gamma,sharp}/*.png``.
- ``dvd``: DeepVideoDeblurring, ``<root>/quantitative_datasets/<seq>/{input,GT}/*.jpg``; the standard split by
  sequence: the 10 test sequences of Su et al. 2017 (:data:`DVD_TEST`), the other 61 for training.
- ``reds``: REDS, ``<root>/{train,val}_{blur,sharp}/<seq>/*.png``; ``reds4`` (:data:`REDS4`, four clips of
  ``train``, also called ``test``) is the test set and is left out of ``train``.

- ``bsd``: BSD, ``<root>/BSD_<setup>/{train,valid,test}/<seq>/{Blur,Sharp}/RGB/*.png``.
- ``frames``: a folder of frame folders, or one folder of frames; blurry only.

Validation never uses test sequences. GoPro and DVD have no official validation split: their ``val`` split is
a fixed part of the official train sequences (:func:`holdout_positions`: one in every ``val_every``, evenly
spaced in natural order), their ``train`` split is the rest and ``trainval`` all of them (for a final training
once the settings are chosen). REDS and BSD keep their official validation clips.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flowdeblur.data.images import IMAGE_SUFFIXES, FrameError, list_images, natural_key

DVD_TEST = (
    "IMG_0030",
    "IMG_0049",
    "IMG_0021",
    "720p_240fps_2",
    "IMG_0032",
    "IMG_0033",
    "IMG_0031",
    "IMG_0003",
    "IMG_0039",
    "IMG_0037",
)
REDS4 = ("000", "011", "015", "020")


@dataclass(frozen=True)
class VideoSequence:
    """One video: its name and frame files in time order; ``sharp`` is None without ground truth."""

    name: str
    blurry: tuple[Path, ...]
    sharp: tuple[Path, ...] | None = None

    def __len__(self) -> int:
        return len(self.blurry)


def gopro(root: str | Path, split: str = "train", blur_dir: str = "blur", val_every: int = 6) -> list[VideoSequence]:
    """GOPRO_Large ``train``, ``val`` (held out of the train folder, :func:`holdout`), ``trainval`` (the whole
    train folder) or ``test``; ``blur_dir``: ``blur`` or ``blur_gamma``."""
    check_choice("split", split, ("train", "val", "trainval", "test"))
    check_choice("blur_dir", blur_dir, ("blur", "blur_gamma"))
    folder = "test" if split == "test" else "train"
    base = existing_dir([Path(root) / folder], f"the GoPro '{folder}' folder")
    seqs = nonempty(subdirs(base), base, folder)
    if split in ("train", "val"):
        seqs = holdout(seqs, split, val_every, base)
    return [paired(seq.name, seq / blur_dir, seq / "sharp") for seq in seqs]


def dvd(root: str | Path, split: str = "train", val_every: int = 6) -> list[VideoSequence]:
    """DVD ``train`` and ``val`` (the 61 non-test sequences, split by :func:`holdout`), ``trainval`` (all 61) or
    ``test`` (:data:`DVD_TEST`); ``root`` may be quantitative_datasets."""
    check_choice("split", split, ("train", "val", "trainval", "test"))
    base = existing_dir([Path(root) / "quantitative_datasets", Path(root)], "DVD's quantitative_datasets")
    seqs = subdirs(base)
    missing = sorted(set(DVD_TEST) - {s.name for s in seqs})
    if missing:
        raise FrameError(f"{base}: the DVD test sequences {missing} are missing; expected {list(DVD_TEST)}")
    chosen = nonempty([s for s in seqs if (s.name in DVD_TEST) == (split == "test")], base, split)
    if split in ("train", "val"):
        chosen = holdout(chosen, split, val_every, base)
    return [paired(seq.name, seq / "input", seq / "GT") for seq in chosen]


def holdout_positions(count: int, every: int) -> list[int]:
    """Positions (0-based, natural order) of the validation sequences among ``count`` train sequences.

    ``m = max(1, count // every)`` sequences, evenly spaced: position ``floor((2k + 1) * count / (2m))`` for
    ``k < m``, i.e. the middle of each of ``m`` equal runs. Official GoPro (22 train sequences, ``every=6``):
    positions 3, 11 and 18; DVD (61 train sequences): 3, 9, 15, ..., 57 (ten).
    """
    if not isinstance(every, int) or every < 2:
        raise ValueError(f"val_every: expected an int >= 2 (one validation sequence in every val_every), got {every!r}")
    m = max(1, count // every)
    return [(2 * k + 1) * count // (2 * m) for k in range(m)]


def holdout(seqs: list[Path], split: str, every: int, base: Path) -> list[Path]:
    """The ``val`` (held-out) or ``train`` (the rest) part of the official train sequences ``seqs``."""
    if len(seqs) < 2:
        raise FrameError(
            f"{base}: {len(seqs)} train sequence(s); holding out validation sequences needs at "
            "least 2 (or validate elsewhere: data.val=null)"
        )
    held = set(holdout_positions(len(seqs), every))
    return [seq for i, seq in enumerate(seqs) if (i in held) == (split == "val")]


def reds(root: str | Path, split: str = "train", blur_dir: str = "blur") -> list[VideoSequence]:
    """REDS ``train`` (without REDS4), ``val`` or ``reds4`` (= ``test``); ``blur_dir``: ``blur`` or ``blur_comp``."""
    check_choice("split", split, ("train", "val", "reds4", "test"))
    split = "reds4" if split == "test" else split
    check_choice("blur_dir", blur_dir, ("blur", "blur_comp"))
    part = "val" if split == "val" else "train"
    root = Path(root)
    blur_base = existing_dir(
        [root / f"{part}_{blur_dir}", root / part / f"{part}_{blur_dir}"], f"the REDS '{part}_{blur_dir}' folder"
    )
    sharp_base = existing_dir(
        [root / f"{part}_sharp", root / part / f"{part}_sharp"], f"the REDS '{part}_sharp' folder"
    )
    seqs = subdirs(blur_base)
    if split == "reds4":
        missing = sorted(set(REDS4) - {s.name for s in seqs})
        if missing:
            raise FrameError(f"{blur_base}: the REDS4 clips {missing} are missing; expected {list(REDS4)}")
    if split != "val":
        seqs = [s for s in seqs if (s.name in REDS4) == (split == "reds4")]
    return [paired(seq.name, seq, sharp_base / seq.name) for seq in nonempty(seqs, blur_base, split)]


def bsd(root: str | Path, split: str = "train", setup: str = "2ms16ms") -> list[VideoSequence]:
    """BSD ``train``, ``val`` (folder ``valid``) or ``test`` of ``BSD_<setup>`` (``root`` may be that)."""
    check_choice("split", split, ("train", "val", "test"))
    folder = "valid" if split == "val" else split
    root = Path(root)
    base = existing_dir([root / f"BSD_{setup}" / folder, root / folder], f"the BSD_{setup} '{folder}' folder")
    seqs = nonempty(subdirs(base), base, split)
    return [paired(seq.name, seq / "Blur" / "RGB", seq / "Sharp" / "RGB") for seq in seqs]


def frames(root: str | Path) -> list[VideoSequence]:
    """``root`` holding frames (one sequence) or folders of frames (one sequence each); no ground truth."""
    root = existing_dir([Path(root)], "the frames folder")
    direct = list_images(root)
    if direct:
        return [VideoSequence(root.name, tuple(direct))]
    seqs = subdirs(root)
    if not seqs:
        raise FrameError(f"{root}: no frames; expected image files or folders of image files")
    return [VideoSequence(seq.name, tuple(images(seq))) for seq in seqs]


def paired(name: str, blur_dir: Path, sharp_dir: Path) -> VideoSequence:
    """Blurry and sharp frames of one sequence, paired by file name."""
    blurry, sharp = images(blur_dir), images(sharp_dir)
    if len(blurry) != len(sharp):
        raise FrameError(
            f"{blur_dir.parent}: {len(blurry)} blurry frames in '{blur_dir.name}' but {len(sharp)} sharp "
            f"frames in '{sharp_dir.name}'; expected one sharp frame per blurry frame"
        )
    by_stem = {s.stem: s for s in sharp}
    unpaired = [b for b in blurry if b.stem not in by_stem]
    if unpaired:
        raise FrameError(
            f"{unpaired[0]} has no sharp frame of the same name in {sharp_dir} ({len(unpaired)} blurry "
            "frames unpaired); expected matching file names"
        )
    return VideoSequence(name, tuple(blurry), tuple(by_stem[b.stem] for b in blurry))


def images(folder: Path) -> list[Path]:
    """The frames of ``folder``; an error if it is missing or holds none."""
    if not folder.is_dir():
        raise FrameError(f"{folder}: folder not found; expected a folder of frames")
    files = list_images(folder)
    if not files:
        raise FrameError(f"{folder}: no frames; expected image files ({', '.join(IMAGE_SUFFIXES)})")
    return files


def subdirs(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` (hidden ones skipped), in natural order."""
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=natural_key)


def existing_dir(candidates: Iterable[Path], what: str) -> Path:
    """The first candidate that is a folder; an error naming the first candidate otherwise."""
    candidates = list(candidates)
    for path in candidates:
        if path.is_dir():
            return path
    raise FrameError(f"{candidates[0]}: folder not found; expected {what} there (check data.root)")


def nonempty(seqs: list[Path], base: Path, split: str) -> list[Path]:
    if not seqs:
        raise FrameError(f"{base}: no sequence folders for split '{split}'")
    return seqs


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got '{value}'")
