"""A long-lived inference engine for a worker: warmed up once, optionally compiled once.

A worker runs many checkpoints of the same few architectures. Paying for CUDA
context creation, cuDNN algorithm search or ``torch.compile`` on every run would
dominate short runs, so the engine does that at start (:meth:`Engine.warm_up`) and
keeps one prepared network per architecture. A new checkpoint's weights (BatchNorm
folded, as :func:`evaluator.inference.prepare_model` does) are copied into that
network in place: a compiled graph takes parameters as inputs, so it is reused
without recompiling.

Compilation (``torch.compile``) keeps its artefacts in ``cache_dir`` (Inductor's
FX-graph and kernel caches), so a restarted worker loads them instead of compiling
again. It is off on the CPU, where the frozen TorchScript path of
:class:`evaluator.inference.FastOnCPU` serves, and any compile failure falls back to
the eager network with a warning. Precision: ``fp32`` (IEEE) unless the caller asks
for ``bf16``, or ``tf32`` which only means something on CUDA and is ``fp32`` elsewhere;
:meth:`Engine.effective_precision` says which was used.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from evaluator.benchmarks import Benchmark
from evaluator.inference import (
    INPUT_SIZE,
    Progress,
    default_device,
    fold_batchnorm,
    predict,
    prepare_model,
    run_network,
)
from evaluator.models.awing import FAN

logger = logging.getLogger(__name__)


def architecture_key(model: FAN) -> tuple:
    """What decides whether two FANs can share one prepared network: configuration and shapes."""
    shapes = tuple((name, tuple(t.shape)) for name, t in model.state_dict().items())
    return (model.num_modules, model.num_landmarks, model.end_relu, model.hourglass_depth, shapes)


class Engine:
    """Runs checkpoints on one device with networks prepared (and compiled) once per architecture."""

    def __init__(
        self,
        device: torch.device | str | None = None,
        *,
        compile: bool = False,
        cache_dir: str | os.PathLike | None = None,
        batch_size: int | None = None,
        compile_options: dict | None = None,
    ) -> None:
        self.device = torch.device(device) if device is not None else default_device()
        self.compile = compile
        # Passed to torch.compile (tests use {"backend": "eager"}: Dynamo's capture without a C++ compiler).
        self.compile_options = {"dynamic": False, **(compile_options or {})}
        self.batch_size = batch_size or (32 if self.device.type == "cuda" else 2)
        self._networks: dict[tuple, tuple[nn.Module, nn.Module]] = {}
        if compile and cache_dir is not None:
            # Inductor reads these when it first compiles; set before any compilation.
            folder = Path(cache_dir) / "inductor"
            folder.mkdir(parents=True, exist_ok=True)
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
            os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")

    def effective_precision(self, precision: str) -> str:
        if precision == "tf32" and self.device.type != "cuda":
            return "fp32"
        return precision

    def warm_up(self, architectures: list[tuple[int, int]]) -> float:
        """Prepare (compile) and run once each (landmarks, stacks) FAN; returns the seconds it took."""
        start = time.perf_counter()
        for num_landmarks, num_modules in architectures:
            model = FAN(num_modules, num_landmarks).eval()
            network = self.network_for(model)
            batch = np.zeros((self.batch_size, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
            run_network(network, batch, self.device)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter() - start

    def network_for(self, model: FAN) -> nn.Module:
        """The prepared network of ``model``'s architecture, holding ``model``'s (folded) weights."""
        key = architecture_key(model)
        if key not in self._networks or not self.compile:
            if not self.compile:
                return prepare_model(model, self.device, freeze=True)
            self._networks[key] = self._compiled(model)
        base, network = self._networks[key]
        with torch.no_grad():
            folded = fold_batchnorm(model).to(self.device)
            base.load_state_dict(folded.state_dict())
        return network

    def _compiled(self, model: FAN) -> tuple[nn.Module, nn.Module]:
        base = fold_batchnorm(model).to(self.device).to(memory_format=torch.channels_last)
        compiled = torch.compile(base, **self.compile_options)
        try:
            # Compilation happens at the first call: make it now, with the batch size runs use.
            batch = np.zeros((self.batch_size, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
            run_network(compiled, batch, self.device)
        except Exception as error:  # noqa: BLE001 - no compiler here: the eager network still verifies
            logger.warning("torch.compile failed (%s); running the eager network", error)
            return base, base
        return base, compiled

    def predict(
        self,
        model: FAN,
        benchmark: Benchmark,
        *,
        precision: str = "fp32",
        progress: Progress | None = None,
    ) -> np.ndarray:
        """Landmarks (N, L, 2) of every face, as :func:`evaluator.inference.predict` computes them."""
        return predict(
            model,
            benchmark,
            batch_size=self.batch_size,
            device=self.device,
            precision=self.effective_precision(precision),
            progress=progress,
            network=self.network_for(model) if self.compile else None,
        )
