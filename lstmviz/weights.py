"""Weights in and out: a user's ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` ``state_dict`` as a :class:`Model`.

Reading never runs code from the file:

- ``.safetensors`` is a JSON header plus raw tensor bytes (https://github.com/huggingface/safetensors);
  the header is checked here before the ``safetensors`` library reads the data.
- ``.pt`` / ``.pth`` go through ``torch.load(..., weights_only=True)``, PyTorch's restricted unpickler,
  which builds tensors and plain containers only and refuses every other Python global
  (https://pytorch.org/docs/stable/generated/torch.load.html). A whole pickled module
  (``torch.save(module)``) is therefore refused, with the advice to save ``module.state_dict()``.

The architecture (cell, layers, directions, sizes, ``proj_size``, bias) is inferred from the names and
shapes alone. One thing the weights cannot tell is an ``nn.RNN``'s nonlinearity (tanh or relu): it is
read from the file's metadata when :func:`save_safetensors` wrote it, else it is the caller's
``nonlinearity`` argument (default tanh).

:func:`save_safetensors` writes float32 tensors under exactly the ``state_dict`` names, so
``nn.LSTM(...).load_state_dict(safetensors.torch.load_file(path))`` works, plus header metadata (cell,
nonlinearity, GRU convention) that makes a round trip through this module lossless.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import struct
import warnings
import zipfile
from dataclasses import dataclass
from importlib import resources

import numpy as np
import safetensors
import torch
from safetensors.torch import load as tensors_from_safetensors_bytes

from .model import GRU_VARIANTS, MAX_SIZE, NONLINEARITIES, Model, ModelSpec

MAX_WEIGHTS_BYTES = 50_000_000
"""Largest weights file accepted (50 MB, checked before anything is parsed)."""

MAX_TENSORS = 256
"""Most tensors in one file: 8 layers x 2 directions x 5 parameters is 80."""

SAFETENSORS_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pt", ".pth")
SUFFIXES = SAFETENSORS_SUFFIXES + TORCH_SUFFIXES

EXAMPLES = {
    "recall_first": "trained LSTM vs trained RNN on recall-the-first-input",
}
"""Shipped examples: name -> description. Files live in ``lstmviz/examples/``."""

_PARAM = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?")
_CELL_PARAM = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)")
_CELL_BY_GATES = {1: "rnn", 3: "gru", 4: "lstm"}
_FLOAT_DTYPES = {"F16", "BF16", "F32", "F64"}
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict")
_META_PREFIX = "lstmviz_"


class WeightsError(ValueError):
    """A weights file that cannot be used, with a message saying why and what to do instead."""


@dataclass(frozen=True)
class LoadedWeights:
    """A loaded model and what was done to read it (a stripped key prefix, a nested checkpoint ...)."""

    model: Model
    notes: tuple[str, ...]


def load_state_dict_bytes(
    data: bytes, filename: str, *, nonlinearity: str | None = None
) -> Model:
    """The :class:`Model` stored in ``data``, a ``.safetensors`` or ``.pt``/``.pth`` state_dict.

    Raises :class:`WeightsError` for a file that is too large, of another type, corrupt or
    truncated, holding Python objects other than tensors, or whose names and shapes do not form an
    ``nn.RNN``/``nn.LSTM``/``nn.GRU``. See :func:`read_weights` for the notes on what was adapted.
    """
    return read_weights(data, filename, nonlinearity=nonlinearity).model


def read_weights(data: bytes, filename: str, *, nonlinearity: str | None = None) -> LoadedWeights:
    """Like :func:`load_state_dict_bytes`, and also the notes to show the user."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WeightsError(f"expected the file's bytes, got {type(data).__name__}")
    size = len(data)
    if size > MAX_WEIGHTS_BYTES:
        raise WeightsError(
            f"the file has {size / 1e6:.1f} MB; at most {MAX_WEIGHTS_BYTES / 1e6:.0f} MB are read "
            "(recurrent layers of the sizes shown here take a few MB at most)"
        )
    if size == 0:
        raise WeightsError("the file is empty")
    name = str(filename).lower()
    notes: list[str] = []
    if name.endswith(SAFETENSORS_SUFFIXES):
        state, metadata = _read_safetensors(bytes(data))
    elif name.endswith(TORCH_SUFFIXES):
        state, metadata = _read_torch(bytes(data), notes), {}
    else:
        raise WeightsError(
            f"{filename!r} is neither .safetensors nor .pt/.pth: save the weights with "
            "safetensors.torch.save_file(module.state_dict(), 'w.safetensors') or "
            "torch.save(module.state_dict(), 'w.pt')"
        )
    state = _strip_prefix(state, notes)
    chosen = nonlinearity or metadata.get("nonlinearity") or "tanh"
    gru_variant = metadata.get("gru_variant", "pytorch")
    spec = infer_spec(state, nonlinearity=chosen, gru_variant=gru_variant)
    if "cell" in metadata and metadata["cell"] != spec.cell:
        raise WeightsError(
            f"the file's metadata says {metadata['cell'].upper()} but its shapes are those of "
            f"an {spec.cell.upper()}"
        )
    if spec.cell == "rnn" and nonlinearity is None and "nonlinearity" not in metadata:
        notes.append(
            "an nn.RNN's nonlinearity is not stored in its weights: tanh is assumed "
            "(choose relu if the module was built with nonlinearity='relu')"
        )
    return LoadedWeights(_model(spec, state), tuple(notes))


def infer_spec(
    state: dict, *, nonlinearity: str = "tanh", gru_variant: str = "pytorch"
) -> ModelSpec:
    """The :class:`ModelSpec` of a ``state_dict`` (names and shapes of torch tensors or NumPy arrays).

    The cell follows from the rows of ``weight_ih_l0`` over the hidden size: 1 for the RNN, 3 for
    the GRU (r, z, n), 4 for the LSTM (i, f, g, o). The hidden size is the width of ``weight_hh_l0``,
    except with ``proj_size``: then ``weight_hh_l0`` is (4H, P) and ``weight_hr_l0`` is (P, H).
    The keys of a single-step cell (``nn.LSTMCell`` ...: ``weight_ih`` without ``_l0``) are read
    as a one-layer stack.
    """
    if not isinstance(state, dict) or not state:
        raise WeightsError("the file holds no tensors: expected the state_dict of nn.RNN/LSTM/GRU")
    state = _cell_keys_as_stack(state)
    unknown = sorted(key for key in state if not _PARAM.fullmatch(str(key)))
    if unknown:
        raise WeightsError(
            f"these names are not parameters of nn.RNN/LSTM/GRU: {_listed(unknown)}. Expected "
            "names such as weight_ih_l0, weight_hh_l0, bias_ih_l0; if the recurrent layer sits "
            "inside a larger model, save only its state_dict (e.g. model.lstm.state_dict())"
        )
    shapes = {key: tuple(int(n) for n in np.shape(value)) for key, value in state.items()}
    for key, shape in shapes.items():
        want = 1 if key.startswith("bias") else 2
        if len(shape) != want:
            raise WeightsError(f"{key} has shape {shape}; it must have {want} dimension(s)")
    for key in ("weight_ih_l0", "weight_hh_l0"):
        if key not in shapes:
            raise WeightsError(f"{key} is missing: every nn.RNN/LSTM/GRU state_dict has it")

    rows, input_size = shapes["weight_ih_l0"]
    proj_size = 0
    if "weight_hr_l0" in shapes:
        proj_size, hidden_size = shapes["weight_hr_l0"]
    else:
        hidden_size = shapes["weight_hh_l0"][1]
    if hidden_size < 1 or rows % hidden_size or rows // hidden_size not in _CELL_BY_GATES:
        raise WeightsError(
            f"weight_ih_l0 has {rows} rows for a hidden size of {hidden_size}: an RNN has 1x, "
            "a GRU 3x and an LSTM 4x the hidden size"
        )
    cell = _CELL_BY_GATES[rows // hidden_size]
    if proj_size and cell != "lstm":
        raise WeightsError("weight_hr_l0 (proj_size) belongs to an LSTM, but the rows say otherwise")
    for what, value in (("input size", input_size), ("hidden size", hidden_size)):
        if not 1 <= value <= MAX_SIZE:
            raise WeightsError(f"the {what} is {value}; this app handles 1 to {MAX_SIZE}")
    layers = 1 + max(int(_PARAM.fullmatch(key).group(2)) for key in shapes)
    if nonlinearity not in NONLINEARITIES:
        raise WeightsError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    if nonlinearity != "tanh" and cell != "rnn":
        raise WeightsError(f"only the RNN has a nonlinearity option; these are {cell.upper()} weights")
    if gru_variant not in GRU_VARIANTS:
        raise WeightsError(f"gru_variant must be one of {GRU_VARIANTS}, got {gru_variant!r}")
    try:
        return ModelSpec(
            cell=cell,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=layers,
            bidirectional=any(key.endswith("_reverse") for key in shapes),
            bias="bias_ih_l0" in shapes,
            proj_size=proj_size,
            nonlinearity=nonlinearity,
            gru_variant=gru_variant if cell == "gru" else "pytorch",
        )
    except ValueError as error:
        raise WeightsError(f"these weights do not form a recurrent stack: {error}") from None


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


def _read_safetensors(data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if len(data) < 8:
        raise WeightsError("the file is too short to be .safetensors (it has no header)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > len(data) - 8:
        raise WeightsError(
            "the .safetensors header claims more bytes than the file has: the file is truncated "
            "or not .safetensors"
        )
    try:
        header = json.loads(data[8 : 8 + header_size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WeightsError("the .safetensors header is not valid JSON: the file is corrupt") from None
    if not isinstance(header, dict):
        raise WeightsError("the .safetensors header is not a JSON object: the file is corrupt")
    raw_meta = header.pop("__metadata__", None) or {}
    if len(header) > MAX_TENSORS:
        raise WeightsError(f"the file holds {len(header)} tensors; at most {MAX_TENSORS} are read")
    for key, entry in header.items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if dtype not in _FLOAT_DTYPES:
            raise WeightsError(f"{key} has dtype {dtype!r}; weights must be floating point")
    try:
        state = tensors_from_safetensors_bytes(data)
    except safetensors.SafetensorError as error:
        raise WeightsError(f"the .safetensors file is corrupt or truncated ({error})") from None
    metadata = {
        key[len(_META_PREFIX) :]: str(value)
        for key, value in raw_meta.items()
        if isinstance(key, str) and key.startswith(_META_PREFIX)
    } if isinstance(raw_meta, dict) else {}
    return state, metadata


def _read_torch(data: bytes, notes: list[str]) -> dict[str, torch.Tensor]:
    _check_zip_size(data)
    try:
        with warnings.catch_warnings():
            # A pickle protocol other than torch's own draws a warning; the reader still applies.
            warnings.simplefilter("ignore", UserWarning)
            loaded = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as error:
        if "global" not in str(error).lower():
            raise WeightsError(
                "the .pt file could not be read: it is corrupt or not a PyTorch file"
            ) from None
        raise WeightsError(_refusal(str(error))) from None
    except (
        RuntimeError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        OSError,
        UnicodeDecodeError,
        struct.error,
    ) as error:
        raise WeightsError(
            f"the .pt file could not be read: it is corrupt, truncated or not a PyTorch file "
            f"({type(error).__name__})"
        ) from None
    if isinstance(loaded, dict):
        for key in _CHECKPOINT_KEYS:
            if isinstance(loaded.get(key), dict):
                notes.append(f"read the weights under the checkpoint's {key!r} entry")
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict):
        raise WeightsError(
            f"the .pt file holds a {type(loaded).__name__}, not a state_dict: "
            "save it with torch.save(module.state_dict(), 'w.pt')"
        )
    bad = sorted(str(key) for key, value in loaded.items() if not isinstance(value, torch.Tensor))
    if bad:
        raise WeightsError(f"these entries are not tensors: {_listed(bad)}; save module.state_dict()")
    if len(loaded) > MAX_TENSORS:
        raise WeightsError(f"the file holds {len(loaded)} tensors; at most {MAX_TENSORS} are read")
    for key, value in loaded.items():
        if not value.is_floating_point():
            raise WeightsError(f"{key} has dtype {value.dtype}; weights must be floating point")
    return {str(key): value for key, value in loaded.items()}


def _check_zip_size(data: bytes) -> None:
    """Refuse a zip whose entries unpack to more than the size limit, before torch reads it."""
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        return
    try:
        with zipfile.ZipFile(buffer) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise WeightsError("the .pt file is a damaged zip archive (truncated?)") from None
    if unpacked > MAX_WEIGHTS_BYTES:
        raise WeightsError(
            f"the .pt file unpacks to {unpacked / 1e6:.1f} MB; at most "
            f"{MAX_WEIGHTS_BYTES / 1e6:.0f} MB are read"
        )


def _refusal(message: str) -> str:
    if "torch.nn.modules" in message:
        return (
            "the .pt file holds a whole pickled module, which could run code when loaded; only "
            "weights are read. Save them with torch.save(module.state_dict(), 'w.pt') or "
            "safetensors.torch.save_file(module.state_dict(), 'w.safetensors')"
        )
    found = re.search(r"GLOBAL ([\w.]+)", message)
    what = f" ({found.group(1)})" if found else ""
    return (
        f"refused: the .pt file holds Python objects other than tensors{what}. Nothing in it was "
        "run. Only a plain state_dict is read: torch.save(module.state_dict(), 'w.pt')"
    )


def _strip_prefix(state: dict[str, torch.Tensor], notes: list[str]) -> dict[str, torch.Tensor]:
    """Drop a prefix such as ``module.`` or ``lstm.`` when every key has it."""
    keys = list(state)
    while keys and all("." in key for key in keys):
        prefix = keys[0].split(".", 1)[0] + "."
        if not all(key.startswith(prefix) for key in keys):
            break
        notes.append(f"removed the prefix {prefix!r} shared by every name")
        state = {key[len(prefix) :]: value for key, value in state.items()}
        keys = list(state)
    return state


def _cell_keys_as_stack(state: dict) -> dict:
    keys = [str(key) for key in state]
    if keys and all(_CELL_PARAM.fullmatch(key) for key in keys):
        return {f"{key}_l0": value for key, value in state.items()}
    return {str(key): value for key, value in state.items()}


def _model(spec: ModelSpec, state: dict) -> Model:
    state = _cell_keys_as_stack(state)
    weights = {
        key: (value.detach().to(torch.float64).numpy() if isinstance(value, torch.Tensor)
              else np.asarray(value, dtype=np.float64)).copy()
        for key, value in state.items()
    }
    try:
        return Model(spec, weights)
    except ValueError as error:
        raise WeightsError(f"the weights do not fit an {spec.cell.upper()}: {error}") from None


def _listed(names: list[str], shown: int = 6) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")
