"""Benchmark: fits on data where they live (issue 24), from Parquet files with DuckDB.

    python benchmarks/bigdata.py                  # 100M rows, equality on 5M, scaling
    python benchmarks/bigdata.py --rows 20000000  # a smaller run
    python benchmarks/bigdata.py --spark          # also Spark (local mode) scaling

Data: y_ij = 1 + 0.5 x_ij + 0.3 w_j + 0.2 x_ij w_j + u0j + u1j x_ij + e_ij with
100,000 clusters of 1,000 rows (x, e ~ N(0, 1); w, u0/0.8, u1/0.3 ~ N(0, 1) per cluster),
written by DuckDB itself with a counter-based generator (hash of the row number and a
seed: the same numbers whatever the thread count), in files of 10M rows to a folder that
is not committed (``--dir``, default /tmp/mlm_bigdata).  The model is
``y ~ x * w + (1 + x | g)``: a random intercept and slope and a cross-level interaction.

Each fit runs in a fresh Python process, so its peak RSS (DuckDB included: it runs in the
same process) is the fit's own.  Writes benchmarks/BIGDATA.md and bigdata.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FORMULA = "y ~ x * w + (1 + x | g)"
PER_FILE = 10_000_000
CLUSTER = 1_000  # rows per cluster in the big data
SEED = 20261201


def _uniform(counter: str, k: int) -> str:
    # 53 random bits of a 64-bit hash of (counter, stream k, seed), mapped into (0, 1)
    return (f"((hash({counter} * 16 + {k}, {SEED}) >> 11)::DOUBLE + 0.5) "
            "/ 9007199254740992.0")


def _normal(counter: str, k: int) -> str:
    a, b = _uniform(counter, 2 * k), _uniform(counter, 2 * k + 1)
    return f"(sqrt(-2 * ln({a})) * cos(2 * pi() * {b}))"


def generate(folder: Path, rows: int, cluster: int, label: str) -> list[str]:
    """Parquet files of ``rows`` rows (10M per file) in ``folder``; skipped when present."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for start in range(0, rows, PER_FILE):
        count = min(PER_FILE, rows - start)
        path = folder / f"{label}_{start // PER_FILE:03d}.parquet"
        files.append(str(path))
        if path.exists():
            continue
        con = duckdb.connect()
        i = f"(r + {start})"
        g = f"({i} // {cluster})"
        cid = f"({g} + 1000000007)"
        con.execute(f"""
            COPY (
              SELECT g, x, w, 1 + 0.5 * x + 0.3 * w + 0.2 * x * w + u0 + u1 * x + e AS y
              FROM (SELECT {g} AS g, {_normal(i, 0)} AS x, {_normal(cid, 1)} AS w,
                           0.8 * {_normal(cid, 2)} AS u0, 0.3 * {_normal(cid, 3)} AS u1,
                           {_normal(i, 4)} AS e
                    FROM range({count}) t(r))
            ) TO '{path}.tmp' (FORMAT PARQUET)""")
        os.replace(f"{path}.tmp", path)
    return files


CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import mlm_jupyter as mlm
kind, target, formula = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
t1 = time.perf_counter()
if kind == "parquet":
    res = mlm.fit(formula, target)
elif kind == "memory":
    import pandas as pd
    df = pd.concat([pd.read_parquet(p) for p in target], ignore_index=True)
    t1 = time.perf_counter()
    res = mlm.fit(formula, df)
else:
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    sdf = spark.read.parquet(*target)
    t1 = time.perf_counter()
    res = mlm.fit(formula, sdf)
t2 = time.perf_counter()
out = {"fit_s": t2 - t1, "import_s": t1 - t0, "nobs": res.nobs,
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "fixef": res.fixef.tolist(), "theta": res.theta.tolist(), "sigma": res.sigma,
       "objective": res.objective, "sdcor": res.varcorr["sdcor"].tolist(),
       "converged": res.converged, "n_evals": res.optimization.n_evals}
print("RESULT" + json.dumps(out))
"""


def run(kind: str, target: list[str] | str, formula: str = FORMULA) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, json.dumps(target), formula],
                          capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[6:])
    raise RuntimeError(f"{kind} fit failed:\n{proc.stderr[-3000:]}")


def max_rel(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) / max(abs(x), 1e-300) for x, y in zip(a, b, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/mlm_bigdata")
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--equal-rows", type=int, default=5_000_000)
    ap.add_argument("--spark", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    folder = Path(args.dir)
    free_gb = shutil.disk_usage(folder.parent if not folder.exists() else folder).free / 1e9
    print(f"free disk {free_gb:.0f} GB; load {os.getloadavg()}")
    record: dict = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="minutes"), "cores": os.cpu_count(), "python": platform.python_version(),
        "load_start": os.getloadavg(), "formula": FORMULA}
    t = time.perf_counter()
    big = generate(folder, args.rows, CLUSTER, "big")
    record["generate_s"] = time.perf_counter() - t
    # 5M rows: 100,000 clusters of 50 (the same number of clusters as the big data)
    small_cluster = max(1, args.equal_rows // 100_000)
    small = generate(folder / "equal", args.equal_rows, small_cluster, "equal")
    mem = run("memory", small)
    pq = run("parquet", small)
    record["equality"] = {
        "rows": args.equal_rows, "memory": mem, "parquet": pq,
        "fixef_rel": max_rel(mem["fixef"], pq["fixef"]),
        "theta_rel": max_rel(mem["theta"], pq["theta"]),
        "sigma_rel": abs(mem["sigma"] - pq["sigma"]) / mem["sigma"],
        "sdcor_rel": max_rel(mem["sdcor"], pq["sdcor"]),
        "objective_diff": pq["objective"] - mem["objective"],
    }
    print("equality", {k: v for k, v in record["equality"].items() if k.endswith(("rel",
                                                                                  "diff"))})
    scaling = []
    sizes = sorted({min(len(big), k) for k in (1, 3, len(big))})
    for k in sizes:
        files = big[:k]
        runs = [run("parquet", folder.as_posix() + "/big_*.parquet" if k == len(big) else files)
                for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["fit_s"])
        best["rows"] = best["nobs"]
        best["load"] = os.getloadavg()
        scaling.append(best)
        print("duckdb", k, best["nobs"], f"{best['fit_s']:.1f}s", f"{best['peak_rss_mb']:.0f}MB",
              best["load"])
    record["duckdb"] = scaling
    if args.spark:
        spark_runs = []
        for k in sizes[:2]:
            r = run("spark", big[:k])
            r["rows"] = r["nobs"]
            r["load"] = os.getloadavg()
            spark_runs.append(r)
            print("spark", k, r["nobs"], f"{r['fit_s']:.1f}s", r["load"])
        record["spark"] = spark_runs
    record["load_end"] = os.getloadavg()
    (HERE / "bigdata.json").write_text(json.dumps(record, indent=1))
    render(record)


def render(rec: dict) -> None:
    big = rec["duckdb"][-1]
    eq = rec["equality"]
    equal = max(eq["fixef_rel"], eq["theta_rel"], eq["sigma_rel"]) <= 1e-8
    lines = [
        "# Benchmark: fits on data where they live (Parquet via DuckDB, Spark)",
        "",
        f"Generated by `python benchmarks/bigdata.py{' --spark' if 'spark' in rec else ''}` "
        f"on {rec['date']}; {rec['cores']} cores, Python {rec['python']}. Load average at "
        f"start/end: {rec['load_start'][0]:.1f} / {rec['load_end'][0]:.1f} (the machine is "
        "shared: other jobs ran on the same 2 cores).",
        "",
        f"Model `{rec['formula']}`: random intercept and slope, cross-level interaction; "
        "100,000 clusters. Each fit in a fresh process; time = `mlm.fit` alone (reading, "
        "both aggregation passes, optimisation, assembly); peak RSS of that process "
        "(DuckDB included).",
        "",
        "## Targets (issue 24)",
        "",
        "| target | measured | status |",
        "|---|---|---|",
        f"| {big['rows']:,} rows from Parquet ≤ 60 s | {big['fit_s']:.1f} s | "
        f"{'met' if big['fit_s'] <= 60 else '**missed**'} |",
        f"| … ≤ 2 GB peak memory | {big['peak_rss_mb']:.0f} MB | "
        f"{'met' if big['peak_rss_mb'] <= 2048 else '**missed**'} |",
        f"| estimates = in-memory fit ({eq['rows']:,} rows) to 1e-8 relative | fixef "
        f"{eq['fixef_rel']:.1e}, θ {eq['theta_rel']:.1e}, σ {eq['sigma_rel']:.1e}, SDs/corr "
        f"{eq['sdcor_rel']:.1e} | "
        f"{'met' if equal else '**missed**'} |",
        "",
        f"The in-memory fit of the {eq['rows']:,} rows took {eq['memory']['fit_s']:.1f} s "
        f"(after reading them into pandas) and {eq['memory']['peak_rss_mb']:.0f} MB; from "
        f"Parquet {eq['parquet']['fit_s']:.1f} s and {eq['parquet']['peak_rss_mb']:.0f} MB.",
        "",
        "## How time grows with rows (DuckDB, 2 threads)",
        "",
        "| rows | fit s | rows / s | peak RSS MB | evaluations | load |",
        "|---|---|---|---|---|---|",
    ]
    for r in rec["duckdb"]:
        lines.append(f"| {r['rows']:,} | {r['fit_s']:.1f} | {r['rows'] / r['fit_s']:,.0f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['n_evals']} | {r['load'][0]:.1f} |")
    if "spark" in rec:
        lines += ["", "## Spark, local mode (2 cores)", "",
                  "| rows | fit s | rows / s | load |", "|---|---|---|---|"]
        for r in rec["spark"]:
            lines.append(f"| {r['rows']:,} | {r['fit_s']:.1f} | {r['rows'] / r['fit_s']:,.0f} "
                         f"| {r['load'][0]:.1f} |")
    lines += ["", SCALING_NOTE]
    (HERE / "BIGDATA.md").write_text("\n".join(lines) + "\n")


SCALING_NOTE = """## Scaling on a cluster (reasoning)

The rows are read twice (a moments pass and the per-cell cross-products pass, plus a
small pass for counts and learnt constants); both are `GROUP BY` aggregations whose
per-row work is a fixed number of multiply-adds (k(k+1)/2 products of the k model
columns), so time is linear in the rows, as the table above shows, and divides over
executors: Spark computes partial sums per partition and merges them (a shuffle of one
partial aggregate per cell and partition, not of rows).  What does not grow with the
rows is the rest: the per-cell aggregates that come to the driver (for 100,000 clusters
and a 5-column model, 100,000 x 16 numbers, ~13 MB), and the optimisation, which costs
O(clusters x q³) per evaluation and never touches the rows.  So on a cluster the
aggregation time is about rows / (executors x per-core rate) plus Spark's fixed job
overheads (seconds per query, a handful of queries), and the driver time depends only on
the number of clusters.  Spark's start-up and job scheduling dominate small data (see
the local-mode table)."""


if __name__ == "__main__":
    main()
