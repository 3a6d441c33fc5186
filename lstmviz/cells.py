"""One time step of each cell, written in PyTorch exactly as the equations read.

These small functions are the *reference* implementation: autograd through them is the independent
check of the hand-written BPTT in :mod:`lstmviz.engine`, and ``torch.func`` differentiates them for the
per-step Jacobians in :mod:`lstmviz.jacobian`. ``p`` holds one cell's parameters without the layer
suffix (``weight_ih``, ``weight_hh``, optional ``bias_ih``/``bias_hh``/``weight_hr``).

Equations (PyTorch docs, torch.nn.RNN / LSTM / GRU):

    RNN   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)            (or relu)
    LSTM  i, f, g, o = sigma, sigma, tanh, sigma of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), rows i f g o
          c_t = f * c_{t-1} + i * g          h_t = o * tanh(c_t)   (h_t = W_hr (o * tanh(c_t)) if proj_size)
          (Hochreiter & Schmidhuber 1997; forget gate: Gers et al. 2000)
    GRU   r, z = sigma(W_i[rz] x_t + b_i[rz] + W_h[rz] h_{t-1} + b_h[rz])
          n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))      reset AFTER the product
          h_t = (1 - z) * n + z * h_{t-1}                                z = share of the OLD state
    GRU, tutorial variant (Cho et al. 2014), same parameters:
          n = tanh(W_in x_t + b_in + W_hn (r * h_{t-1}) + b_hn)      reset BEFORE the product
          h_t = (1 - z) * h_{t-1} + z * n                                z = share of the NEW content
"""

from __future__ import annotations

import torch

Params = dict[str, torch.Tensor]


def affine(p: Params, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(W_ih x + b_ih, W_hh h + b_hh): the input and recurrent halves of every pre-activation."""
    gx = x @ p["weight_ih"].T
    gh = h @ p["weight_hh"].T
    if "bias_ih" in p:
        gx = gx + p["bias_ih"]
        gh = gh + p["bias_hh"]
    return gx, gh


def rnn_step(p: Params, x: torch.Tensor, h: torch.Tensor, relu: bool = False) -> torch.Tensor:
    gx, gh = affine(p, x, h)
    return torch.relu(gx + gh) if relu else torch.tanh(gx + gh)


def lstm_step(
    p: Params, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    gx, gh = affine(p, x, h)
    a_i, a_f, a_g, a_o = (gx + gh).chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    if "weight_hr" in p:
        h_next = h_next @ p["weight_hr"].T
    return h_next, c_next


def gru_step(p: Params, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    gx, gh = affine(p, x, h)
    gx_r, gx_z, gx_n = gx.chunk(3, dim=-1)
    gh_r, gh_z, gh_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(gx_r + gh_r)
    z = torch.sigmoid(gx_z + gh_z)
    n = torch.tanh(gx_n + r * gh_n)
    return (1 - z) * n + z * h


def gru_tutorial_step(p: Params, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    hidden = h.shape[-1]
    w_hr, w_hz, w_hn = p["weight_hh"].split(hidden, dim=0)
    b_hr, b_hz, b_hn = p["bias_hh"].chunk(3) if "bias_hh" in p else (0, 0, 0)
    gx_r, gx_z, gx_n = (x @ p["weight_ih"].T + p.get("bias_ih", 0)).chunk(3, dim=-1)
    r = torch.sigmoid(gx_r + h @ w_hr.T + b_hr)
    z = torch.sigmoid(gx_z + h @ w_hz.T + b_hz)
    n = torch.tanh(gx_n + (r * h) @ w_hn.T + b_hn)
    return (1 - z) * h + z * n
