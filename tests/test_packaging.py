"""The built wheel carries the Hydra configs and the sweeper plugin, and its console scripts work from any
directory in a fresh virtual environment (dependencies reused from this one, the project from the wheel only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.distributed.runner import REPO

PACKAGE = REPO / "src" / "flowdeblur"
CONF = REPO / "conf"


def run(args: list[str | Path], cwd: Path, timeout: float = 120) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**env, "WANDB_MODE": "offline"},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` of a copy of the project (the build writes its scratch files there, not into the tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    project = tmp / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, project / name)
    for name in ("src", "conf"):
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            project,
            "-w",
            tmp / "dist",
        ],
        cwd=tmp,
    )
    (built,) = (tmp / "dist").glob("flowdeblur-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path) -> Path:
    """A fresh venv with the wheel installed; the dependencies come from this venv's site-packages (a ``.pth``
    line: the project's own editable install there is not activated, as ``.pth`` files there are not read)."""
    root = wheel.parent / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True)
    python = root / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel], cwd=root)
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root).strip()
    (Path(purelib) / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root


def test_wheel_contains_configs_and_plugin(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        n.removeprefix("flowdeblur/conf/") for n in names if n.startswith("flowdeblur/conf/") and n.endswith(".yaml")
    }
    assert shipped == {p.relative_to(CONF).as_posix() for p in CONF.rglob("*.yaml")}
    data = {
        p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
    }
    assert {f"flowdeblur/{name}" for name in data} <= names  # e.g. py.typed, C++ sources built at run time
    assert "hydra_plugins/flowdeblur_optuna/sweeper.py" in names
    assert not any(n.startswith(("tests/", "src/")) for n in names)


def test_console_scripts_run_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    where = run(
        [
            python,
            "-c",
            "import flowdeblur, hydra_plugins.flowdeblur_optuna as p; print(flowdeblur.__file__, p.__file__)",
        ],
        cwd=tmp_path,
    )
    assert all(Path(f).is_relative_to(venv) for f in where.split()), where

    # the packaged configs, and a user's config dir on the search path: its options compose with the packaged ones
    (tmp_path / "my_conf" / "experiment").mkdir(parents=True)
    (tmp_path / "my_conf" / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndata:\n  batch_size: 3\ntrainer:\n  max_steps: 77\n"
    )
    job = run(
        [
            bin_dir / "flowdeblur-train",
            "--cfg",
            "job",
            "data=synthetic_tiny",
            "logger=csv",
            f"hydra.searchpath=[file://{tmp_path / 'my_conf'}]",
            "experiment=mine",
        ],
        cwd=tmp_path,
    )
    assert "_target_: flowdeblur.data.synthetic.SyntheticBlurClips" in job
    assert "batch_size: 3" in job and "max_steps: 77" in job


@pytest.mark.slow
def test_every_console_script_and_the_sweeper_plugin_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    bin_dir = venv / "bin"
    search = run([bin_dir / "flowdeblur-train", "hparams_search=optuna", "--cfg", "hydra"], cwd=tmp_path)
    assert "_target_: hydra_plugins.flowdeblur_optuna.sweeper.OptunaSweeper" in search
    for script in ("flowdeblur-eval", "flowdeblur-infer", "flowdeblur-export"):
        assert "== Config ==" in run([bin_dir / script, "--help"], cwd=tmp_path)
    assert "usage:" in run([bin_dir / "flowdeblur-report", "--help"], cwd=tmp_path)
    assert not list(tmp_path.glob("outputs")) and not list(tmp_path.glob("multirun"))
