"""Benchmark: lstmviz.trace() against torch.nn.LSTM forward+backward, measured in the same run.

    python bench/bench_trace.py                 # T=1000,H=128,D=8 and T=10000,H=256,D=8
    python bench/bench_trace.py --repeats 3 --sizes 200x64x8

For each size it prints the median wall time of ``trace()`` (forward keeping every gate and state, plus
every per-step gradient by hand-written BPTT) for every registered cell, the median time of the fused
``nn.LSTM`` forward + backward of ``output[-1].sum()`` (the same loss), and the ratio LSTM trace / fused.
It also reports the peak traced memory of one LSTM trace, to show it grows linearly in T.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's lstmviz, installed or not
import lstmviz  # noqa: E402


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first calls pay for allocation and thread-pool start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fused_lstm_seconds(model: lstmviz.Model, x: np.ndarray, repeats: int) -> float:
    module = lstmviz.to_torch(model)
    xt = torch.from_numpy(x.astype(np.float32))

    def run():
        inputs = xt.clone().requires_grad_(True)
        output, _ = module(inputs)
        output[-1].sum().backward()
        module.zero_grad()

    return median_seconds(run, repeats)


def peak_trace_bytes(model: lstmviz.Model, x: np.ndarray) -> int:
    tracemalloc.start()
    lstmviz.trace(model, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def bench_size(steps: int, hidden: int, features: int, repeats: int) -> None:
    x = np.random.default_rng(0).normal(size=(steps, features))
    threads = torch.get_num_threads()
    print(f"\nT={steps} H={hidden} D={features} (median of {repeats}, torch threads={threads})")
    times = {}
    for cell in lstmviz.CELL_NAMES:
        model = lstmviz.build(cell, features, hidden, seed=0)
        times[cell] = median_seconds(lambda m=model: lstmviz.trace(m, x), repeats)
        print(f"  trace {cell:<8} {times[cell] * 1e3:9.1f} ms")
    lstm = lstmviz.build("lstm", features, hidden, seed=0)
    fused = fused_lstm_seconds(lstm, x, repeats)
    print(f"  nn.LSTM fwd+bwd {fused * 1e3:9.1f} ms")
    print(f"  ratio trace(LSTM) / nn.LSTM = {times['lstm'] / fused:.2f}x")
    peak = peak_trace_bytes(lstm, x)
    print(f"  LSTM trace peak memory {peak / 2**20:.1f} MiB ({peak / steps / 1024:.1f} KiB per step)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x128x8", "10000x256x8"], help="TxHxD")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for size in args.sizes:
        steps, hidden, features = (int(v) for v in size.split("x"))
        bench_size(steps, hidden, features, args.repeats)


if __name__ == "__main__":
    main()
