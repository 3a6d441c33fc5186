"""Every limit of lstmviz in one place: the library, the app and the README use these numbers.

Sizes are checked before any work; budgets are estimates of memory (bytes) and time (operations)
made from the sizes alone, so a request that would not fit is refused before anything is allocated,
with a message that says what to reduce.
"""

from __future__ import annotations

MAX_STEPS = 10_000
"""Most steps T in a sequence: typed, preset, uploaded or traced."""

MAX_FEATURES = 256
"""Most input features D per step (typed rows, CSV columns, one-hot vocabulary, a model's input)."""

MAX_HIDDEN = 1024
"""Most hidden units H of a layer (``proj_size`` stays below it)."""

MAX_LAYERS = 4
"""Most stacked layers."""

MAX_TEXT_CHARS = 2_000_000
"""Most characters the sequence parser reads; checked before any splitting."""

MAX_ABS_VALUE = 1e6
"""Largest magnitude of a typed number: larger ones only saturate every gate."""

MAX_CSV_BYTES = 1_000_000
"""Largest uploaded CSV sequence."""

MAX_WEIGHTS_BYTES = 50_000_000
"""Largest uploaded weights file (.safetensors or .pt), and the most a .pt may unpack to."""

MAX_TENSORS = 256
"""Most tensors in an uploaded weights file."""

MAX_SAFETENSORS_HEADER_BYTES = 1_000_000
"""Largest JSON header of an uploaded .safetensors file (256 tensors take about 25 kB)."""

MAX_PICKLE_BYTES = 1_000_000
"""Largest pickle (``data.pkl``) inside an uploaded .pt file (256 tensors take about 25 kB)."""

MAX_ZIP_ENTRIES = 4096
"""Most entries in an uploaded .pt zip archive (one per tensor storage, plus a few records)."""

RECURRENT_SCALE_RANGE = (0.0, 10.0)
"""``recurrent_scale`` multiplies every W_hh: below 1 the RNN vanishes, well above it may explode."""

FORGET_BIAS_RANGE = (-10.0, 10.0)
"""``forget_bias`` added to the forget-gate bias (LSTM, minLSTM)."""

MAX_SEED = 2**32 - 1
"""Seeds are integers in 0..MAX_SEED."""

TRACE_BUDGET_BYTES = 2 * 2**30
"""Most bytes one :func:`lstmviz.trace` may keep (gates, states, gradients and backward caches)."""

JACOBIAN_BUDGET = 1e10
"""Most operations (steps x state size^3, per layer and direction) one Jacobian computation may take."""

JACOBIAN_CHUNK_BYTES = 64 * 2**20
"""Most bytes of step Jacobians held at once (they are computed in chunks of steps)."""

MAX_TRAIN_STEPS = 5_000
"""Most optimiser steps of one training run."""

MAX_TRAIN_BATCH = 512
"""Largest training batch."""

MAX_TRAIN_LENGTH = 1_000
"""Longest training sequence."""

MAX_SNAPSHOTS = 201
"""Most snapshots one training run keeps."""

TRAIN_STEP_BUDGET_BYTES = 1 * 2**30
"""Most memory one training step of all cells together may need (autograd keeps every activation)."""

VIEW_BUDGET_BYTES = 300 * 2**20
"""Most bytes the app's traces of one view may keep, all cells together (float64, with caches)."""

VIEW_JACOBIAN_BUDGET = 3e8
"""Operations the app spends on one view's Jacobians (about 2 s on one core); a longer view gets them
for its last steps only, and says so."""

CONNECTIVITY_BUDGET = 5e10
"""Most multiply-adds one :func:`lstmviz.connectivity` map may take (about T^2 n^2 D / 2 per layer and
direction of a causal stack; T = 1000 steps of a 32-unit LSTM take 2e9)."""

CONNECTIVITY_BUDGET_BYTES = 512 * 2**20
"""Most bytes one connectivity map may hold besides its trace: the (T, T) map, the tangents and a
chunk of step Jacobians."""

CONNECTIVITY_CHUNK_BYTES = 128 * 2**20
"""Most bytes of layer-output tangents a connectivity map of a stacked model keeps at once."""

SWEEP_BUDGET = 5e10
"""Most multiply-adds one :func:`lstmviz.sweep` may take (models x T x (H_out + 1) cotangents x the
size of W_hh; 20 x 8 grid points x 8 seeds of a 32-unit LSTM over 100 steps take 1.7e10)."""

SWEEP_CHUNK_BYTES = 256 * 2**20
"""Most bytes the models a sweep runs at once may hold (forward passes with their backward factors)."""
