"""Scale benchmark: outcomes + sufficient statistics over a large Parquet event log in DuckDB.

Generates (once, cached under benchmarks/.cache/, ignored by git) an assignment of ``--customers``
customers (6 segments, 4 variants) and ``--rows`` event rows as Parquet files, with messy rows
(unknown customers, before the send, after the window, exact duplicates, unknown event names).
Then, each step in a fresh subprocess so that its peak memory is its own, prints seconds and peak
resident memory for:

* abkit's ``duckdb_sufficient_statistics`` (outcomes + sufficient statistics + diagnostics);
* a plain DuckDB ``GROUP BY customer_id, event`` over the same files (the floor any engine pays);
* assignment of every customer in DuckDB SQL (``abkit.sql.assignment_sql``, block and hash).

Usage: python benchmarks/bench_scale.py [--rows 100000000] [--customers N] [--threads T]
Issue 7 targets (2-core machine): statistics under 60 s and 4 GB; assignment of 10M under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def _step(name: str, rows: int, customers: int, threads: int | None) -> dict:
    """One measured step (runs in its own process)."""
    import duckdb

    assigned, events = _paths(rows, customers)
    glob = str(events / "*.parquet")
    t0 = time.perf_counter()
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
    elif name == "groupby":
        con = duckdb.connect(
            config={"preserve_insertion_order": False, **({"threads": threads} if threads else {})}
        )
        out["groups"] = con.execute(
            f"SELECT COUNT(*), SUM(s) FROM (SELECT customer_id, event, COUNT(*) AS c, SUM(amount) AS s "
            f"FROM read_parquet('{glob}') GROUP BY customer_id, event)"
        ).fetchall()[0][0]
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
    out["peak_mb"] = _peak_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000, help="event rows (default 100M)")
    parser.add_argument("--customers", type=int, default=None, help="assigned customers (default rows / 10)")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--step", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    customers = args.customers or max(1, args.rows // 10)
    if args.step:
        print(json.dumps(_step(args.step, args.rows, customers, args.threads), default=str))
        return
    generate(args.rows, customers)
    results = {}
    for step in ("abkit", "groupby", "assign-block", "assign-hash"):
        cmd = [
            sys.executable,
            __file__,
            "--rows",
            str(args.rows),
            "--customers",
            str(customers),
            "--step",
            step,
        ]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode != 0:
            sys.exit(f"step {step} failed:\n{proc.stderr[-3000:]}")
        results[step] = json.loads(proc.stdout.strip().splitlines()[-1])
    a, g = results["abkit"], results["groupby"]
    print(f"scale: {args.rows:,} event rows, {customers:,} customers, {os.cpu_count()} cores")
    print(f"abkit duckdb_sufficient_statistics: {a['seconds']:.1f} s, peak {a['peak_mb']:,.0f} MB")
    print(f"plain DuckDB GROUP BY customer, event: {g['seconds']:.1f} s, peak {g['peak_mb']:,.0f} MB")
    print(f"ratio abkit / plain GROUP BY: {a['seconds'] / g['seconds']:.2f}x")
    print(f"diagnostics: {a['diagnostics']}")
    for step in ("assign-block", "assign-hash"):
        r = results[step]
        print(
            f"{step} of {customers:,} customers in DuckDB SQL: {r['seconds']:.2f} s, "
            f"peak {r['peak_mb']:,.0f} MB"
        )


if __name__ == "__main__":
    main()
