"""The job's log: console lines bare (level before our warnings), the results table to the log file only."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowdeblur.runs.job_log import ConsoleFormatter, to_log_files


def record(name: str, level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_console_lines_are_bare_with_the_level_of_our_warnings() -> None:
    formatter = ConsoleFormatter()
    assert formatter.format(record("pytorch_lightning", logging.INFO, "Seed set to 0")) == "Seed set to 0"
    assert formatter.format(record("flowdeblur", logging.ERROR, "job failed")) == "ERROR: job failed"
    warning = "a.py:1: UserWarning: x"  # already formatted by the warnings module
    assert formatter.format(record("py.warnings", logging.WARNING, warning)) == warning


@pytest.fixture
def root_handlers(tmp_path: Path) -> Iterator[tuple[logging.FileHandler, logging.StreamHandler]]:
    root = logging.getLogger()
    file, console = logging.FileHandler(tmp_path / "train.log"), logging.StreamHandler()
    file.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    console.stream = open(tmp_path / "console.txt", "w")  # noqa: SIM115 (closed below)
    root.addHandler(file)
    root.addHandler(console)
    yield file, console
    root.removeHandler(file)
    root.removeHandler(console)
    file.close()
    console.stream.close()


def test_printed_text_goes_to_the_log_files_only(root_handlers: tuple, tmp_path: Path) -> None:
    to_log_files("results\n  table\n")
    for handler in root_handlers:
        handler.flush()
    assert (tmp_path / "train.log").read_text() == "[flowdeblur] results\n  table\n"
    assert (tmp_path / "console.txt").read_text() == ""
