"""Evaluation of real-footage layouts: primary (BasicSR) and CDVD-TSP numbers equal hand computations."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from flowdeblur.data import layouts
from flowdeblur.eval import evaluate
from flowdeblur.export import export
from flowdeblur.metrics.image import psnr, ssim
from flowdeblur.metrics.protocols import cdvd_metrics, quantize_8bit
from tests.footage import frames_array, save_checkpoint, write_frames, write_pair
from tests.helpers import compose_config


def sk_psnr(a: np.ndarray, b: np.ndarray) -> float:
    return peak_signal_noise_ratio(b, a, data_range=255)


def sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(
        b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1
    )


def hand_metrics(root: Path) -> dict[str, dict[str, float]]:
    """Sequence -> metric -> mean over its frames, of the blurry frames (what an identity network returns)."""
    out = {}
    for seq in layouts.gopro(root, "test"):
        pairs = [
            (iio.imread(b).astype(np.int64), iio.imread(s).astype(np.int64))
            for b, s in zip(seq.blurry, seq.sharp, strict=True)
        ]
        kept = [(b[4:-4, 4:-4], s[4:-4, 4:-4]) for b, s in pairs[2:-2]]
        out[seq.name] = {
            "psnr": np.mean([sk_psnr(b, s) for b, s in pairs]),
            "ssim": np.mean([sk_ssim(b.astype(np.uint8), s.astype(np.uint8)) for b, s in pairs]),
            "psnr_cdvd": np.mean([sk_psnr(b, s) for b, s in kept]),
            "ssim_cdvd": np.mean([sk_ssim(b.astype(np.uint8), s.astype(np.uint8)) for b, s in kept]),
        }
    return out


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("GOPRO_Large")
    for k, (name, count) in enumerate({"GOPR0384_11_00": 6, "GOPR0385_11_01": 5}.items()):
        write_pair(root / "test" / name / "blur", root / "test" / name / "sharp", count, seed=k)
    return root


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained small network: it returns the blurry target frame exactly."""
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "last.ckpt")


def run_eval(out_dir: Path, ckpt: Path, root: Path, *overrides: str) -> dict:
    cfg = compose_config(
        [
            f"ckpt_path={ckpt}",
            "data=gopro",
            f"data.root={root}",
            "data.num_workers=0",
            "lpips_metric=false",
            *overrides,
        ],
        config_name="eval",
        output_dir=out_dir,
    )
    return evaluate(cfg)


def test_cdvd_metrics_leave_out_sequence_ends_and_crop_the_border() -> None:
    torch.manual_seed(0)
    restored, sharp = torch.rand(5, 3, 24, 28), torch.rand(5, 3, 24, 28)
    values = cdvd_metrics(restored, sharp, torch.tensor([0, 1, 2, 3, 5]), torch.tensor([5, 5, 5, 7, 7]))
    for name in ("psnr_cdvd", "ssim_cdvd"):
        assert torch.isnan(values[name][[0, 1, 4]]).all() and not torch.isnan(values[name][2:4]).any()
    crop = (slice(None), slice(None), slice(4, -4), slice(4, -4))
    q = quantize_8bit(restored)
    assert torch.allclose(values["psnr_cdvd"][2:4], psnr(q[crop], sharp[crop])[2:4])
    assert torch.allclose(values["ssim_cdvd"][2:4], ssim(q[crop], sharp[crop])[2:4])
    assert not torch.allclose(values["psnr_cdvd"][2:4], psnr(restored, sharp)[2:4])


def test_eval_equals_metrics_computed_by_hand(tmp_path: Path, ckpt: Path, root: Path) -> None:
    results = run_eval(tmp_path, ckpt, root)
    hand = hand_metrics(root)
    for name in ("psnr", "ssim", "psnr_cdvd", "ssim_cdvd"):
        expected = np.mean([per_seq[name] for per_seq in hand.values()])
        assert results[f"test/{name}"] == pytest.approx(expected, abs=1e-4 if "psnr" in name else 1e-5), name
    assert results["test/psnr_input"] == pytest.approx(results["test/psnr"], abs=1e-6)
    rows = list(csv.DictReader((tmp_path / "per_clip.csv").open()))
    assert [r["sequence"] for r in rows] == list(hand)
    for row in rows:
        assert float(row["psnr"]) == pytest.approx(hand[row["sequence"]]["psnr"], abs=1e-4)
        assert float(row["psnr_cdvd"]) == pytest.approx(hand[row["sequence"]]["psnr_cdvd"], abs=1e-4)
    report = json.loads((tmp_path / "per_clip.json").read_text())
    assert report["overall"]["test/psnr"] == pytest.approx(results["test/psnr"])
    assert [s["sequence"] for s in report["sequences"]] == list(hand)
    markdown = (tmp_path / "report.md").read_text()
    assert "| GOPR0385_11_01 |" in markdown and "psnr_cdvd" in markdown
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test/psnr"] == pytest.approx(results["test/psnr"])


def test_tiled_eval_and_export_give_the_same_numbers(tmp_path: Path, ckpt: Path, root: Path) -> None:
    whole = run_eval(tmp_path / "whole", ckpt, root)
    tiled = run_eval(tmp_path / "tiled", export(ckpt, tmp_path / "model"), root, "tile=24", "tile_overlap=8")
    for name in ("psnr", "ssim", "psnr_cdvd", "ssim_cdvd"):
        assert tiled[f"test/{name}"] == pytest.approx(whole[f"test/{name}"], abs=1e-5)
    assert not math.isnan(tiled["test/psnr"])


def test_footage_without_ground_truth_cannot_be_scored(tmp_path: Path, ckpt: Path) -> None:
    write_frames(tmp_path / "clip", frames_array(3))
    cfg = compose_config(
        [f"ckpt_path={ckpt}", "data=frames", f"data.root={tmp_path / 'clip'}", "lpips_metric=false"],
        config_name="eval",
        output_dir=tmp_path / "out",
    )
    with pytest.raises(ValueError, match="no sharp frames to score against"):
        evaluate(cfg)
