"""Read back an offline W&B run (``<dir>/wandb/offline-run-*/run-*.wandb``) without a W&B server.

The ``.wandb`` file is a LevelDB-style log (7-byte file header ``:W&B`` + magic + version, then 32 KiB blocks
of records ``crc32 (4) | length (2) | type (1) | data``; a record split across blocks is FIRST, MIDDLE...,
LAST) whose payloads are ``wandb.proto.wandb_internal_pb2.Record`` messages. History, summary and config
records carry JSON values keyed by ``key`` or by a ``nested_key`` path. wandb itself ships no reader for these
files (its former ``wandb.sdk.internal.datastore`` is gone), hence this one.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BLOCK_LEN = 32768
HEADER_LEN = 7
FILE_HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class OfflineRunError(ValueError):
    """A path that holds no readable offline W&B run."""


def find_run_file(path: str | Path) -> Path:
    """The ``.wandb`` file of a run given the file, its ``offline-run-*`` dir, or a training run dir.

    A training run dir may hold several W&B runs (e.g. resumed training): the newest is taken.
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".wandb":
        return path
    candidates = sorted(path.glob("run-*.wandb")) or sorted(path.glob("wandb/*run-*/run-*.wandb"))
    if not candidates:
        raise OfflineRunError(
            f"'{path}': expected a W&B run file (run-*.wandb), its run dir (offline-run-*) or a training run "
            "dir holding wandb/offline-run-*/run-*.wandb; found none"
        )
    return max(candidates, key=lambda p: p.parent.name)


def read_records(path: str | Path) -> Iterator[Any]:
    """Yield the ``Record`` protobuf messages of a ``.wandb`` file in write order (stops at a torn tail)."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    if not data.startswith(FILE_HEADER):
        raise OfflineRunError(f"'{path}': not a W&B run file (bad header {data[:HEADER_LEN]!r})")
    for payload in _payloads(data):
        record = wandb_internal_pb2.Record()  # type: ignore[attr-defined]  # built at import by protobuf
        record.ParseFromString(payload)
        yield record


def _payloads(data: bytes) -> Iterator[bytes]:
    """Reassembled record payloads of the log framing; checks every chunk's crc32."""
    offset, pending = HEADER_LEN, b""
    while offset + HEADER_LEN <= len(data):
        if BLOCK_LEN - offset % BLOCK_LEN < HEADER_LEN:
            offset += BLOCK_LEN - offset % BLOCK_LEN
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, offset)
        chunk = data[offset + HEADER_LEN : offset + HEADER_LEN + length]
        if kind == 0 or len(chunk) < length or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            return
        offset += HEADER_LEN + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
            pending = b""


def _apply(target: dict[str, Any], item: Any) -> None:
    """Set ``item.value_json`` into ``target`` at ``item.key`` or the ``item.nested_key`` path."""
    keys = [item.key] if item.key else list(item.nested_key)
    node = target
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = json.loads(item.value_json)


def _remove(target: dict[str, Any], item: Any) -> None:
    keys = [item.key] if item.key else list(item.nested_key)
    node = target
    for key in keys[:-1]:
        node = node.get(key, {})
    node.pop(keys[-1], None)


OfflineRun = tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any], list[Path]]


def load_offline_run(run_dir: str | Path) -> OfflineRun:
    """``(history, summary, config, files)`` of an offline run.

    history: one dict per ``wandb.log`` step (``_step``, logged keys; images as their ``image-file`` dicts).
    summary: the final summary (last logged values plus explicit summary updates).
    config: the run config without W&B's internal ``_wandb`` entry.
    files: paths of the files the run saved (e.g. ``media/images/...png``) that exist under ``<run>/files``.
    """
    path = find_run_file(run_dir)
    history: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    config: dict[str, Any] = {}
    saved: list[str] = []
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row: dict[str, Any] = {}
            for item in record.history.item:
                _apply(row, item)
            history.append(row)
        elif kind == "summary":
            for item in record.summary.update:
                _apply(summary, item)
            for item in record.summary.remove:
                _remove(summary, item)
        elif kind in ("run", "config"):
            updates = record.run.config if kind == "run" else record.config
            for item in updates.update:
                _apply(config, item)
            for item in updates.remove:
                _remove(config, item)
        elif kind == "files":
            saved.extend(f.path for f in record.files.files)
    config.pop("_wandb", None)
    files_dir = path.parent / "files"
    files = [files_dir / name for name in dict.fromkeys(saved) if (files_dir / name).is_file()]
    return history, summary, config, files


def load_offline_run_info(run_dir: str | Path) -> dict[str, Any]:
    """Identity of an offline run from its ``run`` record: ``id``, ``project``, ``name``, ``group``,
    ``tags``."""
    for record in read_records(find_run_file(run_dir)):
        if record.WhichOneof("record_type") == "run":
            run = record.run
            return {
                "id": run.run_id,
                "project": run.project,
                "name": run.display_name,
                "group": run.run_group,
                "tags": list(run.tags),
            }
    raise OfflineRunError(f"'{run_dir}': the W&B run file has no run record")
