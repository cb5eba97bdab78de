"""PNG contact sheet of synthetic clips: one row per clip with its blurry frames, sharp target, flow colours
and moving-region mask.

    python -m flowdeblur.data.preview --split val --clips 4 --out preview.png
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor

from flowdeblur.data.synthetic import SyntheticBlurClips
from flowdeblur.viz.flow_color import flow_to_color

_PAD = 2


def clip_row(sample: dict[str, Tensor | int]) -> Tensor:
    """One dataset sample -> (3, H, (2T + 1) * (W + pad)) tiles: blurry frames 0..T-1, sharp target,
    flow to each neighbour (shared colour scale), mask."""
    blurry, sharp, flow, mask = (cast(Tensor, sample[key]) for key in ("blurry", "sharp", "flow", "mask"))
    tiles = [*blurry, sharp[int(sample["target"])], *flow_to_color(flow), mask.expand(3, -1, -1)]
    return torch.cat([F.pad(tile, (0, _PAD, 0, _PAD), value=1.0) for tile in tiles], dim=-1)


def preview_grid(dataset: SyntheticBlurClips, indices: Sequence[int]) -> Tensor:
    """Samples ``indices`` of ``dataset`` -> (3, rows * (H + pad), cols * (W + pad)) image in [0, 1]."""
    return torch.cat([clip_row(dataset[i]) for i in indices], dim=-2)


def save_preview(dataset: SyntheticBlurClips, indices: Sequence[int], path: str) -> None:
    """Write :func:`preview_grid` of ``indices`` to the PNG file ``path``."""
    import matplotlib.image

    grid = preview_grid(dataset, indices)
    matplotlib.image.imsave(path, grid.permute(1, 2, 0).clamp(0.0, 1.0).numpy())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="val", choices=("train", "val", "test"))
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--num-frames", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="synthetic_preview.png")
    args = parser.parse_args(argv)
    dataset = SyntheticBlurClips(
        args.split, length=args.clips, num_frames=args.num_frames, crop=args.crop, seed=args.seed
    )
    save_preview(dataset, range(args.clips), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
