"""Loading users' state_dicts (.safetensors, .pt) and saving ours: outputs match torch, nothing unpickles."""

from __future__ import annotations

import builtins
import io
import pathlib
import pickle
import struct
import zipfile

import numpy as np
import pytest
import safetensors.torch
import torch
from torch import nn

import lstmviz
from lstmviz import weights
from lstmviz.weights import WeightsError

MODULES = {
    "rnn_tanh": lambda: nn.RNN(3, 5),
    "rnn_relu": lambda: nn.RNN(3, 5, nonlinearity="relu"),
    "lstm": lambda: nn.LSTM(3, 6),
    "lstm_proj": lambda: nn.LSTM(3, 6, proj_size=2),
    "lstm_bidir_2layers": lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True),
    "lstm_nobias": lambda: nn.LSTM(3, 4, bias=False),
    "lstm_proj_bidir_2layers": lambda: nn.LSTM(2, 5, num_layers=2, bidirectional=True, proj_size=3),
    "gru": lambda: nn.GRU(3, 5),
    "gru_bidir_2layers": lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False),
}


Z = torch.zeros


def _module(name: str) -> nn.Module:
    torch.manual_seed(7)
    return MODULES[name]().eval()


def _as_pt(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _check_outputs(model: lstmviz.Model, module: nn.Module) -> None:
    x = torch.randn(9, module.input_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = module(x)[0].numpy()
    got = lstmviz.trace(model, x.numpy(), dtype="float64").output
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_state_dict_loads_and_reproduces_the_module(name, suffix):
    module = _module(name)
    state = module.state_dict()
    data = safetensors.torch.save(dict(state)) if suffix == ".safetensors" else _as_pt(state)
    relu = getattr(module, "nonlinearity", "tanh") == "relu"
    model = weights.load_state_dict_bytes(data, "w" + suffix, nonlinearity="relu" if relu else None)
    spec = model.spec
    assert spec.cell == {nn.RNN: "rnn", nn.LSTM: "lstm", nn.GRU: "gru"}[type(module)]
    assert (spec.input_size, spec.hidden_size, spec.num_layers) == (
        module.input_size,
        module.hidden_size,
        module.num_layers,
    )
    assert spec.bidirectional == module.bidirectional and spec.bias == module.bias
    assert spec.proj_size == getattr(module, "proj_size", 0)
    _check_outputs(model, module)


def test_rnn_nonlinearity_is_not_in_weights_so_tanh_is_assumed_and_said():
    loaded = weights.read_weights(_as_pt(_module("rnn_relu").state_dict()), "w.pt")
    assert loaded.model.spec.nonlinearity == "tanh"
    assert any("nonlinearity" in note for note in loaded.notes)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_save_safetensors_loads_into_the_torch_module(name, tmp_path):
    module = _module(name)
    model = lstmviz.from_torch(module)
    data = weights.save_safetensors(model)
    path = tmp_path / "weights.safetensors"
    path.write_bytes(data)
    fresh = MODULES[name]()
    fresh.load_state_dict(safetensors.torch.load_file(path))
    for key, value in module.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value)
    again = weights.load_state_dict_bytes(data, "again.safetensors")
    assert again.spec == model.spec  # relu survives through the header metadata
    _check_outputs(again, module)


def test_tutorial_gru_round_trip_keeps_the_convention():
    model = lstmviz.build("gru", 2, 3, gru_variant="tutorial", seed=1)
    again = weights.load_state_dict_bytes(weights.save_safetensors(model), "t.safetensors")
    assert again.spec.gru_variant == "tutorial"


def test_shared_prefix_is_stripped_and_reported():
    state = {f"module.lstm.{k}": v for k, v in _module("lstm").state_dict().items()}
    loaded = weights.read_weights(_as_pt(state), "w.pth")
    assert loaded.model.spec.cell == "lstm"
    assert any("'module.'" in note for note in loaded.notes)
    assert any("'lstm.'" in note for note in loaded.notes)


def test_cell_module_state_dict_loads_as_one_layer():
    torch.manual_seed(3)
    cell = nn.LSTMCell(3, 4)
    model = weights.load_state_dict_bytes(_as_pt(cell.state_dict()), "cell.pt")
    assert model.spec.cell == "lstm" and model.spec.num_layers == 1


def test_checkpoint_with_nested_state_dict_is_read():
    state = {"model_state_dict": _module("gru").state_dict(), "epoch": 3}
    loaded = weights.read_weights(_as_pt(state), "ckpt.pt")
    assert loaded.model.spec.cell == "gru"
    assert any("model_state_dict" in note for note in loaded.notes)


class _Payload:
    """Pickles into a call that would create the marker file when unpickled."""

    def __init__(self, marker: pathlib.Path, via_exec: bool) -> None:
        self.marker = marker
        self.via_exec = via_exec

    def __reduce__(self):
        if self.via_exec:
            return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))
        return (pathlib.Path.touch, (self.marker,))


@pytest.mark.parametrize("via_exec", [False, True])
@pytest.mark.parametrize("container", ["torch_zip", "raw_pickle"])
def test_malicious_pickle_is_refused_and_does_not_run(tmp_path, via_exec, container):
    marker = tmp_path / "pwned"
    payload = {"weight_ih_l0": _Payload(marker, via_exec)}
    if container == "torch_zip":
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        data = buffer.getvalue()
    else:
        data = pickle.dumps(payload)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="refused|could not be read") as caught:
        weights.load_state_dict_bytes(data, "evil.pt")
    assert not marker.exists(), "the payload ran"
    assert "Traceback" not in str(caught.value)


def test_whole_pickled_module_is_refused_with_advice():
    buffer = io.BytesIO()
    torch.save(_module("lstm"), buffer)
    with pytest.raises(WeightsError, match=r"state_dict\(\)"):
        weights.load_state_dict_bytes(buffer.getvalue(), "model.pt")


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "w.pt", "empty"),
        (b"not a pytorch file at all" * 3, "w.pt", "could not be read"),
        (b"\x00" * 4, "w.safetensors", "too short"),
        (b"garbage that is not safetensors at all", "w.safetensors", "truncated|not .safetensors"),
        (struct.pack("<Q", 5) + b"{oops", "w.safetensors", "not valid JSON"),
        (b"abc", "w.onnx", "neither .safetensors nor .pt"),
    ],
)
def test_garbage_gets_a_clear_message(data, filename, message):
    with pytest.raises(WeightsError, match=message):
        weights.load_state_dict_bytes(data, filename)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_truncated_files_are_refused(suffix):
    state = _module("lstm").state_dict()
    data = safetensors.torch.save(dict(state)) if suffix == ".safetensors" else _as_pt(state)
    for cut in (len(data) // 2, len(data) - 7):
        with pytest.raises(WeightsError, match="truncated|corrupt|damaged"):
            weights.load_state_dict_bytes(data[:cut], "w" + suffix)


def test_oversized_file_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(weights, "MAX_WEIGHTS_BYTES", 1000)
    with pytest.raises(WeightsError, match="at most"):
        weights.load_state_dict_bytes(b"\x00" * 1001, "big.safetensors")


def test_zip_that_unpacks_too_large_is_refused(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x00" * 200_000)
    monkeypatch.setattr(weights, "MAX_WEIGHTS_BYTES", 100_000)
    with pytest.raises(WeightsError, match="unpacks to"):
        weights.load_state_dict_bytes(buffer.getvalue(), "bomb.pt")


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"fc.weight": Z(2, 2), "lstm.weight_ih_l0": Z(8, 2)}, "not parameters"),
        ({"weight_hh_l0": Z(8, 2)}, "weight_ih_l0 is missing"),
        ({"weight_ih_l0": Z(10, 2), "weight_hh_l0": Z(10, 4)}, "rows"),
        (
            {"weight_ih_l0": Z(8, 3), "weight_hh_l0": Z(8, 2), "bias_ih_l0": Z(5)},
            "do not fit",
        ),
        (
            {"weight_ih_l0": Z(8, 3), "weight_hh_l0": Z(8, 2), "weight_ih_l1": Z(8, 2)},
            "do not fit",
        ),
        ({"weight_ih_l0": Z(4, 1, 1), "weight_hh_l0": Z(4, 4)}, "dimension"),
        ({"weight_ih_l0": Z(4, 2, dtype=torch.int64), "weight_hh_l0": Z(4, 4)}, "floating"),
        ({"weight_ih_l0": torch.full((4, 2), float("nan")), "weight_hh_l0": Z(4, 4)}, "NaN"),
    ],
)
def test_wrong_keys_and_shapes_get_a_clear_message(state, message):
    with pytest.raises(WeightsError, match=message):
        weights.load_state_dict_bytes(_as_pt(state), "w.pt")


def test_infer_spec_accepts_numpy_arrays():
    model = lstmviz.build("lstm", 2, 5, proj_size=3, num_layers=2, seed=0)
    assert weights.infer_spec(model.weights) == model.spec


def test_shipped_example_loads_and_matches_its_record():
    info = weights.example_info("recall_first")
    models = weights.load_example("recall_first")
    assert set(models) == set(info["cells"]) >= {"lstm", "rnn"}
    for cell, model in models.items():
        assert model.spec.cell == cell
        assert model.spec.hidden_size == info["hidden_sizes"][cell]


def test_saved_file_is_standard_safetensors_with_metadata(tmp_path):
    model = lstmviz.build("rnn", 2, 3, nonlinearity="relu", seed=4)
    data = weights.save_safetensors(model)
    path = tmp_path / "w.safetensors"
    path.write_bytes(data)
    with safetensors.safe_open(str(path), framework="pt") as handle:
        assert handle.metadata()["lstmviz_nonlinearity"] == "relu"
        assert sorted(handle.keys()) == sorted(model.weights)
        for name in handle.keys():
            expected = model.weights[name].astype(np.float32)
            np.testing.assert_array_equal(handle.get_tensor(name).numpy(), expected)
    assert weights.save_safetensors(model) == data


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
def test_cells_without_recurrent_weights_round_trip_through_safetensors(cell, layers, bidirectional):
    model = lstmviz.build(cell, 3, 5, num_layers=layers, bidirectional=bidirectional, seed=2)
    loaded = weights.load_state_dict_bytes(weights.save_safetensors(model), f"{cell}.safetensors")
    assert loaded.spec == model.spec
    for name, value in model.weights.items():
        np.testing.assert_allclose(loaded.weights[name], value, rtol=1e-6)


def test_weights_without_recurrence_need_a_name_or_a_second_layer():
    state = {k: v.astype(np.float32) for k, v in lstmviz.build("minlstm", 3, 4, seed=0).weights.items()}
    with pytest.raises(WeightsError, match="weight_hh_l0 is missing"):
        weights.infer_spec(state)
    assert weights.infer_spec(state, cell="minlstm").hidden_size == 4
    deep = lstmviz.build("mingru", 3, 4, num_layers=2, seed=0).weights
    assert weights.infer_spec(dict(deep)).cell == "mingru"


def test_make_example_gives_identical_bytes_twice_on_one_machine(tmp_path):
    import dataclasses
    import importlib.util
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "make_example.py"
    spec = importlib.util.spec_from_file_location("make_example", script)
    make_example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_example)
    short = dataclasses.replace(make_example.CONFIG, length=12, steps=6, snapshot_every=3)
    first, second = tmp_path / "a", tmp_path / "b"
    make_example.main(first, short)
    make_example.main(second, short)
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_shipped_example_reaches_the_accuracy_it_records():
    """What holds on any CPU: the shipped weights, with their recorded readout, score as recorded."""
    from lstmviz import tasks
    from lstmviz.training import EVAL_BATCH, REGRESSION_TOLERANCE

    info = weights.example_info("recall_first")
    task, _ = tasks.task_info(info["task"]["name"], info["task"]["length"])
    x, y = tasks.batch(task, None, EVAL_BATCH, np.random.default_rng([info["config"]["model"]["seed"], 1]))
    for cell, model in weights.load_example("recall_first").items():
        module = lstmviz.to_torch(model)
        readout = info["readout"][cell]
        with torch.no_grad():
            h_last = module(x)[0][-1].numpy()
        scores = h_last @ np.array(readout["weight"]).T + np.array(readout["bias"])
        accuracy = float(np.mean(np.abs(scores - y.numpy()) < REGRESSION_TOLERANCE))
        assert accuracy == pytest.approx(info["final"][cell]["accuracy"], abs=0.01), cell
