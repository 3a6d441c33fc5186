"""Conversion between :class:`~lstmviz.model.Model` and ``torch.nn`` recurrent modules.

``from_torch`` accepts ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` (and subclasses) with any constructor option
(``dropout`` acts only in training and ``batch_first`` only on batch layout, so neither changes a
single sequence's trace) and the single-step ``nn.RNNCell``, ``nn.LSTMCell``, ``nn.GRUCell`` (read as
a one-layer stack: their parameters are ``weight_ih``/``weight_hh``/``bias_ih``/``bias_hh`` without
the ``_l0`` suffix). ``to_torch`` builds the module of a cell's ``torch_twin``; cells without one
(the tutorial GRU, minGRU, minLSTM) are refused with the reason.
Reference: https://pytorch.org/docs/stable/nn.html#recurrent-layers
"""

from __future__ import annotations

from .cells import REGISTRY, cell_for
from .model import Model, ModelSpec


def _twins():
    from torch import nn

    stacks = {getattr(nn, c.torch_class): name for name, c in REGISTRY.items() if c.torch_class}
    singles = {getattr(nn, c.torch_class + "Cell"): name for name, c in REGISTRY.items() if c.torch_class}
    return stacks, singles


def from_torch(module) -> Model:
    """The :class:`Model` holding ``module``'s weights (copied, as float64)."""
    import torch

    stacks, singles = _twins()
    stack = next((name for kind, name in stacks.items() if isinstance(module, kind)), None)
    single = next((name for kind, name in singles.items() if isinstance(module, kind)), None)
    if stack is not None:
        spec = ModelSpec(
            cell=stack,
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            num_layers=module.num_layers,
            bidirectional=module.bidirectional,
            bias=module.bias,
            proj_size=getattr(module, "proj_size", 0),
            nonlinearity=getattr(module, "nonlinearity", "tanh"),
        )
        state = module.state_dict()
    elif single is not None:
        spec = ModelSpec(
            cell=single,
            input_size=module.input_size,
            hidden_size=module.hidden_size,
            bias=module.bias,
            nonlinearity=getattr(module, "nonlinearity", "tanh"),
        )
        state = {f"{name}_l0": value for name, value in module.state_dict().items()}
    else:
        names = ", ".join(f"nn.{k.__name__}" for k in (*stacks, *singles))
        raise TypeError(f"from_torch takes {names} (or a subclass), got {type(module).__name__}")
    expected = spec.parameter_shapes()
    weights = {
        name: value.detach().cpu().to(torch.float64).numpy().copy()
        for name, value in state.items()
        if name in expected
    }
    return Model(spec, weights)


def to_torch(model: Model, dtype=None):
    """An ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (``batch_first=False``) with ``model``'s weights."""
    import torch
    from torch import nn

    spec = model.spec
    cell = cell_for(spec)
    if cell.torch_twin is None:
        raise ValueError(
            f"the {cell.title} has no torch.nn equivalent, so it cannot be exported to one"
            + (": use gru_variant='pytorch'" if cell.torch_class else "")
        )
    options = {
        "input_size": spec.input_size,
        "hidden_size": spec.hidden_size,
        "num_layers": spec.num_layers,
        "bias": spec.bias,
        "bidirectional": spec.bidirectional,
    }
    if cell.projection:
        options["proj_size"] = spec.proj_size
    if len(cell.nonlinearities) > 1:
        options["nonlinearity"] = spec.nonlinearity
    dtype = dtype or torch.float32
    module = getattr(nn, cell.torch_twin)(**options).to(dtype)
    state = {name: torch.from_numpy(value).to(dtype) for name, value in model.weights.items()}
    module.load_state_dict(state, strict=True)
    return module.eval()
