"""Synthetic win-back campaigns with known true effects, for the demo, the tests and the docs.

Two entry points:

* :func:`winback_campaign` draws a whole shop: a purchase history, a customer table with
  suppression flags, a seeded random assignment of the eligible dormant customers, the events
  that followed the send, and the table of true rates the events were drawn from.
* :func:`simulate_events` is the building block: given customers already assigned to variants
  (by :func:`abkit.assign`, say) and their segments, it draws what happened after the send.

Rates follow the domain notes: about 2% of contacted customers bounce, about 20% of delivered
customers open, about 15% of openers click (about 3% of the assigned), 2.5–6% of dormant customers
come back on their own within two weeks depending on the segment, unsubscribes are about 0.3% and
complaints about 0.05% of the delivered. The holdout is not contacted: it gets no deliveries,
opens, clicks, unsubscribes or complaints, and repurchases at the organic rate of its segment.

Planted effects (``effects``) are relative lifts, ``{variant: {segment: {metric: lift}}}``:

* ``"repurchased"``: lift of the repurchase probability of a *delivered* customer over the
  holdout's organic rate in the same segment (``0.8`` means 1.8 times the organic rate). Customers
  whose message bounced repurchase at the organic rate.
* ``"opened"``, ``"clicked"``, ``"unsubscribed"``, ``"complained"``: lift over the segment's base
  rate of a contacted customer (``segment_rates``), since the holdout has none of these events.
* The segment key ``"*"`` applies to every segment; a segment's own entry overrides it metric by
  metric. A variant absent from ``effects`` has no effect (all lifts 0).

The default effects (:data:`DEFAULT_EFFECTS`): the coupon multiplies one-time buyers' repurchase
by 3 (and lifts other segments a little), the personalised message multiplies high-value
customers' repurchase by 2.2, the reminder does nothing. Every draw is seeded: same arguments,
same frames.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abkit._io import write_frame
from abkit._validate import check_columns, check_finite, check_probability
from abkit.assignment import unit_hash
from abkit.errors import DataError, FileExistsAbkitError, ParameterError

__all__ = [
    "DEFAULT_EFFECTS",
    "DEFAULT_SEGMENT_RATES",
    "DEFAULT_VARIANTS",
    "EVENT_TYPES",
    "RECENCY_BANDS",
    "SEGMENTS",
    "TARGETING_ARMS",
    "TARGETING_COSTS",
    "TARGETING_MARGIN",
    "ProgrammeHistory",
    "TargetingTest",
    "WinbackCampaign",
    "default_messy_counts",
    "programme_history",
    "simulate_events",
    "targeting_test",
    "true_rates",
    "winback_campaign",
]

SEGMENTS: tuple[str, ...] = ("high_value", "high_frequency", "one_time", "other")
EVENT_TYPES: tuple[str, ...] = ("delivered", "opened", "clicked", "purchased", "unsubscribed", "complained")
LIFT_METRICS: tuple[str, ...] = ("repurchased", "opened", "clicked", "unsubscribed", "complained")
_RATE_KEYS: tuple[str, ...] = (*LIFT_METRICS, "amount_median", "amount_sigma")

#: Base rates per segment. ``repurchased``: organic probability of at least one purchase within the
#: attribution window (the holdout's rate); ``opened``: P(open | delivered); ``clicked``:
#: P(click | opened); ``unsubscribed``, ``complained``: P(event | delivered); purchase amounts are
#: lognormal with median ``amount_median`` and log-scale standard deviation ``amount_sigma``.
DEFAULT_SEGMENT_RATES: dict[str, dict[str, float]] = {
    "high_value": {
        "repurchased": 0.045,
        "opened": 0.22,
        "clicked": 0.16,
        "unsubscribed": 0.003,
        "complained": 0.0005,
        "amount_median": 150.0,
        "amount_sigma": 0.5,
    },
    "high_frequency": {
        "repurchased": 0.06,
        "opened": 0.25,
        "clicked": 0.17,
        "unsubscribed": 0.002,
        "complained": 0.0004,
        "amount_median": 45.0,
        "amount_sigma": 0.45,
    },
    "one_time": {
        "repurchased": 0.025,
        "opened": 0.17,
        "clicked": 0.13,
        "unsubscribed": 0.0035,
        "complained": 0.0006,
        "amount_median": 35.0,
        "amount_sigma": 0.6,
    },
    "other": {
        "repurchased": 0.035,
        "opened": 0.20,
        "clicked": 0.15,
        "unsubscribed": 0.003,
        "complained": 0.0005,
        "amount_median": 50.0,
        "amount_sigma": 0.55,
    },
}

#: Variant weights of the demo: a 20% no-contact holdout and three email treatments.
DEFAULT_VARIANTS: dict[str, float] = {"holdout": 0.2, "coupon": 0.3, "personal": 0.3, "reminder": 0.2}

#: Planted effects of the demo (relative lifts; see the module docstring for the structure).
DEFAULT_EFFECTS: dict[str, dict[str, dict[str, float]]] = {
    "coupon": {
        "*": {"opened": 0.10, "clicked": 0.30},
        "one_time": {"repurchased": 2.0},
        "other": {"repurchased": 0.3},
        "high_frequency": {"repurchased": 0.15},
        "high_value": {"repurchased": 0.05},
    },
    "personal": {
        "*": {"opened": 0.15},
        "high_value": {"repurchased": 1.2, "opened": 0.30},
        "high_frequency": {"repurchased": 0.25},
    },
    "reminder": {},
}

_TRUTH_METRICS: tuple[tuple[str, str], ...] = (
    ("delivered", "proportion"),
    ("opened", "proportion"),
    ("clicked", "proportion"),
    ("repurchased", "proportion"),
    ("revenue", "mean"),
    ("unsubscribed", "proportion"),
    ("complained", "proportion"),
)
_SEND_HOUR = 9  # messages leave at 09:00 on the send date
_DAY_S = 86_400


# ----------------------------------------------------------------------------------------------
# argument checks


def _suggest(value: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)


def _check_seed(seed: Any) -> int:
    return _check_int("seed", seed, minimum=0)


def _to_day(name: str, value: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}={value!r} is not a date; pass 'YYYY-MM-DD' or a datetime.date") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(f"{name}={value!r} is not a date; pass 'YYYY-MM-DD' or a datetime.date")
    if ts.tzinfo is not None:
        raise ParameterError(f"{name}={value!r} has a time zone; pass a plain date such as '2026-06-01'")
    if ts != ts.normalize():
        raise ParameterError(f"{name}={value!r} has a time of day; pass a plain date such as '2026-06-01'")
    return ts


def _holdout_names(holdout: str | Sequence[str] | None) -> tuple[str, ...]:
    if holdout is None:
        return ()
    if isinstance(holdout, str):
        return (holdout,)
    names = tuple(holdout)
    if not all(isinstance(h, str) for h in names):
        raise ParameterError(f"holdout must be a variant name or a list of names, got {holdout!r}")
    return names


def _check_segment_rates(
    segment_rates: Mapping[str, Mapping[str, float]] | None,
) -> dict[str, dict[str, float]]:
    if segment_rates is None:
        return {s: dict(r) for s, r in DEFAULT_SEGMENT_RATES.items()}
    if not isinstance(segment_rates, Mapping) or not segment_rates:
        raise ParameterError(
            "segment_rates must be a non-empty mapping segment -> {rate name: value}, "
            f"got {segment_rates!r}"
        )
    out: dict[str, dict[str, float]] = {}
    for seg, rates in segment_rates.items():
        if not isinstance(rates, Mapping):
            raise ParameterError(
                f"segment_rates[{seg!r}] must be a mapping of rate name -> value, got {rates!r}"
            )
        missing = [k for k in _RATE_KEYS if k not in rates]
        unknown = [k for k in rates if k not in _RATE_KEYS]
        if unknown:
            k = str(unknown[0])
            raise ParameterError(
                f"segment_rates[{seg!r}] has unknown key {k!r}{_suggest(k, _RATE_KEYS)}; "
                f"known keys: {', '.join(_RATE_KEYS)}"
            )
        if missing:
            raise ParameterError(
                f"segment_rates[{seg!r}] lacks {', '.join(map(repr, missing))}; give every one of "
                f"{', '.join(_RATE_KEYS)}"
            )
        for k in LIFT_METRICS:
            check_probability(f"segment_rates[{seg!r}][{k!r}]", rates[k])
        for k in ("amount_median", "amount_sigma"):
            v = float(check_finite(f"segment_rates[{seg!r}][{k!r}]", rates[k]))
            if v <= 0:
                raise ParameterError(f"segment_rates[{seg!r}][{k!r}] must be positive, got {rates[k]!r}")
        out[str(seg)] = {k: float(rates[k]) for k in _RATE_KEYS}
    return out


def _check_effects(
    effects: Mapping[str, Mapping[str, Mapping[str, float]]] | None,
    *,
    variants: Sequence[str],
    segments: Sequence[str],
    holdouts: Sequence[str],
) -> dict[str, dict[str, dict[str, float]]]:
    if effects is None:
        effects = DEFAULT_EFFECTS
    if not isinstance(effects, Mapping):
        raise ParameterError(
            f"effects must be a mapping {{variant: {{segment: {{metric: relative lift}}}}}}, got {effects!r}"
        )
    out: dict[str, dict[str, dict[str, float]]] = {}
    for var, by_seg in effects.items():
        if var in holdouts:
            raise ParameterError(
                f"effects[{var!r}]: {var!r} is the holdout; effects are lifts over the holdout, "
                "so the holdout cannot have one"
            )
        if var not in variants:
            raise ParameterError(
                f"effects names variant {var!r}{_suggest(str(var), variants)}, which is not among the "
                f"variants {list(variants)}; pass effects for your variants (effects={{}} for no effect)"
            )
        if not isinstance(by_seg, Mapping):
            raise ParameterError(
                f"effects[{var!r}] must be a mapping segment -> {{metric: lift}}, got {by_seg!r}"
            )
        out[var] = {}
        for seg, lifts in by_seg.items():
            if seg != "*" and seg not in segments:
                raise ParameterError(
                    f"effects[{var!r}] names segment {seg!r}{_suggest(str(seg), segments)}, which has no "
                    f"base rates; known segments: {', '.join(segments)} (or '*' for all)"
                )
            if not isinstance(lifts, Mapping):
                raise ParameterError(
                    f"effects[{var!r}][{seg!r}] must be a mapping metric -> lift, got {lifts!r}"
                )
            for metric, lift in lifts.items():
                if metric not in LIFT_METRICS:
                    raise ParameterError(
                        f"effects[{var!r}][{seg!r}] names metric {metric!r}"
                        f"{_suggest(str(metric), LIFT_METRICS)}; "
                        f"known metrics: {', '.join(LIFT_METRICS)}"
                    )
                value = float(check_finite(f"effects[{var!r}][{seg!r}][{metric!r}]", lift))
                if value <= -1:
                    raise ParameterError(
                        f"effects[{var!r}][{seg!r}][{metric!r}]={lift!r} is a relative lift of -100% or "
                        "less; a rate cannot fall below zero, pass a lift above -1"
                    )
            out[var][seg] = {m: float(v) for m, v in lifts.items()}
    return out


# ----------------------------------------------------------------------------------------------
# true rates


@dataclass(frozen=True)
class _Rates:
    """Per (variant, segment) probabilities, arrays of shape (n_variants, n_segments)."""

    variants: tuple[str, ...]
    segments: tuple[str, ...]
    contacted: np.ndarray  # (n_variants,) bool
    organic: np.ndarray  # (n_segments,) P(repurchase) without contact
    treated: np.ndarray  # P(repurchase | delivered)
    opened: np.ndarray  # P(open | delivered)
    clicked: np.ndarray  # P(click | opened)
    unsubscribed: np.ndarray  # P(unsubscribe | delivered)
    complained: np.ndarray  # P(complaint | delivered)
    amount_median: np.ndarray  # (n_segments,)
    amount_sigma: np.ndarray  # (n_segments,)


def _resolve_rates(
    variants: Sequence[str],
    segments: Sequence[str],
    *,
    effects: Mapping[str, Mapping[str, Mapping[str, float]]] | None,
    segment_rates: Mapping[str, Mapping[str, float]] | None,
    holdout: str | Sequence[str] | None,
) -> _Rates:
    rates = _check_segment_rates(segment_rates)
    holdouts = _holdout_names(holdout)
    variants = tuple(variants)
    segments = tuple(segments)
    unknown = [s for s in segments if s not in rates]
    if unknown:
        raise ParameterError(
            f"segment {unknown[0]!r}{_suggest(str(unknown[0]), list(rates))} has no base rates; known "
            f"segments: {', '.join(rates)}. Pass segment_rates={{...}} with an entry for every segment"
        )
    if effects is None:
        # the defaults describe the demo's variants: keep those present, refuse if none is
        effects = {v: e for v, e in DEFAULT_EFFECTS.items() if v in variants}
        if not effects and set(variants) - set(holdouts):
            raise ParameterError(
                f"the default effects are for variants {list(DEFAULT_EFFECTS)}, and the variants are "
                f"{list(variants)}; pass effects={{...}} for your variants (effects={{}} for no effect)"
            )
    eff = _check_effects(effects, variants=variants, segments=list(rates), holdouts=holdouts)
    nv = len(variants)
    base = {m: np.array([rates[s][m] for s in segments]) for m in _RATE_KEYS}
    lifted: dict[str, np.ndarray] = {}
    for metric in LIFT_METRICS:
        arr = np.tile(base[metric], (nv, 1))
        for vi, var in enumerate(variants):
            by_seg = eff.get(var, {})
            for si, seg in enumerate(segments):
                lift = by_seg.get(seg, {}).get(metric, by_seg.get("*", {}).get(metric, 0.0))
                arr[vi, si] *= 1.0 + lift
        if np.any(arr > 1):
            vi, si = (int(i[0]) for i in np.nonzero(arr > 1))
            raise ParameterError(
                f"effects give variant {variants[vi]!r}, segment {segments[si]!r} a {metric} probability of "
                f"{arr[vi, si]:.4g} > 1; lower the lift"
            )
        lifted[metric] = arr
    contacted = np.array([v not in holdouts for v in variants], dtype=bool)
    return _Rates(
        variants=variants,
        segments=segments,
        contacted=contacted,
        organic=base["repurchased"],
        treated=lifted["repurchased"],
        opened=lifted["opened"],
        clicked=lifted["clicked"],
        unsubscribed=lifted["unsubscribed"],
        complained=lifted["complained"],
        amount_median=base["amount_median"],
        amount_sigma=base["amount_sigma"],
    )


def true_rates(
    segments: Sequence[str] = SEGMENTS,
    variants: Sequence[str] = tuple(DEFAULT_VARIANTS),
    *,
    effects: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    segment_rates: Mapping[str, Mapping[str, float]] | None = None,
    holdout: str | Sequence[str] | None = "holdout",
    bounce_rate: float = 0.02,
    repeat_rate: float = 0.1,
) -> pd.DataFrame:
    """The true expected outcome per assigned customer, per segment × variant × metric.

    The values are what :func:`simulate_events` draws from, read per *assigned* customer (intention
    to treat, the convention of ``abkit.outcomes``): ``delivered``, ``opened``, ``clicked``,
    ``repurchased`` (at least one purchase in the attribution window), ``unsubscribed`` and
    ``complained`` are probabilities; ``revenue`` is the expected purchase value in the window
    (zeros included): P(repurchase) × (1 + ``repeat_rate``) × the lognormal mean
    ``amount_median × exp(amount_sigma² / 2)``. ``holdout_value``, ``abs_lift`` and ``rel_lift``
    compare with the holdout of the same segment (NaN without a holdout or when it is zero).

    >>> t = true_rates(["one_time"], ["holdout", "coupon"])
    >>> row = t[(t.metric == "repurchased") & (t.variant == "coupon")].iloc[0]
    >>> round(float(row.value), 4), round(float(row.holdout_value), 4)
    (0.074, 0.025)
    """
    check_probability("bounce_rate", bounce_rate)
    repeat = float(check_finite("repeat_rate", repeat_rate))
    if not 0 <= repeat < 1:
        raise ParameterError(f"repeat_rate must be in [0, 1), got {repeat_rate!r}")
    r = _resolve_rates(variants, segments, effects=effects, segment_rates=segment_rates, holdout=holdout)
    b = float(bounce_rate)
    c = r.contacted[:, None]
    delivered = np.where(c, 1.0 - b, 0.0) * np.ones((len(r.variants), len(r.segments)))
    values = {
        "delivered": delivered,
        "opened": delivered * r.opened,
        "clicked": delivered * r.opened * r.clicked,
        "repurchased": np.where(c, (1 - b) * r.treated + b * r.organic, r.organic),
        "unsubscribed": delivered * r.unsubscribed,
        "complained": delivered * r.complained,
    }
    mean_amount = r.amount_median * np.exp(r.amount_sigma**2 / 2)
    values["revenue"] = values["repurchased"] * (1 + repeat) * mean_amount
    holdouts = _holdout_names(holdout)
    hidx = next((i for i, v in enumerate(r.variants) if v in holdouts), None)
    rows = []
    for metric, kind in _TRUTH_METRICS:
        arr = values[metric]
        for si, seg in enumerate(r.segments):
            base = float(arr[hidx, si]) if hidx is not None else math.nan
            for vi, var in enumerate(r.variants):
                v = float(arr[vi, si])
                rel = (v / base - 1.0) if base and not math.isnan(base) else math.nan
                rows.append((seg, var, metric, kind, v, base, v - base, rel))
    out = pd.DataFrame(
        rows,
        columns=["segment", "variant", "metric", "kind", "value", "holdout_value", "abs_lift", "rel_lift"],
    )
    out["per"] = "assigned customer"
    return out


# ----------------------------------------------------------------------------------------------
# events


def default_messy_counts(n_assigned: int) -> dict[str, int]:
    """Number of messy rows :func:`simulate_events` adds by default for ``n_assigned`` customers.

    Duplicates are 0.2% of the assigned customers, events of unknown customers and events before
    the send 0.05% each, each rounded up (so any non-empty campaign has some of each).

    >>> default_messy_counts(10_000)
    {'duplicates': 20, 'unknown_customers': 5, 'before_send': 5}
    """
    n = _check_int("n_assigned", n_assigned, minimum=0)
    return {
        "duplicates": math.ceil(0.002 * n),
        "unknown_customers": math.ceil(0.0005 * n),
        "before_send": math.ceil(0.0005 * n),
    }


def _offsets(rng: np.random.Generator, start: np.ndarray, end: float, a: float, b: float) -> np.ndarray:
    """Seconds in [start, end): start + (end - start) × Beta(a, b), floored, at most end − 1."""
    x = start + (end - start) * rng.beta(a, b, size=start.shape)
    return np.minimum(np.floor(x), end - 1)


def _unknown_ids(ids: np.ndarray, k: int) -> np.ndarray:
    if k == 0:
        return ids[:0]
    if np.issubdtype(ids.dtype, np.integer):
        top = int(ids.max()) if len(ids) else 0
        return np.arange(top + 1, top + 1 + k, dtype=ids.dtype)
    known = set(ids.tolist())
    prefix = "unknown-"
    while any(str(i).startswith(prefix) for i in known):
        prefix = "x" + prefix
    return np.array([f"{prefix}{i:06d}" for i in range(1, k + 1)], dtype=object)


def simulate_events(
    assigned: pd.DataFrame,
    *,
    seed: int,
    send_date: Any,
    window_days: int = 14,
    effects: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    variant_col: str = "variant",
    segment_col: str | None = "segment",
    holdout: str | Sequence[str] | None = "holdout",
    id_col: str = "customer_id",
    segment_rates: Mapping[str, Mapping[str, float]] | None = None,
    default_segment: str = "other",
    bounce_rate: float = 0.02,
    hard_bounced_col: str | None = "hard_bounced",
    repeat_rate: float = 0.1,
    late_days: int = 7,
    n_duplicates: int | None = None,
    n_unknown: int | None = None,
    n_before_send: int | None = None,
    event_col: str = "event",
    timestamp_col: str = "timestamp",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Draw the events that followed a campaign send for customers already assigned to variants.

    Returns one row per event with columns ``customer_id``, ``event`` (one of ``delivered``,
    ``opened``, ``clicked``, ``purchased``, ``unsubscribed``, ``complained``), ``timestamp``
    (datetime64; messages leave at 09:00 on ``send_date``) and ``amount`` (purchases only, NaN
    otherwise), sorted by timestamp. Contacted customers (variants other than ``holdout``) are
    delivered unless they bounce (``bounce_rate``, or always when ``hard_bounced_col`` is a column
    and true); delivered customers open, openers click, delivered customers may unsubscribe or
    complain; every customer may repurchase (the holdout and the bounced at the organic rate of
    their segment, the delivered at the lifted rate) and a purchaser buys again in the window with
    probability ``repeat_rate``. Rates per segment come from ``segment_rates`` (default
    :data:`DEFAULT_SEGMENT_RATES`) and lifts from ``effects`` (default :data:`DEFAULT_EFFECTS`;
    structure in the module docstring); :func:`true_rates` gives the expected values.

    Realistic mess that an analysis must count, not swallow: organic purchases in the
    ``late_days`` after the attribution window (outside it), ``n_duplicates`` exact copies of
    distinct events, ``n_unknown`` events of customer ids absent from ``assigned`` and
    ``n_before_send`` copies of events moved 1–5 days before the send (defaults:
    :func:`default_messy_counts`, capped at the number of events; pass 0 to switch one off).
    Without ``segment_col`` every customer gets the rates of ``default_segment``.

    >>> units = pd.DataFrame({"customer_id": range(1000), "segment": "one_time",
    ...                       "variant": ["holdout", "coupon"] * 500})
    >>> ev = simulate_events(units, seed=1, send_date="2026-06-01", effects={"coupon": {}})
    >>> list(ev.columns)
    ['customer_id', 'event', 'timestamp', 'amount']
    >>> ev[ev.event == "delivered"].customer_id.nunique()  # 500 mailed, about 2% bounce
    493
    >>> bool((ev[ev.event == "delivered"].customer_id % 2 == 1).all())  # the holdout gets no mail
    True
    """
    frame, _ = _simulate_events(
        assigned,
        seed=seed,
        send_date=send_date,
        window_days=window_days,
        effects=effects,
        variant_col=variant_col,
        segment_col=segment_col,
        holdout=holdout,
        id_col=id_col,
        segment_rates=segment_rates,
        default_segment=default_segment,
        bounce_rate=bounce_rate,
        hard_bounced_col=hard_bounced_col,
        repeat_rate=repeat_rate,
        late_days=late_days,
        n_duplicates=n_duplicates,
        n_unknown=n_unknown,
        n_before_send=n_before_send,
        event_col=event_col,
        timestamp_col=timestamp_col,
        amount_col=amount_col,
    )
    return frame


def _simulate_events(
    assigned: Any,
    *,
    seed: Any,
    send_date: Any,
    window_days: Any,
    effects: Mapping[str, Mapping[str, Mapping[str, float]]] | None,
    variant_col: str,
    segment_col: str | None,
    holdout: str | Sequence[str] | None,
    id_col: str,
    segment_rates: Mapping[str, Mapping[str, float]] | None,
    default_segment: str,
    bounce_rate: float,
    hard_bounced_col: str | None,
    repeat_rate: float,
    late_days: Any,
    n_duplicates: int | None,
    n_unknown: int | None,
    n_before_send: int | None,
    event_col: str,
    timestamp_col: str,
    amount_col: str,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`simulate_events`, also returning the numbers of messy rows added."""
    seed = _check_seed(seed)
    send = _to_day("send_date", send_date)
    window_days = _check_int("window_days", window_days, minimum=1)
    late_days = _check_int("late_days", late_days, minimum=0)
    check_probability("bounce_rate", bounce_rate)
    repeat = float(check_finite("repeat_rate", repeat_rate))
    if not 0 <= repeat < 1:
        raise ParameterError(f"repeat_rate must be in [0, 1), got {repeat_rate!r}")
    if not isinstance(assigned, pd.DataFrame):
        raise ParameterError(f"assigned must be a pandas DataFrame, got {type(assigned).__name__}")
    cols = [id_col, variant_col] + ([segment_col] if segment_col is not None else [])
    check_columns(assigned, cols, what="assigned")
    n = len(assigned)
    if n == 0:
        raise DataError("assigned has no rows; assign customers to variants before simulating events")
    ids_s = assigned[id_col]
    if ids_s.isna().any():
        raise DataError(
            f"assigned[{id_col!r}] has {int(ids_s.isna().sum())} null id(s); every customer needs an id"
        )
    if ids_s.duplicated().any():
        dup = ids_s[ids_s.duplicated()].iloc[0]
        raise DataError(
            f"assigned[{id_col!r}] has {int(ids_s.duplicated().sum())} duplicate id(s), e.g. {dup!r}; "
            "each customer must be assigned once"
        )
    for name, col in (("variant_col", variant_col), ("segment_col", segment_col)):
        if col is not None and assigned[col].isna().any():
            raise DataError(f"assigned[{col!r}] ({name}) has {int(assigned[col].isna().sum())} null value(s)")
    ids = ids_s.to_numpy()
    var_codes, var_names = pd.factorize(assigned[variant_col].astype(str), sort=True)
    if segment_col is None:
        seg_codes = np.zeros(n, dtype=np.int64)
        seg_names: list[str] = [default_segment]
    else:
        seg_codes, seg_idx = pd.factorize(assigned[segment_col].astype(str), sort=True)
        seg_names = list(seg_idx)
    variants = list(var_names)
    r = _resolve_rates(variants, seg_names, effects=effects, segment_rates=segment_rates, holdout=holdout)
    counts = default_messy_counts(n)
    k_dup = (
        counts["duplicates"] if n_duplicates is None else _check_int("n_duplicates", n_duplicates, minimum=0)
    )
    k_unk = (
        counts["unknown_customers"] if n_unknown is None else _check_int("n_unknown", n_unknown, minimum=0)
    )
    k_pre = (
        counts["before_send"]
        if n_before_send is None
        else _check_int("n_before_send", n_before_send, minimum=0)
    )

    rng = np.random.default_rng(seed)
    contacted = r.contacted[var_codes]
    if hard_bounced_col is not None and hard_bounced_col in assigned.columns:
        hard = assigned[hard_bounced_col].fillna(False).to_numpy(dtype=bool)
    else:
        hard = np.zeros(n, dtype=bool)
    u = rng.random((7, n))
    delivered = contacted & ~hard & (u[0] >= bounce_rate)
    opened = delivered & (u[1] < r.opened[var_codes, seg_codes])
    clicked = opened & (u[2] < r.clicked[var_codes, seg_codes])
    unsub = delivered & (u[3] < r.unsubscribed[var_codes, seg_codes])
    compl = delivered & (u[4] < r.complained[var_codes, seg_codes])
    p_buy = np.where(delivered, r.treated[var_codes, seg_codes], r.organic[seg_codes])
    bought = u[5] < p_buy
    again = bought & (u[6] < repeat)
    # organic purchases keep happening after the window at the same daily rate
    late = rng.random(n) < np.minimum(1.0, r.organic[seg_codes] * late_days / window_days)

    window_s = float(window_days * _DAY_S)
    send_s = float(_SEND_HOUR * 3600)
    deliv_t = np.minimum(np.floor(send_s + rng.exponential(600.0, n)), window_s - 1)
    open_t = _offsets(rng, deliv_t, window_s, 1.0, 8.0)
    click_t = np.minimum(open_t + np.floor(rng.exponential(120.0, n)), window_s - 1)
    unsub_t = _offsets(rng, deliv_t, window_s, 1.0, 4.0)
    compl_t = _offsets(rng, deliv_t, window_s, 1.0, 4.0)
    buy_start = np.where(delivered, deliv_t, 0.0)
    buy_t = np.where(
        delivered, _offsets(rng, buy_start, window_s, 1.0, 2.0), _offsets(rng, buy_start, window_s, 1.0, 1.0)
    )
    again_t = _offsets(rng, buy_t, window_s, 1.0, 1.0)
    late_t = window_s + np.floor(rng.random(n) * max(late_days, 1) * _DAY_S)

    def amounts(size: int, segs: np.ndarray) -> np.ndarray:
        draw = rng.lognormal(np.log(r.amount_median[segs]), r.amount_sigma[segs], size)
        return np.maximum(np.round(draw, 2), 0.01)

    parts = [
        (delivered, 0, deliv_t),
        (opened, 1, open_t),
        (clicked, 2, click_t),
        (bought, 3, buy_t),
        (again, 3, again_t),
        (late, 3, late_t),
        (unsub, 4, unsub_t),
        (compl, 5, compl_t),
    ]
    rows_l, codes_l, times_l = [], [], []
    for mask, code, times in parts:
        idx = np.flatnonzero(mask)
        rows_l.append(idx)
        codes_l.append(np.full(idx.size, code, dtype=np.int8))
        times_l.append(times[idx])
    rows = np.concatenate(rows_l)
    codes = np.concatenate(codes_l)
    times = np.concatenate(times_l)
    amount = np.full(rows.size, np.nan)
    is_buy = codes == 3
    amount[is_buy] = amounts(int(is_buy.sum()), seg_codes[rows[is_buy]])

    # messy rows: exact duplicates, events moved before the send, events of unknown customers
    m = rows.size
    dup = rng.choice(m, size=min(k_dup, m), replace=False) if m else np.array([], dtype=np.int64)
    pre = rng.choice(m, size=min(k_pre, m), replace=False) if m else np.array([], dtype=np.int64)
    pre_t = -rng.integers(_DAY_S, 5 * _DAY_S, size=pre.size).astype(float)
    unk_codes = rng.choice(np.array([1, 3], dtype=np.int8), size=k_unk)
    unk_t = np.floor(rng.random(k_unk) * window_s)
    unk_amount = np.where(unk_codes == 3, amounts(k_unk, np.zeros(k_unk, dtype=np.int64)), np.nan)
    all_rows = np.concatenate([rows, rows[dup], rows[pre], np.full(k_unk, -1)])
    all_codes = np.concatenate([codes, codes[dup], codes[pre], unk_codes])
    all_times = np.concatenate([times, times[dup], pre_t, unk_t])
    all_amount = np.concatenate([amount, amount[dup], amount[pre], unk_amount])
    unk_ids = _unknown_ids(ids, k_unk)
    known_rows = all_rows[: all_rows.size - k_unk]
    if np.issubdtype(ids.dtype, np.integer):
        cust = np.concatenate([ids[known_rows], unk_ids])
        id_dtype: Any = ids_s.dtype
    else:
        cust = np.concatenate([ids[known_rows].astype(object), unk_ids.astype(object)])
        id_dtype = ids_s.dtype if isinstance(ids_s.dtype, pd.StringDtype) else None

    order = np.lexsort((all_codes, all_rows, all_times))
    base_ns = send.as_unit("ns").value
    stamps = (base_ns + all_times[order].astype(np.int64) * 1_000_000_000).astype("datetime64[ns]")
    names = np.array(EVENT_TYPES, dtype=object)
    frame = pd.DataFrame(
        {
            id_col: pd.Series(cust[order], dtype=id_dtype),
            event_col: pd.Series(names[all_codes[order]], dtype="str"),
            timestamp_col: stamps,
            amount_col: all_amount[order],
        }
    )
    added = {"duplicates": int(dup.size), "unknown_customers": int(k_unk), "before_send": int(pre.size)}
    return frame, added


# ----------------------------------------------------------------------------------------------
# a whole campaign


@dataclass(frozen=True, repr=False)
class WinbackCampaign:
    """A synthetic win-back campaign: history, customers, assignment, events and the true rates.

    ``as_of`` is the date the dormant population is computed (the send date); the attribution
    window is ``[send_date, send_date + window_days)``. ``messy`` gives the number of messy event
    rows added (duplicates, unknown customers, events before the send).
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    assignment: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    send_date: pd.Timestamp
    as_of: pd.Timestamp
    window_days: int
    seed: int
    variants: dict[str, float] = field(default_factory=dict)
    messy: dict[str, int] = field(default_factory=dict)

    @property
    def window_end(self) -> pd.Timestamp:
        """First instant after the attribution window."""
        return self.send_date + pd.Timedelta(days=self.window_days)

    def __repr__(self) -> str:
        return (
            f"WinbackCampaign(customers={len(self.customers):,}, transactions={len(self.transactions):,}, "
            f"assigned={len(self.assignment):,}, events={len(self.events):,}, "
            f"send_date={self.send_date.date()}, window_days={self.window_days}, seed={self.seed})"
        )

    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        fmt: str = "parquet",
        include: Sequence[str] = ("transactions", "customers", "events", "assignment", "truth"),
    ) -> dict[str, Path]:
        """Write the chosen tables to ``directory/NAME.parquet`` (or ``.csv``), each atomically.

        Nothing is written if any target exists and ``overwrite`` is false. Returns name → path.

        >>> import tempfile
        >>> c = winback_campaign(300, seed=1)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     sorted(p.name for p in c.save(d, include=["customers", "events"]).values())
        ['customers.parquet', 'events.parquet']
        """
        if fmt not in ("parquet", "csv"):
            raise ParameterError(f"fmt={fmt!r} is not known; use 'parquet' or 'csv'")
        known = ("transactions", "customers", "events", "assignment", "truth")
        for name in include:
            if name not in known:
                raise ParameterError(
                    f"include names {name!r}{_suggest(str(name), known)}; known: {', '.join(known)}"
                )
        folder = Path(directory)
        targets = {name: folder / f"{name}.{fmt}" for name in include}
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing and not overwrite:
            raise FileExistsAbkitError(
                f"{', '.join(existing)} already exist(s); pass overwrite=True to replace the synthetic data"
            )
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in targets.items():
            write_frame(getattr(self, name), path)
        return targets


def _largest_remainder(n: int, weights: np.ndarray) -> np.ndarray:
    quota = n * weights / weights.sum()
    counts = np.floor(quota).astype(np.int64)
    left = n - int(counts.sum())
    if left:
        order = np.argsort(-(quota - counts), kind="stable")
        counts[order[:left]] += 1
    return counts


def winback_campaign(
    n_customers: int = 20_000,
    *,
    seed: int = 0,
    effects: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    send_date: Any = "2026-06-01",
    variants: Mapping[str, float] | None = None,
    holdout: str = "holdout",
    window_days: int = 14,
    dormant_after: int = 180,
    lapsed_after: int = 730,
    history_days: int = 1095,
    segment_rates: Mapping[str, Mapping[str, float]] | None = None,
    bounce_rate: float = 0.02,
) -> WinbackCampaign:
    """Draw a synthetic shop and a win-back campaign sent to its eligible dormant customers.

    ``transactions`` (``customer_id``, ``order_date``, ``amount``) covers ``history_days`` before
    ``send_date`` with four kinds of buyers: one-time buyers (about 40%), occasional buyers,
    high-frequency buyers (6+ orders) and high-value buyers (median order about 180); each
    customer's last order is recent (27%), 180–730 days old (55%) or older (18%), so with
    ``as_of=send_date``, ``dormant_after=180`` and ``lapsed_after=730`` about half the customers are
    dormant. ``customers`` has ``email`` and the flags ``opted_out`` (4%), ``complained`` (0.6%),
    ``hard_bounced`` (1.5%) and ``cancelled`` (1.2%).

    The standalone ``assignment`` (``customer_id``, ``segment``, ``variant``) takes the dormant
    customers (recency in ``[dormant_after, lapsed_after)`` days, not cancelled or complained) who
    may be contacted (not opted out, complained or hard-bounced), segments them by the default rule
    of ``abkit.build_population`` (``high_value``: average order at or above the 80% quantile among
    all dormant customers; else ``high_frequency``: 3+ orders; else ``one_time``: one order; else
    ``other``), and randomises completely within each segment with exact counts (largest
    remainder) by ``variants`` (default :data:`DEFAULT_VARIANTS`). The demo uses abkit's own
    population and salted assignment with :func:`simulate_events` instead. ``events`` come from
    :func:`simulate_events` and ``truth`` from :func:`true_rates` with the same arguments.

    >>> c = winback_campaign(2_000, seed=7)
    >>> len(c.customers), c.send_date.date(), c.window_days
    (2000, datetime.date(2026, 6, 1), 14)
    >>> sorted(c.assignment.variant.unique())
    ['coupon', 'holdout', 'personal', 'reminder']
    """
    n = _check_int("n_customers", n_customers, minimum=1)
    seed = _check_seed(seed)
    send = _to_day("send_date", send_date)
    window_days = _check_int("window_days", window_days, minimum=1)
    dormant_after = _check_int("dormant_after", dormant_after, minimum=1)
    lapsed_after = _check_int("lapsed_after", lapsed_after, minimum=1)
    history_days = _check_int("history_days", history_days, minimum=2)
    if lapsed_after <= dormant_after:
        raise ParameterError(
            f"lapsed_after={lapsed_after} must be greater than dormant_after={dormant_after} "
            "(days since the last order)"
        )
    weights = dict(DEFAULT_VARIANTS if variants is None else variants)
    if not weights:
        raise ParameterError("variants is empty; pass a mapping name -> positive weight")
    for name, w in weights.items():
        if isinstance(w, bool) or float(check_finite(f"variants[{name!r}]", w)) <= 0:
            raise ParameterError(f"variants[{name!r}] must be a positive weight, got {w!r}")
    if holdout not in weights:
        raise ParameterError(
            f"holdout={holdout!r} is not among the variants {list(weights)}; a win-back campaign needs a "
            "no-contact holdout to measure the incremental repurchase"
        )

    ss = np.random.SeedSequence(seed)
    hist_seed, flag_seed, assign_seed, event_seed = (np.random.default_rng(s) for s in ss.spawn(4))
    rng = hist_seed

    # kinds: 0 one-time, 1 occasional, 2 high-frequency, 3 high-value
    kind = rng.choice(4, size=n, p=[0.40, 0.33, 0.14, 0.13])
    status = rng.choice(3, size=n, p=[0.27, 0.55, 0.18])
    span_hi = np.array([dormant_after, lapsed_after, history_days], dtype=float)
    span_lo = np.array([1, dormant_after, lapsed_after], dtype=float)  # orders end the day before the send
    lo = np.minimum(span_lo[status], history_days - 1)
    hi = np.minimum(span_hi[status], history_days)
    recency = np.floor(lo + (hi - lo) * rng.random(n)).astype(np.int64)
    extra = np.select(
        [kind == 0, kind == 1, kind == 2],
        [np.zeros(n), 1 + rng.poisson(0.6, n), 5 + rng.poisson(8.0, n)],
        1 + rng.poisson(2.0, n),
    ).astype(np.int64)
    k = 1 + extra
    max_span = np.maximum(history_days - 1 - recency, 0)
    span = np.where(k > 1, np.floor(max_span * rng.uniform(0.3, 1.0, n)), 0).astype(np.int64)
    cust = np.repeat(np.arange(n), k)
    first_pos = np.concatenate([[0], np.cumsum(k)[:-1]])
    pos = np.arange(cust.size) - first_pos[cust]
    frac = rng.random(cust.size)
    frac[pos == 0] = 1.0  # the first order is the oldest: span days before the last
    frac[pos == k[cust] - 1] = 0.0  # the last order is the most recent
    days_before = recency[cust] + np.floor(frac * span[cust]).astype(np.int64)
    med = np.array([35.0, 50.0, 40.0, 180.0])
    sig = np.array([0.6, 0.55, 0.45, 0.5])
    amount = np.maximum(np.round(rng.lognormal(np.log(med[kind[cust]]), sig[kind[cust]]), 2), 0.01)
    width = max(7, len(str(n)))
    ids = np.array([f"C{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    send_day = send.as_unit("ns").to_datetime64().astype("datetime64[D]")
    order_dates = (send_day - days_before.astype("timedelta64[D]")).astype("datetime64[ns]")
    tx_order = np.lexsort((cust, order_dates))
    transactions = pd.DataFrame(
        {
            "customer_id": pd.Series(ids[cust[tx_order]], dtype="str"),
            "order_date": order_dates[tx_order],
            "amount": amount[tx_order],
        }
    )

    fr = flag_seed
    flags = {
        "opted_out": fr.random(n) < 0.04,
        "complained": fr.random(n) < 0.006,
        "hard_bounced": fr.random(n) < 0.015,
        "cancelled": fr.random(n) < 0.012,
    }
    emails = np.array([f"{i.lower()}@example.com" for i in ids], dtype=object)
    customers = pd.DataFrame(
        {"customer_id": pd.Series(ids, dtype="str"), "email": pd.Series(emails, dtype="str"), **flags}
    )

    # dormant, eligible customers, segmented by this module's own rule
    freq = k
    aov = np.bincount(cust, weights=amount, minlength=n) / freq
    dormant = (
        (recency >= dormant_after) & (recency < lapsed_after) & ~flags["cancelled"] & ~flags["complained"]
    )
    eligible = dormant & ~flags["opted_out"] & ~flags["hard_bounced"]
    # the default rule of abkit.build_population: high value first (average order at or above the
    # 80% quantile among all dormant customers), then 3+ orders, then one order
    cut = np.quantile(aov[dormant], 0.8) if dormant.any() else np.inf
    seg_code = np.select([aov >= cut, freq >= 3, freq == 1], [0, 1, 2], 3)  # index into SEGMENTS
    pop = np.flatnonzero(eligible)
    var_names = list(weights)
    w = np.array([float(weights[v]) for v in var_names])
    key = assign_seed.random(pop.size)
    pop = pop[np.lexsort((key, seg_code[pop]))]
    var_idx = np.empty(pop.size, dtype=np.int64)
    start = 0
    for s in range(len(SEGMENTS)):
        size = int(np.sum(seg_code[pop] == s))
        counts = _largest_remainder(size, w)
        var_idx[start : start + size] = np.repeat(np.arange(len(var_names)), counts)
        start += size
    back = np.argsort(pop, kind="stable")
    pop, var_idx = pop[back], var_idx[back]
    assignment = pd.DataFrame(
        {
            "customer_id": pd.Series(ids[pop], dtype="str"),
            "segment": pd.Series(np.array(SEGMENTS, dtype=object)[seg_code[pop]], dtype="str"),
            "variant": pd.Series(np.array(var_names, dtype=object)[var_idx], dtype="str"),
        }
    )
    if len(assignment):
        events, messy = _simulate_events(
            assignment,
            seed=int(event_seed.integers(2**63 - 1)),
            send_date=send,
            window_days=window_days,
            effects=effects,
            variant_col="variant",
            segment_col="segment",
            holdout=holdout,
            id_col="customer_id",
            segment_rates=segment_rates,
            default_segment="other",
            bounce_rate=bounce_rate,
            hard_bounced_col=None,
            repeat_rate=0.1,
            late_days=7,
            n_duplicates=None,
            n_unknown=None,
            n_before_send=None,
            event_col="event",
            timestamp_col="timestamp",
            amount_col="amount",
        )
    else:
        events = pd.DataFrame(
            {
                "customer_id": pd.Series([], dtype="str"),
                "event": pd.Series([], dtype="str"),
                "timestamp": pd.Series([], dtype="datetime64[ns]"),
                "amount": pd.Series([], dtype=float),
            }
        )
        messy = {"duplicates": 0, "unknown_customers": 0, "before_send": 0}
    truth = true_rates(
        [s for s in SEGMENTS if s in set(assignment["segment"])] or list(SEGMENTS),
        var_names,
        effects=effects,
        segment_rates=segment_rates,
        holdout=holdout,
        bounce_rate=bounce_rate,
    )
    return WinbackCampaign(
        transactions=transactions,
        customers=customers,
        assignment=assignment,
        events=events,
        truth=truth,
        send_date=send,
        as_of=send,
        window_days=window_days,
        seed=seed,
        variants=weights,
        messy=messy,
    )


# ----------------------------------------------------------------------------------------------
# a win-back programme over several waves (issue 13)


@dataclass(frozen=True)
class ProgrammeHistory:
    """A synthetic win-back programme: several waves drawn from one dormant pool that evolves.

    ``transactions`` holds every purchase (the history before the first wave and what happened
    after each send); ``waves`` one row per customer and wave the customer was eligible in
    (``wave``, ``send_date``, ``customer_id``, ``segment``, ``arm``: ``"programme holdout"`` or the
    wave's variant); ``pool`` one row per customer who was ever eligible (``customer_id``,
    ``segment``, ``programme_holdout``, ``entered``: first eligible send date, ``cost``: contact
    costs spent), the input of :func:`abkit.programme.effect_table`; ``truth`` the planted
    programme effect per segment (``all`` first): the mean over the pool outside the holdout of
    the difference between each customer's outcomes with and without the programme, from
    ``start`` to ``end``, drawn with common random numbers.
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    waves: pd.DataFrame
    pool: pd.DataFrame
    truth: pd.DataFrame
    send_dates: tuple[pd.Timestamp, ...]
    window_days: int
    programme: str
    holdout: float
    seed: int

    @property
    def start(self) -> pd.Timestamp:
        """The first wave's send date."""
        return self.send_dates[0]

    @property
    def end(self) -> pd.Timestamp:
        """The last day of the last wave's attribution window."""
        return self.send_dates[-1] + pd.Timedelta(days=self.window_days - 1)

    def __repr__(self) -> str:
        return (
            f"ProgrammeHistory(programme={self.programme!r}, waves={len(self.send_dates)}, "
            f"pool={len(self.pool):,}, holdout={int(self.pool['programme_holdout'].sum()):,}, "
            f"seed={self.seed})"
        )


def programme_history(
    n_customers: int = 20_000,
    *,
    waves: int = 3,
    seed: int = 0,
    programme: str = "winback",
    holdout: float = 0.1,
    first_send: Any = "2026-03-02",
    interval_days: int = 91,
    window_days: int = 28,
    lift: float = 1.0,
    contact_share: float = 0.8,
    contact_cost: float = 0.01,
    dormant_after: int = 180,
    lapsed_after: int = 730,
    active_rate: float = 0.35,
) -> ProgrammeHistory:
    """Draw a multi-wave win-back programme with a programme holdout and a planted effect.

    Each customer has a fixed segment and a last order before ``first_send``. At every wave (every
    ``interval_days`` days) the dormant customers (last order ``dormant_after`` to ``lapsed_after``
    days ago, not opted out) are eligible; those in the programme holdout (the programme-level hash
    of :func:`abkit.programme_holdout`, ``holdout`` share) are never contacted, the others are
    contacted with probability ``contact_share``. In the ``window_days`` after a send a dormant
    customer buys with the organic rate of the segment (:data:`DEFAULT_SEGMENT_RATES`), multiplied
    by ``1 + lift`` when contacted; between waves active customers buy with probability
    ``active_rate``, so the won-back leave the pool and others become dormant. The same random
    numbers give the world without the programme, hence the exact planted effect in ``truth``.

    >>> h = programme_history(3_000, seed=1)
    >>> len(h.send_dates), sorted(h.waves["wave"].unique().tolist())
    (3, [1, 2, 3])
    >>> bool(h.truth.set_index("segment").loc["all", "repurchase_rate"] > 0)
    True
    """
    n = _check_int("n_customers", n_customers, minimum=10)
    k_waves = _check_int("waves", waves, minimum=1)
    seed = _check_seed(seed)
    check_probability("holdout", holdout)
    check_probability("contact_share", contact_share)
    check_probability("active_rate", active_rate)
    if not math.isfinite(lift) or lift < -1:
        raise ParameterError(
            f"lift={lift!r} must be a relative lift of at least -1 (e.g. 1.0 doubles the rate)"
        )
    first = _to_day("first_send", first_send)
    interval = _check_int("interval_days", interval_days, minimum=1)
    window = _check_int("window_days", window_days, minimum=1)
    if window > interval:
        raise ParameterError(f"window_days={window} must not exceed interval_days={interval}")
    rng = np.random.default_rng(seed)
    width = max(7, len(str(n)))
    ids = np.array([f"P{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    seg_idx = rng.choice(len(SEGMENTS), size=n, p=[0.15, 0.2, 0.4, 0.25])
    segment = np.array(SEGMENTS, dtype=object)[seg_idx]
    organic = np.array([DEFAULT_SEGMENT_RATES[s]["repurchased"] for s in SEGMENTS])[seg_idx] * (window / 14)
    median = np.array([DEFAULT_SEGMENT_RATES[s]["amount_median"] for s in SEGMENTS])[seg_idx]
    opted_out = rng.random(n) < 0.04
    recency0 = rng.integers(1, 1000, size=n)  # days since the last order at the first send
    first_day = first.as_unit("ns").to_datetime64().astype("datetime64[D]")
    last_order0 = first_day - recency0.astype("timedelta64[D]")
    history = [(ids, last_order0, np.round(rng.lognormal(np.log(median), 0.5), 2))]
    threshold = np.int64(round(holdout * 16**15))
    member = unit_hash(ids, f"programme:{programme}") < threshold
    sends = [first_day + np.timedelta64(k * interval, "D") for k in range(k_waves)]
    # common random numbers for both worlds: per wave and customer
    u_win = rng.random((k_waves, n))
    u_contact = rng.random((k_waves, n))
    u_active = rng.random((k_waves, n))
    day_win = rng.integers(0, window, size=(k_waves, n))
    day_gap = rng.integers(0, interval, size=(k_waves, n))
    amounts = np.round(rng.lognormal(np.log(median), 0.5, size=(k_waves, n)), 2)

    def world(programme_on: bool) -> tuple[list[tuple[Any, ...]], list[pd.DataFrame], np.ndarray, np.ndarray]:
        last = last_order0.copy()
        buys: list[tuple[Any, ...]] = []
        rows: list[pd.DataFrame] = []
        entered = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        cost = np.zeros(n)
        for k, send in enumerate(sends):
            recency = (send - last).astype(np.int64)
            dormant = (recency >= dormant_after) & (recency < lapsed_after) & ~opted_out
            contacted = dormant & ~member & (u_contact[k] < contact_share) & programme_on
            first_time = dormant & np.isnat(entered)
            entered[first_time] = send
            cost[contacted] += contact_cost
            rate = np.where(contacted, np.minimum(organic * (1 + lift), 1.0), organic)
            win = dormant & (u_win[k] < rate)
            # active customers buy at some point before the next wave (the dormant only in the window)
            active = (recency < dormant_after) & (u_active[k] < active_rate)
            dates = np.where(
                win, send + day_win[k].astype("timedelta64[D]"), send + day_gap[k].astype("timedelta64[D]")
            )
            buy = win | active
            buys.append((ids[buy], dates[buy], amounts[k][buy]))
            last = np.where(buy, np.maximum(last, dates), last)
            arm = np.where(member, "programme holdout", np.where(contacted, "coupon", "holdout"))
            rows.append(
                pd.DataFrame(
                    {
                        "wave": k + 1,
                        "send_date": pd.Timestamp(send),
                        "customer_id": pd.Series(ids[dormant], dtype="str"),
                        "segment": pd.Series(segment[dormant], dtype="str"),
                        "arm": pd.Series(arm[dormant], dtype="str"),
                    }
                )
            )
        return buys, rows, entered, cost

    buys_on, rows_on, entered, cost = world(True)
    buys_off, _, entered_off, _ = world(False)
    assert np.array_equal(entered, entered_off, equal_nan=True)  # entering the pool precedes treatment

    def frame(parts: list[tuple[Any, ...]]) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "customer_id": pd.Series(np.concatenate([p[0] for p in parts]), dtype="str"),
                "order_date": np.concatenate([p[1] for p in parts]).astype("datetime64[ns]"),
                "amount": np.concatenate([p[2] for p in parts]),
            }
        )
        return out.sort_values(["order_date", "customer_id"], kind="stable").reset_index(drop=True)

    transactions = frame(history + buys_on)
    in_pool = ~np.isnat(entered)
    pool = pd.DataFrame(
        {
            "customer_id": pd.Series(ids[in_pool], dtype="str"),
            "segment": pd.Series(segment[in_pool], dtype="str"),
            "programme_holdout": member[in_pool],
            "entered": entered[in_pool].astype("datetime64[ns]"),
            "cost": cost[in_pool],
        }
    )
    end = sends[-1] + np.timedelta64(window, "D")  # exclusive

    def outcomes(parts: list[tuple[Any, ...]]) -> pd.DataFrame:
        tx = frame(parts).merge(pool[["customer_id", "entered"]], on="customer_id")
        tx = tx.loc[(tx["order_date"] >= tx["entered"]) & (tx["order_date"] < pd.Timestamp(end))]
        per = tx.groupby("customer_id")["amount"].agg(["size", "sum"])
        return pd.DataFrame(
            {
                "repurchase_rate": pool["customer_id"].map(per["size"]).fillna(0).gt(0).astype(float),
                "revenue": pool["customer_id"].map(per["sum"]).fillna(0.0),
            }
        )

    diff = outcomes(buys_on) - outcomes(buys_off)
    treated = ~pool["programme_holdout"].to_numpy()
    diff["segment"] = pool["segment"].to_numpy()
    diff = diff.loc[treated]
    truth = (
        pd.concat(
            [
                diff.drop(columns="segment").mean().to_frame("all").T,
                diff.groupby("segment", sort=True).mean(),
            ]
        )
        .rename_axis("segment")
        .reset_index()
    )
    customers = pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"), "opted_out": opted_out})
    return ProgrammeHistory(
        transactions=transactions,
        customers=customers,
        waves=pd.concat(rows_on, ignore_index=True),
        pool=pool,
        truth=truth,
        send_dates=tuple(pd.Timestamp(s) for s in sends),
        window_days=window,
        programme=programme,
        holdout=float(holdout),
        seed=seed,
    )


# ----------------------------------------------------------------------------------------------
# a finished randomised test with cell-dependent effects, for targeting the next wave
# ----------------------------------------------------------------------------------------------
#: Cells of :func:`targeting_test`: the four segments crossed with ten bands of months since the
#: last order (``"06m"`` = 6 to 7 months, the freshest dormant customers, ... ``"15m"``).
RECENCY_BANDS: tuple[str, ...] = tuple(f"{m:02d}m" for m in range(6, 16))
TARGETING_ARMS: tuple[str, ...] = ("holdout", "coupon", "personal", "reminder")
#: Costs of :func:`targeting_test`'s arms, as ``abkit.economics`` takes them: a coupon mail (cheap
#: to send, 6.00 paid per redeemed coupon), a personalised postal letter, an email reminder.
TARGETING_COSTS: dict[str, dict[str, float]] = {
    "coupon": {"contact": 0.10, "offer": 6.0},
    "personal": {"contact": 1.50, "offer": 0.0},
    "reminder": {"contact": 0.10, "offer": 0.0},
}
TARGETING_MARGIN = 0.4
# segment -> (population share, organic repurchase rate at freshness 1, mean order value)
_TARGET_SEGMENTS: dict[str, tuple[float, float, float]] = {
    "high_value": (0.20, 0.10, 110.0),
    "high_frequency": (0.25, 0.16, 50.0),
    "one_time": (0.30, 0.06, 40.0),
    "other": (0.25, 0.08, 60.0),
}
# arm -> segment -> absolute lift of the repurchase rate at freshness 1 (scaled by freshness)
_TARGET_LIFTS: dict[str, dict[str, float]] = {
    "coupon": {"high_value": 0.02, "high_frequency": 0.03, "one_time": 0.14, "other": 0.05},
    "personal": {"high_value": 0.12, "high_frequency": 0.02, "one_time": 0.01, "other": 0.03},
    "reminder": {"high_value": 0.02, "high_frequency": 0.07, "one_time": 0.01, "other": 0.04},
}
_SLEEPING_DOG_LIFT = -0.06  # any contact of a fresh high-frequency customer (bands 06m, 07m)
_ORDER_SIGMA = 0.35  # log-scale standard deviation of an order's value (lognormal)


@dataclass(frozen=True, repr=False)
class TargetingTest:
    """A finished randomised win-back test with planted per-cell effects and their exact value.

    ``outcomes`` has one row per customer: ``customer_id`` (text), the cell columns ``segment`` and
    ``recency_band``, the arm in ``variant``, ``repurchased`` (0/1: bought again, which also means a
    coupon was redeemed when the arm is the coupon) and ``revenue``. ``truth`` has one row per
    (cell, arm): the cell's population ``share``, the true repurchase rate, mean revenue and
    incremental profit per customer against no contact (``margin * revenue - contact - offer *
    repurchased``, minus the holdout's ``margin * revenue``). The holdout is the control arm.
    """

    outcomes: pd.DataFrame
    truth: pd.DataFrame
    costs: dict[str, dict[str, float]]
    margin: float
    control: str
    cells: tuple[str, ...]
    arms: tuple[str, ...]
    heterogeneous: bool
    seed: int

    def _profit_matrix(self) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray]:
        keys = list(dict.fromkeys(zip(*(self.truth[c] for c in self.cells), strict=True)))
        wide = self.truth.pivot_table(
            index=list(self.cells), columns="arm", values="incremental_profit", sort=False
        )
        wide = wide.reindex(index=pd.MultiIndex.from_tuples(keys), columns=list(self.arms))
        share = self.truth.drop_duplicates(list(self.cells))["share"].to_numpy(dtype=float)
        return keys, wide.to_numpy(dtype=float), share

    @property
    def oracle_plan(self) -> dict[tuple[str, ...], str]:
        """The best arm of every cell (no contact where every campaign loses money), cell -> arm."""
        keys, profit, _ = self._profit_matrix()
        best = np.argmax(profit, axis=1)  # the holdout (column 0) wins ties: contact is not free
        return {k: self.arms[int(b)] for k, b in zip(keys, best, strict=True)}

    @property
    def best_arm(self) -> str:
        """The single arm with the highest true incremental profit when sent to everyone."""
        _, profit, share = self._profit_matrix()
        return self.arms[int(np.argmax(share @ profit))]

    def true_value(self, plan: Any) -> float:
        """Exact incremental profit per customer against no contact of ``plan`` on the population.

        ``plan``: a mapping cell -> arm or cell -> {arm: share} (a cell is a tuple of cell values or
        their ``"|"``-joined text; a cell left out gets no contact), an arm name (everyone gets it),
        or an object with a ``policy`` attribute holding such a mapping (``abkit.target``'s plan).

        >>> t = targeting_test(2_000, seed=1)
        >>> t.true_value("holdout")
        0.0
        >>> t.true_value(t.oracle_plan) > t.true_value(t.best_arm) > 0
        True
        """
        keys, profit, share = self._profit_matrix()
        weights = np.zeros_like(profit)
        if isinstance(plan, str):
            if plan not in self.arms:
                raise ParameterError(f"plan={plan!r} is not an arm; arms: {', '.join(self.arms)}")
            weights[:, self.arms.index(plan)] = 1.0
            return float(share @ (weights * profit).sum(axis=1))
        policy = getattr(plan, "policy", plan)
        if not isinstance(policy, Mapping):
            raise ParameterError(
                "plan must be a mapping cell -> arm, an arm name or a targeting plan, "
                f"got {type(plan).__name__}"
            )
        index = {k: i for i, k in enumerate(keys)} | {"|".join(k): i for i, k in enumerate(keys)}
        for cell, choice in policy.items():
            key = tuple(cell) if isinstance(cell, list | tuple) else cell
            if key not in index:
                raise ParameterError(f"plan names cell {cell!r}, which is not a cell of this test")
            row = index[key]
            shares = {choice: 1.0} if isinstance(choice, str) else dict(choice)
            total = sum(float(v) for v in shares.values())
            for arm, s in shares.items():
                if arm not in self.arms:
                    raise ParameterError(f"plan[{cell!r}] names arm {arm!r}; arms: {', '.join(self.arms)}")
                weights[row, self.arms.index(arm)] = float(s) / total
        return float(share @ (weights * profit).sum(axis=1))

    def draw_outcomes(
        self, assigned: pd.DataFrame, *, variant_col: str = "variant", seed: int = 0
    ) -> pd.DataFrame:
        """Draw ``repurchased`` and ``revenue`` for customers already given an arm (e.g. a next wave).

        ``assigned`` needs the cell columns and ``variant_col``; outcomes follow the same model as
        :attr:`outcomes` (the planted rates and order values of :attr:`truth`). Returns a copy with
        the two columns added.

        >>> t = targeting_test(1_000, seed=1)
        >>> wave = t.outcomes[["customer_id", "segment", "recency_band", "variant"]]
        >>> list(t.draw_outcomes(wave, seed=2).columns)[-2:]
        ['repurchased', 'revenue']
        """
        seed = _check_seed(seed)
        check_columns(assigned, [*self.cells, variant_col], what="assigned")
        keys = [*self.cells, "arm"]
        truth = self.truth.set_index(keys)
        index = pd.MultiIndex.from_arrays(
            [assigned[c].astype(str).to_numpy() for c in self.cells]
            + [assigned[variant_col].astype(str).to_numpy()]
        )
        rate = truth["repurchase_rate"].reindex(index).to_numpy(dtype=float)
        if np.isnan(rate).any():
            raise DataError(
                f"{int(np.isnan(rate).sum())} row(s) of assigned have a cell or arm this test lacks"
            )
        value = truth["revenue_per_customer"].reindex(index).to_numpy(dtype=float) / rate
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        bought = rng.random(len(rate)) < rate
        amount = value * np.exp(_ORDER_SIGMA * rng.standard_normal(len(rate)) - _ORDER_SIGMA**2 / 2)
        out = assigned.copy()
        out["repurchased"] = bought.astype(np.int64)
        out["revenue"] = np.where(bought, np.round(amount, 2), 0.0)
        return out

    def __repr__(self) -> str:
        kind = "heterogeneous" if self.heterogeneous else "homogeneous"
        return (
            f"TargetingTest(customers={len(self.outcomes):,}, cells={len(self.truth) // len(self.arms)}, "
            f"arms={len(self.arms)}, effects={kind}, seed={self.seed})"
        )


def targeting_test(n_customers: int = 12_000, *, seed: int = 0, heterogeneous: bool = True) -> TargetingTest:
    """Draw the per-customer outcomes of a finished win-back test with planted cell effects.

    40 cells (:data:`SEGMENTS` x :data:`RECENCY_BANDS`) and four arms (:data:`TARGETING_ARMS`, the
    ``"holdout"`` is not contacted) with the costs :data:`TARGETING_COSTS` and margin
    :data:`TARGETING_MARGIN`. Each customer falls in a cell (segment shares 20/25/30/25%, bands
    equally likely) and gets an arm with probability 1/4, independently. The organic repurchase
    rate is the segment's rate times the freshness ``1.3 - 0.06 * band`` (band 0 is ``"06m"``); a
    campaign adds the absolute lift of its segment times the same freshness. Planted: the personal
    letter pays for high-value customers, the coupon for one-time buyers, the email reminder for
    high-frequency and other customers; contacting fresh high-frequency customers (bands ``"06m"``
    and ``"07m"``) lowers their repurchase rate by 6 points (a *sleeping dog*: leave them alone).
    A repurchase spends a lognormal amount with the segment's mean order value. With
    ``heterogeneous=False`` every cell has the population-average rates, order value and lifts
    (the cells are labels only; the best single arm is the best plan).

    >>> t = targeting_test(4_000, seed=3)
    >>> list(t.outcomes.columns)
    ['customer_id', 'segment', 'recency_band', 'variant', 'repurchased', 'revenue']
    >>> t.oracle_plan[("high_frequency", "06m")], t.oracle_plan[("high_value", "06m")]
    ('holdout', 'personal')
    """
    n = _check_int("n_customers", n_customers, minimum=1)
    seed = _check_seed(seed)
    if not isinstance(heterogeneous, bool):
        raise ParameterError(f"heterogeneous must be True or False, got {heterogeneous!r}")
    segments = list(_TARGET_SEGMENTS)
    n_bands = len(RECENCY_BANDS)
    seg_share = np.array([_TARGET_SEGMENTS[s][0] for s in segments])
    base = np.array([_TARGET_SEGMENTS[s][1] for s in segments])
    order_value = np.array([_TARGET_SEGMENTS[s][2] for s in segments])
    arms = TARGETING_ARMS
    lift = np.array([[0.0] * len(segments)] + [[_TARGET_LIFTS[a][s] for s in segments] for a in arms[1:]])
    fresh = 1.3 - 0.06 * np.arange(n_bands)
    organic = base[:, None] * fresh[None, :]
    gain = lift.T[:, None, :] * fresh[None, :, None]  # (segment, band, arm)
    gain[segments.index("high_frequency"), :2, 1:] = _SLEEPING_DOG_LIFT * fresh[:2, None]
    rates = organic[:, :, None] + gain  # rates[s, b, a]: repurchase probability of arm a in cell (s, b)
    value = np.broadcast_to(order_value[:, None], organic.shape).copy()
    cell_share = seg_share[:, None] * np.full(n_bands, 1.0 / n_bands)[None, :]
    if not heterogeneous:  # every cell gets the population average: no effect differs by cell
        w = cell_share[:, :, None]
        mean_rates = (rates * w).sum(axis=(0, 1)) / w.sum()
        rates = np.broadcast_to(mean_rates, rates.shape).copy()
        value = np.full(organic.shape, float((value * cell_share).sum()))
    cost = np.array(
        [[0.0, 0.0]] + [[TARGETING_COSTS[a]["contact"], TARGETING_COSTS[a]["offer"]] for a in arms[1:]]
    )
    profit = TARGETING_MARGIN * value[:, :, None] * rates - cost[:, 0] - cost[:, 1] * rates
    incremental = profit - profit[:, :, :1]

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    cell = rng.choice(cell_share.size, size=n, p=cell_share.reshape(-1))
    seg_idx, band_idx = np.divmod(cell, n_bands)
    arm_idx = rng.integers(0, len(arms), size=n)
    p = rates[seg_idx, band_idx, arm_idx]
    repurchased = rng.random(n) < p
    mean_value = value[seg_idx, band_idx]
    amount = mean_value * np.exp(_ORDER_SIGMA * rng.standard_normal(n) - _ORDER_SIGMA**2 / 2)
    width = max(6, len(str(n)))
    outcomes = pd.DataFrame(
        {
            "customer_id": pd.Series([f"{i:0{width}d}" for i in range(1, n + 1)], dtype="str"),
            "segment": pd.Series(np.asarray(segments, dtype=object)[seg_idx], dtype="str"),
            "recency_band": pd.Series(np.asarray(RECENCY_BANDS, dtype=object)[band_idx], dtype="str"),
            "variant": pd.Series(np.asarray(arms, dtype=object)[arm_idx], dtype="str"),
            "repurchased": repurchased.astype(np.int64),
            "revenue": np.where(repurchased, np.round(amount, 2), 0.0),
        }
    )
    s_i, b_i, a_i = np.meshgrid(
        np.arange(len(segments)), np.arange(n_bands), np.arange(len(arms)), indexing="ij"
    )
    truth = pd.DataFrame(
        {
            "segment": np.asarray(segments, dtype=object)[s_i.ravel()],
            "recency_band": np.asarray(RECENCY_BANDS, dtype=object)[b_i.ravel()],
            "share": cell_share[s_i, b_i].ravel(),
            "arm": np.asarray(arms, dtype=object)[a_i.ravel()],
            "repurchase_rate": rates.ravel(),
            "revenue_per_customer": (value[:, :, None] * rates).ravel(),
            "incremental_profit": incremental.ravel(),
        }
    )
    return TargetingTest(
        outcomes=outcomes,
        truth=truth,
        costs={a: dict(c) for a, c in TARGETING_COSTS.items()},
        margin=TARGETING_MARGIN,
        control="holdout",
        cells=("segment", "recency_band"),
        arms=arms,
        heterogeneous=heterogeneous,
        seed=seed,
    )
