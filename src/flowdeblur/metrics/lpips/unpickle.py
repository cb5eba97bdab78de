"""A restricted unpickler for weight files stored as pickled numpy arrays (nested dicts of ``ndarray``).

Only the globals a plain numpy array pickle needs are admitted (``_reconstruct``, ``ndarray``, ``dtype``,
and ``_codecs.encode``, which protocol 2 uses for bytes); any other global (``os.system``, ``io.open``, ...)
raises before it can be called. Containers (dict, list, tuple) are built by pickle opcodes and need no global.
Object arrays are rejected after loading.
"""

from __future__ import annotations

import codecs
import io
import pickle
from typing import Any

import numpy as np

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}

ArrayTree = dict[str, Any]


class NumpyOnlyUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only numpy array/dtype globals and no persistent ids."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name}: only numpy arrays and dtypes are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refusing persistent id: only numpy arrays and dtypes are allowed")


def _check_tree(tree: Any, where: str) -> None:
    if isinstance(tree, dict):
        for key, value in tree.items():
            if not isinstance(key, str):
                raise pickle.UnpicklingError(f"non-string key {key!r} at {where or '/'}")
            _check_tree(value, f"{where}/{key}")
    elif not isinstance(tree, np.ndarray) or tree.dtype.hasobject:
        raise pickle.UnpicklingError(f"expected a numeric numpy array at {where or '/'}, got {type(tree).__name__}")


def load_array_tree(data: bytes) -> ArrayTree:
    """Pickle bytes -> nested ``dict[str, ...]`` with numeric ``np.ndarray`` leaves; anything else raises."""
    tree = NumpyOnlyUnpickler(io.BytesIO(data)).load()
    if not isinstance(tree, dict):
        raise pickle.UnpicklingError(f"expected a dict at the top level, got {type(tree).__name__}")
    _check_tree(tree, "")
    return tree
