"""FAN with CoordConv and a boundary channel (AWing, Wang et al., ICCV 2019).

Module and parameter names follow the official checkpoints exactly (``conv1.conv``,
``m0.b1_4``, ``top_m_0``, ``l0`` ...): they are the keys of real weight files.

Reading order: building blocks, the hourglass, the full network, helpers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BOUNDARY_GATE = 0.05


def coordinate_maps(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """Return the (1, 3, H, W) CoordConv maps ``[xx, yy, rr]``.

    ``xx`` varies along rows and ``yy`` along columns (the official naming), both in
    [-1, 1]; ``rr`` is their radius scaled so that its maximum is 1.
    """
    rows = torch.arange(height, device=like.device, dtype=torch.float32)
    cols = torch.arange(width, device=like.device, dtype=torch.float32)
    xx = (2 * rows / (height - 1) - 1).view(height, 1).expand(height, width)
    yy = (2 * cols / (width - 1) - 1).view(1, width).expand(height, width)
    rr = torch.sqrt(xx**2 + yy**2)
    rr = rr / rr.max()
    return torch.stack([xx, yy, rr]).unsqueeze(0).to(like.dtype)


class CoordConv(nn.Module):
    """Concatenate coordinate maps (and optionally boundary-gated ones), then convolve.

    Channels in order: ``[input, xx, yy, rr, xx_b, yy_b]`` where ``xx_b``/``yy_b``
    keep the coordinates only where the previous stack's boundary map exceeds 0.05.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        with_boundary: bool = False,
        kernel_size: int = 1,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__()
        self.with_boundary = with_boundary
        extra = 5 if with_boundary else 3
        self.conv = nn.Conv2d(
            in_channels + extra,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
        )
        self._maps: dict[tuple, torch.Tensor] = {}

    def _coordinate_maps(self, x: torch.Tensor) -> torch.Tensor:
        key = (x.shape[-2], x.shape[-1], x.device, x.dtype)
        if key not in self._maps:
            self._maps[key] = coordinate_maps(x.shape[-2], x.shape[-1], x)
        return self._maps[key]

    def forward(
        self, x: torch.Tensor, heatmap: torch.Tensor | None = None
    ) -> torch.Tensor:
        maps = self._coordinate_maps(x).expand(x.shape[0], -1, -1, -1)
        parts = [x, maps]
        if self.with_boundary:
            if heatmap is None:
                raise ValueError(
                    "CoordConv with a boundary channel needs the previous heatmap"
                )
            boundary = heatmap[:, -1:].clamp(0, 1)
            gate = boundary > BOUNDARY_GATE
            parts.append(
                torch.where(
                    gate, maps[:, :2], torch.zeros((), dtype=x.dtype, device=x.device)
                )
            )
        return self.conv(torch.cat(parts, dim=1))


class ConvBlock(nn.Module):
    """Pre-activation multi-scale residual block: ``cat(o1, o2, o3) + residual``."""

    def __init__(self, in_planes: int, out_planes: int) -> None:
        super().__init__()
        if out_planes % 4:
            raise ValueError(
                f"ConvBlock needs out_planes divisible by 4, got {out_planes}"
            )
        half, quarter = out_planes // 2, out_planes // 4
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = _conv3x3(in_planes, half)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv2 = _conv3x3(half, quarter)
        self.bn3 = nn.BatchNorm2d(quarter)
        self.conv3 = _conv3x3(quarter, quarter)
        self.downsample: nn.Module | None = None
        if in_planes != out_planes:
            self.downsample = nn.Sequential(
                nn.BatchNorm2d(in_planes),
                nn.ReLU(inplace=True),
                nn.Conv2d(in_planes, out_planes, kernel_size=1, bias=False),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(F.relu(self.bn1(x)))
        out2 = self.conv2(F.relu(self.bn2(out1)))
        out3 = self.conv3(F.relu(self.bn3(out2)))
        residual = x if self.downsample is None else self.downsample(x)
        return torch.cat((out1, out2, out3), dim=1) + residual


class HourGlass(nn.Module):
    """Recursive hourglass preceded by a CoordConv (boundary-aware after the first stack)."""

    def __init__(self, depth: int, num_features: int, *, with_boundary: bool) -> None:
        super().__init__()
        self.depth = depth
        self.coordconv = CoordConv(
            num_features, num_features, with_boundary=with_boundary
        )
        # Registration order matches the official state dict.
        for level in range(depth, 0, -1):
            self.add_module(f"b1_{level}", ConvBlock(num_features, num_features))
            self.add_module(f"b2_{level}", ConvBlock(num_features, num_features))
        self.add_module("b2_plus_1", ConvBlock(num_features, num_features))
        for level in range(1, depth + 1):
            self.add_module(f"b3_{level}", ConvBlock(num_features, num_features))

    def _level(self, level: int, inp: torch.Tensor) -> torch.Tensor:
        up1 = self._modules[f"b1_{level}"](inp)
        low1 = self._modules[f"b2_{level}"](F.avg_pool2d(inp, 2, stride=2))
        if level > 1:
            low2 = self._level(level - 1, low1)
        else:
            low2 = self.b2_plus_1(low1)
        low3 = self._modules[f"b3_{level}"](low2)
        return up1 + F.interpolate(low3, scale_factor=2, mode="nearest")

    def forward(
        self, x: torch.Tensor, heatmap: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self._level(self.depth, self.coordconv(x, heatmap))


class FAN(nn.Module):
    """Stacked-hourglass face alignment network with CoordConv and boundary heatmap.

    ``forward(x)`` takes (B, 3, S, S) RGB in [0, 1] and returns one (B, L+1, S/4, S/4)
    tensor per stack; channel L is the boundary map. The published configuration is
    ``FAN(4, 98)`` at S = 256 (68 landmarks for 300W, 29 for COFW).

    ``hourglass_depth`` and ``base_width`` exist for small experiments and tests: the
    published model uses depth 4 and width 64 (256 hourglass features). S must be a
    multiple of ``4 * 2**hourglass_depth``.
    """

    def __init__(
        self,
        num_modules: int = 4,
        num_landmarks: int = 98,
        end_relu: bool = False,
        *,
        hourglass_depth: int = 4,
        base_width: int = 64,
    ) -> None:
        super().__init__()
        if num_modules < 1 or num_landmarks < 1:
            raise ValueError(
                f"FAN needs at least one stack and one landmark, got "
                f"num_modules={num_modules}, num_landmarks={num_landmarks}"
            )
        self.num_modules = num_modules
        self.num_landmarks = num_landmarks
        self.end_relu = end_relu
        self.hourglass_depth = hourglass_depth
        features = 4 * base_width
        channels = num_landmarks + 1

        self.conv1 = CoordConv(3, base_width, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(base_width)
        self.conv2 = ConvBlock(base_width, 2 * base_width)
        self.conv3 = ConvBlock(2 * base_width, 2 * base_width)
        self.conv4 = ConvBlock(2 * base_width, features)
        for i in range(num_modules):
            self.add_module(
                f"m{i}", HourGlass(hourglass_depth, features, with_boundary=i > 0)
            )
            self.add_module(f"top_m_{i}", ConvBlock(features, features))
            self.add_module(
                f"conv_last{i}", nn.Conv2d(features, features, kernel_size=1)
            )
            self.add_module(f"bn_end{i}", nn.BatchNorm2d(features))
            self.add_module(f"l{i}", nn.Conv2d(features, channels, kernel_size=1))
            if i < num_modules - 1:
                self.add_module(f"bl{i}", nn.Conv2d(features, features, kernel_size=1))
                self.add_module(f"al{i}", nn.Conv2d(channels, features, kernel_size=1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.avg_pool2d(self.conv2(x), 2, stride=2)
        x = self.conv4(self.conv3(x))
        previous, out = x, None
        outputs: list[torch.Tensor] = []
        for i in range(self.num_modules):
            hg = self._modules[f"m{i}"](previous, out)
            ll = self._modules[f"top_m_{i}"](hg)
            ll = F.relu(self._modules[f"bn_end{i}"](self._modules[f"conv_last{i}"](ll)))
            out = self._modules[f"l{i}"](ll)
            if self.end_relu:
                out = F.relu(out)
            outputs.append(out)
            if i < self.num_modules - 1:
                previous = (
                    previous
                    + self._modules[f"bl{i}"](ll)
                    + self._modules[f"al{i}"](out)
                )
        return outputs


def _conv3x3(in_planes: int, out_planes: int) -> nn.Conv2d:
    return nn.Conv2d(
        in_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=False
    )
