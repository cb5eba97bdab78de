"""Runs that dropped a value: NaN frames left out of a mean, skipped training steps or inputs, fewer clips
evaluated than the other runs of the report. Each is listed with what it dropped, so no mean hides a loss."""

from __future__ import annotations

from collections.abc import Sequence

from flowdeblur.reporting.jobs import Job

STAGES = ("val", "test")


def _count(job: Job, key: str) -> int:
    value = job.metrics.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value == value else 0


def dropped(job: Job, clips: dict[str, int]) -> list[str]:
    """What ``job`` dropped; ``clips``: stage -> the most clips any run of the report evaluated."""
    found = []
    for stage in STAGES:
        if n := _count(job, f"{stage}/nan_frames"):
            found.append(f"{stage}: {n} NaN restored frame(s) left out of the means")
        if n := _count(job, f"{stage}/nan_clips"):
            found.append(f"{stage}: {n} clip(s) without any finite frame")
        n = _count(job, f"{stage}/clips")
        if f"{stage}/clips" in job.metrics and n < clips.get(stage, 0):
            found.append(f"{stage}: {n} clips evaluated, other runs {clips[stage]}")
    for key in sorted(job.metrics):
        if "skipped" in key and (n := _count(job, key)):
            found.append(f"{key} = {n}")
    return found


def flagged_runs(jobs: Sequence[Job]) -> list[tuple[Job, list[str]]]:
    """(run, what it dropped) for every completed run that dropped something."""
    done = [job for job in jobs if job.status == "completed"]
    clips = {stage: max((_count(job, f"{stage}/clips") for job in done), default=0) for stage in STAGES}
    return [(job, found) for job in done if (found := dropped(job, clips))]
