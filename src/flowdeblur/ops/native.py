"""Building the project's compiled CPU kernels (``csrc/``) on first use with the system C++ compiler.

Each kernel is one translation unit made of some files of ``csrc/``, compiled by torch's ``load_inline`` and
cached under ``~/.cache/torch_extensions`` (``TORCH_EXTENSIONS_DIR``), keyed by the source, the flags and the
CPU's instruction set (builds use ``-march=native``). ``FLOWDEBLUR_NATIVE=0`` turns every kernel off; where a
build fails (no compiler, no headers) the caller's pure-PyTorch version runs instead.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import platform
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)
CFLAGS = ("-O3", "-march=native", "-fopenmp")


def enabled() -> bool:
    """False when ``FLOWDEBLUR_NATIVE=0`` asks for the pure-PyTorch versions."""
    return os.environ.get("FLOWDEBLUR_NATIVE", "1") != "0"


def source(parts: tuple[str, ...]) -> str:
    """The C++ source of a kernel: the files ``parts`` of ``csrc/``, in that order."""
    return "\n".join((Path(__file__).parent / "csrc" / part).read_text() for part in parts)


def _cpu_flags() -> str:
    """This CPU's instruction-set flags: a build for ``-march=native`` is cached per CPU kind."""
    try:
        with open("/proc/cpuinfo") as info:
            return next((line for line in info if line.startswith("flags")), "")
    except OSError:
        return platform.processor()


@functools.cache
def build(prefix: str, parts: tuple[str, ...], cflags: tuple[str, ...] = CFLAGS) -> ModuleType | None:
    """The kernel made of ``parts`` compiled with ``cflags`` (cached per source, flags and CPU), or None if the
    build fails."""
    try:
        from torch.utils.cpp_extension import load_inline

        code = source(parts)
        key = "\n".join([code, *cflags, _cpu_flags()])
        name = f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        return load_inline(name, cpp_sources=code, extra_cflags=list(cflags), extra_ldflags=["-fopenmp"], verbose=False)
    except Exception as error:  # no compiler, no headers, a failed build: the caller's PyTorch version runs
        log.warning(
            "flowdeblur: compiled kernel %s unavailable (%s); using the PyTorch version",
            prefix,
            str(error).splitlines()[0] if str(error) else type(error).__name__,
        )
        return None
