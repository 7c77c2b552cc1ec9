"""Heatmap targets and decoders for 64x64 maps of a 256x256 crop.

Coordinates are continuous pixels of the network crop (the "256 frame"); heatmap
pixel ``(x, y)`` covers crop pixels ``[4x, 4x + 4)``, so its centre is ``4 (x + 0.5)``.

Decoders, chosen by name:

- ``"official"`` (default): the AWing evaluation rule. Argmax of each map, then for
  interior pixels (0 < x < W-1, 0 < y < H-1) a quarter-pixel shift towards the larger
  neighbour along each axis, then ``4 (x + 0.5, y + 0.5)``.
- ``"local_soft_argmax"``: the argmax refined by the mean of the 3x3 neighbourhood
  weighted by the positive heatmap values. Border behaviour: the window is cut at
  the map edge (no padding), so a border peak is refined only towards the inside.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

DECODERS = ("official", "local_soft_argmax")
SIGMA = 1.75
RADIUS = 3


def gaussian_targets(
    points: np.ndarray,
    heatmap_size: int = 64,
    input_size: int = 256,
    sigma: float = SIGMA,
    radius: int = RADIUS,
) -> np.ndarray:
    """Training targets (K, S, S) float32 for landmarks ``points`` (K, 2) in the crop.

    Each map holds a (2r+1)² Gaussian with peak 1 and standard deviation ``sigma``
    heatmap pixels, centred on pixel ``floor(p * S / input_size)``. The window is
    clipped at the map edge without moving the peak (the official code shifts peaks
    near the top/left border by up to 2 px; we do not copy that). Landmarks whose
    centre falls outside the map get an empty map.
    """
    points = np.asarray(points, dtype=np.float64)
    scale = heatmap_size / input_size
    centres = np.floor(points * scale).astype(np.int64)
    grid = np.arange(heatmap_size)
    dx = grid[None, :] - centres[:, 0:1]  # (K, S)
    dy = grid[None, :] - centres[:, 1:2]
    gx = np.where(np.abs(dx) <= radius, np.exp(-(dx**2) / (2 * sigma**2)), 0.0)
    gy = np.where(np.abs(dy) <= radius, np.exp(-(dy**2) / (2 * sigma**2)), 0.0)
    maps = gy[:, :, None] * gx[:, None, :]
    inside = ((centres >= 0) & (centres < heatmap_size)).all(axis=1)
    maps[~inside] = 0.0
    return np.clip(maps, 0.0, 1.0).astype(np.float32)


def decode(heatmaps: torch.Tensor | np.ndarray, method: str = "official") -> np.ndarray:
    """Landmarks (B, K, 2) float64 in the crop frame from heatmaps (B, K, H, W).

    The crop is assumed to be 4x the heatmap side (256 for 64x64 maps).
    """
    maps = torch.as_tensor(heatmaps).detach().float().cpu()
    if maps.ndim != 4:
        raise ValueError(
            f"Expected heatmaps of shape (B, K, H, W), got {tuple(maps.shape)}"
        )
    if method == "official":
        coords = _decode_official(maps)
    elif method == "local_soft_argmax":
        coords = _decode_local_soft_argmax(maps)
    else:
        raise ValueError(
            f"Unknown decoder {method!r}; expected one of {', '.join(DECODERS)}"
        )
    return 4.0 * (coords + 0.5)


def _argmax_xy(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    width = maps.shape[-1]
    index = maps.flatten(2).argmax(dim=-1)
    return index % width, index // width


def _decode_official(maps: torch.Tensor) -> np.ndarray:
    height, width = maps.shape[-2:]
    x, y = _argmax_xy(maps)
    padded = F.pad(maps, (1, 1, 1, 1))
    flat = padded.flatten(2)
    stride = width + 2

    def at(dx: int, dy: int) -> torch.Tensor:
        index = (y + 1 + dy) * stride + (x + 1 + dx)
        return flat.gather(2, index.unsqueeze(-1)).squeeze(-1)

    interior = (x > 0) & (x < width - 1) & (y > 0) & (y < height - 1)
    shift_x = torch.sign(at(1, 0) - at(-1, 0)) * 0.25 * interior
    shift_y = torch.sign(at(0, 1) - at(0, -1)) * 0.25 * interior
    coords = torch.stack(
        [x.double() + shift_x.double(), y.double() + shift_y.double()], dim=-1
    )
    return coords.numpy()


def _decode_local_soft_argmax(maps: torch.Tensor) -> np.ndarray:
    height, width = maps.shape[-2:]
    x, y = _argmax_xy(maps)
    weights_sum = torch.zeros_like(x, dtype=torch.float64)
    sum_x = torch.zeros_like(weights_sum)
    sum_y = torch.zeros_like(weights_sum)
    flat = maps.flatten(2).double()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            nx, ny = x + dx, y + dy
            valid = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
            index = (
                ny.clamp(0, height - 1) * width + nx.clamp(0, width - 1)
            ).unsqueeze(-1)
            value = flat.gather(2, index).squeeze(-1).clamp(min=0) * valid
            weights_sum += value
            sum_x += value * nx
            sum_y += value * ny
    safe = weights_sum > 0
    refined_x = torch.where(safe, sum_x / weights_sum.clamp(min=1e-12), x.double())
    refined_y = torch.where(safe, sum_y / weights_sum.clamp(min=1e-12), y.double())
    return torch.stack([refined_x, refined_y], dim=-1).numpy()
