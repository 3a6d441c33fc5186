"""lstmviz: exact, complete traces of RNN, LSTM and GRU cells, PyTorch-compatible.

import lstmviz
model = lstmviz.build("lstm", input_size=1, hidden_size=16, seed=0)
x = lstmviz.parse_sequence("1, 0, 0, 0, 0, 0")
tr = lstmviz.trace(model, x)              # every gate, state and per-step gradient
tr.layers[0][0].gates["f"]                # forget gate, (T, H)
"""

from .jacobian import jacobian_norms
from .model import Model, ModelSpec, build
from .results import JacobianNorms, LayerTrace, Trace
from .sequences import PRESETS, SequenceError, encode_text, parse_sequence, preset
from .torch_io import from_torch, to_torch
from .trace import trace

__all__ = [
    "PRESETS",
    "JacobianNorms",
    "LayerTrace",
    "Model",
    "ModelSpec",
    "SequenceError",
    "Trace",
    "build",
    "encode_text",
    "from_torch",
    "jacobian_norms",
    "parse_sequence",
    "preset",
    "to_torch",
    "trace",
]
