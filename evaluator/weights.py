"""Loading FAN checkpoints safely and strictly.

Accepted: the official layout (a dict whose ``state_dict`` entry holds the weights),
a bare state dict, keys prefixed with ``module.`` (DataParallel) and safetensors
files. Pickled Python objects are never executed (``torch.load(weights_only=True)``).
The architecture (landmarks, stacks, hourglass depth, width) is read from the
tensor shapes, and every missing, unexpected or mis-shaped key is reported.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from collections.abc import Mapping
from typing import BinaryIO

import torch

from evaluator.models.awing import FAN

PathOrFile = str | os.PathLike | BinaryIO | bytes
_LISTED = 10


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into FAN, with the reason."""


def load_checkpoint(path_or_file: PathOrFile, num_landmarks: int | None = None) -> FAN:
    """Build a FAN in eval mode from a checkpoint; see the module docstring."""
    raw = _read_bytes(path_or_file)
    state = _strip_prefix(_extract_state_dict(_deserialise(raw)))
    config = infer_config(state)
    if num_landmarks is not None and config["num_landmarks"] != num_landmarks:
        raise CheckpointError(
            f"Checkpoint predicts {config['num_landmarks']} landmarks, "
            f"but {num_landmarks} were expected for this benchmark"
        )
    model = FAN(
        config["num_modules"],
        config["num_landmarks"],
        hourglass_depth=config["hourglass_depth"],
        base_width=config["base_width"],
    )
    load_state_dict_strict(model, state)
    return model.eval()


def load_state_dict_strict(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor]
) -> None:
    """Copy ``state`` into ``model``; absent ``num_batches_tracked`` keep their value."""
    expected = model.state_dict()
    missing = [
        k for k in expected if k not in state and not k.endswith("num_batches_tracked")
    ]
    unexpected = [k for k in state if k not in expected]
    misshaped = [
        f"{k} (checkpoint {tuple(state[k].shape)}, model {tuple(expected[k].shape)})"
        for k in state
        if k in expected and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = [
        _describe(label, keys)
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("mis-shaped", misshaped),
        )
        if keys
    ]
    if problems:
        raise CheckpointError(
            "Checkpoint does not match the FAN architecture: " + "; ".join(problems)
        )
    merged = dict(expected)
    merged.update(state)
    model.load_state_dict(merged, strict=True)


def infer_config(state: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """Read landmarks, stacks, hourglass depth and width from tensor shapes."""
    for key in ("conv1.conv.weight", "l0.weight"):
        if key not in state:
            raise CheckpointError(
                f"Checkpoint has no {key!r}: it is not a FAN/AWing state dict "
                f"(first keys: {', '.join(list(state)[:5]) or 'none'})"
            )
    stacks = {
        int(m.group(1)) for k in state if (m := re.match(r"m(\d+)\.coordconv\.", k))
    }
    levels = {int(m.group(1)) for k in state if (m := re.match(r"m0\.b1_(\d+)\.", k))}
    if not stacks or not levels:
        raise CheckpointError(
            "Checkpoint has no hourglass weights (m0.coordconv, m0.b1_*)"
        )
    return {
        "num_landmarks": int(state["l0.weight"].shape[0]) - 1,
        "num_modules": max(stacks) + 1,
        "hourglass_depth": max(levels),
        "base_width": int(state["conv1.conv.weight"].shape[0]),
    }


def _read_bytes(path_or_file: PathOrFile) -> bytes:
    if isinstance(path_or_file, bytes):
        return path_or_file
    if isinstance(path_or_file, str | os.PathLike):
        try:
            with open(path_or_file, "rb") as handle:
                return handle.read()
        except OSError as error:
            raise CheckpointError(
                f"Cannot read checkpoint {os.fspath(path_or_file)!r}: {error}"
            ) from error
    return path_or_file.read()


def _is_safetensors(raw: bytes) -> bool:
    # safetensors: 8-byte little-endian header length, then a JSON object.
    if len(raw) < 10:
        return False
    header = int.from_bytes(raw[:8], "little")
    return raw[8:9] == b"{" and 0 < header <= len(raw) - 8


def _deserialise(raw: bytes) -> object:
    if not raw:
        raise CheckpointError("Checkpoint file is empty")
    if _is_safetensors(raw):
        from safetensors.torch import load as load_safetensors

        try:
            return load_safetensors(raw)
        except Exception as error:
            raise CheckpointError(f"Invalid safetensors checkpoint: {error}") from error
    try:
        return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            "Refusing to load this checkpoint: it contains pickled Python objects, which "
            "could run code. Save only tensors (torch.save(model.state_dict(), path)) or "
            f"use safetensors. Detail: {str(error).splitlines()[0]}"
        ) from error
    except Exception as error:
        raise CheckpointError(
            f"Not a PyTorch or safetensors checkpoint ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'})"
        ) from error


def _extract_state_dict(obj: object) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError(
            "Checkpoint holds neither a state dict nor a dict with a 'state_dict' entry"
        )
    not_tensors = [str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(
            "Checkpoint state dict has entries that are not tensors: "
            + _listing(not_tensors)
        )
    return dict(obj)


def _strip_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    prefix = "module."
    if all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return state


def _describe(label: str, keys: list[str]) -> str:
    return f"{len(keys)} {label} key{'s' if len(keys) != 1 else ''}: {_listing(keys)}"


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown + (
        f", ... ({len(keys) - _LISTED} more)" if len(keys) > _LISTED else ""
    )
