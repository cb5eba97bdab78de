"""The notebooks run top to bottom (tiny parameters) with the project's kernel; they are stored without
outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.sweeping import write_job

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_data_tour.ipynb", "02_ablation_report.ipynb", "03_inside_the_model.ipynb"]


def execute(name: str, timeout: int = 240, epilogue: str = "", **parameters: Any) -> nbformat.NotebookNode:
    """Run a notebook in its own directory; ``parameters`` go into a cell after the ``parameters`` cell,
    ``epilogue`` into a last cell."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    if epilogue:
        nb.cells.append(nbformat.v4.new_code_cell(epilogue))
    if parameters:
        index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        source = "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
        injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
        nb.cells.insert(index + 1, injected)
    resources = {"metadata": {"path": str(NOTEBOOKS)}}
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources).execute()
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    return "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    assert nb.metadata.kernelspec.name == "python3"


def test_data_tour() -> None:
    nb = execute("01_data_tour.ipynb", epilogue="import sys; print('kernel:', sys.executable)", CLIPS=2, CROP=64)
    assert images(nb) == 2
    text = outputs_text(nb)
    assert f"kernel: {sys.executable}" in text  # the python3 kernelspec resolves to this (the venv's) python
    assert "'flow': (2, 2, 64, 64)" in text and "'mask': (1, 64, 64)" in text
    assert text.count("px ") == 2


def test_ablation_report(tmp_path: Path) -> None:
    for num, (source, seed, psnr) in enumerate(
        [("flow", 0, 28.0), ("flow", 1, 28.4), ("static", 0, 27.6), ("static", 1, 27.8)]
    ):
        write_job(
            tmp_path,
            num,
            [f"model.weight_source={source}", f"seed={seed}"],
            {
                "status": "completed",
                "val/psnr": psnr,
                "val/ssim": 0.8,
                "params/total": 100,
                "macs": 10**9,
                "time/train_s": 5.0,
            },
        )
    nb = execute("02_ablation_report.ipynb", SWEEP_DIR=str(tmp_path), BASELINE="model.weight_source=flow")
    assert images(nb) == 3
    text = outputs_text(nb)
    assert "seed 0: 27.6000  seed 1: 27.8000" in text
    assert "| static | 2 | 27.70 ± 0.14 |" in str(nb.cells)


def test_inside_the_model() -> None:
    nb = execute("03_inside_the_model.ipynb", TRAIN_STEPS=2)
    assert images(nb) == 3
    text = outputs_text(nb)
    assert "weight source FlowSource, levels [1, 2, 3]" in text and "finest-level EPE" in text
    assert text.count("mean |w| moving") == 3
