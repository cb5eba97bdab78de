"""Resuming a SLURM job that SLURM requeued after a preemption or a time-out."""

from __future__ import annotations

import os
from pathlib import Path


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
    """
    if ckpt_path:
        return str(ckpt_path)
    if not requeued():
        return None
    root = Path(output_dir)
    found = [p for p in (root / "checkpoints" / "last.ckpt", *root.glob("hpc_ckpt_*.ckpt")) if p.is_file()]
    return str(max(found, key=lambda p: p.stat().st_mtime)) if found else None
