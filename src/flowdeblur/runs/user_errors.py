"""User errors of the entry points as one line, ``<prog>: error: <type>: <what>``, and exit status 2; bugs keep
their traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from flowdeblur.checkpoints.load import CheckpointError
from flowdeblur.runs.run_dir import RunDirError

# Errors that name a bad option, file or value (the project raises ValueError for config checks).
USER_ERRORS: tuple[type[BaseException], ...] = (
    CheckpointError,
    RunDirError,
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
)


@contextmanager
def user_errors(prog: str) -> Iterator[None]:
    """Turn a :data:`USER_ERRORS` exception into ``<prog>: error: <type>: <message>`` on stderr and
    ``SystemExit(2)``."""
    try:
        yield
    except USER_ERRORS as err:
        print(f"{prog}: error: {type(err).__name__}: {err}", file=sys.stderr)
        raise SystemExit(2) from err
