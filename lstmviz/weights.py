"""Weights in and out: a user's ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` ``state_dict`` as a :class:`Model`.

An uploaded file is data from a stranger. Reading it follows one rule: **describe, check, then
read**. Every tensor is first known only by its description (name, dtype, shape, where its bytes
are); the names, dtypes, layouts, element counts, strides and every layer's and direction's shape
are checked against the architecture they imply, and only then are the values of the tensors in
use copied, as float64. Any failure becomes a :class:`WeightsError` with a message for the user.

- ``.safetensors`` (https://github.com/huggingface/safetensors#format): an 8-byte little-endian
  header size, a JSON header, raw little-endian data. The header is parsed here: bounded size and
  nesting, known dtypes, non-negative dimensions, and byte ranges that tile the data exactly and
  match ``prod(shape) * itemsize``. The values are then NumPy views of the validated ranges.
- ``.pt`` / ``.pth``: the zip archive written by ``torch.save`` since PyTorch 1.6
  (``<name>/data.pkl`` and one ``<name>/data/<key>`` record per storage; see
  ``torch/serialization.py``). Its pickle is read by a restricted unpickler of our own
  (https://docs.python.org/3/library/pickle.html#restricting-globals) that knows a handful of
  globals and maps them to functions that only *describe* tensors; any other global (``os.system``,
  ``builtins.exec``, a pickled ``nn.Module`` ...) is refused before anything is called, and no
  tensor is built by torch. Sparse, meta, quantized and subclassed tensors are refused.

The architecture (cell, layers, directions, sizes, ``proj_size``, bias) is inferred from the names
and shapes alone; the gate-row count gives the cell (:data:`CELL_BY_GATE_ROWS`). A state_dict saved
from a larger model (``encoder.lstm.weight_ih_l0``, ``fc.weight`` ...) is searched for complete
recurrent stacks with :func:`recurrent_modules`. One thing the weights cannot tell is an
``nn.RNN``'s nonlinearity (tanh or relu): it is read from the file's metadata when
:func:`save_safetensors` wrote it, else it is the caller's ``nonlinearity`` argument (default tanh).

:func:`save_safetensors` writes float32 tensors under exactly the ``state_dict`` names, so
``nn.LSTM(...).load_state_dict(safetensors.torch.load_file(path))`` works, plus header metadata (cell,
nonlinearity, GRU convention) that makes a round trip through this module lossless.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import re
import struct
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from .cells import REGISTRY
from .limits import (
    MAX_FEATURES,
    MAX_HIDDEN,
    MAX_LAYERS,
    MAX_PICKLE_BYTES,
    MAX_SAFETENSORS_HEADER_BYTES,
    MAX_TENSORS,
    MAX_WEIGHTS_BYTES,
    MAX_ZIP_ENTRIES,
)
from .model import GRU_VARIANTS, NONLINEARITIES, Model, ModelSpec

SAFETENSORS_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pt", ".pth")
SUFFIXES = SAFETENSORS_SUFFIXES + TORCH_SUFFIXES

EXAMPLES = {
    "recall_first": "trained LSTM vs trained RNN on recall-the-first-input",
}
"""Shipped examples: name -> description. Files live in ``lstmviz/examples/``."""

CELL_BY_GATE_ROWS = {len(kind.rows): name for name, kind in REGISTRY.items() if kind.recurrent}
"""Rows of ``weight_ih`` per hidden unit -> cell, for the cells with recurrent weights (from the registry)."""

ROWS_WITHOUT_RECURRENCE = {name: len(kind.rows) for name, kind in REGISTRY.items() if not kind.recurrent}
"""Cells with no ``weight_hh`` (minGRU, minLSTM) -> their rows per hidden unit."""

PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
"""Parameter names of ``nn.RNN/LSTM/GRU`` before their ``_l<layer>[_reverse]`` suffix."""

_LAYER_DIGITS = 3
# A name is <prefix><parameter>[_l<layer>[_reverse]]; the prefix is dotted module names. The layer
# number's digits are bounded so that int() never meets Python's int-digit limit.
_NAME = re.compile(
    rf"(?P<prefix>(?:[^.]+\.)*)(?P<param>{'|'.join(PARAMETERS)})"
    rf"(?:_l(?P<layer>[0-9]{{1,{_LAYER_DIGITS}}})(?P<reverse>_reverse)?)?"
)
_LONG_LAYER = re.compile(rf"(?:{'|'.join(PARAMETERS)})_l[0-9]{{{_LAYER_DIGITS + 1},}}")
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict")
_META_PREFIX = "lstmviz_"
_SHOWN_CHARS = 60
_MAX_DIMS = 8
_MAX_JSON_DEPTH = 8  # a safetensors header nests 3 deep: {name: {"shape": [...]}}

# Stored dtypes: name -> (NumPy dtype of the stored bits, floating point?). bfloat16 is read as
# uint16 and widened by hand, NumPy having no bfloat16.
_DTYPES = {
    "float64": ("f8", True),
    "float32": ("f4", True),
    "float16": ("f2", True),
    "bfloat16": ("u2", True),
    "int64": ("i8", False),
    "int32": ("i4", False),
    "int16": ("i2", False),
    "int8": ("i1", False),
    "uint8": ("u1", False),
    "bool": ("b1", False),
    "complex64": ("c8", False),
    "complex128": ("c16", False),
}
_SAFETENSORS_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
    "C64": "complex64",
}
_STORAGE_DTYPES = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
}


class WeightsError(ValueError):
    """A weights file that cannot be used, with a message saying why and what to do instead."""


class ChooseModule(WeightsError):
    """The file holds several complete recurrent stacks: pass one of :attr:`prefixes` as ``module``."""

    def __init__(self, modules: list[tuple[str, ModelSpec]]) -> None:
        self.modules = tuple(modules)
        self.prefixes = tuple(prefix for prefix, _ in modules)
        found = "; ".join(f"{_shown(prefix)} ({describe(spec)})" for prefix, spec in modules)
        super().__init__(f"the file holds {len(modules)} recurrent modules, choose one: {found}")


@dataclass(frozen=True)
class LoadedWeights:
    """A loaded model and what was done to read it (a stripped key prefix, a nested checkpoint ...)."""

    model: Model
    notes: tuple[str, ...]


class _Stored(NamedTuple):
    """One tensor as the file describes it; ``read()`` copies its values, after every check."""

    dtype: str
    shape: tuple[int, ...]
    read: Callable[[], np.ndarray]


def with_article(word: str) -> str:
    """``word`` after "a" or "an" by its sound: "an LSTM", "an RNN", "a GRU", "an input", "a unit".

    An all-capitals word is read letter by letter, so its article follows the first letter's name
    (F, H, L, M, N, R, S, X and the vowels are said with a vowel first).
    """
    if word.isupper():
        return ("an " if word[0] in "AEFHILMNORSX" else "a ") + word
    return ("an " if word[:1].lower() in "aeio" else "a ") + word


def describe(spec: ModelSpec) -> str:
    """``spec`` in a few words: "LSTM, 2 layers, bidirectional, input 3, hidden 4"."""
    parts = [spec.cell.upper(), f"{spec.num_layers} layer" + ("s" if spec.num_layers > 1 else "")]
    if spec.bidirectional:
        parts.append("bidirectional")
    parts += [f"input {spec.input_size}", f"hidden {spec.hidden_size}"]
    if spec.proj_size:
        parts.append(f"proj_size {spec.proj_size}")
    if not spec.bias:
        parts.append("no bias")
    return ", ".join(parts)


def load_state_dict_bytes(
    data: bytes, filename: str, *, nonlinearity: str | None = None, module: str | None = None
) -> Model:
    """The :class:`Model` stored in ``data``, a ``.safetensors`` or ``.pt``/``.pth`` state_dict.

    Raises :class:`WeightsError` for a file that is too large, of another type, corrupt or
    truncated, holding Python objects other than tensors, or whose names and shapes do not form an
    ``nn.RNN``/``nn.LSTM``/``nn.GRU``. See :func:`read_weights` for the notes on what was adapted.
    """
    return read_weights(data, filename, nonlinearity=nonlinearity, module=module).model


def read_weights(
    data: bytes, filename: str, *, nonlinearity: str | None = None, module: str | None = None
) -> LoadedWeights:
    """Like :func:`load_state_dict_bytes`, and also the notes to show the user.

    ``module`` is the key prefix of the recurrent stack to read (``"encoder.lstm."``, ``""`` for
    unprefixed names) when the file holds more than one; without it a file holding several raises
    :class:`ChooseModule`, whose ``prefixes`` are the choices. No input raises anything but
    :class:`WeightsError`.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WeightsError(f"expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_WEIGHTS_BYTES:
        raise WeightsError(
            f"the file has {len(data) / 1e6:.1f} MB; at most {MAX_WEIGHTS_BYTES / 1e6:.0f} MB are "
            "read (recurrent layers of the sizes shown here take a few MB at most)"
        )
    if not data:
        raise WeightsError("the file is empty")
    name = str(filename).lower()
    notes: list[str] = []
    if name.endswith(SAFETENSORS_SUFFIXES):
        state, metadata = _read_safetensors(data)
    elif name.endswith(TORCH_SUFFIXES):
        state, metadata = _read_torch(data, notes), {}
    else:
        raise WeightsError(
            f"{_shown(str(filename))} is neither .safetensors nor .pt/.pth: save the weights with "
            "safetensors.torch.save_file(module.state_dict(), 'w.safetensors') or "
            "torch.save(module.state_dict(), 'w.pt')"
        )
    chosen = nonlinearity or metadata.get("nonlinearity") or "tanh"
    gru_variant = metadata.get("gru_variant", "pytorch")
    if chosen not in NONLINEARITIES or gru_variant not in GRU_VARIANTS:
        raise WeightsError(
            f"nonlinearity must be one of {NONLINEARITIES} and the GRU convention one of "
            f"{GRU_VARIANTS}; got {_shown(chosen)} and {_shown(gru_variant)}"
        )
    state = _choose_module(state, module, notes)
    spec = infer_spec(state, nonlinearity=chosen, gru_variant=gru_variant, cell=metadata.get("cell"))
    if "cell" in metadata and metadata["cell"] != spec.cell:
        raise WeightsError(
            f"the file's metadata says {_shown(metadata['cell'].upper())} but its shapes are those "
            f"of {with_article(spec.cell.upper())}"
        )
    unstated = nonlinearity is None and "nonlinearity" not in metadata
    if unstated and len(REGISTRY[spec.cell].nonlinearities) > 1:
        notes.append(
            "an nn.RNN's nonlinearity is not stored in its weights: tanh is assumed "
            "(choose relu if the module was built with nonlinearity='relu')"
        )
    return LoadedWeights(_model(spec, state), tuple(notes))


def recurrent_modules(state: dict) -> list[tuple[str, ModelSpec]]:
    """Every key prefix under which a complete ``nn.RNN/LSTM/GRU`` stack sits, with its spec.

    ``state`` maps names to tensors (torch, NumPy, or anything with a ``shape``). A prefix is the
    dotted path of a submodule, ending in a dot (``"encoder.lstm."``), or ``""`` for the names of
    a bare stack. Only names and shapes are read. The RNN's nonlinearity is reported as tanh.
    """
    found = []
    for prefix in _prefixes(state):
        try:
            found.append((prefix, infer_spec(_under(state, prefix))))
        except WeightsError:
            continue
    return found


def infer_spec(state: dict, *, nonlinearity: str = "tanh", gru_variant: str = "pytorch",
               cell: str | None = None) -> ModelSpec:
    """The :class:`ModelSpec` of a ``state_dict`` (names and shapes of torch tensors or NumPy arrays).

    The cell follows from the rows of ``weight_ih_l0`` over the hidden size (see
    :data:`CELL_BY_GATE_ROWS`): 1 for the RNN, 3 for the GRU (r, z, n), 4 for the LSTM
    (i, f, g, o). The hidden size is the width of ``weight_hh_l0``, except with ``proj_size``: then
    ``weight_hh_l0`` is (4H, P) and ``weight_hr_l0`` is (P, H). Weights with no ``weight_hh`` are a
    minGRU (rows z, h~) or a minLSTM (rows f, i, h~): ``cell`` (from the metadata lstmviz writes)
    names which, or a second layer's input width gives the hidden size. The keys of a single-step cell
    (``nn.LSTMCell`` ...: ``weight_ih`` without ``_l0``) are read as a one-layer stack. Every
    name and every layer's and direction's shape is then checked against that architecture, and
    the sizes against :mod:`lstmviz.limits` (an input size above ``MAX_FEATURES`` is refused).
    """
    if not isinstance(state, dict) or not state:
        raise WeightsError("the file holds no tensors: expected the state_dict of nn.RNN/LSTM/GRU")
    state = _cell_keys_as_stack(state)
    _check_names(state)
    num_layers = 1 + max(int(_NAME.fullmatch(key)["layer"]) for key in state)
    if num_layers > MAX_LAYERS:
        raise WeightsError(
            f"the names go up to layer {num_layers - 1}; this app reads at most {MAX_LAYERS} "
            f"layers (numbers 0 to {MAX_LAYERS - 1})"
        )
    shapes = {key: _shape(value) for key, value in state.items()}
    for key, shape in shapes.items():
        want = 1 if key.startswith("bias") else 2
        if len(shape) != want:
            raise WeightsError(f"{key} has shape {shape}; it must have {want} dimension(s)")
    if "weight_ih_l0" not in shapes:
        raise WeightsError("weight_ih_l0 is missing: every recurrent state_dict has it")
    rows, input_size = shapes["weight_ih_l0"]
    if "weight_hh_l0" in shapes:
        cell, hidden_size, proj_size = _with_recurrence(shapes, rows)
    else:
        cell, hidden_size = _without_recurrence(shapes, rows, num_layers, cell)
        proj_size = 0
    for what, value, most in (
        ("input size", input_size, MAX_FEATURES),
        ("hidden size", hidden_size, MAX_HIDDEN),
    ):
        if not 1 <= value <= most:
            raise WeightsError(f"the {what} is {value}; this app handles 1 to {most}")
    if gru_variant not in GRU_VARIANTS:
        raise WeightsError(f"gru_variant must be one of {GRU_VARIANTS}, got {_shown(gru_variant)}")
    kind = REGISTRY[cell]
    try:
        spec = ModelSpec(
            cell=cell,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=any(key.endswith("_reverse") for key in shapes),
            bias="bias_ih_l0" in shapes,
            proj_size=proj_size,
            nonlinearity=nonlinearity,
            # the convention is a reading of GRU weights; other cells have only their own
            gru_variant=gru_variant if gru_variant in kind.variants else kind.variants[0],
        )
    except ValueError as error:
        raise WeightsError(f"these {kind.label} weights cannot be read so: {error}") from None
    _check_shapes(spec, shapes)
    return spec


def _with_recurrence(shapes: dict, rows: int) -> tuple[str, int, int]:
    """(cell, hidden size, proj_size) of weights with a weight_hh: the cell follows from its row blocks."""
    if "weight_hr_l0" in shapes:
        proj_size, hidden_size = shapes["weight_hr_l0"]
    else:
        proj_size, hidden_size = 0, shapes["weight_hh_l0"][1]
    if hidden_size < 1 or rows % hidden_size or rows // hidden_size not in CELL_BY_GATE_ROWS:
        raise WeightsError(
            f"weight_ih_l0 has {rows} rows for a hidden size of {hidden_size}: an RNN has 1x, "
            "a GRU 3x and an LSTM 4x the hidden size"
        )
    return CELL_BY_GATE_ROWS[rows // hidden_size], hidden_size, proj_size


def _without_recurrence(shapes: dict, rows: int, num_layers: int, cell: str | None) -> tuple[str, int]:
    """(cell, hidden size) of weights with no weight_hh: a minGRU or a minLSTM."""
    names = " or ".join(f"a {REGISTRY[c].label}" for c in ROWS_WITHOUT_RECURRENCE)
    if cell in ROWS_WITHOUT_RECURRENCE:
        per_unit = ROWS_WITHOUT_RECURRENCE[cell]
        if rows % per_unit:
            raise WeightsError(f"weight_ih_l0 has {rows} rows: {with_article(REGISTRY[cell].label)} has a "
                               f"multiple of {per_unit}")
        return cell, rows // per_unit
    if num_layers > 1 and "weight_ih_l1" in shapes:
        directions = 2 if any(key.endswith("_reverse") for key in shapes) else 1
        hidden = shapes["weight_ih_l1"][1] // directions
        for name, per_unit in ROWS_WITHOUT_RECURRENCE.items():
            if hidden >= 1 and rows == per_unit * hidden:
                return name, hidden
    raise WeightsError(
        "weight_hh_l0 is missing: without recurrent weights these would be " + names + ", and their "
        "hidden size cannot be read from one layer's shapes; save them with lstmviz "
        "(lstmviz.weights.save_safetensors names the cell in the file)"
    )


def save_safetensors(model: Model) -> bytes:
    """``model``'s weights as ``.safetensors`` bytes: float32, the ``state_dict`` names, metadata.

    ``nn.LSTM(...).load_state_dict(safetensors.torch.load_file(path))`` restores them in PyTorch. The
    tutorial GRU is stored too (its metadata says so), but an ``nn.GRU`` loading those weights
    computes PyTorch's GRU, a different function.
    """
    spec = model.spec
    metadata = {
        "format": "pt",
        f"{_META_PREFIX}cell": spec.cell,
        f"{_META_PREFIX}nonlinearity": spec.nonlinearity,
        f"{_META_PREFIX}gru_variant": spec.gru_variant,
    }
    # Written here rather than by safetensors.torch.save, whose metadata order varies from run to
    # run: the same model always gives the same bytes. Layout (https://github.com/huggingface/
    # safetensors#format): u64 header size, JSON header padded with spaces to 8 bytes, raw data.
    header: dict[str, object] = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(model.weights):
        array = np.ascontiguousarray(model.weights[name], dtype="<f4")
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        blobs.append(array.tobytes())
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def load_example(name: str = "recall_first") -> dict[str, Model]:
    """The shipped trained models of example ``name`` (see :data:`EXAMPLES`), keyed by cell."""
    info = example_info(name)
    folder = resources.files("lstmviz") / "examples"
    models = {}
    for cell in info["cells"]:
        data = (folder / f"{name}_{cell}.safetensors").read_bytes()
        models[cell] = load_state_dict_bytes(data, f"{name}_{cell}.safetensors")
    return models


def example_info(name: str = "recall_first") -> dict:
    """The settings and final results recorded by ``scripts/make_example.py`` for example ``name``."""
    if name not in EXAMPLES:
        raise WeightsError(f"unknown example {name!r}; choose one of: {', '.join(EXAMPLES)}")
    path = resources.files("lstmviz") / "examples" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Names and shapes


def _shape(value: Any) -> tuple[int, ...]:
    shape = value.shape if hasattr(value, "shape") else np.shape(value)
    return tuple(int(n) for n in shape)


def _check_names(state: dict) -> None:
    unknown = sorted(
        key
        for key in state
        if not (match := _NAME.fullmatch(key)) or match["prefix"] or match["layer"] is None
    )
    if not unknown:
        return
    _check_layer_digits(unknown)
    raise WeightsError(
        f"these names are not parameters of nn.RNN/LSTM/GRU: {_listed(unknown)}. Expected names "
        "such as weight_ih_l0, weight_hh_l0, bias_ih_l0; if the recurrent layer sits inside a "
        "larger model, save only its state_dict (e.g. model.lstm.state_dict())"
    )


def _check_layer_digits(names) -> None:
    """Refuse a layer number longer than any real stack's with a message, before int() reads one."""
    for key in names:
        found = _LONG_LAYER.search(key)
        if found:
            digits = len(found.group()) - found.group().index("_l") - 2
            raise WeightsError(
                f"{_shown(key)} names a layer number of {digits:,} digits; this app reads at most "
                f"{MAX_LAYERS} layers (numbers 0 to {MAX_LAYERS - 1})"
            )


def _check_shapes(spec: ModelSpec, shapes: dict[str, tuple[int, ...]]) -> None:
    """Every name and shape against ``spec``: all layers and both directions, nothing missing."""
    expected = spec.parameter_shapes()
    missing = sorted(set(expected) - set(shapes), key=list(expected).index)
    extra = sorted(set(shapes) - set(expected))
    wrong = [
        f"{key} has shape {shapes[key]}, expected {shape}"
        for key, shape in expected.items()
        if key in shapes and shapes[key] != shape
    ]
    problems = (
        ([f"missing {_listed(missing)}"] if missing else [])
        + ([f"unexpected {_listed(extra)}"] if extra else [])
        + wrong[:3]
    )
    if problems:
        raise WeightsError(
            f"the weights do not fit the architecture their first layer implies ({describe(spec)}): "
            f"{'; '.join(problems)}"
        )


def _cell_keys_as_stack(state: dict) -> dict:
    """Names of a single-step cell (``weight_ih``) as those of a one-layer stack (``weight_ih_l0``)."""
    bad = [key for key in state if not isinstance(key, str)]
    if bad:
        raise WeightsError(f"the names must be text; one is {with_article(type(bad[0]).__name__)}")
    if all(key in PARAMETERS[:4] for key in state):
        return {f"{key}_l0": value for key, value in state.items()}
    return dict(state)


def _prefixes(state: dict) -> list[str]:
    """The prefixes of names that end in a recurrent parameter, in order of first appearance."""
    found: dict[str, None] = {}
    for key in state:
        match = _NAME.fullmatch(key) if isinstance(key, str) else None
        if match:
            found.setdefault(match["prefix"], None)
    return list(found)


def _under(state: dict, prefix: str) -> dict:
    """The entries whose names are ``prefix`` + a recurrent parameter name, without the prefix."""
    return {
        key[len(prefix) :]: value
        for key, value in state.items()
        if isinstance(key, str) and (match := _NAME.fullmatch(key)) and match["prefix"] == prefix
    }


def _choose_module(state: dict, module: str | None, notes: list[str]) -> dict:
    """The entries of the recurrent stack to read, without their prefix; notes say what was done."""
    _check_layer_digits(key for key in state if isinstance(key, str))
    prefixes = _prefixes(state)
    if module is not None:
        if module not in prefixes:
            shown = ", ".join(_shown(prefix) for prefix in prefixes) or "none"
            raise WeightsError(f"no recurrent module under {_shown(module)}; found: {shown}")
        prefix = module
    else:
        found = recurrent_modules(state)
        if len(found) > 1:
            raise ChooseModule(found)
        if found:
            prefix = found[0][0]
        elif len(prefixes) == 1 and prefixes[0]:
            prefix = prefixes[0]  # incomplete: its own error says what is missing, below
        else:
            return state  # infer_spec names what is wrong
    chosen = _under(state, prefix)
    others = sorted(set(state) - {prefix + key for key in chosen})
    if not others:
        notes.extend(
            f"removed the prefix {_shown(part + '.')} shared by every name" for part in prefix.split(".")[:-1]
        )
        return chosen
    try:
        infer_spec(chosen)
    except WeightsError as error:
        raise WeightsError(
            f"these names are not parameters of nn.RNN/LSTM/GRU: {_listed(others)}; and the "
            f"parameters under {_shown(prefix)} do not form a complete stack: {error}"
        ) from None
    where = f"under {_shown(prefix)}" if prefix else "at the top level"
    notes.append(
        f"read the recurrent module {where}; ignored {len(others)} other "
        f"entr{'y' if len(others) == 1 else 'ies'} ({_listed(others, 3)})"
    )
    return chosen


def _model(spec: ModelSpec, state: dict) -> Model:
    state = _cell_keys_as_stack(state)
    for key, value in state.items():
        dtype = _dtype_name(value)
        if dtype not in _DTYPES or not _DTYPES[dtype][1]:
            raise WeightsError(f"{key} has dtype {_shown(dtype)}; weights must be floating point")
    weights = {key: _float64(value) for key, value in state.items()}
    try:
        return Model(spec, weights)
    except ValueError as error:
        raise WeightsError(f"the weights do not fit {with_article(spec.cell.upper())}: {error}") from None


def _dtype_name(value: Any) -> str:
    if isinstance(value, _Stored):
        return value.dtype
    return str(getattr(value, "dtype", "unknown")).removeprefix("torch.")


def _float64(value: Any) -> np.ndarray:
    if isinstance(value, _Stored):
        return value.read()
    if hasattr(value, "detach"):  # a torch tensor given to infer_spec's callers directly
        value = value.detach().cpu().double().numpy()
    return np.array(value, dtype=np.float64)


def _as_float64(stored: np.ndarray, dtype: str) -> np.ndarray:
    """A float64 copy of ``stored``, an array of the stored bits of ``dtype``.

    NaN and inf pass through silently: :class:`Model` refuses them with a message.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        if dtype == "bfloat16":  # the top half of a float32 (https://arxiv.org/abs/1905.12322)
            return (stored.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        return stored.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# .safetensors


def _read_safetensors(data: bytes) -> tuple[dict[str, _Stored], dict[str, str]]:
    if len(data) < 8:
        raise WeightsError("the file is too short to be .safetensors (it has no header)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise WeightsError(
            "the .safetensors header claims more bytes than the file has: the file is truncated "
            "or not .safetensors"
        )
    if header_size > MAX_SAFETENSORS_HEADER_BYTES:
        raise WeightsError(
            f"the .safetensors header has {header_size:,} bytes; at most "
            f"{MAX_SAFETENSORS_HEADER_BYTES:,} are read"
        )
    header = _json_object(data[8 : 8 + header_size])
    raw_meta = header.pop("__metadata__", {})
    if not isinstance(raw_meta, dict) or not all(isinstance(v, str) for v in raw_meta.values()):
        raise WeightsError("the .safetensors metadata must map names to text: the file is corrupt")
    if len(header) > MAX_TENSORS:
        raise WeightsError(f"the file holds {len(header)} tensors; at most {MAX_TENSORS} are read")
    start = 8 + header_size
    described = {key: _safetensors_entry(key, entry) for key, entry in header.items()}
    _check_tiling(described, len(data) - start)
    state = {
        key: _Stored(dtype, shape, _frombuffer_reader(data, dtype, shape, start + begin))
        for key, (dtype, shape, (begin, _)) in described.items()
    }
    metadata = {
        key[len(_META_PREFIX) :]: value for key, value in raw_meta.items() if key.startswith(_META_PREFIX)
    }
    return state, metadata


def _json_object(text: bytes) -> dict:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise WeightsError("the .safetensors header is not UTF-8 text: the file is corrupt") from None
    if _json_depth(decoded) > _MAX_JSON_DEPTH:
        raise WeightsError(
            f"the .safetensors header nests deeper than {_MAX_JSON_DEPTH} levels: the file is corrupt"
        )
    try:
        header = json.loads(decoded)
    except ValueError:  # JSONDecodeError, or an integer literal beyond Python's digit limit
        raise WeightsError("the .safetensors header is not valid JSON: the file is corrupt") from None
    if not isinstance(header, dict):
        raise WeightsError("the .safetensors header is not a JSON object: the file is corrupt")
    return header


_JSON_ESCAPE = re.compile(r"\\.", re.DOTALL)
_JSON_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _json_depth(text: str) -> int:
    """How deeply JSON ``text`` nests, counted without recursion and in linear time.

    Escapes go first (so every remaining quote opens or closes a string), then strings, so the
    brackets left are the structure's.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", _JSON_ESCAPE.sub("", text)))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _safetensors_entry(key: str, entry: Any) -> tuple[str, tuple[int, ...], tuple[int, int]]:
    """``(dtype, shape, (begin, end))`` of one header entry, every field checked."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise WeightsError(
            f"the header entry of {_shown(key)} is not {{dtype, shape, data_offsets}}: the file is corrupt"
        )
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(code, str) or code not in _SAFETENSORS_DTYPES:
        raise WeightsError(f"{_shown(key)} has an unknown dtype {_shown(str(code))}")
    if not _int_list(shape, _MAX_DIMS):
        raise WeightsError(
            f"{_shown(key)} has shape {_shown(str(shape))}: expected at most {_MAX_DIMS} "
            "non-negative integers"
        )
    if not _int_list(offsets, 2) or len(offsets) != 2 or offsets[0] > offsets[1]:
        raise WeightsError(f"{_shown(key)} has data_offsets {_shown(str(offsets))}: the file is corrupt")
    dtype = _SAFETENSORS_DTYPES[code]
    size = math.prod(shape) * np.dtype(_DTYPES[dtype][0]).itemsize
    if offsets[1] - offsets[0] != size:
        raise WeightsError(
            f"{_shown(key)} spans {offsets[1] - offsets[0]:,} bytes but its shape {tuple(shape)} "
            f"and dtype {code} need {size:,}: the file is corrupt"
        )
    return dtype, tuple(shape), (offsets[0], offsets[1])


def _int_list(value: Any, most: int) -> bool:
    return isinstance(value, list) and len(value) <= most and all(type(n) is int and n >= 0 for n in value)


def _check_tiling(described: dict, data_size: int) -> None:
    """The byte ranges must tile the data exactly: from 0, no gap, no overlap, to the end."""
    position = 0
    for key, (_, _, (begin, end)) in sorted(described.items(), key=lambda item: item[1][2]):
        if begin != position:
            what = "overlaps another" if begin < position else "leaves a gap before it"
            raise WeightsError(f"the data of {_shown(key)} {what}: the file is corrupt")
        position = end
    if position != data_size:
        raise WeightsError(
            f"the header describes {position:,} bytes of data but the file has {data_size:,}: "
            "it is truncated or corrupt"
        )


def _frombuffer_reader(data: bytes, dtype: str, shape: tuple[int, ...], offset: int) -> Callable:
    def read() -> np.ndarray:
        bits = np.frombuffer(data, "<" + _DTYPES[dtype][0], math.prod(shape), offset)
        return _as_float64(bits.reshape(shape), dtype)

    return read


# ---------------------------------------------------------------------------------------------
# .pt / .pth


class _Storage(NamedTuple):
    """A storage as the pickle names it: its record is read only once every check has passed."""

    dtype: str
    key: str
    location: str
    numel: int


class _TensorRef(NamedTuple):
    """A strided tensor as the pickle describes it (``torch._utils._rebuild_tensor_v2``'s arguments)."""

    storage: Any
    offset: Any
    size: Any
    stride: Any


class _Unreadable(NamedTuple):
    """Stands for a tensor this app does not read (sparse, meta, quantized ...), and says why."""

    reason: str


class _Forbidden(Exception):
    """A global outside the allowlist: raised by ``find_class`` before anything is called."""


def _rebuild_tensor(storage, offset, size, stride, *_ignored) -> _TensorRef:
    return _TensorRef(storage, offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


def _unreadable(reason: str) -> Callable[..., _Unreadable]:
    return lambda *_ignored: _Unreadable(reason)


class _StorageType(NamedTuple):
    dtype: str


# Everything the unpickler may name, mapped to stand-ins that describe and never build.
_GLOBALS: dict[str, Any] = {
    "collections.OrderedDict": OrderedDict,
    "torch._utils._rebuild_tensor_v2": _rebuild_tensor,
    "torch._utils._rebuild_tensor": _rebuild_tensor,
    "torch._utils._rebuild_parameter": _rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
    "torch.Size": tuple,
    **{f"torch.{name}": name for name in _DTYPES},  # dtypes, as the meta tensor's rebuild names them
    "torch._utils._rebuild_sparse_tensor": _unreadable("a sparse tensor (only dense ones are read)"),
    "torch._utils._rebuild_meta_tensor_no_storage": _unreadable(
        "a tensor on the meta device, which has a shape but no values"
    ),
    "torch._utils._rebuild_qtensor": _unreadable("a quantized tensor"),
    "torch._utils._rebuild_nested_tensor": _unreadable("a nested tensor"),
    "torch._utils._rebuild_wrapper_subclass": _unreadable("a tensor subclass"),
    "torch._utils._rebuild_device_tensor_from_numpy": _unreadable("a tensor of an unusual device"),
    "torch._tensor._rebuild_from_type_v2": _unreadable("a tensor subclass"),
    "torch.serialization._get_layout": lambda *_ignored: None,
    **{f"torch.{name}": _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()},
}


class _DescribingUnpickler(pickle._Unpickler):
    """A pure-Python unpickler (its memo is a dict, so no opcode can make it allocate ahead) that
    resolves only :data:`_GLOBALS` and turns storages into :class:`_Storage` descriptions."""

    def find_class(self, module: str, name: str) -> Any:
        found = _GLOBALS.get(f"{module}.{name}")
        if found is None:
            raise _Forbidden(f"{module}.{name}")
        return found

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unknown persistent id")
        _, storage_type, key, location, numel = pid
        if not (
            isinstance(storage_type, _StorageType)
            and isinstance(key, str)
            and isinstance(location, str)
            and type(numel) is int
            and numel >= 0
        ):
            raise pickle.UnpicklingError("malformed storage")
        return _Storage(storage_type.dtype, key, location, numel)


def _read_torch(data: bytes, notes: list[str]) -> dict[str, _Stored]:
    archive = _TorchArchive(data)
    loaded = _unpickle(archive.read(archive.prefix + "data.pkl"))
    if isinstance(loaded, dict):
        for key in _CHECKPOINT_KEYS:
            if isinstance(loaded.get(key), dict):
                notes.append(f"read the weights under the checkpoint's {key!r} entry")
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict):
        raise WeightsError(
            f"the .pt file holds {with_article(type(loaded).__name__)}, not a state_dict: "
            "save it with torch.save(module.state_dict(), 'w.pt')"
        )
    if len(loaded) > MAX_TENSORS:
        raise WeightsError(f"the file holds {len(loaded)} tensors; at most {MAX_TENSORS} are read")
    state = {}
    for key, value in loaded.items():
        if not isinstance(key, str):
            raise WeightsError(
                f"the state_dict's names must be text; one is {with_article(type(key).__name__)}"
            )
        state[key] = _described_tensor(_shown(key), value, archive)
    return state


class _TorchArchive:
    """The zip archive of a ``torch.save`` file, checked before anything in it is unpacked."""

    def __init__(self, data: bytes) -> None:
        if not data.startswith(b"PK\x03\x04"):
            raise WeightsError(
                "the .pt file could not be read: it is not the zip archive that torch.save writes "
                "(files from PyTorch before 1.6 or from pickle.dump are not read; re-save the "
                "weights with torch.save(module.state_dict(), 'w.pt') in a current PyTorch)"
            )
        if data.count(b"PK\x01\x02") > MAX_ZIP_ENTRIES:  # bounds the directory's entry count
            raise WeightsError(f"the .pt archive has more than {MAX_ZIP_ENTRIES} entries")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error):
            raise WeightsError("the .pt file is a damaged zip archive (truncated?)") from None
        self.sizes = {info.filename: info.file_size for info in self.zip.infolist()}
        unpacked = sum(self.sizes.values())
        if unpacked > MAX_WEIGHTS_BYTES:
            raise WeightsError(
                f"the .pt file unpacks to {unpacked / 1e6:.1f} MB; at most "
                f"{MAX_WEIGHTS_BYTES / 1e6:.0f} MB are read"
            )
        pickles = [name for name in self.sizes if re.fullmatch(r"[^/]+/data\.pkl", name)]
        if len(pickles) != 1:
            raise WeightsError(
                "the .pt file could not be read: it has no data.pkl, so it is not from torch.save"
            )
        if self.sizes[pickles[0]] > MAX_PICKLE_BYTES:
            raise WeightsError(
                f"the .pt file's pickle has {self.sizes[pickles[0]]:,} bytes; at most "
                f"{MAX_PICKLE_BYTES:,} are read (a state_dict's takes a few kB)"
            )
        self.prefix = pickles[0].removesuffix("data.pkl")
        order = self.read(self.prefix + "byteorder") if self.prefix + "byteorder" in self.sizes else b"little"
        if order not in (b"little", b"big"):
            raise WeightsError("the .pt file's byteorder record is neither little nor big: it is corrupt")
        self.byteorder = "<" if order == b"little" else ">"  # files before the record are little
        self._records: dict[str, bytes] = {}

    def read(self, name: str) -> bytes:
        """The whole entry ``name``; its declared size is within the limits checked above."""
        try:
            return self.zip.read(name)
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            EOFError,
            KeyError,
            RuntimeError,
            NotImplementedError,
            zlib.error,
        ):
            raise WeightsError(f"the .pt file is damaged: {_shown(name)} cannot be unpacked") from None

    def storage_size(self, key: str) -> int | None:
        return self.sizes.get(f"{self.prefix}data/{key}")

    def storage(self, key: str) -> bytes:
        """The bytes of storage ``key``, read once however many tensors view it."""
        if key not in self._records:
            self._records[key] = self.read(f"{self.prefix}data/{key}")
            if len(self._records[key]) != self.storage_size(key):
                raise WeightsError(f"the .pt file is damaged: storage {_shown(key)} is truncated")
        return self._records[key]


def _unpickle(payload: bytes) -> Any:
    try:
        return _DescribingUnpickler(io.BytesIO(payload)).load()
    except _Forbidden as forbidden:
        raise WeightsError(_refusal(str(forbidden))) from None
    except Exception as error:  # whatever a hostile pickle makes the unpickler raise
        raise WeightsError(
            "the .pt file could not be read: it is corrupt, truncated or not a PyTorch file "
            f"({type(error).__name__})"
        ) from None


def _described_tensor(shown: str, value: Any, archive: _TorchArchive) -> _Stored:
    """The :class:`_Stored` of a pickled tensor, after checking layout, device, counts and strides."""
    if isinstance(value, _Unreadable):
        raise WeightsError(f"{shown} is {value.reason}; save plain dense CPU tensors")
    if not isinstance(value, _TensorRef):
        raise WeightsError(
            f"{shown} is not a tensor but {with_article(type(value).__name__)}; save module.state_dict()"
        )
    storage, offset, size, stride = value
    if not (
        isinstance(storage, _Storage)
        and _is_ints(size)
        and _is_ints(stride)
        and type(offset) is int
        and offset >= 0
        and len(size) == len(stride) <= _MAX_DIMS
    ):
        raise WeightsError(f"{shown} has a malformed storage, offset, size or stride: the file is corrupt")
    if storage.location.startswith("meta"):
        raise WeightsError(f"{shown} is on the meta device, which has a shape but no values")
    if storage.dtype not in _DTYPES or not _DTYPES[storage.dtype][1]:
        return _Stored(storage.dtype, size, _never_read)  # refused by _model if it is used
    code = _DTYPES[storage.dtype][0]
    itemsize = np.dtype(code).itemsize
    if archive.storage_size(storage.key) != storage.numel * itemsize:
        raise WeightsError(f"the values of {shown} are missing or truncated: the file is corrupt")
    _check_strides(shown, offset, size, stride, storage.numel)

    def read() -> np.ndarray:
        flat = np.frombuffer(archive.storage(storage.key), archive.byteorder + code, storage.numel)
        view = np.lib.stride_tricks.as_strided(
            flat[offset:], shape=size, strides=[s * itemsize for s in stride], writeable=False
        )
        return _as_float64(view, storage.dtype)

    return _Stored(storage.dtype, size, read)


def _never_read() -> np.ndarray:
    raise AssertionError("a tensor of a refused dtype was read")


def _is_ints(value: Any) -> bool:
    return isinstance(value, tuple) and all(type(n) is int and n >= 0 for n in value)


def _check_strides(shown: str, offset: int, size: tuple, stride: tuple, numel: int) -> None:
    """A view must address distinct elements inside its storage: no stride-0 expansion, no overlap.

    Dimensions sorted by stride must each step over the whole extent of the finer ones; then every
    element is distinct, so the view holds at most as many elements as the storage really stores.
    """
    count = math.prod(size)
    if count == 0:
        return
    moving = sorted((s, n) for n, s in zip(size, stride, strict=True) if n > 1)
    extent = 1
    for s, n in moving:
        if s < extent:
            raise WeightsError(
                f"{shown} is an expanded or overlapping view ({count:,} elements over "
                f"{numel:,} stored value{'' if numel == 1 else 's'}); save tensor.contiguous() or the "
                "module's state_dict()"
            )
        extent = s * (n - 1) + extent
    last = offset + sum(s * (n - 1) for s, n in moving)
    if last >= numel:
        raise WeightsError(f"{shown} reaches element {last:,} of a storage of {numel:,}: the file is corrupt")


def _refusal(name: str) -> str:
    if name.startswith("torch.nn.modules") or name.startswith("__torch__"):
        return (
            "the .pt file holds a whole pickled module, which could run code when loaded; only "
            "weights are read. Save them with torch.save(module.state_dict(), 'w.pt') or "
            "safetensors.torch.save_file(module.state_dict(), 'w.safetensors')"
        )
    return (
        f"refused: the .pt file holds Python objects other than tensors ({_shown(name)}). Nothing "
        "in it was run. Only a plain state_dict is read: torch.save(module.state_dict(), 'w.pt')"
    )


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to a readable length."""
    if len(text) > _SHOWN_CHARS:
        text = text[:_SHOWN_CHARS] + "…"
    return repr(text)


def _listed(names: list[str], shown: int = 6) -> str:
    text = ", ".join(_shown(name)[1:-1] for name in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")
