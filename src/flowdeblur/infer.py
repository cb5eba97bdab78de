"""Deblur a video or a folder of frames: ``python -m flowdeblur.infer input=... output=... ckpt_path=...``.

Frames stream through a sliding window (only about 2T frames in memory), each window is restored tile by tile,
and the result goes to a temporary file beside the output that is renamed into place at the end: an error
leaves nothing behind, the input is never overwritten, an existing output only with ``overwrite=true``.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import Tensor

from flowdeblur.tiled import TiledNet
from flowdeblur.utils.cli import user_errors
from flowdeblur.video.reader import FolderReader, VideoReader, open_reader
from flowdeblur.video.stream import sliding_windows
from flowdeblur.video.writer import FolderWriter, VideoWriter, check_output, open_writer
from flowdeblur.weights import load_net

FOLDER_FPS = Fraction(30)
PRECISIONS = ("fp32", "bf16")
Sink = VideoWriter | FolderWriter


def infer(cfg: DictConfig) -> dict[str, str | int]:
    """Restore every frame of ``cfg.input`` into ``cfg.output``; returns what was written."""
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    if cfg.precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {list(PRECISIONS)}, got '{cfg.precision}'")
    source, output = Path(cfg.input), Path(cfg.output)
    kind = check_output(source, output, cfg.overwrite)
    preview = output.with_name(f"{output.stem}_preview.mp4") if cfg.preview else None
    if preview is not None:
        check_output(source, preview, cfg.overwrite)
    reader = open_reader(source)
    try:
        net, config = load_net(cfg.ckpt_path)
        num_frames = int(config.data.num_frames)
        target = num_frames // 2 if config.data.get("target") is None else int(config.data.target)
        device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        layout = torch.channels_last if cfg.channels_last else torch.preserve_format
        net = net.to(device, memory_format=layout)
        restore = window_restorer(TiledNet(net, cfg.tile, cfg.tile_overlap), target, device, cfg.precision)
        fps = Fraction(cfg.fps) if cfg.fps else (reader.fps or FOLDER_FPS)
        sinks: list[Sink] = []
        try:
            sinks.append(open_writer(output, kind, fps, reader.size, cfg.codec, cfg.crf))
            if preview is not None:
                size = (reader.size[0], 2 * reader.size[1])
                sinks.append(VideoWriter(preview, fps, size, cfg.codec, cfg.crf))
            count = restore_stream(reader, restore, num_frames, target, cfg.edge, sinks)
            written = [str(sink.commit()) for sink in sinks]
        except BaseException:
            for sink in sinks:
                sink.abort()
            raise
    finally:
        reader.close()
    Console().print(f"[bold]restored[/bold] {count} frames of {source} -> {', '.join(written)}")
    return {"output": written[0], "preview": written[1] if preview else "", "frames": count, "fps": str(fps)}


def window_restorer(
    net: TiledNet, target: int, device: torch.device, precision: str
) -> Callable[[Tensor], Tensor]:
    """A function: window (T, 3, H, W) -> restored target frame (3, H, W), float32 on the CPU."""

    @torch.no_grad()
    def restore(window: Tensor) -> Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            return net(window[None].to(device), target).restored[0].float().cpu()

    return restore


def restore_stream(
    reader: VideoReader | FolderReader, restore: Callable[[Tensor], Tensor], num_frames: int, target: int,
    edge: str, sinks: list[Sink],
) -> int:
    """Restore the reader's frames window by window into every sink (the preview sink gets input | output)."""
    names = reader.names
    columns = (TextColumn("[bold]deblurring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    count = 0
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("frames", total=reader.count)
        for index, window in sliding_windows(reader, num_frames, target, edge):
            restored = to_uint8(restore(window))
            sinks[0].write(restored, names[index] if names else None)
            if len(sinks) > 1:
                sinks[1].write(np.concatenate([to_uint8(window[target]), restored], axis=1))
            count += 1
            progress.advance(task)
    return count


def to_uint8(frame: Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8."""
    return frame.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).contiguous().numpy()


@hydra.main(version_base="1.3", config_path="conf", config_name="infer")
def main(cfg: DictConfig) -> None:
    with user_errors("flowdeblur.infer"):
        infer(cfg)


if __name__ == "__main__":
    main()
