"""Benchmark of the What-if lab's library half: connectivity maps and sweeps, against looping single traces.

    python bench/bench_whatif.py                      # the issue's sizes
    python bench/bench_whatif.py --blas-threads 1     # OpenBLAS on one thread (set before numpy loads)

It prints, in one run:

- ``lstmviz.connectivity`` at T = 1000, H = 32, one input feature, for every registered cell (median wall
  and CPU time of ``--repeats``);
- ``lstmviz.sweep`` over 20 recurrent scales x 8 forget biases x 8 seeds for the RNN, LSTM and GRU at
  T = 100, H = 32 (3,840 models: horizon and ||dh_T/dh_0|| each);
- for reference, the same 3,840 horizons by single ``lstmviz.trace`` calls, timed on ``--loop`` of them
  and extrapolated, and the gains by ``lstmviz.jacobian_norms`` (which gives ||ds_T/ds_0|| for the
  whole state), timed on a few and extrapolated.

Wall times depend on what else the machine runs: with other work on the cores, OpenBLAS's threads
wait for each other and small matrix products slow down many times; ``--blas-threads 1`` avoids that.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm")
SWEPT = ("rnn", "lstm", "gru")


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bench_connectivity(lstmviz, np, steps: int, hidden: int, repeats: int) -> None:
    x = np.random.default_rng(0).normal(size=(steps, 1))
    print(f"\nconnectivity, T={steps} H={hidden} D=1 (median of {repeats})")
    for cell in CELLS:
        model = lstmviz.build(cell, 1, hidden, seed=0)
        wall, cpu = timed(lambda m=model: lstmviz.connectivity(m, x), repeats)
        print(f"  {cell:<8} {wall:6.2f} s wall  {cpu:6.2f} s CPU")


def bench_sweep(lstmviz, np, steps: int, hidden: int, loop: int) -> None:
    from lstmviz.summaries import gradient_horizon

    x = np.random.default_rng(0).normal(size=(steps, 1))
    settings = lstmviz.ModelSettings(hidden_size=hidden)
    scales, biases, seeds = np.linspace(0.25, 3.0, 20), np.linspace(-2.0, 5.0, 8), tuple(range(8))
    models = len(scales) * len(biases) * len(seeds)
    print(f"\nsweep, T={steps} H={hidden}: {len(scales)} scales x {len(biases)} forget biases x "
          f"{len(seeds)} seeds x {len(SWEPT)} cells = {models * len(SWEPT):,} models")
    total_wall = total_cpu = 0.0
    for cell in SWEPT:
        wall, cpu = timed(lambda c=cell: lstmviz.sweep(c, x, scales=scales, forget_biases=biases, seeds=seeds,
                                                       settings=settings), 1)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"  sweep {cell:<5} {wall:6.2f} s wall  {cpu:6.2f} s CPU")
    print(f"  sweep, all      {total_wall:6.2f} s wall  {total_cpu:6.2f} s CPU")

    rng = np.random.default_rng(1)
    picks = [(cell, float(rng.choice(scales)), float(rng.choice(biases)), int(rng.choice(seeds)))
             for cell in SWEPT for _ in range(loop // len(SWEPT))]
    built = [lstmviz.ModelSettings(hidden_size=hidden, recurrent_scale=s, seed=k,
                                   forget_bias=b if cell == "lstm" else 0.0).build(cell, 1)
             for cell, s, b, k in picks]

    def horizons():
        for model in built:
            gradient_horizon(lstmviz.trace(model, x, dtype="float64"))

    wall, cpu = timed(horizons, 1)
    per = models * len(SWEPT) / len(built)
    print(f"  {len(built)} single traces + horizons {wall:6.2f} s wall; x {per:.1f} = {wall * per:6.1f} s "
          f"for {models * len(SWEPT):,} (horizons only)")
    few = built[:: max(1, len(built) // 6)]
    wall, _ = timed(lambda: [lstmviz.jacobian_norms(m, x) for m in few], 1)
    per_gain = models * len(SWEPT) / len(few)
    print(f"  {len(few)} jacobian_norms (gains) {wall:6.2f} s wall; x {per_gain:.0f} = "
          f"{wall * per_gain:6.1f} s for {models * len(SWEPT):,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop", type=int, default=99, help="single traces timed for the reference")
    parser.add_argument("--blas-threads", type=int, default=None, help="OPENBLAS_NUM_THREADS for this run")
    args = parser.parse_args()
    if args.blas_threads is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, nothing installed
    import lstmviz

    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset (all cores)")
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={threads}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    bench_connectivity(lstmviz, np, 1000, 32, args.repeats)
    bench_sweep(lstmviz, np, 100, 32, args.loop)


if __name__ == "__main__":
    main()
