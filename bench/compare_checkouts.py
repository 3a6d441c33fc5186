"""trace() speed of two checkouts of lstmviz, measured interleaved in the same run.

    git worktree add /tmp/before <commit>
    python bench/compare_checkouts.py /tmp/before . --rounds 7

On a shared machine single timings drift by tens of percent within minutes; alternating the two
checkouts round by round (each round a fresh interpreter per checkout, best of a few calls) puts the
same drift on both sides, so the ratio is what to read. Cells: those both checkouts have of
rnn, lstm, gru (float32, loss on the last step, as ``bench_trace.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

SIZES = ((1000, 128), (10000, 256))
FEATURES = 8

ONE_ROUND = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import lstmviz
out = {}
for steps, hidden in json.loads(sys.argv[2]):
    x = np.random.default_rng(0).normal(size=(steps, int(sys.argv[3]))).astype(np.float32)
    for cell in ("rnn", "lstm", "gru"):
        model = lstmviz.build(cell, x.shape[1], hidden, seed=0)
        lstmviz.trace(model, x)
        times = []
        for _ in range(3 if steps <= 1000 else 2):
            start = time.perf_counter()
            lstmviz.trace(model, x)
            times.append(time.perf_counter() - start)
        out[f"{cell} T={steps} H={hidden}"] = min(times) * 1000
print(json.dumps(out))
"""


def one_round(root: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", ONE_ROUND, str(root), json.dumps(SIZES), str(FEATURES)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="checkout measured first in each round")
    parser.add_argument("after", type=Path, help="checkout measured second in each round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for _ in range(args.rounds):
        for side, root in (("before", args.before), ("after", args.after)):
            for key, ms in one_round(root.resolve()).items():
                times[side].setdefault(key, []).append(ms)
    print(f"median over {args.rounds} interleaved rounds (each the best of 2-3 calls)")
    for key, before in times["before"].items():
        b, a = statistics.median(before), statistics.median(times["after"][key])
        print(f"  {key:20s} before {b:8.1f} ms   after {a:8.1f} ms   after/before {a / b:5.2f}")


if __name__ == "__main__":
    main()
