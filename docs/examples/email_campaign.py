"""Write a per-customer campaign export that looks like an e-mail tool's (for the README walk-through).

One row per customer and no customer id or date, as e-mail tools export a finished campaign: the
arm the tool assigned (``segment``: "Mens E-Mail", "Womens E-Mail" or the holdout "No E-Mail"),
pre-campaign history (``recency``, ``history_segment``, ``history``, ``mens``, ``womens``,
``zip_code``, ``newbie``, ``channel``) and two-week outcomes (``visit``, ``conversion`` flags and
``spend``). The rates are modelled on a well-known public e-mail experiment; the rows are
synthetic and seeded, so the same command writes the same bytes.

    python docs/examples/email_campaign.py campaign.csv [--rows 64000] [--seed 2026]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ARMS = ("Mens E-Mail", "Womens E-Mail", "No E-Mail")
#: Two-week visit and conversion rates per arm.
VISIT = {"Mens E-Mail": 0.183, "Womens E-Mail": 0.151, "No E-Mail": 0.106}
CONVERSION = {"Mens E-Mail": 0.0125, "Womens E-Mail": 0.0088, "No E-Mail": 0.0057}
HISTORY_BINS = (0, 100, 200, 350, 500, 750, 1000, np.inf)
HISTORY_LABELS = (
    "1) $0 - $100",
    "2) $100 - $200",
    "3) $200 - $350",
    "4) $350 - $500",
    "5) $500 - $750",
    "6) $750 - $1,000",
    "7) $1,000 +",
)


def make_campaign(rows: int = 64_000, seed: int = 2026) -> pd.DataFrame:
    """The export as a DataFrame: ``rows`` customers split evenly at random over the three arms."""
    rng = np.random.default_rng(seed)
    arm = rng.permutation(np.resize(np.array(ARMS, dtype=object), rows))
    history = np.round(np.clip(rng.lognormal(5.0, 0.9, rows), 29.99, 3_345.93), 2)
    mens = rng.random(rows) < 0.55
    womens = ~mens | (rng.random(rows) < 0.2)
    visit_p = np.array([VISIT[a] for a in arm]) * np.where(history > 500, 1.25, 0.95)
    visit = rng.random(rows) < visit_p
    convert_p = np.array([CONVERSION[a] for a in arm]) / np.array([VISIT[a] for a in arm])
    conversion = visit & (rng.random(rows) < convert_p)
    spend = np.where(conversion, np.round(rng.gamma(2.0, 60.0, rows) + 20, 2), 0.0)
    return pd.DataFrame(
        {
            "recency": rng.integers(1, 13, rows),
            "history_segment": pd.cut(history, HISTORY_BINS, labels=HISTORY_LABELS, right=False).astype(str),
            "history": history,
            "mens": mens.astype(int),
            "womens": womens.astype(int),
            "zip_code": rng.choice(["Suburban", "Urban", "Rural"], rows, p=[0.45, 0.40, 0.15]),
            "newbie": (rng.random(rows) < 0.5).astype(int),
            "channel": rng.choice(["Web", "Phone", "Multichannel"], rows, p=[0.44, 0.44, 0.12]),
            "segment": arm,
            "visit": visit.astype(int),
            "conversion": conversion.astype(int),
            "spend": spend,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=64_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    make_campaign(args.rows, args.seed).to_csv(args.out, index=False)
    print(args.out)


if __name__ == "__main__":
    main()
