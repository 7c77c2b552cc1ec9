"""Run a FAN checkpoint over a benchmark and score it.

Faces are cropped by the WFLW protocol: the detection box is padded 2.5% per side
and a square of side ``0.64 (w' + h')`` around its centre is resized (bilinear) to
the 256x256 network input. The crop frame is ``u = s (x - c) + 128`` with
``s = 256 / side``, so decoded landmarks map back exactly with ``x = (u - 128) / s + c``.

Speed: on CPU the model runs with BatchNorm folded into the convolutions that feed
it, channels-last memory, ``inference_mode``, batches split into cache-sized chunks
and (float32) a frozen TorchScript trace; reduced precision (``bf16`` on CPUs
that support it and on GPUs, ``fp16`` on GPUs) is an explicit option because it may
move a landmark by a quarter heatmap pixel. On a GPU ``fp32`` means IEEE float32
convolutions; ``tf32`` lets cuDNN use TensorFloat-32 (10-bit mantissa) for speed.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from evaluator.benchmarks import Benchmark
from evaluator.heatmaps import decode
from evaluator.models.awing import FAN
from evaluator.scoring import score

INPUT_SIZE = 256
BOX_PADDING = 0.025
CROP_SCALE = 0.64
PRECISIONS = {
    "fp32": None,
    "tf32": None,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}
CUDA_ONLY_PRECISIONS = ("tf32", "fp16")
Progress = Callable[[int, int], None]
# Tracing takes seconds per input shape: it pays off on a full split, not on a few faces.
FREEZE_MIN_FACES = 256
# Images per forward pass on the CPU: small enough for the feature maps to stay in cache.
CPU_CHUNK = 2


def crop_transform(box: np.ndarray, input_size: int = INPUT_SIZE) -> np.ndarray:
    """The 2x3 affine matrix from original-image pixels to the network crop."""
    x_min, y_min, x_max, y_max = (float(v) for v in box)
    width, height = (
        (x_max - x_min) * (1 + 2 * BOX_PADDING),
        (y_max - y_min) * (1 + 2 * BOX_PADDING),
    )
    side = CROP_SCALE * (width + height)
    if not side > 0:
        raise ValueError(f"Face box {list(box)} has no area")
    scale = input_size / side
    centre_x, centre_y = (x_min + x_max) / 2, (y_min + y_max) / 2
    half = input_size / 2
    return np.array(
        [[scale, 0.0, half - scale * centre_x], [0.0, scale, half - scale * centre_y]]
    )


def crop_face(
    image: np.ndarray, box: np.ndarray, input_size: int = INPUT_SIZE
) -> np.ndarray:
    """The (S, S, 3) crop of ``image`` for ``box``; outside the image is black."""
    import cv2

    matrix = crop_transform(box, input_size)
    return cv2.warpAffine(
        image, matrix, (input_size, input_size), flags=cv2.INTER_LINEAR, borderValue=0
    )


def to_original(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map crop points (K, 2) back through the inverse of ``matrix``."""
    scale = matrix[0, 0]
    return (points - matrix[:, 2]) / scale


def fold_batchnorm(model: FAN) -> FAN:
    """A copy of ``model`` (eval mode) with BatchNorm merged into the convolution before it.

    Only conv -> BN pairs fold: the stem (``conv1.conv`` + ``bn1``) and each stack's
    head (``conv_last{i}`` + ``bn_end{i}``). The residual blocks are pre-activation
    (BN -> ReLU -> conv), where the ReLU stands in the way.
    """
    folded = copy.deepcopy(model).eval()
    pairs = [(folded.conv1.conv, "bn1")]
    pairs += [
        (getattr(folded, f"conv_last{i}"), f"bn_end{i}")
        for i in range(folded.num_modules)
    ]
    for conv, bn_name in pairs:
        _fold_into(conv, getattr(folded, bn_name))
        setattr(folded, bn_name, nn.Identity())
    return folded


def _fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    with torch.no_grad():
        factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.mul_(factor.view(-1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - bn.running_mean) * factor + bn.bias)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def prepare_model(
    model: FAN,
    device: torch.device | str | None = None,
    *,
    compile: bool = False,
    freeze: bool = True,
) -> nn.Module:
    """The fast inference form of ``model`` on ``device``: folded BN, channels-last.

    On CPU (unless ``compile``) the model is wrapped in :class:`FastOnCPU`: batches
    run in cache-sized chunks and, with ``freeze``, float32 calls go through a
    TorchScript trace frozen per input shape, whose weights are constants and which
    has no Python dispatch per layer. Autocast calls and any trace that fails fall
    back to the eager folded model.
    """
    device = torch.device(device) if device is not None else default_device()
    fast = fold_batchnorm(model).to(device).to(memory_format=torch.channels_last)
    if compile:
        return torch.compile(fast)
    if device.type == "cpu":
        return FastOnCPU(fast, freeze=freeze)
    return fast


class FastOnCPU(nn.Module):
    """Eager ``model`` run on the CPU in chunks of ``chunk`` images, float32 chunks through frozen traces.

    Chunks: one image of FAN-4 holds 4 MB per 256-channel feature map, so a batch of
    16 streams 64 MB maps through memory on every layer, more than a CPU's last-level
    cache, where a chunk of two needs 8 MB. ``benchmarks/evaluator_bench.py`` measures
    the chunked path against eager float32 at batch 16.
    Traces: made at the first call of each (batch, channels, height, width) and
    memory format; a trace bakes in the CoordConv maps of that size, hence one per
    shape. Under autocast (bf16) the eager model runs: a frozen graph ignores
    autocast. If tracing raises, the eager model serves that shape from then on.
    """

    def __init__(
        self, model: nn.Module, *, freeze: bool = True, chunk: int = CPU_CHUNK
    ) -> None:
        super().__init__()
        self.model = model.eval()
        self.freeze, self.chunk = freeze, chunk
        self._traces: dict[tuple, nn.Module] = {}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[0] <= self.chunk:
            return self._run(x)
        parts = [self._run(part) for part in x.split(self.chunk)]
        return [torch.cat(stack) for stack in zip(*parts)]

    def _run(self, x: torch.Tensor) -> list[torch.Tensor]:
        if (
            not self.freeze
            or x.dtype != torch.float32
            or torch.is_autocast_enabled(x.device.type)
        ):
            return self.model(x)
        key = (*x.shape, x.is_contiguous(memory_format=torch.channels_last))
        if key not in self._traces:
            self._traces[key] = self._trace(x)
        return self._traces[key](x)

    def _trace(self, x: torch.Tensor) -> nn.Module:
        example = torch.zeros(x.shape, dtype=x.dtype, device=x.device).contiguous(
            memory_format=torch.channels_last
            if x.is_contiguous(memory_format=torch.channels_last)
            else torch.contiguous_format
        )
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(self.model, example, check_trace=False)
                return torch.jit.freeze(traced)
        except Exception as error:  # noqa: BLE001 - any tracing failure means eager
            warnings.warn(
                f"Running the eager model: tracing failed ({error})", stacklevel=4
            )
            return self.model


def predict(
    model: FAN,
    benchmark: Benchmark,
    *,
    batch_size: int = 16,
    device: torch.device | str | None = None,
    precision: str = "fp32",
    decoder: str = "official",
    optimise: bool = True,
    progress: Progress | None = None,
    network: nn.Module | None = None,
) -> np.ndarray:
    """Landmarks (N, L, 2) in original-image pixels for every face of ``benchmark``.

    ``network``: an already prepared form of ``model`` on ``device`` to run instead of
    preparing one (:class:`evaluator.engine.Engine` passes a warm, compiled one).
    """
    if model.num_landmarks != benchmark.num_landmarks:
        raise ValueError(
            f"The model predicts {model.num_landmarks} landmarks but the {benchmark.format} "
            f"benchmark has {benchmark.num_landmarks}"
        )
    device = torch.device(device) if device is not None else default_device()
    freeze = len(benchmark) >= FREEZE_MIN_FACES
    if network is None:
        network = (
            prepare_model(model, device, freeze=freeze)
            if optimise
            else model.eval().to(device)
        )
    autocast_dtype = _autocast_dtype(precision, device)
    pred = np.empty(benchmark.landmarks.shape)
    done = 0
    for indices, batch, matrices in _batches(benchmark, batch_size):
        with conv_precision(precision, device):
            heatmaps = run_network(
                network, batch, device, autocast_dtype, channels_last=optimise
            )
        crop_points = decode(heatmaps[:, : benchmark.num_landmarks], decoder)
        for row, i in enumerate(indices):
            pred[i] = to_original(crop_points[row], matrices[row])
        done += len(indices)
        if progress is not None:
            progress(done, len(benchmark))
    return pred


def evaluate_checkpoint(
    model: FAN, benchmark: Benchmark, normaliser: str | None = None, **options: object
) -> dict:
    """:func:`predict` then :func:`evaluator.scoring.score`."""
    return score(predict(model, benchmark, **options), benchmark, normaliser)


def run_network(
    network: nn.Module,
    batch: np.ndarray,
    device: torch.device,
    autocast_dtype: torch.dtype | None = None,
    *,
    channels_last: bool = True,
) -> torch.Tensor:
    """Last-stack heatmaps (B, L+1, 64, 64) float32 on CPU for uint8 crops (B, S, S, 3)."""
    images = torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float().div_(255)
    images = images.contiguous(
        memory_format=torch.channels_last if channels_last else torch.contiguous_format
    )
    with (
        torch.inference_mode(),
        torch.autocast(
            device.type,
            dtype=autocast_dtype or torch.float32,
            enabled=autocast_dtype is not None,
        ),
    ):
        return network(images)[-1].float().cpu()


@contextmanager
def conv_precision(precision: str, device: torch.device | str) -> Iterator[None]:
    """Within the block, float32 cuDNN convolutions are IEEE (``fp32``) or TF32 (``tf32``).

    PyTorch lets cuDNN use TF32 by default, which rounds inputs to a 10-bit mantissa;
    a verified ``fp32`` figure must not. The previous setting comes back on exit.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    conv = torch.backends.cudnn.conv
    before = conv.fp32_precision
    conv.fp32_precision = "tf32" if precision == "tf32" else "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = before


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision not in PRECISIONS:
        raise ValueError(
            f"Unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}"
        )
    if precision in CUDA_ONLY_PRECISIONS and device.type != "cuda":
        raise ValueError(
            f"{precision} inference needs a CUDA device; use bf16 or fp32 on CPU"
        )
    return PRECISIONS[precision]


def _batches(
    benchmark: Benchmark, batch_size: int
) -> Iterator[tuple[list[int], np.ndarray, list[np.ndarray]]]:
    cached_path, cached_image = None, None
    indices, crops, matrices = [], [], []
    for i in range(len(benchmark)):
        path = benchmark.image_paths[i]
        if path is None or path != cached_path:
            cached_path, cached_image = path, benchmark.load_image(i)
        crops.append(crop_face(cached_image, benchmark.boxes[i]))
        matrices.append(crop_transform(benchmark.boxes[i]))
        indices.append(i)
        if len(indices) == batch_size:
            yield indices, np.stack(crops), matrices
            indices, crops, matrices = [], [], []
    if indices:
        yield indices, np.stack(crops), matrices
