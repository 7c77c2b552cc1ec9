"""Loading FAN checkpoints safely and strictly.

Accepted: the official layout (a dict whose ``state_dict`` entry holds the weights),
a bare state dict, keys prefixed with ``module.`` (DataParallel) and safetensors
files. Pickled Python objects are never executed (``torch.load(weights_only=True)``).

Nothing is built from what a file claims. Key names, shapes and dtypes are read
first (the safetensors header, or the pickle loaded to the ``meta`` device, which
holds no data) and compared with the architectures the caller allows, each shape
pinned by the architecture; the model is built only after that check passes. A
refusal says which of four things went wrong, each its own exception type:
:class:`NotACheckpoint`, :class:`PickledCode`, :class:`WrongArchitecture`,
:class:`TruncatedCheckpoint` (all :class:`CheckpointError`, with a ``code``).
"""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import pickletools
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

import torch

from evaluator.models.awing import FAN

PathOrFile = str | os.PathLike | BinaryIO | bytes
_LISTED = 10
# A FAN's safetensors header is ~100 KB and its pickled part (``data.pkl``) ~140 KB;
# larger ones are refused before they are parsed into Python objects.
MAX_HEADER_BYTES = 1024 * 1024
MAX_PICKLE_BYTES = 1024 * 1024
# How deep a JSON header may nest; a FAN's header is two levels deep.
_MAX_HEADER_DEPTH = 32
# torch.save writes the magic number first in its legacy (non-zip) format.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into FAN, with the reason."""

    code = "invalid_checkpoint"


class NotACheckpoint(CheckpointError):
    """Neither safetensors nor a PyTorch checkpoint holding a state dict."""

    code = "not_a_checkpoint"


class PickledCode(CheckpointError):
    """A pickle that refers to Python code (classes or functions) besides tensors."""

    code = "pickled_code"


class WrongArchitecture(CheckpointError):
    """A state dict whose keys, shapes or dtypes match none of the allowed FANs."""

    code = "wrong_architecture"


class TruncatedCheckpoint(CheckpointError):
    """A checkpoint whose file ends before the data it announces."""

    code = "truncated"


@dataclass(frozen=True)
class Architecture:
    """One FAN configuration a checkpoint may have; the default is the published one."""

    num_modules: int = 4
    num_landmarks: int = 98
    hourglass_depth: int = 4
    base_width: int = 64

    def __str__(self) -> str:
        return (
            f"FAN with {self.num_modules} stack(s), {self.num_landmarks} landmarks, "
            f"hourglass depth {self.hourglass_depth}, width {self.base_width}"
        )

    def build(self, device: str | torch.device | None = None) -> FAN:
        with torch.device(device or "cpu"):
            return FAN(
                self.num_modules,
                self.num_landmarks,
                hourglass_depth=self.hourglass_depth,
                base_width=self.base_width,
            )


PUBLISHED_STACKS = (1, 2, 3, 4)
PUBLISHED_LANDMARKS = (98, 68, 29)


def published_architectures(
    num_landmarks: int | None = None, stacks: Iterable[int] = PUBLISHED_STACKS
) -> tuple[Architecture, ...]:
    """The published FAN (depth 4, width 64) with the given stacks and landmarks."""
    landmarks = PUBLISHED_LANDMARKS if num_landmarks is None else (num_landmarks,)
    return tuple(
        Architecture(s, n) for n in landmarks for s in sorted(set(stacks), reverse=True)
    )


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: torch.dtype


def load_checkpoint(
    path_or_file: PathOrFile,
    num_landmarks: int | None = None,
    *,
    architectures: Sequence[Architecture] | None = None,
) -> FAN:
    """Build a FAN in eval mode from a checkpoint; see the module docstring.

    ``architectures`` lists the configurations accepted (default: the published
    FAN with 1 to 4 stacks and ``num_landmarks``, or 98, 68 or 29 landmarks).
    """
    raw = _read_bytes(path_or_file)
    allowed = tuple(architectures or published_architectures(num_landmarks))
    if num_landmarks is not None:
        allowed = tuple(a for a in allowed if a.num_landmarks == num_landmarks)
        if not allowed:
            raise ValueError(f"No allowed architecture predicts {num_landmarks} landmarks")
    layout = _layout(raw)
    architecture = check_architecture(layout, allowed, num_landmarks)
    state = _strip_prefix(_extract_state_dict(_materialise(raw)))
    return _build(architecture, state)


def read_layout(path_or_file: PathOrFile) -> dict[str, TensorInfo]:
    """Key names, shapes and dtypes of a checkpoint's state dict, without its data."""
    return _layout(_read_bytes(path_or_file))


def check_architecture(
    layout: Mapping[str, TensorInfo],
    allowed: Sequence[Architecture],
    num_landmarks: int | None = None,
) -> Architecture:
    """The allowed architecture ``layout`` matches exactly, or WrongArchitecture."""
    if num_landmarks is not None:
        _check_landmarks(layout, num_landmarks)
    best: tuple[tuple[int, int], Architecture, list[str]] | None = None
    for architecture in allowed:
        expected = expected_layout(architecture)
        problems = _mismatches(layout, expected)
        if not problems:
            return architecture
        # The closest: the fewest differing key names, then the fewest differences.
        names = len(set(layout).symmetric_difference(k for k in expected if not k.endswith("num_batches_tracked")))
        if best is None or (names, len(problems)) < best[0]:
            best = ((names, len(problems)), architecture, problems)
    assert best is not None
    _, architecture, problems = best
    raise WrongArchitecture(
        f"Wrong architecture: expected {architecture}"
        + (f" (or one of {len(allowed) - 1} other allowed size(s))" if len(allowed) > 1 else "")
        + f", got {problems[0]}"
        + (f"; {len(problems) - 1} more difference(s)" if len(problems) > 1 else "")
    )


@functools.lru_cache(maxsize=32)
def expected_layout(architecture: Architecture) -> dict[str, tuple[int, ...]]:
    """Every key of ``architecture``'s state dict with its shape (built on ``meta``)."""
    return {k: tuple(v.shape) for k, v in architecture.build("meta").state_dict().items()}


def _check_landmarks(layout: Mapping[str, TensorInfo], num_landmarks: int) -> None:
    info = layout.get("l0.weight")
    if info is None or len(info.shape) != 4 or info.shape[0] == num_landmarks + 1:
        return
    raise WrongArchitecture(
        f"Wrong architecture: the checkpoint predicts {info.shape[0] - 1} landmarks, but "
        f"{num_landmarks} were expected for this benchmark (key 'l0.weight' has shape "
        f"{_shown(info.shape)}, expected ({num_landmarks + 1}, {', '.join(map(str, info.shape[1:]))}))"
    )


def _mismatches(
    layout: Mapping[str, TensorInfo], expected: Mapping[str, tuple[int, ...]]
) -> list[str]:
    problems = []
    for key, shape in expected.items():
        info = layout.get(key)
        if info is None:
            if not key.endswith("num_batches_tracked"):
                problems.append(f"key {key!r} missing (expected shape {shape})")
        elif info.shape != shape:
            problems.append(f"key {key!r} with shape {_shown(info.shape)} (expected {shape})")
        elif key.endswith("num_batches_tracked"):
            if info.dtype.is_floating_point or info.dtype.is_complex or info.dtype == torch.bool:
                problems.append(f"key {key!r} of dtype {info.dtype} (expected an integer)")
        elif not info.dtype.is_floating_point:
            problems.append(f"key {key!r} of dtype {info.dtype} (expected floating point)")
    problems += [
        f"unexpected key {_shown(key)} with shape {_shown(info.shape)}"
        for key, info in layout.items()
        if key not in expected
    ]
    return problems


def _shown(value: object, limit: int = 120) -> str:
    """``repr(value)``, cut short: names and shapes come from the file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _build(architecture: Architecture, state: Mapping[str, torch.Tensor]) -> FAN:
    model = architecture.build("meta")
    full = {}
    for key, expected in model.state_dict().items():
        value = state.get(key)
        if value is None:  # an absent num_batches_tracked: the counter starts at zero
            value = torch.zeros(expected.shape, dtype=expected.dtype)
        full[key] = value.to(expected.dtype).contiguous()
    model.load_state_dict(full, strict=True, assign=True)
    return model.eval()


# --- reading files -------------------------------------------------------------------


def _read_bytes(path_or_file: PathOrFile) -> bytes:
    if isinstance(path_or_file, bytes):
        raw = path_or_file
    elif isinstance(path_or_file, str | os.PathLike):
        try:
            with open(path_or_file, "rb") as handle:
                raw = handle.read()
        except OSError as error:
            raise NotACheckpoint(
                f"Cannot read checkpoint {os.fspath(path_or_file)!r}: {error}"
            ) from error
    else:
        raw = path_or_file.read()
    if not raw:
        raise NotACheckpoint("Checkpoint file is empty")
    return raw


def _kind(raw: bytes) -> str:
    if raw[:4] == b"PK\x03\x04":
        return "zip"
    if len(raw) >= 9 and raw[8:9] == b"{":
        return "safetensors"
    if raw[:1] == b"\x80":  # the PROTO opcode every binary pickle starts with
        return "pickle"
    return "unknown"


def _layout(raw: bytes) -> dict[str, TensorInfo]:
    kind = _kind(raw)
    if kind == "safetensors":
        return {k: TensorInfo(tuple(v["shape"]), v["dtype"]) for k, v in _safetensors_header(raw).items()}
    if kind == "unknown":
        if _is_plain_pickle(raw):
            kind = "pickle"
        else:
            raise NotACheckpoint(
                "Not a checkpoint: the file is neither safetensors nor a PyTorch checkpoint "
                f"(it starts with {raw[:16]!r})"
            )
    pickled = _zip_pickle(raw) if kind == "zip" else raw
    _refuse_code(pickled, legacy=kind == "pickle")
    obj = _torch_load(raw, "meta")
    state = _strip_prefix(_extract_state_dict(obj))
    declared = sum(v.untyped_storage().nbytes() for v in state.values())
    if declared > len(raw):
        raise TruncatedCheckpoint(
            f"Truncated checkpoint: its tensors announce {declared} bytes of data, "
            f"but the file holds only {len(raw)} bytes"
        )
    return {k: TensorInfo(tuple(v.shape), v.dtype) for k, v in state.items()}


def _materialise(raw: bytes) -> object:
    if _kind(raw) == "safetensors":
        from safetensors.torch import load as load_safetensors

        try:
            return load_safetensors(raw)
        except Exception as error:
            raise NotACheckpoint(f"Invalid safetensors checkpoint: {error}") from error
    return _torch_load(raw, "cpu")


def _torch_load(raw: bytes, device: str) -> object:
    try:
        return torch.load(io.BytesIO(raw), map_location=device, weights_only=True)
    except pickle.UnpicklingError as error:
        text = str(error)
        if "allowed global" in text or "is blocked" in text:
            raise PickledCode(_code_message(_refused_global(text))) from error
        raise NotACheckpoint(f"Not a PyTorch checkpoint: {_first_detail(text)}") from error
    except (EOFError, zipfile.BadZipFile) as error:
        raise TruncatedCheckpoint(f"Truncated checkpoint: {error}") from error
    except Exception as error:
        raise NotACheckpoint(
            f"Not a PyTorch or safetensors checkpoint ({type(error).__name__}: "
            f"{_first_detail(str(error))})"
        ) from error


def _first_detail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    detail = next((ln for ln in lines if "WeightsUnpickler error" not in ln and "Weights only" not in ln), "")
    return (detail or (lines[0] if lines else "no detail"))[:300]


def _refused_global(text: str) -> str:
    marker = "GLOBAL "
    if marker in text:
        return text.split(marker, 1)[1].split()[0]
    return ""


def _code_message(name: str) -> str:
    named = f" ({name})" if name else ""
    return (
        f"Refusing to load this checkpoint: it contains pickled Python objects{named}, which "
        "could run code. Save only tensors (torch.save(model.state_dict(), path)) or use "
        "safetensors."
    )


# --- safetensors ---------------------------------------------------------------------

_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def _safetensors_header(raw: bytes) -> dict[str, dict]:
    """The tensors a safetensors file declares: dtype, shape; their data is checked to be there."""
    length = int.from_bytes(raw[:8], "little")
    if length > MAX_HEADER_BYTES:
        raise NotACheckpoint(
            f"Invalid safetensors checkpoint: its header claims {length} bytes "
            f"(at most {MAX_HEADER_BYTES} are allowed)"
        )
    if 8 + length > len(raw):
        raise TruncatedCheckpoint(
            f"Truncated safetensors checkpoint: the header announces {length} bytes, "
            f"but only {len(raw) - 8} follow"
        )
    text = raw[8 : 8 + length]
    if _json_depth_exceeds(text, _MAX_HEADER_DEPTH):
        raise NotACheckpoint("Invalid safetensors checkpoint: its header is nested too deeply")
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise NotACheckpoint(f"Invalid safetensors checkpoint: its header is not JSON ({error})") from error
    if not isinstance(header, dict):
        raise NotACheckpoint("Invalid safetensors checkpoint: its header is not a JSON object")
    header.pop("__metadata__", None)
    data_size = len(raw) - 8 - length
    tensors = {}
    for key, entry in header.items():
        where = f"Invalid safetensors checkpoint: tensor {key[:200]!r}"
        if not isinstance(entry, dict):
            raise NotACheckpoint(f"{where} is described by a {type(entry).__name__}")
        dtype = _SAFETENSORS_DTYPES.get(entry.get("dtype"))
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if dtype is None:
            raise NotACheckpoint(f"{where} has an unsupported dtype {str(entry.get('dtype'))[:20]!r}")
        if not _ints(shape) or not _ints(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
            raise NotACheckpoint(f"{where} has an invalid shape or data_offsets")
        numel = 1
        for size in shape:
            numel *= size
        if numel * dtype.itemsize != offsets[1] - offsets[0]:
            raise NotACheckpoint(
                f"{where} has shape {tuple(shape)} but {offsets[1] - offsets[0]} bytes of data"
            )
        if offsets[1] > data_size:
            raise TruncatedCheckpoint(
                f"Truncated safetensors checkpoint: tensor {key[:200]!r} ends at byte "
                f"{offsets[1]} of the data, but the file holds {data_size} bytes of data"
            )
        tensors[key] = {"dtype": dtype, "shape": shape}
    if not tensors:
        raise NotACheckpoint("Invalid safetensors checkpoint: it holds no tensors")
    return _strip_prefix(tensors)


def _ints(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63 for v in value
    )


def _json_depth_exceeds(text: bytes, limit: int) -> bool:
    """True if brackets nest deeper than ``limit`` outside strings (no parsing needed)."""
    depth, in_string, escaped = 0, False, False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):
            depth -= 1
    return False


# --- pickles -------------------------------------------------------------------------

# Globals a tensors-only checkpoint refers to; anything else is code.
_DATA_GLOBALS = {
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "bytearray"),
}


def _is_data_global(module: str, name: str) -> bool:
    return (module, name) in _DATA_GLOBALS or module == "torch" or module.startswith("torch.")


def _zip_pickle(raw: bytes) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        entries = archive.infolist()
    except _DAMAGED_ZIP as error:
        raise TruncatedCheckpoint(
            f"Truncated or damaged checkpoint: the file starts like a PyTorch (zip) checkpoint "
            f"but its directory cannot be read ({error})"
        ) from error
    compressed = [
        e.filename
        for e in entries
        if e.compress_type != zipfile.ZIP_STORED or e.file_size != e.compress_size
    ]
    if compressed:
        raise NotACheckpoint(
            f"Not a PyTorch checkpoint: it has compressed entries ({_listing(compressed)}); "
            "torch.save stores them uncompressed"
        )
    if any(e.header_offset + e.compress_size > len(raw) for e in entries):
        raise TruncatedCheckpoint("Truncated checkpoint: a zip entry ends after the end of the file")
    pickles = [e for e in entries if e.filename.endswith("/data.pkl") or e.filename == "data.pkl"]
    if len(pickles) != 1:
        raise NotACheckpoint(
            "Not a PyTorch checkpoint: a zip file without exactly one data.pkl "
            f"(entries: {_listing([e.filename for e in entries])})"
        )
    if pickles[0].file_size > MAX_PICKLE_BYTES:
        raise NotACheckpoint(_pickle_too_large(pickles[0].file_size))
    try:
        return archive.read(pickles[0])
    except _DAMAGED_ZIP as error:
        raise TruncatedCheckpoint(f"Truncated or damaged checkpoint: {error}") from error


# What zipfile raises for a damaged archive: a bad structure, a name that is not UTF-8 (ValueError),
# flags asking for encryption (RuntimeError) or features it lacks (NotImplementedError).
_DAMAGED_ZIP = (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError)


def _pickle_too_large(size: int | str) -> str:
    return (
        f"Not a FAN checkpoint: its pickled part is {size} bytes, more than the "
        f"{MAX_PICKLE_BYTES} a FAN's state dict needs (about 140 KB)"
    )


def _is_plain_pickle(raw: bytes) -> bool:
    """A protocol 0/1 pickle (text opcodes) that parses completely."""
    try:
        for _, _, position in pickletools.genops(io.BytesIO(raw)):
            if position is not None and position > MAX_PICKLE_BYTES:
                return True  # refused as too large by the scan that follows
    except ValueError:
        return False
    return True


def _refuse_code(data: bytes, *, legacy: bool) -> None:
    """Read the pickle's opcodes, never running them: refuse one that imports code.

    The legacy torch.save format holds several pickles one after the other (magic
    number, protocol, system info, the object, storage keys) before raw data.
    """
    stream = io.BytesIO(data)
    for position in range(5 if legacy else 1):
        globals_, value = _scan(stream, first=position == 0)
        code = [f"{m}.{n}" for m, n in globals_ if not _is_data_global(m, n)]
        if code:
            raise PickledCode(_code_message(code[0]))
        if position == 0 and value != _LEGACY_MAGIC:
            return


def _scan(stream: io.BytesIO, first: bool) -> tuple[list[tuple[str, str]], object]:
    globals_: list[tuple[str, str]] = []
    strings: list[str] = []
    memo: dict[object, object] = {}
    last: object = None
    start = stream.tell()
    try:
        for opcode, arg, position in pickletools.genops(stream):
            if position is not None and position > MAX_PICKLE_BYTES:
                raise NotACheckpoint(_pickle_too_large(f"over {MAX_PICKLE_BYTES}"))
            name = opcode.name
            if name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                globals_.append((module, attr))
            elif name == "STACK_GLOBAL":
                pair = strings[-2:] if len(strings) >= 2 else ["?", "?"]
                globals_.append((str(pair[0]), str(pair[1])))
            elif isinstance(arg, str) and opcode.stack_after and name.endswith(("UNICODE", "STRING")):
                strings.append(arg)
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = strings[-1] if strings else None
            elif name == "MEMOIZE":
                memo[len(memo)] = strings[-1] if strings else None
            elif name in ("BINGET", "LONG_BINGET", "GET") and isinstance(memo.get(arg), str):
                strings.append(memo[arg])
            if name in ("LONG1", "LONG4", "LONG", "INT", "BININT", "BININT1", "BININT2"):
                last = arg
    except ValueError as error:
        text = str(error)
        if any(word in text for word in ("exhausted", "remain", "truncated", "not enough data")):
            raise TruncatedCheckpoint(
                f"Truncated checkpoint: the pickle ends early ({text[:200]})"
            ) from error
        if first and stream.tell() - start <= 2:
            raise NotACheckpoint(f"Not a PyTorch checkpoint: {text[:200]}") from error
        raise NotACheckpoint(f"Not a PyTorch checkpoint: damaged pickle ({text[:200]})") from error
    return globals_, last


# --- state dicts ---------------------------------------------------------------------


def _extract_state_dict(obj: object) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise NotACheckpoint(
            "Checkpoint holds neither a state dict nor a dict with a 'state_dict' entry"
        )
    not_tensors = [str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise NotACheckpoint(
            "Checkpoint state dict has entries that are not tensors: "
            + _listing(not_tensors)
        )
    not_dense = [
        str(k)
        for k, v in obj.items()
        if v.layout != torch.strided or v.is_quantized or v.is_nested
    ]
    if not_dense:
        raise NotACheckpoint(
            "Checkpoint state dict has sparse, quantized or nested tensors, where a FAN "
            "holds dense ones: " + _listing(not_dense)
        )
    return {str(k): v for k, v in obj.items()}


def _strip_prefix(state: dict) -> dict:
    prefix = "module."
    if all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return state


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown + (
        f", ... ({len(keys) - _LISTED} more)" if len(keys) > _LISTED else ""
    )
