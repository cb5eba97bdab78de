"""Overall progress of work made of several multiruns under one folder (``make ablation``: a learning-rate grid,
one multirun per variant and budget, then the evaluations on other data).

``python -m flowdeblur.runs.overall <dir> <part> [<part> ...]`` writes ``<dir>/.overall.json``: the start and
the total number of jobs, each ``<part>`` being the overrides of one ``flowdeblur.train -m`` command, quoted, as
``"+sweep=ablation_cpu_lr"``, optionally prefixed by how many times it runs (``"4*+sweep=ablation_cpu"``).
Every multirun below ``<dir>`` then appends ``overall 37/260 done, ETA 5h02m`` to its job-end lines
(:class:`flowdeblur.runs.sweep_progress.SweepProgress`), counting the finished jobs of all of them. Writing it
again (a resumed ablation) restarts the clock of the ETA; finished jobs stay counted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException

from flowdeblur.config import CONF_DIR
from flowdeblur.runs.sweep_progress import OVERALL_FILE, plan_of
from flowdeblur.utils.files import write_json_atomic


def sweep_size(overrides: list[str]) -> int:
    """The number of jobs of ``python -m flowdeblur.train -m <overrides>`` (the grid of the composed sweep
    config's params and the swept overrides)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    total, _ = plan_of(cfg.hydra)
    if total is None:
        raise ValueError(f"cannot tell the number of jobs of the sweep {' '.join(overrides)!r}")
    return total


def part_size(part: str) -> int:
    """``"4*+sweep=ablation_cpu seed=0,1"`` -> 4 x the size of that sweep."""
    times, star, overrides = part.partition("*")
    if not star:
        times, overrides = "1", part
    if not times.strip().isdigit():
        raise ValueError(f"part {part!r}: expected '<overrides>' or '<count>*<overrides>'")
    return int(times) * sweep_size(overrides.split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="the folder holding every multirun of the work")
    parser.add_argument("parts", nargs="+", help="the overrides of each multirun, quoted; '<count>*' repeats one")
    args = parser.parse_args(argv)
    try:
        total = sum(part_size(part) for part in args.parts)
    except (ValueError, HydraException) as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    args.dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.dir / OVERALL_FILE, {"started": time.time(), "total": total, "swept": []})
    print(f"[overall] {total} jobs in {args.dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
