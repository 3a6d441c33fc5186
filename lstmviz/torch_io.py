"""Conversion between :class:`~lstmviz.model.Model` and ``torch.nn`` recurrent modules.

``from_torch`` accepts ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` with any constructor option (``dropout`` acts
only in training and ``batch_first`` only on batch layout, so neither changes a single sequence's trace)
and the single-step ``nn.RNNCell``, ``nn.LSTMCell``, ``nn.GRUCell`` (read as a one-layer stack: their
parameters are ``weight_ih``/``weight_hh``/``bias_ih``/``bias_hh`` without the ``_l0`` suffix).
Reference: https://pytorch.org/docs/stable/nn.html#recurrent-layers
"""

from __future__ import annotations

import torch
from torch import nn

from .model import Model, ModelSpec

_STACKS = {nn.RNN: "rnn", nn.LSTM: "lstm", nn.GRU: "gru"}
_CELLS = {nn.RNNCell: "rnn", nn.LSTMCell: "lstm", nn.GRUCell: "gru"}
_CLASSES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def from_torch(module: nn.Module) -> Model:
    """The :class:`Model` holding ``module``'s weights (copied, as float64)."""
    kind = type(module)
    if kind in _STACKS:
        spec = ModelSpec(
            cell=_STACKS[kind],
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            num_layers=module.num_layers,
            bidirectional=module.bidirectional,
            bias=module.bias,
            proj_size=getattr(module, "proj_size", 0),
            nonlinearity=getattr(module, "nonlinearity", "tanh"),
        )
        state = module.state_dict()
    elif kind in _CELLS:
        spec = ModelSpec(
            cell=_CELLS[kind],
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            bias=module.bias,
            nonlinearity=getattr(module, "nonlinearity", "tanh"),
        )
        state = {f"{name}_l0": value for name, value in module.state_dict().items()}
    else:
        raise TypeError(
            f"from_torch takes nn.RNN, nn.LSTM, nn.GRU or their Cell versions, got {kind.__name__}"
        )
    weights = {name: value.detach().cpu().to(torch.float64).numpy().copy() for name, value in state.items()}
    return Model(spec, weights)


def to_torch(model: Model, dtype: torch.dtype = torch.float32) -> nn.Module:
    """An ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (``batch_first=False``) with ``model``'s weights."""
    spec = model.spec
    if spec.cell == "gru" and spec.gru_variant != "pytorch":
        raise ValueError(
            "the tutorial GRU (reset applied before W_hn) has no torch.nn equivalent; "
            "use gru_variant='pytorch' to export"
        )
    options = {
        "input_size": spec.input_size,
        "hidden_size": spec.hidden_size,
        "num_layers": spec.num_layers,
        "bias": spec.bias,
        "bidirectional": spec.bidirectional,
    }
    if spec.cell == "lstm":
        options["proj_size"] = spec.proj_size
    if spec.cell == "rnn":
        options["nonlinearity"] = spec.nonlinearity
    module = _CLASSES[spec.cell](**options).to(dtype)
    state = {name: torch.from_numpy(value).to(dtype) for name, value in model.weights.items()}
    module.load_state_dict(state, strict=True)
    return module.eval()
