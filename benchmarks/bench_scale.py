"""Scale benchmark: outcomes + sufficient statistics over a large Parquet event log in DuckDB.

Generates (once, cached under benchmarks/.cache/, ignored by git) an assignment of ``--customers``
customers (6 segments, 4 variants) and ``--rows`` event rows as Parquet files, with messy rows
(unknown customers, before the send, after the window, exact duplicates, unknown event names).
Then, each step in a fresh subprocess so that its peak memory is its own, prints seconds and peak
resident memory for:

* abkit's ``duckdb_sufficient_statistics`` (outcomes + sufficient statistics + diagnostics);
* the minimum work attribution needs (issue 14): one DuckDB query joining the same Parquet files to
  the assignment and grouping by (variant, segment, event), with the same DuckDB settings;
* assignment of every customer in DuckDB SQL (``abkit.sql.assignment_sql``, block and hash);
* agreement with the pandas path (``abkit.outcomes`` + ``abkit.sufficient_statistics`` on the same
  rows loaded into memory): counts and diagnostics identical, sums to a relative 1e-12. By default
  only up to 20M event rows (pandas holds every row in memory; ``--pandas`` forces it).

With ``--repeat N`` abkit and the minimum run N times, alternately, and the medians are reported,
with the ratio abkit / minimum in wall-clock seconds and in CPU seconds (user + system of the step's
process, which other processes on a shared machine disturb less); the load average is printed too.

Usage: python benchmarks/bench_scale.py [--rows 100000000] [--customers N] [--threads T] [--repeat N]
                                        [--pandas | --no-pandas] [--no-assign]
Issue 7 targets (2-core machine): statistics under 60 s and 4 GB; assignment of 10M under 5 s.
Issue 14 target: abkit <= 2x the minimum at 10M and 100M events, peak memory <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
SEND = "2026-06-01"
MEMORY_LIMIT = "3GB"  # DuckDB spills to benchmarks/.cache/spill beyond this (target: under 4 GB peak)
METRICS = ["delivered", "opened", "clicked", "repurchased", "unsubscribed", "complained", "revenue"]


def _paths(rows: int, customers: int) -> tuple[Path, Path]:
    folder = CACHE / f"scale-{rows}-{customers}"
    return folder / "assigned.parquet", folder / "events"


def generate(rows: int, customers: int) -> tuple[Path, Path]:
    """Write the synthetic assignment and event log once (in DuckDB, streaming, low memory)."""
    import duckdb

    assigned, events = _paths(rows, customers)
    if (events / "_done").exists():
        return assigned, events
    events.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"preserve_insertion_order": False})
    t0 = time.perf_counter()
    con.execute(
        f"""COPY (SELECT 'C' || lpad(CAST(range AS VARCHAR), 9, '0') AS customer_id,
                  (['high_value', 'high_frequency', 'one_time', 'other', 'new', 'vip'])[1 + range % 6]
                    AS segment,
                  (['coupon', 'message', 'reminder', 'holdout'])[1 + (hash(range) % 4)::INT] AS variant
            FROM range({customers})) TO '{assigned}' (FORMAT parquet)"""
    )
    # events: ~48% delivered, 20% opened, 8% clicked, 16% purchased, a few unsubscribes/complaints;
    # 1% unknown customers, 2/17 before the send, 1/17 after the window, 0.1% unknown names
    con.execute(
        f"""COPY (
          WITH r AS (SELECT range AS i, hash(range) AS h FROM range({rows}))
          SELECT
            CASE WHEN h % 100 = 0 THEN 'X' || CAST(h % 1000 AS VARCHAR)
                 ELSE 'C' || lpad(CAST((h // 7) % {customers} AS VARCHAR), 9, '0') END AS customer_id,
            CASE WHEN h % 1000 = 1 THEN 'bounced'
                 ELSE (['delivered','delivered','delivered','delivered','delivered','delivered',
                        'opened','opened','opened','clicked','purchased','purchased','unsubscribed',
                        'complained'])[1 + ((h // 100) % 14)::INT] END AS event,
            TIMESTAMP '{SEND}' + to_microseconds((CAST((h // 1400) % (17 * 86400) AS BIGINT) - 2 * 86400)
                                                  * 1000000) AS timestamp,
            CASE WHEN (['delivered','delivered','delivered','delivered','delivered','delivered',
                        'opened','opened','opened','clicked','purchased','purchased','unsubscribed',
                        'complained'])[1 + ((h // 100) % 14)::INT] = 'purchased' AND h % 1000 <> 1
                 THEN round(5 + ((h // 3) % 20000) / 100.0, 2) ELSE NULL END AS amount
          FROM r
        ) TO '{events}' (FORMAT parquet, PER_THREAD_OUTPUT true, ROW_GROUP_SIZE 1000000)"""
    )
    (events / "_done").write_text("ok")
    print(f"generated {rows:,} event rows for {customers:,} customers in {time.perf_counter() - t0:.1f} s")
    return assigned, events


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def minimum_sql(assigned: Path, events: Path) -> str:
    """The least work attribution needs: the events joined to the assignment, grouped by (variant,
    segment, event), over the same files abkit reads (listed literally, as abkit lists them)."""
    from abkit.engines.duckdb import resolve_files
    from abkit.sql import path_literal

    _, files = resolve_files(str(events / "*.parquet"), "events")
    listed = "[" + ", ".join(path_literal(f) for f in files) + "]"
    return (
        "SELECT a.variant, a.segment, e.event, COUNT(*) AS n, SUM(e.amount) AS amount\n"
        f"FROM read_parquet({listed}) AS e JOIN read_parquet({path_literal(assigned)}) AS a\n"
        "  ON e.customer_id = a.customer_id\n"
        "GROUP BY a.variant, a.segment, e.event"
    )


def _step(name: str, rows: int, customers: int, threads: int | None) -> dict:
    """One measured step (runs in its own process)."""
    import duckdb

    assigned, events = _paths(rows, customers)
    glob = str(events / "*.parquet")
    t0, c0 = time.perf_counter(), _cpu_seconds()
    out: dict = {}
    if name == "abkit":
        from abkit.engines.duckdb import duckdb_sufficient_statistics

        spill = CACHE / "spill"
        spill.mkdir(parents=True, exist_ok=True)
        agg = duckdb_sufficient_statistics(
            assigned,
            glob,
            METRICS,
            send_date=SEND,
            window_days=14,
            segment_col="segment",
            threads=threads,
            memory_limit=MEMORY_LIMIT,
            temp_directory=str(spill),
        )
        out["diagnostics"] = dict(
            zip(agg.diagnostics["reason"], agg.diagnostics["rows"].tolist(), strict=True)
        )
        out["stat_rows"] = len(agg.statistics)
        agg.statistics.to_pickle(CACHE / f"abkit-{rows}-{customers}.pkl")
    elif name == "minimum":
        from abkit.engines.duckdb import connect

        con = connect(threads, MEMORY_LIMIT, str(CACHE / "spill"))  # abkit's settings
        out["groups"] = len(con.execute(minimum_sql(assigned, events)).fetchall())
    elif name == "pandas":
        import numpy as np
        import pandas as pd

        from abkit.attribution import outcomes
        from abkit.metrics import sufficient_statistics

        a = pd.read_parquet(assigned)
        e = pd.read_parquet(events, columns=["customer_id", "event", "timestamp", "amount"])
        out_df, diag = outcomes(a, e, send_date=SEND, window_days=14, return_diagnostics=True)
        ref = sufficient_statistics(out_df, METRICS, segment_col="segment")
        got = pd.read_pickle(CACHE / f"abkit-{rows}-{customers}.pkl")
        keys = ["metric", "kind", "segment", "variant", "n"]
        same_keys = got[keys].reset_index(drop=True).equals(ref[keys].reset_index(drop=True))
        rel = max(
            float(np.max(np.abs(got[c].to_numpy() - want) / np.maximum(np.abs(want), 1)))
            for c in ("sum", "sum_sq")
            for want in [ref[c].to_numpy()]
        )
        out["agree"] = bool(same_keys and rel <= 1e-12)
        out["max_rel_diff"] = rel
        out["pandas_diagnostics"] = dict(zip(diag["reason"], diag["rows"].tolist(), strict=True))
    elif name in ("assign-block", "assign-hash"):
        from abkit.sql import assignment_sql

        con = duckdb.connect(
            config={"preserve_insertion_order": False, **({"threads": threads} if threads else {})}
        )
        sql = assignment_sql(
            "duckdb",
            table=f"(SELECT * FROM read_parquet('{assigned}'))",
            salt="bench-2026",
            variants={"coupon": 1, "message": 1, "reminder": 1, "holdout": 1},
            strata="segment",
            method=name.split("-")[1],
            variant_col="arm",
        )
        out["counts"] = con.execute(f"SELECT arm, COUNT(*) FROM ({sql}) GROUP BY 1 ORDER BY 1").fetchall()
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = _cpu_seconds() - c0
    out["peak_mb"] = _peak_mb()
    return out


def _run_step(step: str, rows: int, customers: int, threads: int | None) -> dict:
    cmd = [sys.executable, __file__, "--rows", str(rows), "--customers", str(customers), "--step", step]
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    if proc.returncode != 0:
        sys.exit(f"step {step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000, help="event rows (default 100M)")
    parser.add_argument("--customers", type=int, default=None, help="assigned customers (default rows / 10)")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of abkit and the minimum (medians)")
    parser.add_argument("--no-assign", action="store_true", help="skip the assignment steps")
    parser.add_argument(
        "--pandas",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check agreement with the pandas path (default: up to 20M event rows)",
    )
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    customers = args.customers or max(1, args.rows // 10)
    if args.step:
        print(json.dumps(_step(args.step, args.rows, customers, args.threads), default=str))
        return
    generate(args.rows, customers)
    load = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {"abkit": [], "minimum": []}
    for _ in range(max(1, args.repeat)):
        for step in runs:
            runs[step].append(_run_step(step, args.rows, customers, args.threads))
    med = {
        step: {k: statistics.median(r[k] for r in rs) for k in ("seconds", "cpu_seconds", "peak_mb")}
        for step, rs in runs.items()
    }
    a, m = med["abkit"], med["minimum"]
    n = len(runs["abkit"])
    print(
        f"scale: {args.rows:,} event rows, {customers:,} customers, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start, median of {n} run(s)"
    )
    print(
        f"abkit duckdb_sufficient_statistics: {a['seconds']:.1f} s ({a['cpu_seconds']:.1f} s CPU), "
        f"peak {a['peak_mb']:,.0f} MB"
    )
    print(
        f"minimum (join to the assignment, group by variant, segment, event): {m['seconds']:.1f} s "
        f"({m['cpu_seconds']:.1f} s CPU), peak {m['peak_mb']:,.0f} MB"
    )
    print(
        f"ratio abkit / minimum: {a['seconds'] / m['seconds']:.2f}x wall clock, "
        f"{a['cpu_seconds'] / m['cpu_seconds']:.2f}x CPU (target <= 2x)"
    )
    if n > 1:
        print(
            "runs (s): "
            + "; ".join(
                f"{step} " + ", ".join(f"{r['seconds']:.1f}" for r in rs) for step, rs in runs.items()
            )
        )
    print(f"diagnostics: {runs['abkit'][-1]['diagnostics']}")
    check = args.pandas if args.pandas is not None else args.rows <= 20_000_000
    if check:
        r = _run_step("pandas", args.rows, customers, args.threads)
        same_diag = r["pandas_diagnostics"] == runs["abkit"][-1]["diagnostics"]
        verdict = "identical" if r["agree"] and same_diag else "DIFFERENT"
        print(
            f"pandas path (outcomes + sufficient_statistics in memory): {verdict} "
            f"(counts and diagnostics {'equal' if same_diag else 'differ'}, sums within a relative "
            f"{r['max_rel_diff']:.1e}; {r['seconds']:.1f} s, peak {r['peak_mb']:,.0f} MB)"
        )
    else:
        print(
            f"pandas path not compared at {args.rows:,} rows (it loads every event row into memory; "
            "--pandas forces it)"
        )
    if args.no_assign:
        return
    for step in ("assign-block", "assign-hash"):
        r = _run_step(step, args.rows, customers, args.threads)
        print(
            f"{step} of {customers:,} customers in DuckDB SQL: {r['seconds']:.2f} s, "
            f"peak {r['peak_mb']:,.0f} MB"
        )


if __name__ == "__main__":
    main()
