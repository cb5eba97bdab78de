"""Which checkpoint a training resumes from: an explicit one, a run dir's last, or a requeued SLURM job's."""

from __future__ import annotations

import os
from pathlib import Path

from flowdeblur.checkpoints.load import CheckpointError


def requeued() -> bool:
    """True in a SLURM job that has been restarted (``SLURM_RESTART_COUNT`` > 0)."""
    return int(os.environ.get("SLURM_RESTART_COUNT") or 0) > 0


def resume_path(ckpt_path: str | None, output_dir: str | Path) -> str | None:
    """The checkpoint ``trainer.fit`` resumes from.

    ``ckpt_path`` when given; otherwise, in a requeued SLURM job, the newest of
    ``<output_dir>/checkpoints/last.ckpt`` (written at every validation) and Lightning's
    ``<output_dir>/hpc_ckpt_*.ckpt`` (written when its SLURM environment receives the requeue signal);
    otherwise None, a fresh start.

    A requeued job finds its old run dir: submitit re-runs the job's pickled config, in which
    ``${now:...}`` keeps its first value; sbatch scripts pin the dir with
    ``hydra.run.dir=outputs/slurm/${oc.env:SLURM_JOB_ID}``.

    ``ckpt_path=last`` means ``<output_dir>/checkpoints/last.ckpt`` (pin the run dir with ``hydra.run.dir=...``);
    a run dir means ``<run dir>/checkpoints/last.ckpt``.

    Raises:
        CheckpointError: ``last`` or a run dir without ``checkpoints/last.ckpt``.
    """
    if ckpt_path:
        return str(_explicit(str(ckpt_path), Path(output_dir)))
    if not requeued():
        return None
    root = Path(output_dir)
    found = [p for p in (root / "checkpoints" / "last.ckpt", *root.glob("hpc_ckpt_*.ckpt")) if p.is_file()]
    return str(max(found, key=lambda p: p.stat().st_mtime)) if found else None


def _explicit(ckpt_path: str, output_dir: Path) -> Path:
    run_dir = output_dir if ckpt_path == "last" else Path(ckpt_path)
    if ckpt_path != "last" and not run_dir.is_dir():
        return run_dir
    last = run_dir / "checkpoints" / "last.ckpt"
    if not last.is_file():
        raise CheckpointError(f"ckpt_path={ckpt_path}: expected a checkpoint at '{last}', found none")
    return last
