"""Deblur a video or a folder of frames: ``python -m flowdeblur.infer input=... output=... ckpt_path=...``.

Frames stream through a sliding window (only about 2T frames in memory) that never mixes two shots (shot cuts
are detected on the fly), each window is restored tile by tile, and the result goes to a temporary file beside
the output that is renamed into place at the end: an error leaves nothing behind, the input is never
overwritten, an existing output only with ``overwrite=true``. ``start``/``count`` restrict the frames written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from torch import Tensor

from flowdeblur.checkpoints.weights import load_net
from flowdeblur.config import CONF_DIR
from flowdeblur.config_schema import check_config
from flowdeblur.inference.precision import cached_weight_casts, resolve_precision
from flowdeblur.inference.tiled import TiledNet
from flowdeblur.runs.quiet import quiet_libraries
from flowdeblur.runs.user_errors import user_errors
from flowdeblur.video.progress import FrameProgress
from flowdeblur.video.reader import open_reader
from flowdeblur.video.shots import ShotCuts
from flowdeblur.video.stream import sliding_windows
from flowdeblur.video.writer import FolderWriter, VideoWriter, check_output, open_writer

FOLDER_FPS = Fraction(30)
Sink = VideoWriter | FolderWriter


def infer(cfg: DictConfig) -> dict[str, str | int | list[int]]:
    """Restore the frames of ``cfg.input`` (all, or ``count`` from ``start``) into ``cfg.output``; returns what
    was written, ``cuts`` (the frame numbers after the first written one that start a new shot) and the
    ``precision`` used (``fp32`` or ``bf16``; ``precision=auto`` chooses bf16 where the device has it natively)."""
    check_options(cfg)
    check_config(cfg)
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    start, count = frame_range(cfg.start, cfg.count)
    cuts = ShotCuts(cfg.cut_threshold) if cfg.cut_threshold is not None else None
    source, output = Path(cfg.input), Path(cfg.output)
    kind = check_output(source, output, cfg.overwrite)
    preview = output.with_name(f"{output.stem}_preview.mp4") if cfg.preview else None
    if preview is not None:
        check_output(source, preview, cfg.overwrite)
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    precision, why = resolve_precision(cfg.precision, device)
    net, _ = load_net(cfg.ckpt_path)
    num_frames, target = net.num_frames, net.target
    skip = max(start - (num_frames - 1), 0)  # the frames before `start` still serve as its neighbours
    reader = open_reader(source, skip)
    try:
        if reader.count is not None and start - skip >= reader.count:
            raise ValueError(f"start: frame {start} is beyond the end of {source} ({reader.total} frames)")
        layout = torch.channels_last if cfg.channels_last else torch.preserve_format
        # Module.to takes memory_format at run time; its typing overloads omit it
        net = net.to(device, memory_format=layout)  # type: ignore[call-overload]
        tiled = TiledNet(net, cfg.tile, cfg.tile_overlap, cfg.get("max_memory_mb"))
        restore = window_restorer(tiled, target, device, precision)
        fps = Fraction(cfg.fps) if cfg.fps else (reader.fps or FOLDER_FPS)
        windows = sliding_windows(
            reader, num_frames, target, cfg.edge, cuts, start - skip, None if count is None else start - skip + count
        )
        total = None if reader.count is None else reader.count - (start - skip)
        total = count if total is None else min(total, count or total)
        sinks: list[Sink] = []
        try:
            sinks.append(open_writer(output, kind, fps, reader.size, cfg.codec, cfg.crf, reader.colour))
            if preview is not None:
                size = (reader.size[0], 2 * reader.size[1])
                sinks.append(VideoWriter(preview, fps, size, cfg.codec, cfg.crf, reader.colour))
            with FrameProgress(total, interval=cfg.progress_every) as progress, cached_weight_casts(device, precision):
                written_frames = restore_stream(reader.names, windows, restore, target, sinks, progress)
            if not written_frames:
                raise ValueError(f"start: frame {start} is beyond the end of {source}")
            written = [str(sink.commit()) for sink in sinks]
        except BaseException:
            for sink in sinks:
                sink.abort()
            raise
    finally:
        reader.close()
    shots = [] if cuts is None else [skip + i for i in cuts.cuts if start < skip + i < start + written_frames]
    Console().print(
        f"[bold]restored[/bold] {written_frames} frames of {source} (frames {start}-"
        f"{start + written_frames - 1}, {len(shots)} shot cuts) at {precision} on {device} ({why}) -> "
        f"{', '.join(written)}"
    )
    return {
        "output": written[0],
        "preview": written[1] if preview else "",
        "frames": written_frames,
        "fps": str(fps),
        "cuts": shots,
        "precision": precision,
    }


def check_options(cfg: DictConfig) -> None:
    """Name every mandatory option left unset (``???``) in one error."""
    missing = sorted(key for key in OmegaConf.missing_keys(cfg) if not key.startswith("hydra"))
    if missing:
        raise ValueError(
            f"missing mandatory option{'s' if len(missing) > 1 else ''} {', '.join(f'{k}=...' for k in missing)}"
            " (e.g. input=clip.mp4 output=clip_sharp.mp4 ckpt_path=model.safetensors)"
        )


def frame_range(start: object, count: object) -> tuple[int, int | None]:
    """Checked ``start`` (frame number >= 0) and ``count`` (frames >= 1, or None for all)."""
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"start: expected a frame number >= 0, got {start!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"count: expected a number of frames >= 1 or null (all), got {count!r}")
    return start, count


def window_restorer(net: TiledNet, target: int, device: torch.device, precision: str) -> Callable[[Tensor], Tensor]:
    """A function: window (T, 3, H, W) -> restored target frame (3, H, W), float32 on the CPU."""

    @torch.no_grad()
    def restore(window: Tensor) -> Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            return net(window[None].to(device), target).restored[0].float().cpu()

    return restore


def restore_stream(
    names: list[str] | None,
    windows: Iterable[tuple[int, Tensor]],
    restore: Callable[[Tensor], Tensor],
    target: int,
    sinks: list[Sink],
    progress: FrameProgress,
) -> int:
    """Restore every window into every sink (the preview sink gets input | output); frame ``i`` of the reader is
    named ``names[i]``. Returns the number of frames written."""
    count = 0
    for index, window in windows:
        restored = to_uint8(restore(window))
        sinks[0].write(restored, names[index] if names else None)
        if len(sinks) > 1:
            sinks[1].write(np.concatenate([to_uint8(window[target]), restored], axis=1))
        count += 1
        progress.advance()
    return count


def to_uint8(frame: Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8."""
    return frame.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).contiguous().numpy()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="infer")
def main(cfg: DictConfig) -> None:
    quiet_libraries()
    with user_errors("flowdeblur.infer"):
        infer(cfg)


if __name__ == "__main__":
    main()
