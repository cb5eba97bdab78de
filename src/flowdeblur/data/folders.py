"""Data sets of real footage stored as frame folders: one sample per frame of every sequence.

Sample ``i`` restores one frame (the window's ``target`` slot) from a window of ``num_frames`` frames around
it; windows at the sequence ends are completed by the edge mode of :mod:`flowdeblur.data.windows`, so every
frame is a target. The layouts (GoPro, DVD, REDS, BSD, plain frames) are discovered by
:mod:`flowdeblur.data.layouts`.

Each item is a dict like the synthetic data's: ``blurry`` (T, 3, H, W) float32 RGB in [0, 1]; ``sharp`` (T, 3,
H, W) where ground truth exists; ``target``, ``index`` (unique per sample), ``clip`` (the sequence's position
in the split) ints; and for reports ``frame`` (the target's frame number in its sequence), ``sequence_length``
ints and ``sequence`` (the sequence's name).

Training augmentation (``augment=True``): a random ``crop``, horizontal and vertical flips, and temporal
reversal (p = 0.5 each), drawn once per sample and applied to every frame of the window, blurry and sharp
alike. Without ``augment``, ``crop`` takes the centre crop; ``crop=None`` keeps full frames.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from flowdeblur.data import layouts
from flowdeblur.data.augment import apply, window_crop
from flowdeblur.data.images import FrameError, read_image
from flowdeblur.data.layouts import VideoSequence
from flowdeblur.data.windows import EDGE_MODES, window_indices
from flowdeblur.network import default_target


class FolderClips(Dataset):
    """Windows around every ``frame_step``-th frame of the given sequences.

    Args:
        sequences: the split's sequences (clip id = position in this list).
        num_frames: window length T >= 2.
        target: the window slot to restore; None = :func:`~flowdeblur.network.default_target`.
        edge: ``reflect`` or ``replicate`` (:mod:`flowdeblur.data.windows`).
        crop: None (full frames), an int (square) or (height, width).
        augment: random crop, flips and temporal reversal (training); otherwise a centre crop.
        frame_step: restore every ``frame_step``-th frame of each sequence (1 = all; e.g. 10 for a quick val).
    """

    def __init__(
        self,
        sequences: list[VideoSequence],
        num_frames: int = 3,
        target: int | None = None,
        edge: str = "reflect",
        crop: int | Seq[int] | None = None,
        augment: bool = False,
        frame_step: int = 1,
    ) -> None:
        if not isinstance(num_frames, int) or num_frames < 2:
            raise ValueError(f"num_frames: expected an int >= 2, got {num_frames!r}")
        target = default_target(num_frames) if target is None else target
        if not 0 <= target < num_frames:
            raise ValueError(f"target: expected None or an int in [0, {num_frames - 1}], got {target!r}")
        if edge not in EDGE_MODES:
            raise ValueError(f"edge: expected one of {list(EDGE_MODES)}, got '{edge}'")
        if not isinstance(frame_step, int) or frame_step < 1:
            raise ValueError(f"frame_step: expected an int >= 1, got {frame_step!r}")
        if augment and crop is None:
            raise ValueError("augment: random crops and flips need a crop size; set crop")
        self.sequences = sequences
        self.num_frames, self.target, self.edge, self.augment = num_frames, target, edge, augment
        self.crop = None if crop is None else ((crop, crop) if isinstance(crop, int) else (int(crop[0]), int(crop[1])))
        self.transform = None if self.crop is None else window_crop(self.crop, augment)
        self.has_sharp = all(s.sharp is not None for s in sequences)
        self.samples = [(clip, frame) for clip, seq in enumerate(sequences) for frame in range(0, len(seq), frame_step)]

    @property
    def clip_names(self) -> dict[int, str]:
        """Clip id -> sequence name (for reports)."""
        return {clip: seq.name for clip, seq in enumerate(self.sequences)}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        clip, frame = self.samples[index]
        seq = self.sequences[clip]
        reverse = self.augment and bool(torch.rand(()) < 0.5)
        order = window_indices(frame, len(seq), self.num_frames, self.target, self.edge, reverse)
        windows = {"blurry": self.load(seq.blurry, order)}
        if seq.sharp is not None:
            windows["sharp"] = self.load(seq.sharp, order)
            self.check_pair(windows["blurry"], windows["sharp"], seq.blurry[frame], seq.sharp[frame])
        if self.transform is not None:
            self.check_crop(windows["blurry"], seq)
            windows = dict(zip(windows, apply(self.transform, *windows.values()), strict=True))
        return {
            **{key: value.contiguous() for key, value in windows.items()},
            "target": self.target,
            "index": index,
            "clip": clip,
            "frame": frame,
            "sequence_length": len(seq),
            "sequence": seq.name,
        }

    @staticmethod
    def load(files: tuple[Path, ...], order: list[int]) -> Tensor:
        """Frames ``order`` of ``files`` -> (T, 3, H, W); each distinct frame is decoded once."""
        decoded = {i: read_image(files[i]) for i in dict.fromkeys(order)}
        sizes = {tuple(t.shape) for t in decoded.values()}
        if len(sizes) > 1:
            shapes = {files[i].name: tuple(t.shape[1:]) for i, t in decoded.items()}
            raise FrameError(f"{files[0].parent}: frames of one sequence differ in size: {shapes}")
        return torch.stack([decoded[i] for i in order])

    @staticmethod
    def check_pair(blurry: Tensor, sharp: Tensor, blurry_file: Path, sharp_file: Path) -> None:
        if blurry.shape != sharp.shape:
            raise FrameError(
                f"{blurry_file} is {tuple(blurry.shape[-2:])} but its sharp frame {sharp_file} is "
                f"{tuple(sharp.shape[-2:])}; expected the same size"
            )

    def check_crop(self, frames: Tensor, seq: VideoSequence) -> None:
        h, w = frames.shape[-2:]
        if self.crop is not None and (h < self.crop[0] or w < self.crop[1]):
            raise FrameError(
                f"{seq.blurry[0].parent}: frames are {h}x{w}, smaller than the crop {self.crop[0]}x{self.crop[1]}"
            )


class GoPro(FolderClips):
    """GOPRO_Large (:func:`flowdeblur.data.layouts.gopro`); other arguments as :class:`FolderClips`."""

    def __init__(
        self, root: str | Path, split: str = "train", blur_dir: str = "blur", val_every: int = 6, **kwargs: Any
    ) -> None:
        super().__init__(layouts.gopro(root, split, blur_dir, val_every), **kwargs)


class DVD(FolderClips):
    """DeepVideoDeblurring with the standard 61/10 split (:func:`flowdeblur.data.layouts.dvd`)."""

    def __init__(self, root: str | Path, split: str = "train", val_every: int = 6, **kwargs: Any) -> None:
        super().__init__(layouts.dvd(root, split, val_every), **kwargs)


class REDS(FolderClips):
    """REDS ``train`` / ``val`` / ``reds4`` = ``test`` (:func:`flowdeblur.data.layouts.reds`)."""

    def __init__(self, root: str | Path, split: str = "train", blur_dir: str = "blur", **kwargs: Any) -> None:
        super().__init__(layouts.reds(root, split, blur_dir), **kwargs)


class BSD(FolderClips):
    """BSD ``train`` / ``val`` / ``test`` of one exposure setup (:func:`flowdeblur.data.layouts.bsd`)."""

    def __init__(self, root: str | Path, split: str = "train", setup: str = "2ms16ms", **kwargs: Any) -> None:
        super().__init__(layouts.bsd(root, split, setup), **kwargs)


class Frames(FolderClips):
    """A user's frame folders, blurry only (:func:`flowdeblur.data.layouts.frames`)."""

    def __init__(self, root: str | Path, **kwargs: Any) -> None:
        super().__init__(layouts.frames(root), **kwargs)
