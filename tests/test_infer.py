"""Inference on a user's footage: videos and frame folders in and out, streaming windows, safe outputs."""

from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from flowdeblur.checkpoints.load import CheckpointError
from flowdeblur.data.images import FrameError
from flowdeblur.data.windows import window_indices
from flowdeblur.inference.precision import resolve_precision
from flowdeblur.video.stream import sliding_windows
from flowdeblur.video.writer import OutputError
from tests.footage import frames_array, read_video, run_infer, save_checkpoint, write_frames, write_video


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained small network: it returns the blurry target frame exactly."""
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "last.ckpt")


def test_video_to_video_keeps_count_size_fps_and_frames(tmp_path: Path, ckpt: Path) -> None:
    frames = frames_array(5, 36, 50)
    source = write_video(tmp_path / "in.mp4", frames, fps=12)
    result = run_infer(
        tmp_path,
        ckpt,
        f"input={source}",
        f"output={tmp_path / 'out' / 'restored.mp4'}",
        "codec=libx264rgb",
        "crf=0",
        "tile=32",
        "tile_overlap=8",
        "preview=true",
    )
    restored, fps = read_video(tmp_path / "out" / "restored.mp4")
    assert result["frames"] == 5 and fps == 12
    assert result["precision"] == resolve_precision("auto", torch.device("cpu"))[0]  # precision=auto, the default
    assert restored.shape == frames.shape
    assert np.array_equal(restored, frames)  # identity network, lossless codec
    preview, _ = read_video(tmp_path / "out" / "restored_preview.mp4")
    assert preview.shape == (5, 36, 100, 3) and np.array_equal(preview[..., :50, :], frames)
    assert sorted(os.listdir(tmp_path / "out")) == ["restored.mp4", "restored_preview.mp4"]


def test_frames_folder_to_folder_keeps_names(tmp_path: Path, ckpt: Path) -> None:
    frames = frames_array(4, 24, 32)
    write_frames(tmp_path / "clip", frames, suffix=".jpg")
    inputs = np.stack([iio.imread(tmp_path / "clip" / f"{i:05d}.jpg") for i in range(4)])
    run_infer(tmp_path, ckpt, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'restored'}")
    assert sorted(os.listdir(tmp_path / "restored")) == [f"{i:05d}.png" for i in range(4)]
    outputs = np.stack([iio.imread(tmp_path / "restored" / f"{i:05d}.png") for i in range(4)])
    assert np.array_equal(outputs, inputs)


def test_frames_folder_of_odd_size_to_video(tmp_path: Path, ckpt: Path) -> None:
    write_frames(tmp_path / "clip", frames_array(3, 27, 35))
    result = run_infer(tmp_path, ckpt, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'out.mkv'}", "fps=24")
    restored, fps = read_video(tmp_path / "out.mkv")
    assert restored.shape == (3, 27, 35, 3) and fps == 24 and result["fps"] == "24"


def test_sliding_windows_equal_data_set_windows_and_stay_bounded() -> None:
    frames = [torch.full((1, 2, 2), float(i)) for i in range(9)]
    pulled = []

    def source():
        for i, frame in enumerate(frames):
            pulled.append(i)
            yield frame

    for edge in ("reflect", "replicate"):
        pulled.clear()
        for center, window in sliding_windows(source(), 5, 1, edge):
            assert window[:, 0, 0, 0].long().tolist() == window_indices(center, 9, 5, 1, edge)
            assert len(pulled) <= center + 5 + 2  # look-ahead of at most T frames
        assert center == 8


def test_refuses_output_equal_to_input(tmp_path: Path, ckpt: Path) -> None:
    source = write_video(tmp_path / "in.mp4", frames_array(3, 16, 16))
    before = source.read_bytes()
    (tmp_path / "link.mp4").symlink_to(source)
    for output in (source, tmp_path / "link.mp4", tmp_path / "sub" / ".." / "in.mp4"):
        with pytest.raises(OutputError, match="is the input"):
            run_infer(tmp_path, ckpt, f"input={source}", f"output={output}", "overwrite=true")
    with pytest.raises(OutputError, match="contains the input"):
        run_infer(tmp_path, ckpt, f"input={source}", f"output={tmp_path}", "overwrite=true")
    assert source.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["in.mp4", "link.mp4"]


def test_existing_output_only_with_overwrite(tmp_path: Path, ckpt: Path) -> None:
    write_frames(tmp_path / "clip", frames_array(2, 16, 16))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("keep")
    with pytest.raises(OutputError, match="exists; choose another path or pass overwrite=true"):
        run_infer(tmp_path, ckpt, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'out'}")
    assert (tmp_path / "out" / "old.txt").read_text() == "keep"
    run_infer(tmp_path, ckpt, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'out'}", "overwrite=true")
    assert sorted(os.listdir(tmp_path / "out")) == ["00000.png", "00001.png"]
    assert sorted(os.listdir(tmp_path)) == ["clip", "out"]


@pytest.mark.parametrize(
    "case", ["unreadable video", "missing input", "missing checkpoint", "corrupt frame", "bad suffix"]
)
def test_bad_input_writes_nothing(tmp_path: Path, ckpt: Path, case: str) -> None:
    (tmp_path / "bad.mp4").write_bytes(b"not a video at all" * 8)
    write_frames(tmp_path / "clip", frames_array(4, 16, 16))
    source, output, weights = tmp_path / "clip", tmp_path / "out.mp4", ckpt
    error, message = FrameError, ""
    if case == "unreadable video":
        source, message = tmp_path / "bad.mp4", f"{tmp_path / 'bad.mp4'}: not a readable video"
    elif case == "missing input":
        source, message = tmp_path / "nope.mov", f"{tmp_path / 'nope.mov'}: no such file or folder"
    elif case == "missing checkpoint":
        weights, error = tmp_path / "none.ckpt", CheckpointError
        message = f"no checkpoint file at '{tmp_path / 'none.ckpt'}'"
    elif case == "corrupt frame":
        (tmp_path / "clip" / "00003.png").write_bytes(b"\x89PNG truncated")
        message = "00003.png: not a readable image"
    else:
        output, error, message = tmp_path / "out.gif", OutputError, "has the suffix '.gif'"
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(error, match=message):
        run_infer(tmp_path, weights, f"input={source}", f"output={output}")
    assert sorted(os.listdir(tmp_path)) == listing
