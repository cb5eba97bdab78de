"""Progress of a long frame loop: a rich progress bar on a terminal, plain lines otherwise (logs, batch jobs).

A plain line is printed after the first frame, then at most every ``interval`` seconds, and at the end:
``deblurring: 40/250 frames (16%), 0.52 frames/s, ETA 6m43s``.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def duration(seconds: float) -> str:
    """``42s``, ``6m43s``, ``2h05m``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class FrameProgress:
    """Context manager counting frames: ``with FrameProgress(total) as progress: ... progress.advance()``.

    ``total`` may be None (a video that does not state its length): no percentage nor ETA then.
    """

    def __init__(
        self, total: int | None, label: str = "deblurring", interval: float = 10.0, stream: TextIO | None = None
    ) -> None:
        self.total, self.label, self.interval = total, label, interval
        self.stream = stream or sys.stdout
        self.done = self.printed = 0
        self.bar: Progress | None = None
        if self.stream.isatty():
            columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            self.bar = Progress(*columns, transient=True, console=Console(file=self.stream))

    def __enter__(self) -> FrameProgress:
        self.start = self.last = time.monotonic()
        if self.bar is not None:
            self.bar.__enter__()
            self.task = self.bar.add_task(self.label, total=self.total)
        return self

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.advance(self.task)
            return
        now = time.monotonic()
        if self.done == 1 or now - self.last >= self.interval:
            self.last = now
            self.print_line(now)

    def line(self, now: float) -> str:
        """The plain progress line at time ``now`` (``time.monotonic()``)."""
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total is None:
            return f"{self.label}: {self.done} frames, {rate:.2f} frames/s, {duration(elapsed)} elapsed"
        left = max(self.total - self.done, 0)
        eta = duration(left / rate) if rate > 0 else "?"
        percent = 100 * self.done / max(self.total, 1)
        return f"{self.label}: {self.done}/{self.total} frames ({percent:.0f}%), {rate:.2f} frames/s, ETA {eta}"

    def print_line(self, now: float) -> None:
        self.printed = self.done
        print(self.line(now), file=self.stream, flush=True)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.__exit__(kind, error, trace)
        elif kind is None and self.printed != self.done:
            self.print_line(time.monotonic())
