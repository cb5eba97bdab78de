"""Inference on real-ish footage: shot cuts, colour bias, frame range, rotation, permissions, progress, options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from flowdeblur.infer import infer
from flowdeblur.video.reader import VideoReader
from tests.footage import (
    photo_clip,
    read_video,
    run_infer,
    save_checkpoint,
    save_mixing_checkpoint,
    write_frames,
    write_video,
    write_yuv_video,
)
from tests.helpers import compose_config


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained small network: it returns the blurry target frame exactly."""
    return save_checkpoint(tmp_path_factory.mktemp("identity") / "last.ckpt")


@pytest.fixture(scope="module")
def mixing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small network whose output depends on every frame of its window."""
    return save_mixing_checkpoint(tmp_path_factory.mktemp("mixing") / "last.ckpt")


def read_folder(folder: Path) -> np.ndarray:
    return np.stack([iio.imread(path) for path in sorted(folder.iterdir())])


def read_exact(path: Path) -> np.ndarray:
    """(N, H, W, 3) float frames in 0..255, decoded as infer decodes (accurate YUV -> RGB, rotation applied)."""
    reader = VideoReader(path)
    try:
        return np.stack([frame.permute(1, 2, 0).numpy() * 255 for frame in reader]).round()
    finally:
        reader.close()


def test_frames_next_to_a_cut_do_not_depend_on_the_other_shot(tmp_path: Path, mixing: Path) -> None:
    first, second = photo_clip(4, photo="coffee"), photo_clip(4, photo="astronaut")
    write_frames(tmp_path / "clip", np.concatenate([first, second]))
    write_frames(tmp_path / "first", first)
    write_frames(tmp_path / "second", second)
    result = run_infer(tmp_path, mixing, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'out'}")
    assert result["cuts"] == [4]
    for name in ("first", "second"):
        run_infer(tmp_path, mixing, f"input={tmp_path / name}", f"output={tmp_path / f'{name}_out'}")
    alone = np.concatenate([read_folder(tmp_path / "first_out"), read_folder(tmp_path / "second_out")])
    assert np.array_equal(read_folder(tmp_path / "out"), alone)
    # without detection the frames next to the cut change: the network does look at its neighbours
    run_infer(tmp_path, mixing, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'mixed'}", "cut_threshold=null")
    mixed = read_folder(tmp_path / "mixed")
    differs = [not np.array_equal(mixed[i], alone[i]) for i in range(8)]
    assert differs == [False, False, False, True, True, False, False, False]


LUMA = np.array([0.299, 0.587, 0.114])


@pytest.mark.parametrize("crf", [0, 18])
@pytest.mark.parametrize("path", ["video to video", "video to frames", "frames to video"])
def test_identity_network_keeps_the_colours(tmp_path: Path, identity: Path, path: str, crf: int) -> None:
    """Mean output - input per channel within 0.1/255 when the codec keeps the YUV planes (crf 0), and in
    brightness (luma) at crf 18, whose lossy coding itself shifts the colours' means by up to ~0.3/255."""
    source = photo_clip(4, 128, 192, photo="chelsea")
    if path == "frames to video":
        write_frames(tmp_path / "clip", source)
        clip, output = tmp_path / "clip", tmp_path / "out.mp4"
    else:
        clip = write_yuv_video(tmp_path / "clip.mp4", source, crf=crf)
        output = tmp_path / ("out.mp4" if path == "video to video" else "out")
    run_infer(tmp_path, identity, f"input={clip}", f"output={output}", f"crf={crf}")
    if path == "video to video":
        # as a user compares them: both decoded by the same (here swscale's default) conversion
        restored, given = read_video(output)[0].astype(float), read_video(clip)[0].astype(float)
    elif path == "video to frames":
        restored, given = read_folder(output).astype(float), read_exact(clip)
    else:
        restored, given = read_exact(output), source.astype(float)
    bias = (restored - given).mean(axis=(0, 1, 2))
    assert abs(bias @ LUMA) < 0.1, bias
    if crf == 0 or path == "video to frames":
        assert np.all(np.abs(bias) < 0.1), bias
    assert np.abs(restored - given).mean() < 3.0  # the codec's own loss


def test_frame_range_equals_the_same_frames_of_a_whole_run(tmp_path: Path, mixing: Path) -> None:
    clip = np.concatenate([photo_clip(5, photo="coffee"), photo_clip(4, photo="rocket")])
    write_frames(tmp_path / "clip", clip)
    run_infer(tmp_path, mixing, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'all'}")
    whole = read_folder(tmp_path / "all")
    for start, count, names in [(3, 2, [3, 4]), (6, None, [6, 7, 8]), (0, 1, [0]), (4, 100, [4, 5, 6, 7, 8])]:
        out = tmp_path / f"part_{start}"
        result = run_infer(
            tmp_path,
            mixing,
            f"input={tmp_path / 'clip'}",
            f"output={out}",
            f"start={start}",
            f"count={'null' if count is None else count}",
        )
        assert sorted(os.listdir(out)) == [f"{i:05d}.png" for i in names]
        assert np.array_equal(read_folder(out), whole[names]) and result["frames"] == len(names)
        assert result["cuts"] == ([5] if start < 5 <= names[-1] else [])


def test_frame_range_of_a_video(tmp_path: Path, identity: Path) -> None:
    frames = photo_clip(7, 32, 48)
    source = write_video(tmp_path / "in.mp4", frames)
    run_infer(
        tmp_path,
        identity,
        f"input={source}",
        f"output={tmp_path / 'out.mkv'}",
        "start=2",
        "count=3",
        "codec=libx264rgb",
        "crf=0",
    )
    assert np.array_equal(read_video(tmp_path / "out.mkv")[0], frames[2:5])


@pytest.mark.parametrize(
    ("start", "count", "message"),
    [
        (9, "null", "start: frame 9 is beyond the end of .* \\(4 frames\\)"),
        (-1, "null", "start: expected a frame number >= 0, got -1"),
        (0, 0, "count: expected a number of frames >= 1 or null \\(all\\), got 0"),
    ],
)
def test_bad_frame_range_writes_nothing(
    tmp_path: Path, identity: Path, start: int, count: object, message: str
) -> None:
    write_frames(tmp_path / "clip", photo_clip(4, 16, 24))
    with pytest.raises(ValueError, match=message):
        run_infer(
            tmp_path,
            identity,
            f"input={tmp_path / 'clip'}",
            f"output={tmp_path / 'out'}",
            f"start={start}",
            f"count={count}",
        )
    assert sorted(os.listdir(tmp_path)) == ["clip"]


def test_rotated_phone_clip_comes_out_upright(tmp_path: Path, identity: Path) -> None:
    frames = photo_clip(3, 32, 48, photo="astronaut")  # landscape as stored; shown turned 90 degrees ccw
    source = write_yuv_video(tmp_path / "phone.mp4", frames, crf=0, rotation=90)
    run_infer(tmp_path, identity, f"input={source}", f"output={tmp_path / 'out'}")
    restored = read_folder(tmp_path / "out").astype(float)
    upright = np.rot90(frames, 1, axes=(1, 2)).astype(float)
    assert restored.shape == (3, 48, 32, 3)
    assert np.abs(restored - upright).mean() < 4.0  # 4:2:0 chroma of a small clip
    assert np.abs(restored - np.rot90(frames, -1, axes=(1, 2))).mean() > 20.0


@pytest.mark.parametrize(
    ("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)]
)
def test_outputs_follow_the_umask(tmp_path: Path, identity: Path, mask: int, file_mode: int, dir_mode: int) -> None:
    write_frames(tmp_path / "clip", photo_clip(2, 16, 24))
    old = os.umask(mask)
    try:
        run_infer(
            tmp_path, identity, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'new' / 'out.mp4'}", "preview=true"
        )
        run_infer(tmp_path, identity, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'frames'}")
    finally:
        os.umask(old)
    modes = {
        path.relative_to(tmp_path).as_posix(): path.stat().st_mode & 0o777
        for path in [*tmp_path.glob("new/**/*"), tmp_path / "new", *tmp_path.glob("frames/**/*"), tmp_path / "frames"]
    }
    assert modes == {
        "new": dir_mode,
        "new/out.mp4": file_mode,
        "new/out_preview.mp4": file_mode,
        "frames": dir_mode,
        "frames/00000.png": file_mode,
        "frames/00001.png": file_mode,
    }


def test_plain_progress_lines_off_a_terminal(
    tmp_path: Path, identity: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_frames(tmp_path / "clip", photo_clip(4, 16, 24))
    run_infer(tmp_path, identity, f"input={tmp_path / 'clip'}", f"output={tmp_path / 'out'}", "progress_every=0")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("deblurring:")]
    assert [line.split(" frames")[0] for line in lines] == [f"deblurring: {i}/4" for i in range(1, 5)]
    assert all(" frames/s, ETA " in line for line in lines) and lines[-1].endswith("ETA 0s")


def test_missing_options_are_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flowdeblur.infer", "output=out.mp4"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "flowdeblur.infer: error: ValueError: missing mandatory options ckpt_path=..., input=... "
        "(e.g. input=clip.mp4 output=clip_sharp.mp4 ckpt_path=model.safetensors)"
    ]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (["input=clip.mp4", "ckpt_path=model.safetensors"], "missing mandatory option output=... "),
        (["input=clip.mp4", "output=out.mp4"], "missing mandatory option ckpt_path=... "),
        ([], "missing mandatory options ckpt_path=..., input=..., output=... "),
    ],
)
def test_every_missing_option_is_named(tmp_path: Path, given: list[str], named: str) -> None:
    with pytest.raises(ValueError, match=named.replace(".", "\\.")):
        infer(compose_config(given, config_name="infer", output_dir=tmp_path))
