import io

import pytest
import torch
from safetensors.torch import save as save_safetensors

from evaluator.models.awing import FAN
from evaluator.weights import CheckpointError, load_checkpoint

from .conftest import golden_fill


def small_model(stacks: int = 2, landmarks: int = 29) -> FAN:
    model = FAN(stacks, landmarks, hourglass_depth=2, base_width=8).eval()
    golden_fill(model)
    return model


def saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def assert_same_weights(loaded: FAN, model: FAN) -> None:
    expected = model.state_dict()
    assert loaded.state_dict().keys() == expected.keys()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)


def test_it_loads_the_official_layout_and_infers_the_architecture(tmp_path):
    model = small_model(3, 68)
    path = tmp_path / "WFLW_4HG.pth"
    path.write_bytes(saved({"state_dict": model.state_dict(), "epoch": 7}))
    loaded = load_checkpoint(path)
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
        assert_same_weights(load_checkpoint(io.BytesIO(raw)), model)


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


def test_it_lists_missing_unexpected_and_misshaped_keys():
    state = small_model().state_dict()
    del state["m0.b1_2.conv1.weight"]
    state["extra.weight"] = torch.zeros(1)
    state["bl0.bias"] = torch.zeros(3)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(saved(state))
    message = str(caught.value)
    assert "1 missing key: m0.b1_2.conv1.weight" in message
    assert "1 unexpected key: extra.weight" in message
    assert "bl0.bias (checkpoint (3,), model (32,))" in message


def test_it_refuses_a_layout_for_another_benchmark():
    with pytest.raises(
        CheckpointError, match="predicts 29 landmarks, but 98 were expected"
    ):
        load_checkpoint(saved(small_model().state_dict()), num_landmarks=98)


class Payload:
    """Unpickling this would create a file: the proof that code ran."""

    target = ""

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_it_refuses_pickled_objects_without_running_them(tmp_path):
    marker = tmp_path / "pwned"
    Payload.target = str(marker)
    state = small_model().state_dict()
    for evil in ({"state_dict": state, "hook": Payload()}, Payload()):
        buffer = io.BytesIO()
        torch.save(evil, buffer)
        with pytest.raises(CheckpointError, match="contains pickled Python objects"):
            load_checkpoint(buffer.getvalue())
    assert not marker.exists()


def test_it_explains_files_that_are_not_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(b"")
    with pytest.raises(
        CheckpointError, match="Not a PyTorch or safetensors checkpoint"
    ):
        load_checkpoint(b"hello, this is text")
    with pytest.raises(CheckpointError, match="Cannot read checkpoint"):
        load_checkpoint(tmp_path / "absent.pth")
    with pytest.raises(CheckpointError, match="not a FAN/AWing state dict"):
        load_checkpoint(saved({"fc.weight": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match="not tensors: epoch"):
        load_checkpoint(saved({"epoch": 3}))
