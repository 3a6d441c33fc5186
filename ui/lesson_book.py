"""The lessons: the points the LSTM/GRU tutorials teach, walked through on the live app.

Every number in a text is a :class:`~ui.lesson_facts.Fact` computed from the part's own settings;
every part sets the app's state (page, sequence, cells, settings, step, clamps) and says where to look.
"""

from __future__ import annotations

from lstmviz import Clamp

from .lesson_facts import Fact
from .lessons import Lesson, Part, Question

WHY, STEP, GATES, GRADS, EQS, WHATIF, TRAIN = (
    "pages/why_gates.py", "pages/step_through.py", "pages/gates_states.py", "pages/gradients.py",
    "pages/equations.py", "pages/whatif.py", "pages/training.py",
)
RNN_ONLY, LSTM_ONLY = {"cells": ("rnn",)}, {"cells": ("lstm",)}
IMPULSE_40 = {"preset": "impulse", "preset_length": 40}

RNN_FORGETS = Lesson("rnn-forgets", "An RNN forgets",
                     "An impulse, ‖δh_t‖ falling geometrically, the gradient horizon.", (
    Part(
        "The gradient falls geometrically", WHY,
        "An impulse x₀ = 1 enters at t = 0, then zeros. The loss sits at the last step T = {last}; ‖δh_t‖ is "
        "how much of its gradient reaches step t. Read the chart from right to left: the RNN's gradient is "
        "10× smaller every {decade} steps, and {horizon} steps back it is below 10⁻³ of its value at T.",
        "the straight falling line (straight on a log scale = geometric) and the × of the RNN's horizon.",
        {"last": Fact("last_step", "rnn"),
         "decade": Fact("decade", "rnn"), "horizon": Fact("horizon", "rnn"),
         "cross": Fact("horizon_step", "rnn")},
        settings={**IMPULSE_40, **RNN_ONLY},
        question=Question("At which step t does the RNN's ‖δh_t‖ first fall below 10⁻³ of its value at T?",
                          "At t = {cross}: the horizon counts {horizon} steps back from the last step."),
        controls=("sequence",),
    ),
    Part(
        "Why geometric: the Pascanu bound", GRADS,
        "Each step back multiplies δh by the step Jacobian W_hhᵀ diag(1 − h²). Since |tanh′| ≤ 1 (γ = 1), "
        "its norm is at most σ_max(W_hh). The bound (γ σ_max)^(T−t) is the dotted line above ‖∂s_T/∂s_t‖ at "
        "the bottom of the page; here {reading}.",
        "the chart “How fast the state forgets”: the solid RNN line stays under its dotted bound.",
        {"sigma": Fact("sigma_max", "rnn"), "reading": Fact("pascanu_reading", "rnn")},
        settings={**IMPULSE_40, **RNN_ONLY},
        question=Question("What is σ_max(W_hh) here, and what does the bound say?",
                          "σ_max(W_hh) = {sigma} with γ = 1: {reading}."),
        controls=("model",),
    ),
    Part(
        "Watch it thin out, step by step", STEP,
        "Press **◀ Play backward**: the gradient starts at T and travels back. The RNN's path thins at every "
        "step: ‖δh_t‖ = {late} at t = 35, {early} at t = 25.",
        "the width of the RNN's backward path and the δh badge on h_t.",
        {"late": Fact("grad_norm", "rnn", {"t": 35}), "early": Fact("grad_norm", "rnn", {"t": 25})},
        settings={**IMPULSE_40, **RNN_ONLY}, view={"step": 39, "unit": 0},
        controls=(),
    ),
))

CONVEYOR = Lesson("conveyor", "The cell state is a conveyor belt",
                  "The forget gate near 1 keeps c; the forget-bias setting.", (
    Part(
        "f near 1 keeps c", GATES,
        "c_t = f_t ⊙ c_{{t−1}} + i_t ⊙ g_t: each step keeps the share f_t of the cell state. Here f averages "
        "{f} (the forget-gate bias starts at +2), so the product of f over the whole sequence is still "
        "{keep} (mean over units): what the impulse wrote into c at t = 0 rides along.",
        "the f panel (yellow = near 1) and the c panel, whose colour holds from left to right.",
        {"f": Fact("mean_gate", "lstm", {"gate": "f"}), "keep": Fact("carry_product", "lstm")},
        settings={**IMPULSE_40, **LSTM_ONLY},
        question=Question("What share of the previous cell state does the LSTM keep per step, on average?",
                          "{f}: the mean of f_t over all steps and units. Over the sequence that "
                          "compounds to {keep}."),
        controls=("model",),
    ),
    Part(
        "Without the forget bias", GATES,
        "Set the forget-gate bias to 0 and f averages {f}: the product over the sequence drops to {keep}, "
        "and the LSTM's gradient horizon is {horizon} steps.",
        "the f panel, now darker, and the c panel fading.",
        {"f": Fact("mean_gate", "lstm", {"gate": "f"}), "keep": Fact("carry_product", "lstm"),
         "horizon": Fact("horizon", "lstm")},
        settings={**IMPULSE_40, **LSTM_ONLY}, model={"forget_bias": 0.0},
        question=Question("How many steps back does the LSTM's gradient reach without the forget bias?",
                          "Its horizon is {horizon} steps: f averages {f}, so the cell path keeps "
                          "less each step."),
        controls=("model",),
    ),
    Part(
        "On the diagram", STEP,
        "Follow c_{{t−1}} → × f → + → c_t along the top of the LSTM's diagram. At t = 5, unit 0: f = {f5}, "
        "so c_4 = {c4} becomes f·c_4 plus what the input gate writes, c_5 = {c5}.",
        "the top row of the LSTM diagram and the c-line of its equations.",
        {"f5": Fact("value_at", "lstm", {"name": "f", "t": 5}),
         "c4": Fact("value_at", "lstm", {"name": "c", "t": 4}),
         "c5": Fact("value_at", "lstm", {"name": "c", "t": 5})},
        settings={**IMPULSE_40, **LSTM_ONLY}, view={"step": 5, "unit": 0}, controls=(),
    ),
))

HIGHWAY = Lesson("highway", "The gradient highway",
                 "The BPTT recursions with the step's numbers; the additive path along c.", (
    Part(
        "Two terms", EQS,
        "The LSTM's δc_t has two terms: the local one through h_t, and δc_{{t+1}} ⊙ f_{{t+1}}, an "
        "**additive** path scaled only by the forget gate (like a residual connection). δh_t reaches step "
        "t+1 only through the gate pre-activations: δh_t = ∂ℓ_t/∂h_t + W_hhᵀ δa_{{t+1}}.",
        "the LSTM's “Backward (BPTT)” block: the δc line.",
        settings={**IMPULSE_40, **LSTM_ONLY},
        question=Question("Which factor scales the highway term of δc_t?",
                          "Only the forget gate of the next step, f at t + 1: no weight matrix, no "
                          "activation's slope."),
        controls=("model",),
    ),
    Part(
        "The step's numbers", STEP,
        "At t = 10 the highway δc_11 ⊙ f_11 carries {share} of δc_10 (unit-wise norms; the rest comes "
        "through h_10). The backward equations under the LSTM's diagram show both terms with their numbers.",
        "the LSTM's backward equations and the thick highway edges of its diagram.",
        {"share": Fact("highway_share", "lstm", {"t": 10})},
        settings={**IMPULSE_40, **LSTM_ONLY}, view={"step": 10, "unit": 0}, controls=(),
    ),
    Part(
        "Highway against RNN", GRADS,
        "Over {last} steps, the LSTM's ‖δc_t‖ keeps {c} of its value at T; the RNN's ‖δh_t‖ only {rnn}.",
        "‖δc_t‖ (the cell-state path) against ‖δh_t‖ of the RNN.",
        {"last": Fact("steps", "lstm"),
         "c": Fact("retained", "lstm", {"state": "c"}), "rnn": Fact("retained", "rnn")},
        settings={**IMPULSE_40, "cells": ("rnn", "lstm")},
        question=Question("What share of ‖δc_T‖ reaches t = 0 in the LSTM?",
                          "{c}, against {rnn} for the RNN's δh."),
        controls=("cells",),
    ),
))

EXPLODING = Lesson("exploding", "Exploding gradients",
                   "Recurrent scale, relu, the Pascanu bound, and clipping.", (
    Part(
        "A large scale is not enough", GRADS,
        "Recurrent scale 3 puts σ_max(W_hh) at {sigma}: the Pascanu bound now allows growth. Yet the tanh "
        "RNN saturates (|h| → 1, so tanh′ → 0): its gradient {reach}.",
        "the RNN's ‖δh_t‖ and, at the bottom, its dotted bound rising far above the solid line.",
        {"sigma": Fact("sigma_max", "rnn"), "reach": Fact("horizon_phrase", "rnn")},
        settings={"preset": "noise", "preset_length": 60, **RNN_ONLY}, model={"recurrent_scale": 3.0},
        controls=("model",),
    ),
    Part(
        "relu explodes", GRADS,
        "A relu RNN does not saturate. With orthogonal W_hh scaled by 1.5, ‖δh_0‖ is {grow} times ‖δh_T‖: "
        "the gradient grows going back, geometrically.",
        "‖δh_t‖ rising from right to left.",
        {"grow": Fact("retained", "rnn")},
        settings={"preset": "noise", "preset_length": 60, **RNN_ONLY},
        model={"nonlinearity": "relu", "init": "orthogonal", "recurrent_scale": 1.5},
        question=Question("By what factor does the gradient grow from T back to t = 0?",
                          "‖δh_0‖ / ‖δh_T‖ = {grow}: each step back multiplies by more than 1 on average."),
        controls=("model",),
    ),
    Part(
        "Clipping in training", TRAIN,
        "Exploding gradients break training with one huge step. Press **Train** with clipping on, then open "
        "*Total gradient norm per step*: every spike above the dashed line was cut to the threshold by "
        "torch.nn.utils.clip_grad_norm_.",
        "the total gradient norm per step, and the dashed clipping threshold.",
        settings={"preset": "noise", "preset_length": 60, **RNN_ONLY},
        model={"nonlinearity": "relu", "init": "orthogonal", "recurrent_scale": 1.5},
        controls=("model",),
    ),
))

GRU = Lesson("gru", "GRU: reset and update gates", "Reset and update gates, and the two conventions of z.", (
    Part(
        "Two conventions", EQS,
        "PyTorch's GRU applies the reset gate after the product, r ⊙ (W_hn h + b_hn), and its z keeps the "
        "OLD state. The tutorials (Chung et al. 2014) apply it before, W_hn (r ⊙ h), and their z takes the "
        "NEW content: read a tutorial's z as 1 − PyTorch's.",
        "the GRU's equations and the convention sentence above them.",
        settings={**IMPULSE_40, "cells": ("gru",)},
        controls=("cells",),
    ),
    Part(
        "z in PyTorch's convention", STEP,
        "Here z averages {z}: each step keeps that share of h_{{t−1}} and writes 1 − z = {new} of "
        "the candidate n.",
        "the ×z on the GRU's top row and the h-line of its equations.",
        {"z": Fact("mean_gate", "gru", {"gate": "z"}),
         "new": Fact("mean_gate", "gru", {"gate": "z", "complement": True})},
        settings={**IMPULSE_40, "cells": ("gru",)}, view={"step": 3, "unit": 0}, controls=("cells",),
    ),
    Part(
        "z in the tutorial's convention", STEP,
        "Switched to the tutorial GRU (same kind of weights), z averages {z}: now it is the share of the NEW "
        "content h̃, and 1 − z keeps the old state.",
        "the ×(1−z) on the top row and the tutorial h-line.",
        {"z": Fact("mean_gate", "gru", {"gate": "z"})},
        settings={**IMPULSE_40, "cells": ("gru",)}, model={"gru_variant": "tutorial"},
        view={"step": 3, "unit": 0},
        question=Question("In the tutorial convention, which share of the old state does a step "
                          "keep on average?",
                          "1 − z: z averages {z} here, and z is the share of the new content."),
        controls=("cells",),
    ),
))

TEXT = {"preset": "早上好", "mode": "text", "text": "早上好"}
SHAPES = Lesson("shapes", "Stacked and bidirectional",
                "The tutorials' worked example: 早上好, one-hot, hidden 100.", (
    Part(
        "One layer", STEP,
        "早上好 is 3 steps, each a one-hot vector over its 3 characters. With hidden size 100, nn.LSTM "
        "returns output {out} (every h_t), h_n {hn} and c_n {cn}; for one direction output[-1] equals "
        "h_n[0].",
        "the three steps of the stepper, and the time axis labelled by the characters.",
        {"out": Fact("shape", "lstm", {"of": "output"}), "hn": Fact("shape", "lstm", {"of": "h_n"}),
         "cn": Fact("shape", "lstm", {"of": "c_n"})},
        settings={**TEXT, **LSTM_ONLY}, model={"hidden_size": 100},
        question=Question("What is the shape of output?",
                          "{out}: one row per step, one column per hidden unit."),
        controls=(),
    ),
    Part(
        "Two layers", STEP,
        "Stacked: layer 1 reads layer 0's h_t sequence. output {out} is layer 1's; h_n {hn} holds each "
        "layer's last state.",
        "the Layer selector: layer 1's x_t is layer 0's h_t.",
        {"out": Fact("shape", "lstm", {"of": "output"}), "hn": Fact("shape", "lstm", {"of": "h_n"})},
        settings={**TEXT, **LSTM_ONLY}, model={"hidden_size": 100, "num_layers": 2}, view={"layer": 1},
        controls=(),
    ),
    Part(
        "A BiLSTM", STEP,
        "Bidirectional: a second cell reads the sequence backwards; output {out} concatenates both "
        "directions per step, and h_n {hn} is (layers × directions, hidden). The reverse direction's last "
        "state is the one at t = 0.",
        "the Direction selector: in reverse the previous step is t + 1.",
        {"out": Fact("shape", "lstm", {"of": "output"}), "hn": Fact("shape", "lstm", {"of": "h_n"})},
        settings={**TEXT, **LSTM_ONLY}, model={"hidden_size": 100, "bidirectional": True}, view={"dir": 1},
        question=Question("Why is output twice as wide as the hidden size?",
                          "{out}: the forward and the reverse h_t are concatenated at every step."),
        controls=(),
    ),
))

TRAINING = Lesson("training", "Learning moves the horizon",
                  "The training lab on the adding problem: RNN against LSTM and GRU.", (
    Part(
        "Train side by side", TRAIN,
        "The adding problem: two marked values among {last} must be summed at the end. Press **Train**: "
        "every cell gets the same batches, seed and Adam steps. The loss to beat is 1/6 (always "
        "predicting the mean).",
        "the loss curves: which cells fall below the baseline.",
        {"last": Fact("steps", "rnn")},
        settings={"preset": "adding", "preset_length": 40},
        question=Question("Which loss does a cell reach that ignores its input?",
                          "1/6 ≈ 0.167: the variance of the sum of two values drawn from U(0, 1)."),
        controls=("cells",),
    ),
    Part(
        "The horizon heatmaps", TRAIN,
        "Under the curves, one heatmap per cell: rows are snapshots during training, columns the steps of "
        "the probe sequence, brightness how far back ‖∂L/∂h_t‖ reaches. The untrained RNN's gradient reaches "
        "{rnn} of its value at T back to t = 0 on this probe; watch whether training moves it.",
        "the left edge of each heatmap as the rows go down (training goes on).",
        {"rnn": Fact("retained", "rnn")},
        settings={"preset": "adding", "preset_length": 40},
        controls=("cells",),
    ),
))

INTERVENE = Lesson("intervene", "Intervene: hold the memory",
                   "Clamp f = 1 and i = 0 and watch memory and gradient hold.", (
    Part(
        "Clamp f = 1, i = 0", WHATIF,
        "On steps 5–19 the LSTM's forget gate is forced to 1 and its input gate to 0: c does not change, and "
        "δc passes back unchanged. ‖δc_0‖ is now {clamped} of ‖δc_T‖, against {free} without the clamps.",
        "the dashed ‖δc_t‖ line, flat across the shaded span.",
        {"clamped": Fact("retained", "lstm", {"state": "c"}),
         "free": Fact("retained", "lstm", {"state": "c", "original": True})},
        settings={"preset": "impulse", "preset_length": 30, **LSTM_ONLY}, view={"tab": "Clamp"},
        clamps=(("lstm", Clamp("f", 1.0, (5, 20))), ("lstm", Clamp("i", 0.0, (5, 20)))),
        question=Question("With the clamps, what share of ‖δc_T‖ reaches t = 0?",
                          "{clamped}: on the clamped steps δc at t is δc at t + 1 times f = 1, "
                          "plus what h_t adds."),
        controls=(),
    ),
    Part(
        "On the diagram", STEP,
        "At t = 12 the LSTM's f box shows {f}, clamped, and c stays at {c} from step 4 on: the conveyor belt "
        "neither forgets nor writes. Click any gate of a diagram to clamp it yourself.",
        "the f and i boxes and the highway, as thick as at T.",
        {"f": Fact("value_at", "lstm", {"name": "f", "t": 12}),
         "c": Fact("value_at", "lstm", {"name": "c", "t": 12})},
        settings={"preset": "impulse", "preset_length": 30, **LSTM_ONLY}, view={"step": 12, "unit": 0},
        clamps=(("lstm", Clamp("f", 1.0, (5, 20))), ("lstm", Clamp("i", 0.0, (5, 20)))),
        controls=(),
    ),
))

OWN_MODEL = Lesson("own-model", "Your own model", "Load a trained nn.LSTM and read its gates and horizon.", (
    Part(
        "A trained LSTM and RNN", GRADS,
        "These are the shipped example's weights: an LSTM and an RNN trained to output x₀ after 100 steps. "
        "On this impulse, the trained LSTM's ‖δh_0‖ is {lstm} of ‖δh_T‖, the trained RNN's {rnn}.",
        "the LSTM's line staying up across all 100 steps.",
        {"lstm": Fact("retained", "lstm"), "rnn": Fact("retained", "rnn")},
        settings={"preset": "impulse", "preset_length": 100, "cells": ("rnn", "lstm")}, example=True,
        question=Question("How much of the gradient at T reaches t = 0 in the trained LSTM?",
                          "{lstm} (the RNN: {rnn})."),
        controls=(),
    ),
    Part(
        "Its gates", GATES,
        "The trained LSTM's forget gate averages {f} over this run: the share of c it keeps per step.",
        "the trained LSTM's f panel.",
        {"f": Fact("mean_gate", "lstm", {"gate": "f"})},
        settings={"preset": "impulse", "preset_length": 100, "cells": ("rnn", "lstm")}, example=True,
        controls=(),
    ),
    Part(
        "Now yours", TRAIN,
        "Upload the state_dict of your own nn.RNN, nn.LSTM or nn.GRU under *Your own model* (.safetensors, "
        "or .pt read as plain data): every page then traces it, beside fresh cells of the other kinds.",
        "the upload box at the bottom of the Training lab.",
        settings={"preset": "impulse", "preset_length": 100, "cells": ("rnn", "lstm")},
        controls=("cells",),
    ),
))

LESSONS: dict[str, Lesson] = {lesson.name: lesson for lesson in (
    RNN_FORGETS, CONVEYOR, HIGHWAY, EXPLODING, GRU, SHAPES, TRAINING, INTERVENE, OWN_MODEL)}
