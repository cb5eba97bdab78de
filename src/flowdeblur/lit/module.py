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

import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from flowdeblur.lit.device import report_and_tune_device
from flowdeblur.lit.evaluation import StageMetrics
from flowdeblur.lit.nonfinite import NonfiniteGuard, takes_found_inf
from flowdeblur.lit.weight_casts import WeightCasts, autocast_dtype, cast_conv_weights, gradient_hooks_needed
from flowdeblur.losses.reconstruction import DeblurLoss
from flowdeblur.metrics.flow import end_point_error
from flowdeblur.network import FlowDeblurNet, NetOutput

OptimizerFactory = Callable[[Iterator[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]

# Val/test metrics are exact under DDP (ClipAverage gathers all ranks and drops the sampler's padded
# duplicates), so Lightning's advice to sync them again, or to evaluate on one device only, does not apply.
warnings.filterwarnings("ignore", message=r"It is recommended to use `self\.log\('(val|test)/")
warnings.filterwarnings("ignore", message=r"Using `DistributedSampler` with the dataloaders\. During")
# The module reads the target index on the host before any data module's transfer; both hooks are meant to run.
warnings.filterwarnings("ignore", message=r"You have overridden `on_before_batch_transfer` in `LightningModule`")
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
        nonfinite: a non-finite loss or gradient ``skip``s that optimisation step (parameters and optimizer
            moments stay as they were; a warning names the step and batch) or ``stop``s the run with
            ``FloatingPointError``. Found on the device and read back every few steps
            (:mod:`flowdeblur.lit.nonfinite`); ``skipped_steps`` counts the skipped steps.

    The optimizer is built ``fused`` where its class supports it (one kernel per step on GPUs, and it skips a
    flagged step on the device). The step reads the target index from the batch on the host
    (:meth:`on_before_batch_transfer`), so a training step never waits for the device.
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
        self.nonfinite = nonfinite
        self.guard = NonfiniteGuard(nonfinite)
        self._loss: Tensor | None = None
        self._weight_casts = WeightCasts()
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
        """(B, T, 3, H, W), target index -> :class:`~flowdeblur.network.NetOutput`. Where gradients are
        recorded under bf16/fp16 autocast (training), the convolution weights are cast together, once
        (:mod:`flowdeblur.lit.weight_casts`: into copies kept across steps, or, where gradient hooks must see
        each gradient, into one flat copy); evaluation calls the network as it is."""
        dtype = autocast_dtype(frames.device.type)
        if dtype is None or not torch.is_grad_enabled():
            return self.net(frames, target)
        if gradient_hooks_needed():
            weights = cast_conv_weights(self.net, dtype)
        else:
            weights = self._weight_casts.cast(self.net, dtype)
        return cast(NetOutput, torch.func.functional_call(self.net, weights, (frames, target), strict=False))

    @staticmethod
    def batch_target(batch: dict[str, Any]) -> int:
        """The window index to restore; every sample of a batch must share it.

        ``target_index`` (a Python int, set on the host before the batch moves to the device) when present,
        else read from ``target`` (B,), which waits for the device when it lives there.
        """
        index = batch.get("target_index")
        if isinstance(index, int):
            return index
        target = batch["target"]
        if target.numel() > 1 and bool((target != target.flatten()[0]).any()):
            raise ValueError(f"all samples of a batch must share the target index, got {target.tolist()}")
        return int(target.flatten()[0])

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Read the target index while the batch is still on the host (no device sync in the step)."""
        if isinstance(batch, dict) and isinstance(batch.get("target"), Tensor) and batch["target"].device.type == "cpu":
            batch["target_index"] = self.batch_target(batch)
        return batch

    def setup(self, stage: str) -> None:
        report_and_tune_device(self.trainer)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        target = self.batch_target(batch)
        out = self(batch["blurry"], target)
        terms = dict(self.loss(out.restored, batch["sharp"][:, target]))
        terms.update(out.motion.losses)
        if self.flow_supervised_weight > 0:
            terms["flow/supervised"] = (
                self.flow_supervised_weight * end_point_error(out.motion.flows, batch["flow"]).mean()
            )
        loss = torch.stack(list(terms.values())).sum()
        self._loss = loss
        batch_size = batch["blurry"].shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log_dict({f"train/{k}": v for k, v in terms.items()}, batch_size=batch_size)
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Flag a non-finite loss or gradient on the device; the optimizer then skips the update."""
        loss = self._loss if self._loss is not None else torch.zeros((), device=self.device)
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        batch_idx = self.trainer.fit_loop.epoch_loop.batch_idx
        found = self.guard.flag(loss, grads, self.global_step, batch_idx)
        self._loss = None
        if takes_found_inf(optimizer):
            optimizer.found_inf = found  # type: ignore[attr-defined]
            return
        if bool(found):  # an optimizer without found_inf: decide now (a host sync) and drop the gradients
            for param in self.parameters():
                param.grad = None
        self.guard.resolve()

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clip as Lightning does; a fused optimizer (never under fp16 loss scaling here) is clipped directly."""
        if not takes_found_inf(optimizer) or not gradient_clip_val:
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
        elif gradient_clip_algorithm == "value":
            nn.utils.clip_grad_value_(self.parameters(), gradient_clip_val)
        else:
            nn.utils.clip_grad_norm_(self.parameters(), gradient_clip_val)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._weight_casts.release()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.guard.due:
            self.guard.resolve()

    def on_validation_start(self) -> None:
        self.guard.resolve()

    def on_train_end(self) -> None:
        self.guard.resolve()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.guard.resolve()
        checkpoint["skipped_steps"] = self.guard.skipped_steps

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.guard.skipped_steps = int(checkpoint.get("skipped_steps", 0))

    @property
    def skipped_steps(self) -> int:
        """Optimisation steps skipped for a non-finite loss or gradient so far (flags read back)."""
        return self.guard.skipped_steps

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
        # fp16 loss scaling (16-mixed) unscales gradients before clipping, which fused optimizers do internally
        fused = str(self.trainer.precision) not in ("16-mixed", "16")
        options = fused_if_supported(self.optimizer_factory) if fused else {}
        optimizer = self.optimizer_factory(self.parameters(), **options)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def fused_if_supported(factory: OptimizerFactory) -> dict[str, bool]:
    """``{"fused": True}`` when the factory's optimizer class takes ``fused`` and the config leaves it unset."""
    func = getattr(factory, "func", factory)
    keywords = getattr(factory, "keywords", {}) or {}
    try:
        takes = "fused" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}
    return {"fused": True} if takes and keywords.get("fused") is None else {}
