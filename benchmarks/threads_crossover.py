"""Where two BLAS threads start to beat one for the engine's dense rest-block kernels.

One evaluation of a model with a dense rest block of n rows costs a Cholesky (dpotrf)
and, with the exact gradient, an inverse from it (dpotri).  This times both at several n
with one thread and with every core, best of ``--repeats`` runs, and prints the
crossover that :data:`mlm_jupyter.engine.threads.MULTI_THREAD_MIN` encodes.  Run it on an
idle machine (the load average is printed): on a busy one a second thread waits for a
core and every size looks slower.

    python benchmarks/threads_crossover.py [--sizes 250,500,...] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import scipy.linalg as sla
import threadpoolctl


def _spd(n: int, rng: np.random.Generator) -> np.ndarray:
    G = rng.standard_normal((n, n // 4 + 1))
    return np.asfortranarray(G @ G.T + n * np.eye(n))


def _time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(n: int, threads: int, repeats: int) -> dict[str, float]:
    """Best seconds of potrf and of potrf + potri on an n x n SPD matrix."""
    A = _spd(n, np.random.default_rng(n))
    with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
        chol = _time(lambda: sla.lapack.dpotrf(A, lower=0), repeats)
        U = sla.lapack.dpotrf(A, lower=0)[0]
        inv = _time(lambda: sla.lapack.dpotri(U, lower=0), repeats)
    return {"potrf": chol, "potri": inv}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="200,400,600,800,1000,1200,1500,2000,3000,5000")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"load average {os.getloadavg()[0]:.2f}, {cores} cores")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        one = measure(n, 1, args.repeats)
        many = measure(n, cores, args.repeats)
        row = {"n": n, "one": one, "all": many}
        rows.append(row)
        print(f"n={n:5d}  potrf {one['potrf'] * 1e3:8.1f} / {many['potrf'] * 1e3:8.1f} ms   "
              f"potri {one['potri'] * 1e3:8.1f} / {many['potri'] * 1e3:8.1f} ms   "
              f"(1 thread / {cores})", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
