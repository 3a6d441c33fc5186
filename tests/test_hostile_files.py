"""Hostile weights files: each is refused with a WeightsError that says why, quickly, without a large
allocation, without running anything, and without a traceback or a server path in the message."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import pickle
import resource
import struct
import time
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from lstmviz import limits, trace, weights
from lstmviz.weights import ChooseModule, WeightsError, read_weights, recurrent_modules, with_article

FAST = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _pt(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _lstm_state(**options) -> dict:
    torch.manual_seed(0)
    return nn.LSTM(2, 3, **options).state_dict()


def _refused(data: bytes, filename: str = "w.pt", match: str | None = None, **options) -> str:
    with pytest.raises(WeightsError, match=match) as caught:
        read_weights(data, filename, **options)
    message = str(caught.value)
    assert "Traceback" not in message and "site-packages" not in message
    assert os.getcwd() not in message
    return message


# ---------------------------------------------------------------------------------------------
# Hand-made files: a torch.save-style zip with our own pickle, and a safetensors file with our
# own header, so that every field can be wrong in exactly one way.


class _Storage:
    def __init__(self, key: str, numel: int, kind=torch.FloatStorage, location: str = "cpu"):
        self.pid = ("storage", kind, key, location, numel)


class _Tensor:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...), as torch does."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Storage) else None


def _torch_zip(state, records: dict[str, bytes], *, pickled: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    if pickled is None:
        pickle_buffer = io.BytesIO()
        _Pickler(pickle_buffer, protocol=2).dump(state)
        pickled = pickle_buffer.getvalue()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/byteorder", "little")
        for key, data in records.items():
            archive.writestr(f"archive/data/{key}", data)
    return buffer.getvalue()


def _rnn_zip(weight_ih: _Tensor, records: dict[str, bytes]) -> bytes:
    """An nn.RNN(2, 4) without bias whose weight_ih_l0 is ``weight_ih``, weight_hh_l0 fine."""
    hh = _Tensor(_Storage("hh", 16), 0, (4, 4), (4, 1))
    return _torch_zip({"weight_ih_l0": weight_ih, "weight_hh_l0": hh}, {**records, "hh": bytes(64)})


def _safetensors(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def _rnn_header(**wrong) -> dict:
    """The header of an nn.RNN(2, 4) without bias (data: 32 + 64 bytes), with fields replaced."""
    ih = {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 32]}
    hh = {"dtype": "F32", "shape": [4, 4], "data_offsets": [32, 96]}
    return {"weight_ih_l0": {**ih, **wrong}, "weight_hh_l0": hh}


def test_the_hand_made_files_are_valid_when_nothing_is_wrong():
    data = np.arange(8, dtype="<f4").tobytes()
    ok = _rnn_zip(_Tensor(_Storage("ih", 8), 0, (4, 2), (2, 1)), {"ih": data})
    model = read_weights(ok, "w.pt").model
    np.testing.assert_array_equal(model.weights["weight_ih_l0"].ravel(), np.arange(8))
    model = read_weights(_safetensors(_rnn_header(), data + bytes(64)), "w.safetensors").model
    np.testing.assert_array_equal(model.weights["weight_ih_l0"].ravel(), np.arange(8))


# ---------------------------------------------------------------------------------------------
# Expanded views: refused from the description, before any copy


def _refusal_cost(data: bytes, queue) -> None:
    """In a forked child: how long the refusal takes and how far the peak RSS grows (kB)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        read_weights(data, "w.pt")
        outcome = "accepted"
    except WeightsError as error:
        outcome = str(error)
    except BaseException as error:  # noqa: B036 - reported to the parent, which fails the test
        outcome = f"raised {type(error).__name__}"
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, outcome))


@pytest.mark.parametrize("n", [10**8, 5 * 10**9])
def test_expanded_tensor_is_refused_quickly_without_allocating(n):
    state = _lstm_state()
    state["bias_ih_l0"] = torch.zeros(1).expand(n)  # 1 stored value, n elements seen
    data = _pt(state)
    # A forked child starts with the parent's memory as its peak, so its peak's growth is the
    # read's own: a float64 copy of the view would add 800 MB (n = 1e8) or fail (n = 5e9).
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_refusal_cost, args=(data, queue))
    child.start()
    elapsed, grown_kb, outcome = queue.get(timeout=60)
    child.join(timeout=60)
    assert "expanded or overlapping view" in outcome and f"{n:,} elements" in outcome
    assert elapsed < 1.0
    assert grown_kb < 50_000


def test_overlapping_view_is_refused():
    values = np.arange(6, dtype="<f4").tobytes()  # 4 x 2 elements over 6 values: rows overlap
    data = _rnn_zip(_Tensor(_Storage("ih", 6), 0, (4, 2), (1, 1)), {"ih": values})
    _refused(data, match="overlapping view")


def test_transposed_and_offset_views_are_read_correctly():
    storage = torch.arange(20, dtype=torch.float32)
    ih = storage[4:12].view(2, 4).t()  # offset 4, strides (1, 4)
    hh = torch.zeros(4, 4)
    model = read_weights(_pt({"weight_ih_l0": ih, "weight_hh_l0": hh}), "w.pt").model
    np.testing.assert_array_equal(model.weights["weight_ih_l0"], ih.numpy())


@pytest.mark.parametrize(
    ("tensor", "records", "message"),
    [
        (_Tensor(_Storage("ih", 8), 4, (4, 2), (2, 1)), {"ih": bytes(32)}, "reaches element 11"),
        (_Tensor(_Storage("ih", 8), 0, (4, 2), (2, 1)), {"ih": bytes(31)}, "missing or truncated"),
        (_Tensor(_Storage("ih", 8), 0, (4, 2), (2, 1)), {}, "missing or truncated"),
        (_Tensor(_Storage("ih", 2**62), 0, (4, 2), (2, 1)), {"ih": bytes(32)}, "missing or truncated"),
        (_Tensor(_Storage("ih", 8), 0, (4, -2), (2, 1)), {"ih": bytes(32)}, "malformed"),
        (_Tensor(_Storage("ih", 8), 0, (4, 2), (2,)), {"ih": bytes(32)}, "malformed"),
        (_Tensor(_Storage("ih", 8), -1, (4, 2), (2, 1)), {"ih": bytes(32)}, "malformed"),
        (_Tensor(_Storage("ih", 8), 0, (4, 2.0), (2, 1)), {"ih": bytes(32)}, "malformed"),
        (_Tensor(_Storage("ih", 8, location="meta"), 0, (4, 2), (2, 1)), {"ih": bytes(32)}, "meta"),
        (_Tensor(_Storage("ih", 8, torch.LongStorage), 0, (4, 2), (2, 1)), {"ih": bytes(64)}, "int64"),
    ],
)
def test_pickled_tensor_descriptions_are_checked_against_the_storage(tensor, records, message):
    _refused(_rnn_zip(tensor, records), match=message)


# ---------------------------------------------------------------------------------------------
# Layouts, devices, dtypes, containers


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (lambda: torch.zeros(4, 2).to_sparse(), "sparse"),
        (lambda: torch.zeros(4, 2).to_sparse_csr(), "sparse"),
        (lambda: torch.zeros(4, 2, device="meta"), "meta device"),
        (lambda: torch.zeros(4, 2, dtype=torch.int64), "int64"),
        (lambda: torch.zeros(4, 2, dtype=torch.bool), "bool"),
        (lambda: torch.zeros(4, 2, dtype=torch.complex64), "complex64"),
    ],
)
@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_tensors_of_other_layouts_devices_and_dtypes_are_refused(tensor, message):
    _refused(_pt({"weight_ih_l0": tensor(), "weight_hh_l0": torch.zeros(4, 4)}), match=message)


@pytest.mark.parametrize("dtype", ["I64", "BOOL", "C64", "U8"])
def test_safetensors_of_other_dtypes_are_refused(dtype):
    size = {"I64": 64, "BOOL": 8, "C64": 64, "U8": 8}[dtype]
    header = _rnn_header(dtype=dtype, data_offsets=[0, size])
    header["weight_hh_l0"]["data_offsets"] = [size, size + 64]
    _refused(_safetensors(header, bytes(size + 64)), "w.safetensors", "floating point")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_read_exactly(dtype):
    state = {"weight_ih_l0": torch.tensor([[1.5, -2.0]] * 4, dtype=dtype), "weight_hh_l0": torch.eye(4)}
    for data, name in ((_pt(state), "w.pt"), (safetensors.torch.save(state), "w.safetensors")):
        model = read_weights(data, name).model
        np.testing.assert_array_equal(model.weights["weight_ih_l0"], [[1.5, -2.0]] * 4)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({}, "no tensors"),
        ({"weight_ih_l0": 3, "weight_hh_l0": torch.zeros(4, 4)}, "not a tensor but an int"),
        ({"weight_ih_l0": [torch.zeros(4, 2)], "weight_hh_l0": torch.zeros(4, 4)}, "not a tensor"),
        ([torch.zeros(4, 2)], "holds a list, not a state_dict"),
        ({3: torch.zeros(4, 2)}, "must be text"),
        (nn.LSTM(2, 3), "whole pickled module"),
    ],
)
def test_containers_that_are_not_state_dicts_are_refused(obj, message):
    _refused(_pt(obj), match=message)


# ---------------------------------------------------------------------------------------------
# Pickles that would run code: refused, and their side effect never happens


class _System:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Exec:
    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("payload", ["system", "exec", "nested"])
def test_pickles_that_would_run_code_are_refused_and_never_run(tmp_path, payload, protocol):
    marker = tmp_path / "ran"
    action = {
        "system": _System(f"touch {marker}"),
        "exec": _Exec(f"open({str(marker)!r}, 'w').close()"),
        "nested": {"state_dict": {"weight_ih_l0": _Exec(f"open({str(marker)!r}, 'w').close()")}},
    }[payload]
    pickled = pickle.dumps({"weight_hh_l0": action}, protocol=protocol)
    message = _refused(_torch_zip(None, {}, pickled=pickled), match="refused")
    assert "Nothing in it was run" in message
    assert not marker.exists(), "the pickle ran"
    _refused(pickled, match="could not be read")  # a bare pickle is not even opened
    assert not marker.exists(), "the pickle ran"


def test_pickle_memo_bomb_is_harmless():
    # LONG_BINPUT to index 2**31 - 1: an unpickler with an array memo would allocate 16 GB.
    pickled = b"\x80\x02}r\xff\xff\xff\x7f."
    start = time.perf_counter()
    _refused(_torch_zip(None, {}, pickled=pickled), match="no tensors")
    assert time.perf_counter() - start < 1.0


def test_pickle_with_an_integer_beyond_the_digit_limit_is_refused():
    pickled = b"\x80\x02L" + b"9" * 5000 + b"L\n."
    _refused(_torch_zip(None, {}, pickled=pickled), match="could not be read")


# ---------------------------------------------------------------------------------------------
# Zip archives


def test_zip_bomb_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}))
        archive.writestr("archive/data/0", bytes(limits.MAX_WEIGHTS_BYTES + 1))
    assert len(buffer.getvalue()) < 200_000
    _refused(buffer.getvalue(), match="unpacks to")


def test_zip_with_too_many_entries_or_a_huge_pickle_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}))
        for i in range(limits.MAX_ZIP_ENTRIES + 1):
            archive.writestr(f"archive/data/{i}", b"")
    _refused(buffer.getvalue(), match="entries")
    big = _torch_zip(None, {}, pickled=pickle.dumps(list(range(300_000))))
    _refused(big, match="pickle has")


def test_archive_without_data_pkl_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("something/else.txt", "hello")
    _refused(buffer.getvalue(), match="no data.pkl")


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_every_truncation_of_a_valid_file_is_refused(suffix):
    state = _lstm_state()
    data = _pt(state) if suffix == ".pt" else safetensors.torch.save(state)
    for cut in range(0, len(data), max(1, len(data) // 200)):
        _refused(data[:cut], "w" + suffix)


# ---------------------------------------------------------------------------------------------
# .safetensors headers


def test_nesting_bomb_header_is_refused_without_recursion_error():
    bomb = b"[" * 100_000 + b"]" * 100_000
    start = time.perf_counter()
    _refused(struct.pack("<Q", len(bomb)) + bomb, "w.safetensors", "nests deeper")
    assert time.perf_counter() - start < 1.0


def test_brackets_inside_strings_do_not_count_as_nesting():
    data = np.zeros(24, "<f4").tobytes()
    header = _rnn_header()
    header["__metadata__"] = {"note": '[[[[[[[[[[[[ \\" {{{{{{{{{{{{'}
    read_weights(_safetensors(header, data), "w.safetensors")


@pytest.mark.parametrize(
    ("header", "data_size", "message"),
    [
        ([1, 2], 96, "not a JSON object"),
        ({"weight_ih_l0": [1, 2]}, 96, "is not {dtype, shape, data_offsets}"),
        (_rnn_header(dtype="F128"), 96, "unknown dtype"),
        (_rnn_header(dtype=["F32"]), 96, "unknown dtype"),
        (_rnn_header(shape=[-4, 2]), 96, "non-negative"),
        (_rnn_header(shape=[4, True]), 96, "non-negative"),
        (_rnn_header(shape=[2**40, 2**40]), 96, "need"),
        (_rnn_header(shape=[1] * 9), 96, "at most 8"),
        (_rnn_header(data_offsets=[0, 10**30]), 96, "need"),
        (_rnn_header(data_offsets=[32, 0]), 96, "data_offsets"),
        (_rnn_header(data_offsets=[0]), 96, "data_offsets"),
        (_rnn_header(data_offsets=[0, 16]), 96, "need"),
        (_rnn_header(data_offsets=[16, 48]), 96, "overlaps|gap"),
        (
            {**_rnn_header(), "weight_hh_l0": {"dtype": "F32", "shape": [4, 4], "data_offsets": [16, 80]}},
            80,
            "overlaps",
        ),
        (_rnn_header(), 90, "truncated"),
        (_rnn_header(), 100, "describes 96 bytes"),
        ({**_rnn_header(), "__metadata__": ["x"]}, 96, "metadata"),
        ({**_rnn_header(), "__metadata__": {"a": 1}}, 96, "metadata"),
    ],
)
def test_header_fields_are_checked(header, data_size, message):
    _refused(_safetensors(header, bytes(data_size)), "w.safetensors", message)


def test_header_with_a_huge_integer_literal_or_size_is_refused():
    text = b'{"weight_ih_l0": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}'
    _refused(struct.pack("<Q", len(text)) + text, "w.safetensors", "not valid JSON")
    size = limits.MAX_SAFETENSORS_HEADER_BYTES + 8
    _refused(struct.pack("<Q", size) + b" " * size, "w.safetensors", "header has")
    _refused(struct.pack("<Q", 2**64 - 1) + b"{}", "w.safetensors", "claims more bytes")
    _refused(struct.pack("<Q", 2) + b"\xff\xfe", "w.safetensors", "UTF-8")


# ---------------------------------------------------------------------------------------------
# Names, sizes and architectures


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_a_5000_digit_layer_number_gets_a_clear_message(suffix):
    state = _lstm_state()
    state["weight_ih_l" + "9" * 5000] = torch.zeros(12, 2)
    data = _pt(state) if suffix == ".pt" else safetensors.torch.save(state)
    message = _refused(data, "w" + suffix, "layer number of 5,000 digits")
    assert len(message) < 300


@pytest.mark.parametrize(
    "names",
    [
        ("weight_ih", "weight_hh_l0"),
        ("weight_ih_l0", "weight_hh_l0", "bias_ih"),
        ("weight_ih_l0x", "weight_hh_l0"),
    ],
)
def test_cell_names_mixed_with_stack_names_are_not_parameters(names):
    shapes = {"weight_ih": (4, 2), "weight_hh": (4, 4), "bias_ih": (4,)}
    state = {name: torch.zeros(shapes[name.split("_l")[0]]) for name in names}
    _refused(_pt(state), match="not parameters")


def test_layers_beyond_the_limit_are_refused():
    state = _lstm_state(num_layers=2)
    state["weight_ih_l7"] = torch.zeros(12, 3)
    _refused(_pt(state), match=f"up to layer 7; this app reads at most {limits.MAX_LAYERS} layers")


@pytest.mark.parametrize(
    ("key", "shape"),
    [("weight_hh_l1", (12, 4)), ("bias_hh_l1_reverse", (11,)), ("weight_ih_l1_reverse", (12, 3))],
)
def test_every_layer_and_direction_is_checked_against_the_architecture(key, shape):
    state = _lstm_state(num_layers=2, bidirectional=True)
    state[key] = torch.zeros(shape)
    _refused(_pt(state), match=rf"do not fit .*{key} has shape")


def test_missing_and_unexpected_layers_are_named():
    state = _lstm_state(num_layers=2, bidirectional=True)
    del state["bias_ih_l1_reverse"]
    _refused(_pt(state), match="missing bias_ih_l1_reverse")
    state = _lstm_state()
    state["weight_hh_l0_reverse"] = torch.zeros(12, 3)
    _refused(_pt(state), match="missing weight_ih_l0_reverse")


def test_an_input_size_above_max_features_is_refused_at_upload():
    torch.manual_seed(0)
    state = nn.GRU(limits.MAX_FEATURES + 1, 3).state_dict()
    _refused(_pt(state), match=f"input size is {limits.MAX_FEATURES + 1}; this app handles 1 to 256")
    assert read_weights(_pt(nn.GRU(limits.MAX_FEATURES, 3).state_dict()), "w.pt")


def test_messages_use_the_right_article():
    assert [with_article(w) for w in ("LSTM", "RNN", "GRU", "int", "list")] == [
        "an LSTM",
        "an RNN",
        "a GRU",
        "an int",
        "a list",
    ]
    model = read_weights(_pt(_lstm_state()), "w.pt").model
    data = weights.save_safetensors(model).replace(b'"lstmviz_cell":"lstm"', b'"lstmviz_cell":"gru "')
    message = _refused(data, "w.safetensors", "metadata says")
    assert "an LSTM" in message and "an GRU" not in message


# ---------------------------------------------------------------------------------------------
# Prefixed state dicts: the recurrent modules inside a larger model


class _Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 2)
        self.encoder = nn.Sequential()
        self.encoder.lstm = nn.LSTM(2, 3, num_layers=2)
        self.decoder = nn.GRU(2, 4, bidirectional=True)
        self.fc = nn.Linear(8, 10)
        self.norm = nn.BatchNorm1d(8)  # its num_batches_tracked is an int64 tensor


def test_recurrent_modules_lists_every_complete_stack():
    torch.manual_seed(0)
    found = dict(recurrent_modules(_Seq2Seq().state_dict()))
    assert set(found) == {"encoder.lstm.", "decoder."}
    assert (found["encoder.lstm."].cell, found["encoder.lstm."].num_layers) == ("lstm", 2)
    assert (found["decoder."].cell, found["decoder."].bidirectional) == ("gru", True)


def test_several_modules_raise_choose_module_then_each_can_be_picked():
    torch.manual_seed(0)
    net = _Seq2Seq()
    data = _pt(net.state_dict())
    with pytest.raises(ChooseModule) as caught:
        read_weights(data, "seq2seq.pt")
    assert set(caught.value.prefixes) == {"encoder.lstm.", "decoder."}
    assert "an GRU" not in str(caught.value)
    for prefix, module in (("encoder.lstm.", net.encoder.lstm), ("decoder.", net.decoder)):
        loaded = read_weights(data, "seq2seq.pt", module=prefix)
        assert any(prefix in note and "ignored" in note for note in loaded.notes)
        x = torch.randn(5, 2)
        with torch.no_grad():
            expected = module(x)[0].numpy()
        got = trace(loaded.model, x.numpy(), dtype="float64").output
        np.testing.assert_allclose(got, expected, atol=1e-5)
    _refused(data, "seq2seq.pt", "no recurrent module under 'fc.'", module="fc.")


def test_a_single_module_inside_a_larger_model_is_read_with_a_note():
    torch.manual_seed(0)
    state = {**{f"rnn.{k}": v for k, v in nn.RNN(2, 3).state_dict().items()}, "fc.weight": torch.zeros(1, 3)}
    for data, name in ((_pt(state), "w.pt"), (safetensors.torch.save(state), "w.safetensors")):
        loaded = read_weights(data, name)
        assert loaded.model.spec.cell == "rnn"
        assert any("under 'rnn.'" in note and "fc.weight" in note for note in loaded.notes)


def test_an_incomplete_module_inside_a_larger_model_says_what_is_missing():
    state = {"rnn.weight_ih_l0": torch.zeros(12, 2), "fc.weight": torch.zeros(1, 3)}
    _refused(_pt(state), match="not parameters.*fc.weight.*under 'rnn.'.*weight_hh_l0 is missing")


# ---------------------------------------------------------------------------------------------
# Any bytes at all: a WeightsError or a model, nothing else


_VALID = {".pt": _pt(_lstm_state(bidirectional=True)), ".safetensors": safetensors.torch.save(_lstm_state())}


def _only_weights_error(data: bytes, suffix: str) -> None:
    try:
        read_weights(data, "w" + suffix)
    except WeightsError as error:
        assert "Traceback" not in str(error) and "site-packages" not in str(error)


@FAST
@given(data=st.binary(max_size=400), suffix=st.sampled_from(sorted(_VALID)))
def test_random_bytes_give_a_weights_error_or_a_model(data, suffix):
    _only_weights_error(data, suffix)


@FAST
@given(
    suffix=st.sampled_from(sorted(_VALID)),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, 10**6),
)
def test_mutated_valid_files_give_a_weights_error_or_a_model(suffix, edits, cut):
    data = bytearray(_VALID[suffix])
    for position, value in edits:
        data[position % len(data)] = value
    _only_weights_error(bytes(data[: len(data) - cut % 64]), suffix)


_NAMES = st.builds(
    lambda prefix, param, layer, reverse: f"{prefix}{param}{layer}{reverse}",
    st.sampled_from(["", "rnn.", "encoder.lstm.", "fc.", "."]),
    st.sampled_from([*weights.PARAMETERS, "weight", "bias", "weight_ih_l"]),
    st.sampled_from(["", "_l0", "_l1", "_l3", "_l4", "_l01", "_lx"]),
    st.sampled_from(["", "_reverse", "_reversed"]),
)
_SHAPES = st.lists(st.integers(0, 13), max_size=3).map(tuple)


@FAST
@given(
    state=st.dictionaries(_NAMES, _SHAPES, min_size=1, max_size=10),
    module=st.sampled_from([None, "", "rnn."]),
)
def test_any_names_and_shapes_give_a_weights_error_or_a_model(state, module):
    tensors = {name: torch.zeros(shape) for name, shape in state.items()}
    try:
        read_weights(safetensors.torch.save(tensors), "w.safetensors", module=module)
    except WeightsError:
        pass
