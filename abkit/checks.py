"""Checks of a randomised split: sample ratio mismatch (SRM) and covariate balance (SMD, love plot).

* :func:`srm` tests observed counts per arm against the planned weights with Pearson's chi-square
  goodness-of-fit test and alerts below ``threshold`` (0.001, as GrowthBook and Eppo do).
* :func:`balance` gives the standardised mean difference of each covariate between each variant
  and the control, ``(mean_t - mean_c) / sqrt((var_t + var_c) / 2)`` with sample variances
  (``ddof=1``), flagged above 0.1; :func:`plot_balance` draws it as a love plot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from abkit._display import Displayable, format_number
from abkit._validate import check_columns, check_positive, check_probability, resolve_control
from abkit.assignment import parse_variants
from abkit.errors import ColumnError, DataError, ParameterError
from abkit.frames import to_pandas_frame

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["SRMResult", "balance", "plot_balance", "srm"]

SRM_METHOD = "Pearson chi-square goodness of fit"
SMD_METHOD = "SMD = (mean_t - mean_c) / sqrt((var_t + var_c) / 2), sample variances (ddof=1)"
STATUS_OK = "ok"
STATUS_MISMATCH = "mismatch"
STATUS_ZERO_WEIGHT = "units in zero-weight arm"
STATUS_TOO_FEW = "not enough units"


@dataclass(frozen=True, repr=False)
class SRMResult(Displayable):
    """Result of :func:`srm`.

    ``status`` is one of ``"ok"``, ``"mismatch"`` (p-value below the threshold),
    ``"units in zero-weight arm"`` (an immediate mismatch: ``statistic`` is ``inf`` and
    ``p_value`` is 0, the probability of that observation under the plan) or ``"not enough units"``
    (some positive-weight arm expects fewer than ``min_expected`` units: the chi-square
    approximation is unreliable, so ``p_value`` is NaN and ``ok`` is None). ``ok`` is True, False or
    None accordingly.
    """

    arms: tuple[str, ...]
    observed: tuple[int, ...]
    expected_share: tuple[float, ...]
    tested: tuple[bool, ...]
    n: int
    statistic: float
    df: int
    p_value: float
    threshold: float
    min_expected: float
    ok: bool | None
    status: str
    method: str = SRM_METHOD

    @property
    def expected(self) -> tuple[float, ...]:
        """Expected count per arm: ``n`` (units in tested arms) times the normalised weight."""
        return tuple(self.n * s for s in self.expected_share)

    def to_pandas(self) -> pd.DataFrame:
        observed = np.asarray(self.observed, dtype=np.int64)
        expected = np.asarray(self.expected, dtype=float)
        total = observed.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            residual = np.where(expected > 0, (observed - expected) / np.sqrt(expected), np.nan)
            share = observed / total if total else np.full(len(observed), np.nan)
        return pd.DataFrame(
            {
                "arm": list(self.arms),
                "observed": observed,
                "expected": expected,
                "observed_share": share,
                "expected_share": np.asarray(self.expected_share, dtype=float),
                "difference": observed - expected,
                "pearson_residual": residual,
                "tested": list(self.tested),
            }
        )

    def _title(self) -> str:
        p = format_number(self.p_value)
        return f"Sample ratio check: {self.status} (p = {p}, threshold {format_number(self.threshold)})"

    def _notes(self) -> list[str]:
        notes = [
            f"{self.method}; chi-square = {format_number(self.statistic)} on {self.df} df, n = {self.n:,}."
        ]
        if self.status == STATUS_ZERO_WEIGHT:
            notes.append("Units landed in an arm planned with weight 0: the split does not follow the plan.")
        elif self.status == STATUS_TOO_FEW:
            notes.append(
                f"Some arm expects fewer than {format_number(self.min_expected)} units: no p-value is given "
                "because the chi-square approximation would mislead."
            )
        elif self.status == STATUS_MISMATCH:
            notes.append(
                "p-value below the threshold: check the assignment and data pipeline before evaluating."
            )
        return notes

    def __repr__(self) -> str:
        return (
            f"SRMResult(status={self.status!r}, ok={self.ok}, p_value={format_number(self.p_value)}, "
            f"statistic={format_number(self.statistic)}, df={self.df}, n={self.n})"
        )


def _observed_counts(observed: Any) -> dict[str, int]:
    if isinstance(observed, pd.Series):
        items = list(observed.items())
    elif isinstance(observed, Mapping):
        items = list(observed.items())
    else:
        raise ParameterError(
            f"observed must be a mapping arm -> count or a pandas Series, got {type(observed).__name__}"
        )
    counts: dict[str, int] = {}
    for arm, value in items:
        name = str(arm)
        if name in counts:
            raise DataError(f"observed names arm {name!r} twice")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.number)
            or not np.isfinite(value)
        ):
            raise DataError(f"observed[{name!r}] = {value!r} is not a count; give a whole number >= 0")
        if value < 0 or float(value) != math.floor(float(value)):
            raise DataError(f"observed[{name!r}] = {value!r} is not a count; give a whole number >= 0")
        counts[name] = int(value)
    return counts


def srm(
    observed: Mapping[str, int] | pd.Series,
    expected: Mapping[str, float] | Sequence[str],
    *,
    threshold: float = 0.001,
    min_expected: float = 5.0,
) -> SRMResult:
    """Sample ratio mismatch check: Pearson chi-square goodness of fit of counts to planned weights.

    ``observed`` maps arm -> number of units (a mapping or a Series, e.g. ``df.variant.value_counts()``);
    ``expected`` maps arm -> planned weight (normalised; zero allowed) or lists arms with equal
    weights. Arms missing from ``observed`` count 0. An arm with weight 0 (or absent from
    ``expected``) that holds units is an immediate mismatch; with no units it is left out of the test.
    If a tested arm expects fewer than ``min_expected`` units the status is ``"not enough units"``
    and ``p_value`` is NaN. The split is flagged (``ok=False``) when ``p_value < threshold``.

    >>> r = srm({"coupon": 5_100, "holdout": 4_900}, {"coupon": 1, "holdout": 1})
    >>> round(r.statistic, 6), round(r.p_value, 4), r.ok
    (4.0, 0.0455, True)
    """
    check_probability("threshold", threshold)
    check_positive("min_expected", min_expected)
    counts = _observed_counts(observed)
    names, weights, _ = parse_variants(expected, name="expected", allow_zero=True)
    arms = list(names) + [a for a in counts if a not in names]
    share = {a: float(w) for a, w in zip(names, weights, strict=True)}
    obs = [counts.get(a, 0) for a in arms]
    exp_share = [share.get(a, 0.0) for a in arms]
    tested = [s > 0 for s in exp_share]
    if sum(tested) < 2:
        raise ParameterError(
            f"expected has {sum(tested)} arm(s) with positive weight ({list(names)}); a sample ratio test "
            "needs at least two"
        )
    o = np.asarray([c for c, t in zip(obs, tested, strict=True) if t], dtype=float)
    w = np.asarray([s for s, t in zip(exp_share, tested, strict=True) if t], dtype=float)
    n = int(o.sum())
    dof = len(o) - 1
    e = n * w
    statistic = float(np.sum((o - e) ** 2 / e)) if n > 0 else math.nan
    stray = sum(c for c, t in zip(obs, tested, strict=True) if not t)
    if stray > 0:
        statistic, p_value, ok, status = math.inf, 0.0, False, STATUS_ZERO_WEIGHT
    elif n == 0 or e.min() < min_expected:
        p_value, ok, status = math.nan, None, STATUS_TOO_FEW
    else:
        p_value = float(stats.chi2.sf(statistic, dof))
        ok = bool(p_value >= threshold)
        status = STATUS_OK if ok else STATUS_MISMATCH
    return SRMResult(
        arms=tuple(arms),
        observed=tuple(obs),
        expected_share=tuple(exp_share),
        tested=tuple(tested),
        n=n,
        statistic=statistic,
        df=dof,
        p_value=p_value,
        threshold=float(threshold),
        min_expected=float(min_expected),
        ok=ok,
        status=status,
    )


def balance(
    assigned: pd.DataFrame,
    covariates: str | Sequence[str],
    *,
    variant_col: str = "variant",
    control: str | None = None,
    threshold: float = 0.1,
) -> pd.DataFrame:
    """Standardised mean difference of each covariate between each variant and the control.

    ``SMD = (mean_t - mean_c) / sqrt((var_t + var_c) / 2)`` with sample variances (``ddof=1``).
    Boolean covariates count as 0/1. ``control`` follows abkit's one rule
    (:func:`abkit._validate.resolve_control`): given, else the arm named ``"control"`` or
    ``"holdout"``. Missing covariate values are left out and counted
    (``missing_variant``, ``missing_control``). When both groups have zero variance the SMD is 0 for
    equal means and +/-inf otherwise. ``imbalanced`` is ``|smd| > threshold``. One row per
    (covariate, variant), variants in sorted order.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"variant": ["holdout"] * 3 + ["coupon"] * 3, "age": [30, 40, 50, 35, 45, 55]})
    >>> t = balance(df, "age")
    >>> t[["covariate", "variant", "control", "smd", "imbalanced"]]
      covariate variant  control  smd  imbalanced
    0       age  coupon  holdout  0.5        True
    """
    assigned = to_pandas_frame(assigned, what="assigned")
    check_positive("threshold", threshold)
    covs = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covs:
        raise ParameterError("covariates is empty; name at least one covariate column")
    check_columns(assigned, [variant_col, *covs], what="assigned")
    labels = assigned[variant_col]
    if labels.isna().any():
        raise DataError(
            f"column {variant_col!r} has {int(labels.isna().sum())} unit(s) without a variant; "
            "every assigned unit needs one"
        )
    labels = labels.astype(str)
    variants = sorted(labels.unique().tolist())
    control = resolve_control(variants, control, what=f"column {variant_col!r}")
    if control not in variants:
        raise ParameterError(f"control={control!r} is not a variant in column {variant_col!r}: {variants}")
    treated = [v for v in variants if v != control]
    if not treated:
        raise DataError(f"column {variant_col!r} holds only the control {control!r}; nothing to compare")
    rows = []
    for cov in covs:
        column = assigned[cov]
        if pd.api.types.is_bool_dtype(column.dtype):
            values = column.astype("float64")
        elif pd.api.types.is_numeric_dtype(column.dtype):
            values = column.astype("float64")
        else:
            raise DataError(
                f"covariate {cov!r} has dtype {column.dtype}; balance needs numeric or boolean covariates "
                "(encode categories as 0/1 columns)"
            )
        if np.isinf(values.to_numpy()).any():
            raise DataError(f"covariate {cov!r} has infinite values; clean them before checking balance")
        grouped = values.groupby(labels.to_numpy(), sort=True)
        stats_table = pd.DataFrame({"count": grouped.count(), "size": grouped.size(), "mean": grouped.mean()})
        stats_table["var"] = grouped.var(ddof=1)
        for name in variants:
            if stats_table.loc[name, "count"] < 2:
                raise DataError(
                    f"covariate {cov!r} has fewer than 2 non-missing values in variant {name!r}; "
                    "its variance (and the SMD) is undefined"
                )
        c = stats_table.loc[control]
        for name in treated:
            t = stats_table.loc[name]
            diff = float(t["mean"] - c["mean"])
            denom = math.sqrt((float(t["var"]) + float(c["var"])) / 2.0)
            if denom > 0:
                smd = diff / denom
            else:
                smd = 0.0 if diff == 0 else math.copysign(math.inf, diff)
            rows.append(
                {
                    "covariate": cov,
                    "variant": name,
                    "control": control,
                    "n_variant": int(t["count"]),
                    "n_control": int(c["count"]),
                    "missing_variant": int(t["size"] - t["count"]),
                    "missing_control": int(c["size"] - c["count"]),
                    "mean_variant": float(t["mean"]),
                    "mean_control": float(c["mean"]),
                    "sd_variant": math.sqrt(float(t["var"])),
                    "sd_control": math.sqrt(float(c["var"])),
                    "smd": smd,
                    "imbalanced": bool(abs(smd) > threshold),
                    "threshold": float(threshold),
                    "method": SMD_METHOD,
                }
            )
    return pd.DataFrame(rows)


def plot_balance(table: pd.DataFrame, ax: Axes | None = None, *, threshold: float | None = None) -> Axes:
    """Love plot of a :func:`balance` table: SMD per covariate, one marker per variant.

    Dashed lines mark ``+/- threshold`` (default: the table's ``threshold`` column). Draws on ``ax``
    (or a new figure) and returns the Axes; never calls ``plt.show()``.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> df = pd.DataFrame({"variant": ["holdout"] * 3 + ["coupon"] * 3, "age": [30, 40, 50, 35, 45, 55]})
    >>> ax = plot_balance(balance(df, "age"))
    >>> ax.get_xlabel()
    'standardised mean difference (variant - control)'
    >>> import matplotlib.pyplot as plt; plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt

    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"table must be the DataFrame returned by balance(), got {type(table).__name__}")
    check_columns(table, ["covariate", "variant", "smd"], what="table")
    if table.empty:
        raise DataError("table is empty; nothing to plot")
    if threshold is None:
        if "threshold" not in table.columns:
            raise ColumnError("table has no 'threshold' column; pass threshold=")
        threshold = float(table["threshold"].iloc[0])
    check_positive("threshold", threshold)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 0.45 * table["covariate"].nunique() + 1.5))
    covariates = list(dict.fromkeys(table["covariate"].tolist()))
    position = {c: i for i, c in enumerate(covariates)}
    markers = "osD^v<>Ph*"
    for i, (variant, part) in enumerate(table.groupby("variant", sort=True)):
        y = [position[c] for c in part["covariate"]]
        x = np.clip(part["smd"].to_numpy(dtype=float), -1e9, 1e9)
        ax.scatter(x, y, marker=markers[i % len(markers)], label=str(variant), zorder=3)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    for side in (-threshold, threshold):
        ax.axvline(side, color="0.5", linestyle="--", linewidth=0.8)
    ax.set_yticks(range(len(covariates)), covariates)
    ax.invert_yaxis()
    ax.set_xlabel("standardised mean difference (variant - control)")
    control = table["control"].iloc[0] if "control" in table.columns else "control"
    ax.set_title(f"Covariate balance vs {control} (|SMD| > {format_number(threshold)} flagged)")
    ax.legend(title="variant", loc="best", fontsize="small")
    return ax
