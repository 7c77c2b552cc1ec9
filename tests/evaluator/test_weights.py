import io

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save as save_safetensors

from evaluator.models.awing import FAN
from evaluator.weights import (
    Architecture,
    CheckpointError,
    NotACheckpoint,
    PickledCode,
    TruncatedCheckpoint,
    WrongArchitecture,
    load_checkpoint,
)

from .conftest import golden_fill


def small_model(stacks: int = 2, landmarks: int = 29) -> FAN:
    model = FAN(stacks, landmarks, hourglass_depth=2, base_width=8).eval()
    golden_fill(model)
    return model


SMALL = [Architecture(s, n, 2, 8) for s in (2, 3) for n in (29, 68)]


def load_small(raw, num_landmarks=None) -> FAN:
    return load_checkpoint(raw, num_landmarks, architectures=SMALL)


def saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def assert_same_weights(loaded: FAN, model: FAN) -> None:
    expected = model.state_dict()
    assert loaded.state_dict().keys() == expected.keys()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)


def test_it_loads_the_official_layout_and_finds_the_allowed_architecture(tmp_path):
    model = small_model(3, 68)
    path = tmp_path / "WFLW_4HG.pth"
    path.write_bytes(saved({"state_dict": model.state_dict(), "epoch": 7}))
    loaded = load_small(path)
    assert (loaded.num_modules, loaded.num_landmarks, loaded.hourglass_depth) == (
        3,
        68,
        2,
    )
    assert not loaded.training
    assert_same_weights(loaded, model)


def test_it_loads_bare_prefixed_and_safetensors_state_dicts():
    model = small_model()
    state = model.state_dict()
    prefixed = {f"module.{k}": v for k, v in state.items()}
    without_counters = {
        k: v for k, v in state.items() if not k.endswith("num_batches_tracked")
    }
    for raw in (
        saved(state),
        saved(prefixed),
        saved(without_counters),
        save_safetensors(state),
    ):
        assert_same_weights(load_small(io.BytesIO(raw)), model)


def test_it_loads_the_full_size_layout():
    model = FAN()
    loaded = load_checkpoint(
        saved({"state_dict": model.state_dict()}), num_landmarks=98
    )
    assert (loaded.num_modules, loaded.num_landmarks, loaded.hourglass_depth) == (
        4,
        98,
        4,
    )


def test_it_names_the_first_missing_unexpected_or_misshaped_key():
    state = small_model().state_dict()
    cases = [
        ("m0.b1_2.conv1.weight", None, "key 'm0.b1_2.conv1.weight' missing (expected shape (16, 32, 3, 3))"),
        ("extra.weight", torch.zeros(1), "unexpected key 'extra.weight' with shape (1,)"),
        ("bl0.bias", torch.zeros(3), "key 'bl0.bias' with shape (3,) (expected (32,))"),
        ("bl0.bias", torch.zeros(32, dtype=torch.int32), "key 'bl0.bias' of dtype torch.int32"),
    ]
    for key, value, message in cases:
        changed = {k: v for k, v in state.items() if k != key or value is not None}
        if value is not None:
            changed[key] = value
        with pytest.raises(WrongArchitecture) as caught:
            load_small(saved(changed))
        assert str(caught.value).startswith(
            "Wrong architecture: expected FAN with 2 stack(s), 29 landmarks, hourglass depth 2, width 8"
        )
        assert f"got {message}" in str(caught.value)


def test_it_refuses_a_layout_for_another_benchmark():
    with pytest.raises(
        WrongArchitecture, match="predicts 29 landmarks, but 98 were expected"
    ):
        load_checkpoint(saved(small_model().state_dict()), num_landmarks=98)


def test_it_accepts_only_the_published_sizes_by_default():
    with pytest.raises(WrongArchitecture, match="expected FAN with 2 stack.*width 64.*got key 'conv1.conv.weight' "
                       r"with shape \(8, 6, 7, 7\) \(expected \(64, 6, 7, 7\)\)"):
        load_checkpoint(saved(small_model().state_dict()))


def architecture_bombs() -> dict[str, bytes]:
    """A few hundred bytes each; a FAN built from what they describe needs 10s of GiB or more."""
    empty, heads = torch.zeros(0), torch.zeros(99, 0, 1, 1)  # 98 landmarks, no data
    return {
        "3000 stacks": save_safetensors({"conv1.conv.weight": empty, "l0.weight": heads,
                                         "m0.coordconv.x": empty, "m0.b1_4.x": empty, "m2999.coordconv.x": empty}),
        "width 100000": save_safetensors({"conv1.conv.weight": torch.zeros(100000, 0, 7, 7), "l0.weight": heads,
                                          "m0.coordconv.x": empty, "m0.b1_4.x": empty}),
        "hourglass depth 500 (pickle)": saved({"conv1.conv.weight": empty, "l0.weight": heads,
                                               "m0.coordconv.x": empty, "m0.b1_500.x": empty}),
    }


@pytest.mark.parametrize("name", ["3000 stacks", "width 100000", "hourglass depth 500 (pickle)"])
def test_it_refuses_an_architecture_bomb_before_building_anything(name):
    raw = architecture_bombs()[name]
    assert len(raw) < 2000
    with pytest.raises(WrongArchitecture, match="Wrong architecture: expected FAN with .* got key "):
        load_checkpoint(raw, num_landmarks=98)


class Payload:
    """Unpickling this would create a file: the proof that code ran."""

    target = ""

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_it_refuses_pickled_objects_without_running_them(tmp_path):
    import pickle

    marker = tmp_path / "pwned"
    Payload.target = str(marker)
    state = small_model().state_dict()
    for evil in ({"state_dict": state, "hook": Payload()}, Payload()):
        files = [saved(evil), pickle.dumps(evil), pickle.dumps(evil, protocol=0)]
        buffer = io.BytesIO()
        torch.save(evil, buffer, _use_new_zipfile_serialization=False)
        for raw in [*files, buffer.getvalue()]:
            with pytest.raises(PickledCode, match=r"contains pickled Python objects \(\S*open\)") as caught:
                load_small(raw)
            assert caught.value.code == "pickled_code"
    assert not marker.exists()


def test_it_explains_files_that_are_not_checkpoints(tmp_path):
    with pytest.raises(NotACheckpoint, match="empty"):
        load_checkpoint(b"")
    with pytest.raises(NotACheckpoint, match="Cannot read checkpoint"):
        load_checkpoint(tmp_path / "absent.pth")
    with pytest.raises(NotACheckpoint, match="not tensors: epoch"):
        load_checkpoint(saved({"epoch": 3}))
    with pytest.raises(NotACheckpoint, match="sparse, quantized or nested tensors, .*: conv1.conv.weight"):
        load_checkpoint(saved({"conv1.conv.weight": torch.zeros(3, 3).to_sparse()}))
    with pytest.raises(WrongArchitecture, match="got key 'conv1.conv.weight' missing"):
        load_checkpoint(saved({"fc.weight": torch.zeros(2)}))


@pytest.mark.parametrize(
    "raw",
    [
        b"hello, this is text",
        bytes(range(256)) * 4,
        b'{"state_dict": {"conv1.conv.weight": [1, 2]}}',
        (30).to_bytes(8, "little") + b'{"a": {"dtype": "F32", "shape"',
        (4000).to_bytes(8, "little") + b"[" * 2000 + b"]" * 2000,
        (40).to_bytes(8, "little") + b'{"a": {"dtype": "X9", "shape": [], "data_offsets": [0, 0]}}',
        b"PK\x03\x04" + b"\x00" * 100,
    ],
    ids=["text", "random bytes", "json", "bad safetensors header", "deep safetensors header",
         "unknown dtype", "zip without a directory"],
)
def test_it_tells_a_file_that_is_not_a_checkpoint_from_pickled_code(raw):
    with pytest.raises(CheckpointError) as caught:
        load_small(raw)
    assert not isinstance(caught.value, PickledCode)
    assert "pickled Python objects" not in str(caught.value)
    assert caught.value.code in ("not_a_checkpoint", "truncated")


def test_it_reports_a_truncated_checkpoint():
    state = small_model().state_dict()
    safetensors, zipped = save_safetensors(state), saved(state)
    legacy = io.BytesIO()
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    for raw in (safetensors[:-10], safetensors[:100], zipped[: len(zipped) // 2], legacy.getvalue()[:300]):
        with pytest.raises(TruncatedCheckpoint, match="Truncated") as caught:
            load_small(raw)
        assert caught.value.code == "truncated"


def test_it_refuses_compressed_zip_entries_which_could_inflate():
    import zipfile

    deflated = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved(small_model().state_dict()))) as source, zipfile.ZipFile(
        deflated, "w", zipfile.ZIP_DEFLATED
    ) as target:
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry))
    with pytest.raises(NotACheckpoint, match="compressed entries .*torch.save stores them uncompressed"):
        load_small(deflated.getvalue())


def test_it_refuses_oversized_headers_and_pickles_before_parsing_them():
    big_key = "k" * (2 * 1024 * 1024)
    with pytest.raises(NotACheckpoint, match="header claims .* bytes"):
        load_small(save_safetensors({big_key: torch.zeros(1)}))
    with pytest.raises(NotACheckpoint, match="pickled part is .* bytes, more than"):
        load_small(saved({big_key: torch.zeros(1)}))
    with pytest.raises(WrongArchitecture, match=r"unexpected key 'kkkk\S*\.\.\. with shape"):
        load_small(saved({"k" * 5000: torch.zeros(1), **small_model().state_dict()}))


@pytest.fixture(scope="module")
def small_files() -> dict[str, bytes]:
    state = small_model().state_dict()
    legacy = io.BytesIO()
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    return {"safetensors": save_safetensors(state), "zip": saved(state), "legacy": legacy.getvalue()}


def test_a_zip_entry_whose_name_is_not_utf8_is_refused_as_damaged(small_files):
    """The first entry's local header names it in UTF-8; a damaged byte there made zipfile raise UnicodeDecodeError."""
    raw = bytearray(small_files["zip"])
    raw[30] = 0x80  # the name's first byte
    with pytest.raises(TruncatedCheckpoint, match="damaged"):
        load_small(bytes(raw))


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_a_damaged_checkpoint_only_ever_raises_checkpoint_error(small_files, data):
    raw = bytearray(small_files[data.draw(st.sampled_from(sorted(small_files)))])
    for _ in range(data.draw(st.integers(1, 4))):
        edit = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        where = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if edit == "flip" and raw:
            raw[where] = data.draw(st.integers(0, 255))
        elif edit == "cut":
            del raw[where:]
        else:
            raw[where:where] = data.draw(st.binary(min_size=1, max_size=16))
    try:
        load_small(bytes(raw))
    except CheckpointError:
        pass
