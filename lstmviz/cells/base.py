"""What every recurrent cell provides, and the small pieces the cells share.

A cell module (``rnn.py``, ``lstm.py`` ...) defines one :class:`Cell` subclass holding everything
specific to that cell: its parameter rows and gate letters, the NumPy forward pass that keeps every
gate and the hand-written backward pass (BPTT), a PyTorch reference step written as the equations
read (autograd through it checks the hand-written backward), the step Jacobian, its equations
(symbolic, substituted with a step's numbers, and the BPTT recursions), its diagram, and the
trainable torch module. Everything else in lstmviz loops over the registry (:mod:`lstmviz.cells`)
and never branches on a cell's name.

Conventions (PyTorch's, https://pytorch.org/docs/stable/nn.html#recurrent-layers): parameters are
named like the ``state_dict`` of ``nn.RNN``/``nn.LSTM``/``nn.GRU`` without the layer suffix
(``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, ``weight_hr``), with one block of
``hidden_size`` rows per entry of :attr:`Cell.rows`. Sequences run in processing order here; the
caller flips them for a reverse direction.

Interventions: ``forward`` takes :class:`Clamps`; a clamped gate's activation is replaced on the
masked steps and units and everything downstream uses the new value; a clamped state (``h`` or
``c``) is replaced right after that step's update. The backward pass then treats the clamped value
as a constant: it passes no gradient to what computed it.

Reference steps use tensor methods only (``a.sigmoid()``, ``a.tanh()``, ``x @ w.T``), so the cell
modules need no ``import torch``; torch is imported where a torch module is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from ..model import Model, ModelSpec

Params = dict[str, np.ndarray]

# Kinds of diagram nodes: how the value is coloured.
SIGMOID, TANH, STATE, LINEAR, OP, INPUT = "sigmoid", "tanh", "state", "linear", "op", "input"


@dataclass(frozen=True)
class Node:
    """A box of a cell diagram at (x, y) in a 10 x 6 box; ``label`` with subscript ``sub``."""

    key: str
    x: float
    y: float
    label: str
    sub: str = ""
    kind: str = OP
    clampable: bool = False


@dataclass(frozen=True)
class Edge:
    """An arrow of the diagram; ``path`` names the backward path it belongs to, if any."""

    start: str
    end: str
    path: str | None = None


@dataclass(frozen=True)
class BackwardPath:
    """One way the gradient travels from step t back to step t-1, as drawn and as computed."""

    key: str
    label: str
    latex: str  # what step t sends back, e.g. r"\delta c_{t} \odot f_{t}"


@dataclass(frozen=True)
class Layout:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def for_direction(self, direction: int) -> Layout:
        """The layout as drawn for ``direction``: the reverse direction of a bidirectional layer comes
        from step t+1, so its previous-state boxes read t+1."""
        if not direction:
            return self
        nodes = tuple(replace(n, sub="t+1") if n.sub == "t−1" else n for n in self.nodes)
        return Layout(nodes, self.edges)


@dataclass(frozen=True)
class Clamps:
    """Interventions on one layer and direction, in processing order.

    ``masks[name]`` is a (T, n) boolean array (True = clamped), ``values[name]`` a (T, n) array of
    the values to use there. ``name`` is a gate letter of the cell or a state (``h``, ``c``).
    """

    masks: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.masks)

    def steps(self) -> np.ndarray:
        """(T,) True where any quantity is clamped at that step."""
        return np.logical_or.reduce([m.any(axis=1) for m in self.masks.values()])

    def apply(self, name: str, t: int, array: np.ndarray) -> None:
        """Overwrite ``array`` (the value of ``name`` at step t) where it is clamped."""
        mask = self.masks.get(name)
        if mask is not None and mask[t].any():
            np.copyto(array, self.values[name][t], where=mask[t])

    def apply_all(self, name: str, array: np.ndarray) -> None:
        """Overwrite ``array`` (the value of ``name`` at every step, (T, n)) where it is clamped."""
        mask = self.masks.get(name)
        if mask is not None:
            np.copyto(array, self.values[name], where=mask)

    def keep(self, name: str, like: np.ndarray) -> np.ndarray | float:
        """1 where ``name`` is free, 0 where clamped (a float 1.0 when it is never clamped)."""
        mask = self.masks.get(name)
        return 1.0 if mask is None else (~mask).astype(like.dtype)


NO_CLAMPS = Clamps()


@dataclass(frozen=True)
class CellRun:
    """One cell's forward pass over one sequence, in processing order."""

    h: np.ndarray  # (T, H_out)
    c: np.ndarray | None  # (T, H) for a cell with a cell state
    gates: dict[str, np.ndarray]  # letter -> (T, H) activations
    preactivations: dict[str, np.ndarray]  # letter -> (T, H): the argument of sigma/tanh
    cache: dict[str, Any]  # what the backward pass needs


@dataclass(frozen=True)
class CellGrads:
    """The backward pass over one sequence, in processing order."""

    h: np.ndarray  # (T, H_out) total dL/dh_t
    c: np.ndarray | None  # (T, H) total dL/dc_t
    preactivations: dict[str, np.ndarray]  # letter -> (T, H): dL/da of each row block
    inputs: np.ndarray  # (T, D) dL/dx_t


class Cell:
    """One kind of recurrent cell, bound to a :class:`~lstmviz.model.ModelSpec`'s options.

    Subclasses set the class attributes and implement the methods; ``self.spec`` gives the options
    (``nonlinearity``, ``gru_variant``, ``proj_size``, ``bias``).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    colour: ClassVar[str]  # Okabe-Ito, distinct under deuteranopia and protanopia
    dash: ClassVar[str]  # a second cue besides colour
    reference: ClassVar[str]
    rows: ClassVar[tuple[str, ...]]  # row blocks of weight_ih (and weight_hh), in stored order
    gates: ClassVar[tuple[str, ...]]  # activations kept in a trace, in drawing order
    recurrent: ClassVar[bool] = True  # has weight_hh / bias_hh
    cell_state: ClassVar[bool] = False  # has c besides h
    projection: ClassVar[bool] = False  # supports proj_size
    nonlinearities: ClassVar[tuple[str, ...]] = ("tanh",)
    variants: ClassVar[tuple[str, ...]] = ("pytorch",)
    forget_row: ClassVar[str | None] = None  # the row whose input bias forget_bias raises
    torch_class: ClassVar[str | None] = None  # name of the torch.nn twin, if any
    sigmoid_gates: ClassVar[frozenset[str]] = frozenset()  # gates in 0..1 (the others are tanh or linear)
    linear_gates: ClassVar[frozenset[str]] = frozenset()  # gates with no squashing at all
    paths: ClassVar[tuple[BackwardPath, ...]] = ()
    trace_arrays: ClassVar[int]  # (T, H) float arrays one layer and direction of a trace keeps
    carry_label: ClassVar[str] = ""  # what the product of :meth:`carry` over steps is called
    carry_symbol: ClassVar[str] = ""  # the per-step factor of :meth:`carry`, e.g. "f"
    pascanu_gamma: ClassVar[float | None] = None  # bound on |phi'| when d s_t/d s_{t-1} = diag(phi') W_hh

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    # -- identity -------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        """The label with the convention when the cell has several, e.g. "GRU (PyTorch)"."""
        return self.label

    @property
    def torch_twin(self) -> str | None:
        """Name of the ``torch.nn`` module that computes exactly this cell, or None."""
        return self.torch_class

    def convention(self) -> str:
        """One sentence on the convention shown, with the letters' meanings ("" if only one)."""
        return ""

    def symbol(self, letter: str) -> str:
        """LaTeX symbol of a gate or state letter (``n`` may be drawn as ``\\tilde{h}``)."""
        return letter

    def describe(self, letter: str) -> str:
        """Plain-text name of a quantity, e.g. ``"f: forget gate σ"``."""
        return {"h": "h: hidden state", "c": "c: cell state"}.get(letter, letter)

    # -- parameters ----------------------------------------------------------------------------

    def parameter_shapes(self, input_size: int) -> dict[str, tuple[int, ...]]:
        """One layer's and direction's parameters (names without suffix) for ``input_size`` inputs."""
        spec = self.spec
        rows = len(self.rows) * spec.hidden_size
        shapes: dict[str, tuple[int, ...]] = {"weight_ih": (rows, input_size)}
        if self.recurrent:
            shapes["weight_hh"] = (rows, spec.output_size)
        if spec.bias:
            shapes["bias_ih"] = (rows,)
            if self.recurrent:
                shapes["bias_hh"] = (rows,)
        if spec.proj_size:
            shapes["weight_hr"] = (spec.proj_size, spec.hidden_size)
        return shapes

    def state_size(self) -> int:
        """Size of the state s_t whose Jacobians are taken: h, or (h, c)."""
        spec = self.spec
        return spec.output_size + (spec.hidden_size if self.cell_state else 0)

    def arrays_per_step(self) -> int:
        """(T, H) arrays a trace keeps per layer and direction: states, gates, pre-activations, their
        gradients and the backward cache (:attr:`trace_arrays`, counted; a test keeps it true)."""
        return self.trace_arrays

    # -- computation (processing order) ----------------------------------------------------------

    def forward(self, p: Params, xs: np.ndarray, h0: np.ndarray, c0: np.ndarray | None,
                clamps: Clamps = NO_CLAMPS) -> CellRun:
        raise NotImplementedError

    def backward(self, p: Params, run: CellRun, direct: np.ndarray) -> CellGrads:
        """Given ``direct`` = dL/dh_t from outside the recurrence (the loss or the layer above)."""
        raise NotImplementedError

    def reference_step(self, p: dict, x, state: tuple, hook=None) -> tuple:
        """One step on torch tensors, written as the equations read: ``state`` is (h,) or (h, c).

        ``hook(name, value)`` sees every gate and state as it is computed and returns the value to
        use (the tests clamp through it); by default it returns the value unchanged.
        """
        raise NotImplementedError

    def step_jacobians(self, p: Params, run: CellRun, steps: slice) -> np.ndarray:
        """d s_t / d s_{t-1} for t in ``steps`` (processing order): (K, n, n), n = :meth:`state_size`."""
        raise NotImplementedError

    def step_input_jacobians(self, p: Params, run: CellRun, steps: slice) -> np.ndarray:
        """d s_t / d x_t for t in ``steps`` (processing order): (K, n, D), D = the layer's input size.

        x_t enters every cell only through W_ih x_t, so this is d s_t / d a_t times W_ih, with the same
        clamp-aware factors as :meth:`step_jacobians` (a clamped quantity passes nothing back).
        """
        raise NotImplementedError

    def carry(self, run: CellRun) -> np.ndarray | None:
        """(T, H) per-unit factor of the direct, matrix-free path from s_{t-1} to s_t, if any.

        LSTM: f_t on c; PyTorch's GRU: z_t on h ... The product of it over steps is the memory that
        survives without passing through any weight matrix.
        """
        return None

    def path_flows(self, p: Params, run: CellRun, grads: CellGrads) -> dict[str, np.ndarray]:
        """What step t sends back to step t-1 along each of :attr:`paths`: key -> (T, n)."""
        return {}

    # -- many models at once (sweeps) ------------------------------------------------------------

    def batch_forward(self, p: Params, xs: np.ndarray, scale: np.ndarray) -> CellRun:
        """The forward pass of G models over one sequence at once, from zero states, without clamps.

        The models share ``p`` except that ``scale`` (G,) multiplies W_hh per model (cells without
        W_hh only take G from it) and ``bias_ih`` may be (G, rows), a row of biases per model. The
        run's arrays are (T, G, ...) in processing order; its cache is what :meth:`batch_step_vjp` needs.
        """
        raise NotImplementedError

    def batch_step_vjp(self, p: Params, run: CellRun, t: int, grads: tuple, scale: np.ndarray) -> tuple:
        """u_{t-1} = J_t^T u_t for every model of a :meth:`batch_forward` run, J_t = d s_t / d s_{t-1}.

        ``grads`` is the cotangent of s_t, ``(u_h,)`` or ``(u_h, u_c)``, each (..., G, size): any number
        of cotangents per model (the leading axes). The hand-written backward pass carries exactly this
        from step t to t-1 (its ``carried``).
        """
        raise NotImplementedError

    # -- equations -------------------------------------------------------------------------------

    def equations(self) -> list[str]:
        """Symbolic forward equations (LaTeX), one per line."""
        raise NotImplementedError

    def bptt(self, nxt: str = "t+1", prv: str = "t-1") -> list[str]:
        """The backward recursions exactly as :meth:`backward` computes them (LaTeX lines).

        ``nxt``/``prv`` are the steps processed after/before t (``t-1``/``t+1`` in reverse).
        """
        raise NotImplementedError

    def step_templates(self) -> list[str]:
        """Forward equations of one unit at one step: ``str.format`` templates over :meth:`slots`.

        ``{t}`` is the step, ``{tp}`` the step processed before it; a line that starts with ``=``
        continues the equation above it.
        """
        raise NotImplementedError

    def slots(self, q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The numbers of :meth:`step_templates`, from the step quantities ``q`` (see :func:`quantities`)."""
        raise NotImplementedError

    def backward_templates(self, last: bool = False, clamped: frozenset[str] = frozenset(),
                           clamped_next: frozenset[str] = frozenset()) -> list[str]:
        """Backward equations of one unit at one step, over :meth:`backward_slots`.

        ``last``: the step is processed last (nothing comes back from a later step). ``clamped`` /
        ``clamped_next``: what is clamped at this step / at the step processed after it; a clamped
        value is a constant, so the paths through it carry nothing and the lines say so.
        """
        raise NotImplementedError

    def backward_slots(self, q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    # -- diagram -------------------------------------------------------------------------------

    def layout(self) -> Layout:
        raise NotImplementedError

    def node_values(self, q: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each diagram node's value per unit, from the step quantities ``q`` (any leading shape)."""
        raise NotImplementedError

    # -- training ------------------------------------------------------------------------------

    def torch_module(self, model: Model):
        """A trainable torch module computing this cell's stack: ``module(x) -> (output, _)``.

        ``x`` is (T, B, D), output (T, B, dirs * H_out). Cells with a ``torch.nn`` twin use it;
        the others loop over :meth:`reference_step` (see :class:`LoopModule`).
        """
        from ..torch_io import to_torch

        if self.torch_twin is None:
            return loop_module(model)
        return to_torch(model).train()


# ---------------------------------------------------------------------------------------------
# Shared numerics


def unchanged(name: str, value):
    """The default hook of a reference step: every quantity as computed."""
    return value


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-a)), in place when ``out`` is given."""
    out = np.negative(a, out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def input_projection(p: Params, xs: np.ndarray) -> np.ndarray:
    """W_ih x_t + b_ih for every t: (T, rows)."""
    gx = xs @ p["weight_ih"].T
    if "bias_ih" in p:
        gx += p["bias_ih"]
    return gx


def batch_input_projection(p: Params, xs: np.ndarray, models: int) -> np.ndarray:
    """W_ih x_t + b_ih for every t and model: (T, G, rows); b_ih is (rows,) or a row per model (G, rows)."""
    gx = (xs @ p["weight_ih"].T)[:, None, :]
    if "bias_ih" in p:
        gx = gx + p["bias_ih"]
    return np.broadcast_to(gx, (len(xs), models, gx.shape[-1])).copy()


def rows_times(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a @ w over the last axis of ``a`` (any leading shape) as one matrix product."""
    return (a.reshape(-1, a.shape[-1]) @ w).reshape(*a.shape[:-1], w.shape[1])


def shifted(states: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The states at t-1 for every t: (T, n) with ``initial`` first."""
    return np.concatenate([initial[None], states[:-1]], axis=0)


def split_rows(array: np.ndarray, letters: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Split the last axis into one block per letter."""
    return dict(zip(letters, np.split(array, len(letters), axis=-1), strict=True))


def torch_affine(p: dict, x, h) -> tuple:
    """(W_ih x + b_ih, W_hh h + b_hh) on torch tensors (a cell without W_hh gets 0)."""
    gx = x @ p["weight_ih"].T
    if "bias_ih" in p:
        gx = gx + p["bias_ih"]
    if "weight_hh" not in p:
        return gx, 0
    gh = h @ p["weight_hh"].T
    if "bias_hh" in p:
        gh = gh + p["bias_hh"]
    return gx, gh


def diag_times(d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """diag(d_k) @ w for every k: d (K, m), w (m, n) -> (K, m, n)."""
    return d[:, :, None] * w[None]


def eye_batch(d: np.ndarray) -> np.ndarray:
    """diag(d_k) for every k: d (K, n) -> (K, n, n)."""
    out = np.zeros((*d.shape, d.shape[-1]), dtype=d.dtype)
    idx = np.arange(d.shape[-1])
    out[:, idx, idx] = d
    return out


def loop_module(model: Model):
    """A torch module that loops a cell's reference step over time, layers and directions.

    For cells with no ``torch.nn`` twin (the tutorial GRU, minGRU, minLSTM): the same equations the
    rest of lstmviz traces, trained by autograd. Parameters keep the ``state_dict`` names.
    """
    import torch
    from torch import nn

    from . import cell_for

    class LoopModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.spec = model.spec
            self.cell = cell_for(model.spec)
            self.weights = nn.ParameterDict(
                {k: nn.Parameter(torch.from_numpy(v).float()) for k, v in model.weights.items()}
            )

        def forward(self, x):
            spec, cell = self.spec, self.cell
            for layer in range(spec.num_layers):
                outputs = []
                for d in range(spec.directions):
                    suffix = f"_l{layer}" + ("_reverse" if d else "")
                    p = {k[: -len(suffix)]: v for k, v in self.weights.items() if k.endswith(suffix)}
                    h = x.new_zeros(x.shape[1], spec.output_size)
                    state = (h, x.new_zeros(x.shape[1], spec.hidden_size)) if cell.cell_state else (h,)
                    hs = [None] * x.shape[0]
                    order = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
                    for t in order:
                        state = cell.reference_step(p, x[t], state)
                        hs[t] = state[0]
                    outputs.append(torch.stack(hs))
                x = torch.cat(outputs, dim=-1)
            return x, None

        def to_model(self):
            from ..model import Model

            weights = {k: v.detach().to(torch.float64).numpy().copy() for k, v in self.weights.items()}
            return Model(self.spec, weights)

    return LoopModule()
