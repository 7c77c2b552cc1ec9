"""Adaptive Wing loss for heatmap regression (Wang et al., ICCV 2019).

::

    AWing(y, ŷ) = ω ln(1 + |(y - ŷ)/ε|^(α - y))      if |y - ŷ| < θ
                = A |y - ŷ| - C                        otherwise
    A = ω (1 / (1 + (θ/ε)^(α-y))) (α - y) (θ/ε)^(α-y-1) (1/ε)
    C = θ A - ω ln(1 + (θ/ε)^(α-y))

The two branches meet at |y - ŷ| = θ. Note the small-error branch divides by ε;
dividing by ω there is a known bug of some ports.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

REDUCTIONS = ("none", "mean", "sum")


def adaptive_wing_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 2.1,
    omega: float = 14.0,
    epsilon: float = 1.0,
    theta: float = 0.5,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """AWing loss between heatmaps of the same shape, optionally weighted per element.

    ``reduction`` is ``"mean"`` (over all elements), ``"sum"`` or ``"none"``.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"Expected target of shape {tuple(pred.shape)}, got {tuple(target.shape)}"
        )
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Unknown reduction {reduction!r}; expected one of {', '.join(REDUCTIONS)}"
        )
    error = (target - pred).abs()
    power = alpha - target
    ratio = theta / epsilon
    a = omega / (1 + ratio**power) * power * ratio ** (power - 1) / epsilon
    c = theta * a - omega * torch.log1p(ratio**power)
    small = omega * torch.log1p((error / epsilon) ** power)
    loss = torch.where(error < theta, small, a * error - c)
    if weight is not None:
        loss = loss * weight
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def foreground_mask(target: torch.Tensor, threshold: float = 0.2) -> torch.Tensor:
    """M: 1 where the 3x3 grey dilation of each (H, W) target map exceeds ``threshold``."""
    maps = target.reshape(-1, 1, *target.shape[-2:])
    dilated = F.max_pool2d(maps, kernel_size=3, stride=1, padding=1).reshape(
        target.shape
    )
    return (dilated > threshold).to(target.dtype)


def weighted_loss_map(
    target: torch.Tensor, W: float = 10.0, threshold: float = 0.2
) -> torch.Tensor:
    """The per-element loss weight ``W * M + 1`` that emphasises foreground pixels."""
    return W * foreground_mask(target, threshold) + 1


class AdaptiveWingLoss(nn.Module):
    """AWing loss with the foreground weight map, averaged over all elements."""

    def __init__(
        self,
        alpha: float = 2.1,
        omega: float = 14.0,
        epsilon: float = 1.0,
        theta: float = 0.5,
        W: float = 10.0,
        threshold: float = 0.2,
        use_weight_map: bool = True,
    ) -> None:
        super().__init__()
        self.alpha, self.omega, self.epsilon, self.theta = alpha, omega, epsilon, theta
        self.W, self.threshold, self.use_weight_map = W, threshold, use_weight_map

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        weight = (
            weighted_loss_map(target, self.W, self.threshold)
            if self.use_weight_map
            else None
        )
        return adaptive_wing_loss(
            pred,
            target,
            self.alpha,
            self.omega,
            self.epsilon,
            self.theta,
            weight=weight,
        )
