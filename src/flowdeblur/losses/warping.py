"""Self-supervised flow losses: photometric error of backward-warped neighbours, and edge-aware smoothness.

Conventions: flows go from the target to each neighbour in pixels of their level (``flowdeblur.flow.base``).
At level ``l`` the images are area-pooled by ``2**l`` and each neighbour is backward-warped onto the target
with :func:`flowdeblur.ops.warp.warp`.

Photometric penalty (``penalty``):
- ``census``: soft Hamming distance of 7×7 soft census descriptors (:mod:`flowdeblur.losses.census`); robust
  to brightness changes and, in practice, to the different blur of neighbouring frames. The valid mask is
  eroded by the census radius so that descriptors never see the zeros of out-of-frame samples.
- ``charbonnier``: generalised Charbonnier ``(x² + eps²)^q - eps^(2q)`` on RGB (eps 0.01, q 0.45), shifted
  so that a perfect match costs exactly 0.

Masking: out-of-frame samples (``valid`` of the warp) are excluded. Flow is one-directional (target ->
neighbour), so forward-backward consistency is unavailable; occlusions are estimated from the photometric
error itself: per sample and neighbour, valid pixels whose (detached) error is above a quantile are excluded as
likely occluded. Early in training the largest errors are the moving objects whose motion is not learned yet,
so the quantile is annealed: 1 (nothing excluded) for the first ``occlusion_start`` training calls, then
linearly down to ``occlusion_quantile`` over the next ``occlusion_ramp`` calls. ``occlusion_quantile = 1``
keeps every valid pixel throughout.

Precision: every term is computed in float32 whatever the autocast (images, flows, warps and penalties).

Smoothness: first-order, ``|∂x flow| exp(-alpha |∂x I|) + |∂y flow| exp(-alpha |∂y I|)`` with ``I`` the
target at the level (mean absolute gradient over RGB), so flow may change across image edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flowdeblur.losses.census import census_distances, repeated
from flowdeblur.ops import occlusion, smoothness
from flowdeblur.ops.warp import warp

PENALTIES = ("census", "charbonnier")
CENSUS_RADIUS = 3


def area_downsample(images: Tensor, level: int) -> Tensor:
    """(B, C, H, W) -> (B, C, H / 2**level, W / 2**level) by averaging 2**level × 2**level blocks."""
    return F.avg_pool2d(images, 2**level) if level > 0 else images


def charbonnier_error(target: Tensor, warped: Tensor, eps: float = 0.01, q: float = 0.45) -> Tensor:
    """(B, C, H, W) ×2 -> (B, 1, H, W) channel mean of ``(x² + eps²)^q - eps^(2q)``, x = target - warped."""
    return ((target - warped).pow(2) + eps * eps).pow(q).mean(1, keepdim=True) - eps ** (2 * q)


def photometric_errors(targets: Sequence[Tensor], warped: Sequence[Tensor], penalty: str) -> list[Tensor]:
    """targets [(B, 3, H_i, W_i)], warped [(B·N, 3, H_i, W_i)] (each target's N neighbours in a row) ->
    [(B·N, 1, H_i, W_i)] per-pixel errors under ``penalty`` (one of :data:`PENALTIES`)."""
    if penalty == "census":
        return census_distances(list(zip(targets, warped, strict=True)), CENSUS_RADIUS)
    if penalty == "charbonnier":
        return [charbonnier_error(repeated(t, w.shape[0]), w) for t, w in zip(targets, warped, strict=True)]
    raise ValueError(f"photometric penalty: expected one of {PENALTIES}, got '{penalty}'")


def erode(mask: Tensor, radius: int) -> Tensor:
    """(B, 1, H, W) in {0, 1} -> (B, 1, H, W): 1 only where the whole (2r+1)² window inside the frame is 1."""
    return 1.0 - F.max_pool2d(1.0 - mask, 2 * radius + 1, stride=1, padding=radius)


def occlusion_mask(error: Tensor, valid: Tensor, quantile: float | Tensor) -> Tensor:
    """error, valid (B, 1, H, W) -> (B, 1, H, W) in {0, 1}: valid pixels whose error is at most the per-sample
    ``quantile`` of the valid errors (no gradient flows through the mask). A 0-d tensor ``quantile`` of 1 keeps
    every valid pixel, as the float 1.0 does, without reading the value on the host."""
    if isinstance(quantile, float | int) and quantile >= 1.0:
        return valid
    flat = error.detach().float().flatten(1).masked_fill(valid.flatten(1) == 0, float("nan"))
    q = quantile.to(flat) if isinstance(quantile, Tensor) else quantile
    threshold = torch.nanquantile(flat, q, dim=1).view(-1, 1, 1, 1)
    return valid * (error.detach() <= threshold).to(valid.dtype)


def masked_means(
    errors: Sequence[Tensor], valids: Sequence[Tensor], quantile: float | Tensor, erosion: int = 0, impl: str = "fast"
) -> Tensor:
    """errors, valids [(B, 1, H_i, W_i)] -> (len,) per entry: the mean error over the pixels of its valid mask
    eroded by ``erosion`` (:func:`erode`) that :func:`occlusion_mask` keeps (per sample and entry). On CUDA
    (``impl``, :func:`flowdeblur.ops.occlusion.backend`) one fused custom op for all entries; elsewhere all entries
    in one pass (zero-padded to one length)."""
    if occlusion.backend(errors[0], impl) == "triton":
        return occlusion.occlusion_means(list(errors), list(valids), quantile, erosion)
    valids = [erode(valid, erosion) for valid in valids] if erosion else valids
    length = max(e[0].numel() for e in errors)
    error = torch.stack([F.pad(e.flatten(1), (0, length - e[0].numel())) for e in errors])
    valid = torch.stack([F.pad(v.flatten(1), (0, length - v[0].numel())) for v in valids])
    n, b = error.shape[:2]
    mask = occlusion_mask(error.view(n * b, 1, 1, length), valid.view(n * b, 1, 1, length), quantile).view(n, -1)
    return (error.view(n, -1) * mask).sum(1) / mask.sum(1).clamp_min(1.0)


def photometric_losses(
    targets: Sequence[Tensor],
    neighbours: Sequence[Tensor],
    flows: Sequence[Tensor],
    penalty: str = "census",
    occlusion_quantile: float | Tensor = 0.9,
) -> Tensor:
    """targets [(B, 3, h_i, w_i)], neighbours [(B, N, 3, h_i, w_i)], flows [(B, N, 2, h_i, w_i)] -> (len,): per
    entry the masked mean error of every neighbour backward-warped onto the target."""
    warped, valids = [], []
    for frames, flow in zip(neighbours, flows, strict=True):
        moved, valid = warp(frames, flow.flatten(0, 1))  # the neighbours read where they lie in the window
        warped.append(moved)
        valids.append(valid)
    erosion = CENSUS_RADIUS if penalty == "census" else 0
    return masked_means(photometric_errors(targets, warped, penalty), valids, occlusion_quantile, erosion)


def photometric_loss(
    target: Tensor,
    neighbours: Tensor,
    flow: Tensor,
    penalty: str = "census",
    occlusion_quantile: float | Tensor = 0.9,
) -> Tensor:
    """target (B, 3, h, w), neighbours (B, N, 3, h, w), flow (B, N, 2, h, w) -> scalar.

    The masked mean error of every neighbour backward-warped onto the target.
    """
    return photometric_losses([target], [neighbours], [flow], penalty, occlusion_quantile)[0]


def smoothness_losses(
    flows: Sequence[Tensor], images: Sequence[Tensor], alpha: float = 10.0, impl: str = "fast"
) -> Tensor:
    """flows [(B, N, 2, h_i, w_i)], images [(B, 3, h_i, w_i)] -> (len,) edge-aware first-order smoothness of every
    entry (:func:`smoothness_loss`). On CUDA (``impl``, :func:`flowdeblur.ops.smoothness.backend`), where the
    images need no gradient, one fused custom op per entry; elsewhere the per-pixel arithmetic of all entries and
    both directions runs once over their concatenated differences."""
    if smoothness.backend(flows[0], impl) == "triton" and not any(image.requires_grad for image in images):
        # (B·N, 2, h, w): a view of the networks' channels-last flows, where (B, 2N, h, w) would be a copy
        losses = [smoothness.flow_smoothness_op(f.flatten(0, 1), i, alpha) for f, i in zip(flows, images, strict=True)]
        return torch.stack(losses)
    diffs, lengths = [], []
    for flow, image in zip(flows, images, strict=True):
        joint = torch.cat([image, flow.flatten(1, 2)], dim=1)
        for diff in (joint[..., :, 1:] - joint[..., :, :-1], joint[..., 1:, :] - joint[..., :-1, :]):
            diffs.append(diff.flatten(2))
            lengths.append(diff.shape[-2] * diff.shape[-1])
    gradients = torch.cat(diffs, dim=2).abs()
    weights = torch.exp(-alpha * gradients[:, :3].mean(1, keepdim=True))
    costs = (gradients[:, 3:] * weights).sum((0, 1))
    count = gradients.shape[0] * (gradients.shape[1] - 3)
    means = torch.stack([part.sum() for part in costs.split(lengths)]) / torch.tensor(lengths, device=costs.device)
    return 0.5 * means.view(-1, 2).sum(1) / count


def smoothness_loss(flow: Tensor, image: Tensor, alpha: float = 10.0, impl: str = "fast") -> Tensor:
    """flow (B, N, 2, h, w), image (B, 3, h, w) -> scalar edge-aware first-order smoothness of every flow."""
    return smoothness_losses([flow], [image], alpha, impl)[0]


class WarpingLoss(nn.Module):
    """Weighted photometric and smoothness terms summed over levels.

    Args:
        levels: the levels of the flows it receives.
        photometric_weight: weight of ``flow/photometric`` (0 skips the term).
        smoothness_weight: weight of ``flow/smoothness`` (0 skips the term).
        level_weights: per-level weights of both terms, same length as ``levels``; default uniform, summing
            to 1.
        penalty: photometric penalty, one of :data:`PENALTIES`.
        smoothness_alpha: edge sensitivity of the smoothness weights.
        occlusion_quantile: per-sample error quantile above which pixels count as occluded once annealed
            (1 disables).
        occlusion_start: training calls with no occlusion masking.
        occlusion_ramp: training calls over which the quantile then goes linearly from 1 to
            ``occlusion_quantile``.

    The number of training calls is a buffer (saved in checkpoints, so a resumed run continues the schedule).
    """

    def __init__(
        self,
        levels: Sequence[int],
        photometric_weight: float = 0.1,
        smoothness_weight: float = 0.01,
        level_weights: Sequence[float] | None = None,
        penalty: str = "census",
        smoothness_alpha: float = 10.0,
        occlusion_quantile: float = 0.9,
        occlusion_start: int = 0,
        occlusion_ramp: int = 0,
    ) -> None:
        super().__init__()
        if penalty not in PENALTIES:
            raise ValueError(f"model.flow.penalty: expected one of {PENALTIES}, got '{penalty}'")
        self.levels = tuple(int(level) for level in levels)
        uniform = [1.0 / len(self.levels)] * len(self.levels)
        weights = uniform if level_weights is None else list(level_weights)
        if len(weights) != len(self.levels):
            raise ValueError(f"model.flow.level_weights: expected {len(self.levels)} values, got {weights}")
        self.level_weights = dict(zip(self.levels, (float(w) for w in weights), strict=True))
        self.photometric_weight = float(photometric_weight)
        self.smoothness_weight = float(smoothness_weight)
        self.penalty = penalty
        self.smoothness_alpha = float(smoothness_alpha)
        self.occlusion_quantile = float(occlusion_quantile)
        self.occlusion_start = int(occlusion_start)
        self.occlusion_ramp = int(occlusion_ramp)
        self.calls: Tensor
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        # each term's weight times the level weights, in the order of ``levels`` (rebuilt, not saved)
        self.photometric_weights: Tensor
        self.smoothness_weights: Tensor
        weight_vector = torch.tensor(list(self.level_weights.values()), dtype=torch.float32)
        self.register_buffer("photometric_weights", self.photometric_weight * weight_vector, persistent=False)
        self.register_buffer("smoothness_weights", self.smoothness_weight * weight_vector, persistent=False)

    def current_quantile(self) -> float:
        """The occlusion quantile of the annealing schedule at the current number of training calls."""
        done = int(self.calls) - self.occlusion_start
        if done < 0:
            return 1.0
        fraction = 1.0 if self.occlusion_ramp <= 0 else min(1.0, done / self.occlusion_ramp)
        return 1.0 + fraction * (self.occlusion_quantile - 1.0)

    def quantile_on_device(self) -> float | Tensor:
        """:meth:`current_quantile` as a 0-d float64 tensor computed beside the call counter (no host sync, one
        graph under ``torch.compile`` for every step), or the float 1.0 where occlusion masking is off."""
        if self.occlusion_quantile >= 1.0:
            return 1.0
        calls = self.calls.double()
        if self.occlusion_ramp <= 0:
            return torch.where(calls >= self.occlusion_start, self.occlusion_quantile, 1.0)
        # the ramp 1 - slope·(calls - start), clamped: 1 before it starts, the final quantile after it ends
        slope = (1.0 - self.occlusion_quantile) / self.occlusion_ramp
        return (1.0 + slope * self.occlusion_start - slope * calls).clamp(self.occlusion_quantile, 1.0)

    def forward(self, window: Tensor, flows: dict[int, Tensor]) -> dict[str, Tensor]:
        """window (B, T, 3, H, W) target first, flows level -> (B, T-1, 2, H_l, W_l) -> weighted scalar terms
        ``flow/photometric`` and ``flow/smoothness`` (those with a non-zero weight), float32."""
        b, t = window.shape[:2]
        quantile = self.quantile_on_device()
        if self.training:
            self.calls += 1
        targets, neighbours, level_flows = [], [], []
        with torch.autocast(window.device.type, enabled=False):
            window = window.float()
            for level in self.level_weights:
                images = area_downsample(window.flatten(0, 1), level).unflatten(0, (b, t))
                targets.append(images[:, 0])
                neighbours.append(images[:, 1:])
                level_flows.append(flows[level].float())
            terms = {}
            if self.photometric_weight:
                losses = photometric_losses(targets, neighbours, level_flows, self.penalty, quantile)
                terms["flow/photometric"] = torch.dot(self.photometric_weights.to(losses), losses)
            if self.smoothness_weight:
                losses = smoothness_losses(level_flows, targets, self.smoothness_alpha)
                terms["flow/smoothness"] = torch.dot(self.smoothness_weights.to(losses), losses)
        return terms
