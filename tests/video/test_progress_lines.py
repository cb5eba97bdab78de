"""Plain progress lines when stdout is not a terminal."""

from __future__ import annotations

import io

from flowdeblur.video.progress import FrameProgress, duration


def test_duration_format() -> None:
    assert [duration(s) for s in (0, 42.4, 403, 7500)] == ["0s", "42s", "6m43s", "2h05m"]


def test_lines_give_rate_and_eta_and_end_with_the_last_frame() -> None:
    out = io.StringIO()
    with FrameProgress(250, interval=3600, stream=out) as progress:
        for _ in range(40):
            progress.advance()
        progress.start -= 80.0  # 40 frames in 80 s: 0.5 frames/s, 210 frames left
        assert progress.line(progress.start + 80.0) == "deblurring: 40/250 frames (16%), 0.50 frames/s, ETA 7m00s"
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("deblurring: 1/250 frames (0%)")
    assert lines[1].startswith("deblurring: 40/250 frames (16%)")


def test_unknown_length_gives_count_and_elapsed_time() -> None:
    out = io.StringIO()
    with FrameProgress(None, interval=0, stream=out) as progress:
        progress.advance()
    assert out.getvalue().startswith("deblurring: 1 frames, ") and "elapsed" in out.getvalue()
