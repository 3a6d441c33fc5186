""""How to read this" for every chart: what exactly is drawn, and what to look for.

One entry per kind of chart, in the notation of the tutorials our users follow (δh_t = ∂L/∂h_t, the
total derivative through every later step; t = 0 … T with T the last step). ``ui.page.show`` puts the
entry of a chart's kind in a small popover above it, so no chart appears without one.
"""

from __future__ import annotations

HELP: dict[str, str] = {
    "gradient_norms": (
        "**Drawn:** for each cell, ‖δh_t‖ = ‖∂L/∂h_t‖ (the Euclidean norm over units) at every step t, on a "
        "log scale. With *Loss L: last step*, L = Σ output[T], so the gradient starts at T and travels "
        "back.\n\n**Look for:** a straight falling line read from right to left is geometric vanishing: each "
        "step back multiplies δh by the step Jacobian. A flat line is memory: the gradient reaches the early "
        "steps. × marks a gradient horizon: the first step back where ‖δh_t‖ < 10⁻³ · ‖δh_T‖. Values that "
        "are 0 or underflow the number format are left out and counted in the subtitle."
    ),
    "gradient_c": (
        "**Drawn:** ‖δc_t‖ = ‖∂L/∂c_t‖ for cells with a cell state (the LSTM), log scale.\n\n"
        "**Look for:** δc_t = (W_hrᵀ δh_t) ⊙ o_t ⊙ (1 − tanh² c_t) + δc_{t+1} ⊙ f_{t+1}: the second term is "
        "the additive cell highway. While f ≈ 1 the line stays flat going back."
    ),
    "gradient_x": (
        "**Drawn:** ‖∂L/∂x_t‖, how much the loss changes with the input at step t, log scale.\n\n"
        "**Look for:** which inputs the output at T still depends on. For the RNN it falls with the distance "
        "to T; a cell that remembers keeps it up at the early steps."
    ),
    "gradient_heatmap": (
        "**Drawn:** log₁₀ |δh_t| per unit (rows) and step (columns), on one fixed magma scale: dark = "
        "vanished.\n\n**Look for:** which units still carry gradient far back (bright rows "
        "reaching the left)."
    ),
    "jacobian": (
        "**Drawn:** ‖∂s_T/∂s_t‖₂, the spectral norm of the product of step Jacobians from t to T (s = h, or "
        "(h, c) for the LSTM), independent of the loss. Dotted: the RNN's Pascanu bound "
        "(γ·σ_max(W_hh))^(T−t), γ = 1. Dash-dot: each gated cell's direct path, the product of its per-unit "
        "keep factor (mean over units).\n\n**Look for:** the RNN's line stays under its bound; below 1 the "
        "bound forces vanishing. The LSTM's ∏ f stays high while f ≈ 1."
    ),
    "state_heatmaps": (
        "**Drawn:** each gate, c and h (panels) per unit (rows) over time (columns). Sigmoid gates on 0…1 "
        "(viridis), tanh values and h on −1…1 (blue–red), c and linear quantities on a symmetric scale.\n\n"
        "**Look for:** a forget gate near 1 (yellow) keeps c; an input gate near 0 writes nothing; a GRU "
        "update gate near 1 keeps h in PyTorch's convention."
    ),
    "unit_lines": (
        "**Drawn:** the chosen units' gates, c and h over time, one panel per quantity, the same units in "
        "every cell.\n\n**Look for:** how one unit's gates react when the input arrives, and whether "
        "its state holds."
    ),
    "gate_bars": (
        "**Drawn:** every gate's value per unit at step t (the RNN, which has no gates, shows h_t). Colour "
        "and hatching tell the gates apart.\n\n**Look for:** gates that sit at 0 or 1 (saturated: σ′ ≈ 0)."
    ),
    "saturation": (
        "**Drawn:** for every gate, the share of its values (all steps and units) in the flat tails of σ "
        "(below 0.1 or above 0.9) or tanh (below −0.9 or above 0.9).\n\n"
        "**Look for:** a saturated forget gate near 1 keeps memory; a saturated RNN tanh (|h| ≈ 1, so 1 − h² "
        "≈ 0) is what kills its gradient."
    ),
    "diagram": (
        "**Drawn:** the cell at step t: boxes coloured by value (σ gates 0…1, tanh values and states −1…1), "
        "the number in each; circles are operations with their result. For one unit, or the mean over units "
        "(products then are means of products)."
    ),
    "training_curves": (
        "**Drawn:** loss (log scale) and accuracy per cell against the training step: faint lines on the "
        "training batches, markers on a fixed evaluation batch at every snapshot.\n\n"
        "**Look for:** a cell stuck at the loss to beat (the caption gives it) has learned nothing "
        "about the past."
    ),
    "training_horizon": (
        "**Drawn:** log₁₀ ‖∂L/∂h_t‖ on the probe sequence (L = Σ h_T of the top layer) per snapshot (rows) "
        "and step t (columns). By default each row is relative to its own largest value.\n\n"
        "**Look for:** bright far to the left = the loss still reaches the first steps at that "
        "point in training."
    ),
    "snapshot_profile": (
        "**Drawn:** ‖∂L/∂h_t‖ on the probe sequence at the chosen snapshot, one line per cell, log scale."
    ),
    "grad_norm": (
        "**Drawn:** the total gradient norm ‖∇θ L‖ of every training step before clipping, log scale; the "
        "dashed line is the clipping threshold.\n\n**Look for:** spikes above the line: exploding gradients "
        "that clipping cuts down."
    ),
    "intervention": (
        "**Drawn:** ‖δh_t‖ of each cell with the clamps (solid) and without them (dotted), and ‖δc_t‖ of the "
        "clamped LSTM (dashed), log scale; the clamped steps are shaded.\n\n**Look for:** a clamped f = 1, "
        "i = 0 keeps δc_t constant across the shaded span: nothing shrinks it there."
    ),
    "phase": (
        "**Drawn:** for a freshly built cell at every (recurrent scale, forget bias), the median over seeds "
        "of its gradient horizon (steps back until ‖δh_t‖ < 10⁻³ ‖δh_T‖; more than T − 1 drawn at T), or of "
        "log₁₀ ‖∂h_T/∂h_0‖ (blue: vanishing, red: exploding). The star is the sidebar's setting; the dashed "
        "line is the RNN's Pascanu boundary γ·σ_max(W_hh) = 1.\n\n**Look for:** where the RNN crosses from "
        "vanishing to exploding, and how far the forget bias moves the LSTM's horizon."
    ),
    "spectrum": (
        "**Drawn:** the eigenvalues λ of the step Jacobian ∂s_t/∂s_{t−1} in the complex plane, and the unit "
        "circle; the slider scrubs t.\n\n**Look for:** eigenvalues inside the circle shrink their direction "
        "each step (vanishing), outside grow it (exploding). minGRU and minLSTM's are their keep factors."
    ),
    "connectivity": (
        "**Drawn:** log₁₀ ‖∂output_t/∂x_s‖ (Frobenius norm) for every output step t (rows) and input step s "
        "(columns), as in Distill's \"Memorization in RNNs\".\n\n**Look for:** how far left of the diagonal "
        "each row stays bright: how many steps back an output still depends on its inputs."
    ),
}
