"""Benchmark of the What-if lab's library half: connectivity maps and sweeps, against looping single traces.

    python bench/bench_whatif.py                      # the issue's sizes
    python bench/bench_whatif.py --blas-threads 1     # OpenBLAS on one thread (set before numpy loads)

It prints, in one run:

- ``lstmviz.connectivity`` at T = 1000, H = 32, one input feature, for every registered cell (median wall
  and CPU time of ``--repeats``);
- ``lstmviz.sweep`` over 20 recurrent scales x 8 forget biases x 8 seeds for the RNN, LSTM and GRU at
  T = 100, H = 32 (3,840 models: horizon and ||dh_T/dh_0|| each);
- for reference, the same quantities by a loop of single ``lstmviz.trace`` calls (horizons alone, then
  horizons and gains from the product of the trace's step Jacobians), timed on ``--loop`` random grid
  points and extrapolated to 3,840.

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
    from lstmviz.jacobian import step_jacobians
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

    def horizons_and_gains():
        for model in built:
            tr = lstmviz.trace(model, x, dtype="float64")
            gradient_horizon(tr)
            product = np.eye(tr.cell.state_size())
            for jac in step_jacobians(tr, 0, 0, slice(1, steps)):
                product = jac @ product
            np.linalg.norm(product[:hidden, :hidden], 2)

    total = models * len(SWEPT)
    for label, fn in (("horizons", horizons), ("horizons and gains", horizons_and_gains)):
        wall, cpu = timed(fn, 1)
        per = total / len(built)
        print(f"  loop of {len(built)} single traces, {label}: {wall:5.2f} s wall, {cpu:5.2f} s CPU; "
              f"x {per:.1f} = {wall * per:5.1f} s wall, {cpu * per:5.1f} s CPU for {total:,}")


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
