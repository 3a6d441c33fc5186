"""lstmviz: exact, complete traces of recurrent cells (RNN, LSTM, GRU, minGRU, minLSTM), PyTorch-compatible.

    import lstmviz
    model = lstmviz.build("lstm", input_size=1, hidden_size=16, seed=0)
    x = lstmviz.parse_sequence("1, 0, 0, 0, 0, 0")
    tr = lstmviz.trace(model, x)              # every gate, state and per-step gradient
    tr.layers[0][0].gates["f"]                # forget gate, (T, H)

``import lstmviz`` does not import torch: torch is imported by the functions that need it
(``from_torch``/``to_torch``, ``lstmviz.weights``, ``lstmviz.training``).
"""

from .cells import CELL_NAMES, DEFAULT_CELLS
from .connectivity import connectivity
from .interventions import Clamp
from .jacobian import backward_flows, carry_path, jacobian_norms, spectrum
from .model import Model, ModelSettings, ModelSpec, build
from .results import JacobianNorms, LayerTrace, Trace
from .sequences import PRESETS, SequenceError, encode_text, parse_sequence, parse_sequence_with_notes, preset
from .sweeps import Sweep, sweep
from .torch_io import from_torch, to_torch
from .trace import trace

__all__ = [
    "CELL_NAMES",
    "DEFAULT_CELLS",
    "PRESETS",
    "Clamp",
    "JacobianNorms",
    "LayerTrace",
    "Model",
    "ModelSettings",
    "ModelSpec",
    "SequenceError",
    "Sweep",
    "Trace",
    "backward_flows",
    "build",
    "carry_path",
    "connectivity",
    "encode_text",
    "from_torch",
    "jacobian_norms",
    "parse_sequence",
    "parse_sequence_with_notes",
    "preset",
    "spectrum",
    "sweep",
    "to_torch",
    "trace",
]
