"""Image panels of one clip: blurry target | restored | sharp | flow | error map | conditioned weights.

Used by :class:`~flowdeblur.callbacks.panels.ValidationPanels` and the notebooks. Every tile is an (H, W, 3)
float array in [0, 1] at the frame's resolution; maps at coarser levels are upsampled (nearest for weights).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from flowdeblur.network import NetOutput
from flowdeblur.viz.flow_color import flow_to_color

Tile = tuple[str, np.ndarray]
MIN_FLOW_SCALE = 1.0


def _rgb(image: Tensor) -> np.ndarray:
    """(3, H, W) -> (H, W, 3) float array in [0, 1]."""
    return image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def _colormap(values: Tensor, vmax: float, name: str) -> np.ndarray:
    """(H, W) values in [0, vmax] -> (H, W, 3) colours of matplotlib's ``name`` colormap."""
    scaled = (values.detach().float() / max(vmax, 1e-12)).clamp(0, 1).cpu().numpy()
    return colormaps[name](scaled)[..., :3]


def _upsample(level_map: Tensor, level: int, size: tuple[int, int], mode: str) -> Tensor:
    """(C, h, w) at ``level`` -> (C, H, W) at full resolution, cropped to ``size`` (maps cover the padded
    frame)."""
    full = F.interpolate(level_map[None].float(), scale_factor=2**level, mode=mode)[0]
    return full[:, : size[0], : size[1]]


def flow_tile(out: NetOutput, size: tuple[int, int], neighbour: int = -1) -> Tile:
    """Finest-level flow from the target to one neighbour (default the last), colour-coded, in full-res
    pixels; saturation is relative to the largest magnitude, at least ``MIN_FLOW_SCALE`` px (sub-pixel flow
    stays pale)."""
    level = min(out.motion.flows)
    flow = _upsample(out.motion.flows[level][0, neighbour], level, size, "bilinear") * 2**level
    largest = float(flow.norm(dim=0).max())
    colours = flow_to_color(flow, max_magnitude=max(largest, MIN_FLOW_SCALE))
    return f"flow (L{level}, max {largest:.2g} px)", _rgb(colours)


def weight_tiles(weights: dict[int, Tensor], size: tuple[int, int]) -> list[Tile]:
    """Per level: mean |w| over channels (per-pixel weights), or the |w| vector as a grid (per-sample)."""
    tiles = []
    for level, w in sorted(weights.items()):
        magnitude = w[0].detach().float().abs()
        if magnitude.dim() == 3:
            field_map = _upsample(magnitude.mean(0, keepdim=True), level, size, "nearest")[0]
        else:
            side = int(np.ceil(np.sqrt(magnitude.numel())))
            grid = F.pad(magnitude, (0, side * side - magnitude.numel())).reshape(1, 1, side, side)
            field_map = F.interpolate(grid, size=size, mode="nearest")[0, 0]
        vmax = float(field_map.max())
        tiles.append((f"|weights| L{level} (max {vmax:.2g})", _colormap(field_map, vmax, "viridis")))
    return tiles


@torch.no_grad()
def panel_tiles(batch: dict[str, Tensor], out: NetOutput, target: int, error_max: float = 0.1) -> list[Tile]:
    """Tiles of the first sample of ``batch`` (keys ``blurry``, optionally ``sharp``) and its network output.

    The error map is mean |restored - sharp| over channels on a fixed scale ``[0, error_max]`` (inferno), so
    panels of different epochs compare.
    """
    blurry = batch["blurry"][0, target]
    restored = out.restored[0].clamp(0, 1)
    size = (blurry.shape[-2], blurry.shape[-1])
    tiles = [("blurry target", _rgb(blurry)), ("restored", _rgb(restored))]
    if "sharp" in batch:
        sharp = batch["sharp"][0, target]
        tiles.append(("sharp", _rgb(sharp)))
    if out.motion.flows:
        tiles.append(flow_tile(out, size))
    if "sharp" in batch:
        error = (restored.float() - sharp.float()).abs().mean(0)
        tiles.append((f"|error| (0–{error_max:g})", _colormap(error, error_max, "inferno")))
    return tiles + weight_tiles(out.weights, size)


def render_panel(tiles: list[Tile], title: str = "", tile_inches: float = 2.2) -> np.ndarray:
    """Tiles side by side with their titles -> (H, W, 3) uint8 image (matplotlib Agg, no display needed)."""
    fig = Figure(figsize=(tile_inches * len(tiles), tile_inches + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(tiles)))
    for ax, (name, image) in zip(axes, tiles, strict=True):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(name, fontsize=8)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
