"""FlowDeblurModule: training concerns around a :class:`~flowdeblur.network.FlowDeblurNet`.

Batches are dicts from the data sets: ``blurry`` (B, T, 3, H, W) and ``target`` (B,) always; ``sharp``
(B, T, 3, H, W), ``clip`` and ``index`` (B,) for evaluation; optionally ``flow`` (B, T-1, 2, H, W) ground truth and
``mask`` (B, 1, H, W) motion mask (1 = moving) on synthetic data.

Logged metric names (``<stage>`` is ``val`` or ``test``; all averaged frame -> clip -> data set):
``<stage>/psnr``, ``<stage>/ssim`` of the restored target, ``<stage>/psnr_input``, ``<stage>/ssim_input`` of the
blurry target against the same sharp frame, region metrics pooled over the split (``psnr_static``,
``psnr_moving``, ``static_changed`` and their ``*_input``, ``epe_static``, ``epe_moving``), ``<stage>/epe``
end-point error of the finest flow against ground truth, and ``<stage>/lpips`` when LPIPS weights are
available; see :mod:`flowdeblur.lit.evaluation`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from flowdeblur.lit.evaluation import StageMetrics
from flowdeblur.losses.reconstruction import DeblurLoss
from flowdeblur.metrics.flow import end_point_error
from flowdeblur.network import FlowDeblurNet, NetOutput

log = logging.getLogger(__name__)
NONFINITE_MODES = ("skip", "stop")
OptimizerFactory = Callable[[Iterator[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]

# Val/test metrics are exact under DDP (ClipAverage gathers all ranks and drops the sampler's padded
# duplicates), so Lightning's advice to sync them again, or to evaluate on one device only, does not apply.
warnings.filterwarnings("ignore", message=r"It is recommended to use `self\.log\('(val|test)/")
warnings.filterwarnings("ignore", message=r"Using `DistributedSampler` with the dataloaders\. During")
# The LPIPS metric network is frozen in eval mode on purpose; it is not part of the trained network.
warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode at the start of training")


class FlowDeblurModule(pl.LightningModule):
    """Losses, metrics and optimisation for a flow-conditioned deblurring network.

    Args:
        net: the network.
        loss: reconstruction loss of the restored target frame.
        optimizer: ``optimizer(params)`` factory (Hydra ``_partial_``).
        scheduler: ``scheduler(optimizer, total_steps=...)`` factory stepped every optimisation step, or None.
        flow_supervised_weight: weight of a supervised end-point-error loss on ground-truth flow (0: the flow
            branch learns only from its self-supervised warping losses).
        lpips_metric: also report LPIPS in val/test (when weights are available).
        config: the resolved experiment config, stored in checkpoints so that they rebuild themselves.
        nonfinite: a non-finite loss or gradient ``skip``s that optimisation step (its gradients are dropped, so
            parameters and optimizer moments stay as they were; a warning names the step and batch) or
            ``stop``s the run with ``FloatingPointError``.
    """

    def __init__(
        self,
        net: FlowDeblurNet,
        loss: DeblurLoss,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        flow_supervised_weight: float = 0.0,
        lpips_metric: bool = False,
        config: dict[str, Any] | None = None,
        nonfinite: str = "skip",
    ) -> None:
        super().__init__()
        if nonfinite not in NONFINITE_MODES:
            raise ValueError(f"nonfinite: expected one of {list(NONFINITE_MODES)}, got '{nonfinite}'")
        self.nonfinite = nonfinite
        self._skip_step = False
        self.save_hyperparameters({"config": config or {}})
        self.net = net
        self.loss = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.flow_supervised_weight = float(flow_supervised_weight)
        self.metrics = nn.ModuleDict({stage: StageMetrics(lpips=lpips_metric) for stage in ("val", "test")})
        self.last_per_clip: dict[str, dict[str, dict[int, float]]] = {}

    def stage_metrics(self, stage: str) -> StageMetrics:
        """The metrics of ``stage`` (``val`` or ``test``)."""
        return cast(StageMetrics, self.metrics[stage])

    def forward(self, frames: Tensor, target: int) -> NetOutput:
        """(B, T, 3, H, W), target index -> :class:`~flowdeblur.network.NetOutput`."""
        return self.net(frames, target)

    @staticmethod
    def batch_target(batch: dict[str, Tensor]) -> int:
        """The window index to restore; every sample of a batch must share it."""
        target = batch["target"]
        if target.numel() > 1 and bool((target != target.flatten()[0]).any()):
            raise ValueError(f"all samples of a batch must share the target index, got {target.tolist()}")
        return int(target.flatten()[0])

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        target = self.batch_target(batch)
        out = self(batch["blurry"], target)
        terms = dict(self.loss(out.restored, batch["sharp"][:, target]))
        terms.update(out.motion.losses)
        if self.flow_supervised_weight > 0:
            terms["flow/supervised"] = (
                self.flow_supervised_weight * end_point_error(out.motion.flows, batch["flow"]).mean()
            )
        loss = torch.stack(list(terms.values())).sum()
        self._skip_step = not bool(torch.isfinite(loss))
        if self._skip_step:
            self._nonfinite(f"non-finite loss {loss.item()} at step {self.global_step}, batch {batch_idx}")
        batch_size = batch["blurry"].shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log_dict({f"train/{k}": v for k, v in terms.items()}, batch_size=batch_size)
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Drop every gradient of a step whose loss or gradients are non-finite: the optimizer then skips it."""
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if not self._skip_step and (not grads or bool(torch.stack([g.isfinite().all() for g in grads]).all())):
            return
        if not self._skip_step:
            batch_idx = self.trainer.fit_loop.epoch_loop.batch_idx
            self._nonfinite(f"non-finite gradient at step {self.global_step}, batch {batch_idx}")
        self._skip_step = False
        for param in self.parameters():
            param.grad = None

    def _nonfinite(self, what: str) -> None:
        if self.nonfinite == "stop":
            raise FloatingPointError(f"{what}; stopping (nonfinite=stop)")
        log.warning("%s; skipping this optimisation step (nonfinite=skip)", what)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def _evaluate(self, batch: dict[str, Tensor], stage: str) -> None:
        target = self.batch_target(batch)
        out = self(batch["blurry"], target)
        self.stage_metrics(stage).update(batch, target, out, sees_motion=self.net.source.sees_motion)

    def on_validation_epoch_end(self) -> None:
        self._log_stage("val")

    def on_test_epoch_end(self) -> None:
        self._log_stage("test")

    def _log_stage(self, stage: str) -> None:
        metrics = self.stage_metrics(stage)
        values = metrics.compute()
        self.last_per_clip[stage] = metrics.per_clip()
        self.log_dict({f"{stage}/{k}": v for k, v in values.items()}, sync_dist=False, rank_zero_only=False)
        metrics.reset()

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
