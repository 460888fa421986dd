"""Target the next wave: who gets which campaign, or none, with an honest value and a gate.

:func:`target` turns the per-customer outcomes of a finished randomised test into a plan: for every
cell (e.g. segment x recency band) the arm with the highest incremental profit per customer against
no contact, or no contact at all. Profit per customer is ``margin * revenue - contact - offer *
redeemed`` (the control is not contacted and costs nothing).

* ``method="shrunk"`` (default): each (cell, arm) incremental profit is shrunk by empirical Bayes
  toward the arm's overall effect: the between-cell variance ``tau2`` is the random-effects
  (Paule-Mandel) estimate over the cells, the overall effect its random-effects mean, and a cell's
  estimate keeps the share ``tau2 / (tau2 + se2)`` of its own deviation. With several cell columns
  the shrinkage is nested: a cell toward its coarser cell (its first columns), that toward the
  arm's overall effect, each level with its own ``tau2``. ``"raw"``: no shrinkage. ``"dr"``
  (``features=[...]``; the optional extra ``pip install 'abkit[dr]'``, scikit-learn): a cross-fitted
  doubly robust learner (:mod:`abkit.targeting_dr`) predicts each customer's incremental profit of
  every arm from their features, and each cell takes the arm with the highest mean prediction over
  its customers. The dr plan is thus still a per-cell plan: it goes through the same valuation,
  gate, budget and per-cell weights of the next wave; ``plan.table`` shows the learner's cell
  estimate in the ``profit_shrunk`` columns (its interval from the bootstrap; ``shrinkage`` is
  NaN, ``decided_at`` is ``"model"``) and ``learner_share``, the share of the cell's customers whose
  own predicted best option is the cell's arm. ``features`` without ``method="dr"`` is an error.
* Cells with fewer than ``min_cell`` customers are pooled with the other small cells that share
  their first cell columns (dropping the last column, then the next); a pool still too small is
  left to the overall best arm. The table says where each cell was decided.
* ``budget``: ``{"contacts": N}``, ``{"offers": N}`` (customers sent an arm with an offer cost) or
  ``{"spend": X}`` (contact costs plus expected offer costs), for a wave of the size and cell mix of
  the test. Solved by :func:`allocate_budget`, the greedy fill along each cell's cost-profit convex
  hull (the linear relaxation of the multiple-choice knapsack; one cell may be split).

The value is honest: the customers are split into five folds (within each cell and arm); for each
fold the choices are learned on the other four and valued on it by AIPW (outcome model: the
training folds' cell means; propensities: the test's arm shares in each cell). Intervals are
the estimate plus or minus ``z`` standard deviations of the same learn-and-value pipeline rerun on
``n_boot`` Poisson-bootstrap replicates of the customers (vectorised over the cell-level sums);
percentile intervals would sit too low, since a bootstrap sample's duplicated customers make the
plans learned from it worse than the data's own. No value computed on the data a choice was
learned from is shown. The gate adopts the plan only when the lower end of its interval against
sending everyone the single best arm is above zero; otherwise the best arm is recommended, or
nobody when the best arm's own gain over no contact is not shown.

:func:`value_of` values any policy on a wave that stored each customer's assignment probability
(``plan.assign``): inverse-propensity (Horvitz-Thompson) and AIPW on cell means.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats

from abkit import formatting as fmt
from abkit._display import Displayable, frame_to_html
from abkit._validate import (
    check_choice,
    check_columns,
    check_costs,
    check_finite,
    check_probability,
    check_propensities,
)
from abkit.assignment import assign
from abkit.errors import ColumnError, DataError, ParameterError
from abkit.messages import LANGUAGES, message
from abkit.power import mde_mean
from abkit.stats.weighting import policy_scores
from abkit.targeting_dr import (
    customer_choices,
    design_matrix,
    dr_scores,
    dr_statistics,
    feature_columns,
    stack_statistics,
)

__all__ = [
    "BUDGET_KEYS",
    "METHODS",
    "PolicyValue",
    "TargetingPlan",
    "allocate_budget",
    "target",
    "value_of",
]

#: Methods of :func:`target` (``"dr"`` needs ``features`` and scikit-learn: ``pip install 'abkit[dr]'``).
METHODS: tuple[str, ...] = ("shrunk", "raw", "dr")
#: Keys of the ``budget`` mapping: contacts sent, offers sent, or money spent (contact + offers).
BUDGET_KEYS: tuple[str, ...] = ("contacts", "offers", "spend")
FOLDS = 5  # cross-fitting folds
_BOOT_CHUNK = 16  # bootstrap replicates drawn at a time (keeps the weight matrix small)
_CURVE_POINTS = 11
_DECIDED = ("cell", "pooled", "overall", "model")


# --------------------------------------------------------------------------------------------------
# the budget: multiple-choice knapsack, linear relaxation, greedy along convex hulls
# --------------------------------------------------------------------------------------------------
def _hull(cost: np.ndarray, profit: np.ndarray) -> list[int]:
    """Indices of the options on the upper-left convex hull, cheapest first (start: best of the cheapest)."""
    order = np.lexsort((-profit, cost))
    hull: list[int] = []
    for i in order.tolist():
        if hull and profit[i] <= profit[hull[-1]]:
            continue  # dominated: costs at least as much for no more profit
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # b lies on or below the chord a -> i: drop it (slopes must decrease along the hull)
            if (profit[b] - profit[a]) * (cost[i] - cost[a]) <= (profit[i] - profit[a]) * (cost[b] - cost[a]):
                hull.pop()
            else:
                break
        if hull and cost[i] == cost[hull[-1]]:
            hull[-1] = i  # same cost, more profit (only possible for the first options)
        else:
            hull.append(i)
    return hull


def allocate_budget(profit: Any, cost: Any, budget: float) -> np.ndarray:
    """Share of each cell given to each option, maximising total profit with total cost <= budget.

    ``profit`` and ``cost`` are (cells x options) totals; every cell needs an option of cost 0 (no
    contact). The multiple-choice knapsack's linear relaxation is solved exactly by the greedy
    fill along each cell's cost-profit convex hull: the hull segments of all cells are taken in
    decreasing order of profit per unit of cost while money is left, the last one in part (that one
    cell is split between two options). Returns a (cells x options) array whose rows sum to one.

    >>> w = allocate_budget([[0, 5, 8], [0, 4, 5]], [[0, 1, 2], [0, 1, 2]], budget=2.0)
    >>> w.tolist()
    [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    """
    p = np.asarray(check_finite("profit", profit), dtype=float)
    c = np.asarray(check_finite("cost", cost), dtype=float)
    if p.ndim != 2 or p.shape != c.shape:
        raise ParameterError(
            f"profit and cost must be (cells x options) arrays of one shape, got {p.shape} and {c.shape}"
        )
    if np.any(c < 0):
        raise ParameterError("cost must not be negative")
    if not np.all((c == 0).any(axis=1)):
        raise ParameterError("every cell needs an option of cost 0 (no contact)")
    budget = float(check_finite("budget", budget))
    if budget < 0:
        raise ParameterError(f"budget must not be negative, got {budget:g}")
    weights = np.zeros_like(p)
    segments: list[tuple[float, int, int, int, float]] = []  # (slope, cell, from, to, dcost)
    for cell in range(p.shape[0]):
        hull = _hull(c[cell], p[cell])
        weights[cell, hull[0]] = 1.0
        for a, b in itertools.pairwise(hull):
            dc, dp = c[cell, b] - c[cell, a], p[cell, b] - p[cell, a]
            segments.append((dp / dc, cell, a, b, dc))
    segments.sort(key=lambda seg: -seg[0])  # stable: ties keep cell order; within a cell slopes fall
    left = budget
    for _, cell, a, b, dc in segments:
        if left <= 0:
            break
        take = min(1.0, left / dc)
        weights[cell, a] -= take
        weights[cell, b] += take
        left -= take * dc
        if take < 1.0:
            break
    return np.clip(weights, 0.0, 1.0)


# --------------------------------------------------------------------------------------------------
# arguments and data
# --------------------------------------------------------------------------------------------------
def _cells_list(cells: Any) -> list[str]:
    if isinstance(cells, str):
        return [cells]
    if isinstance(cells, Sequence) and cells and all(isinstance(c, str) for c in cells):
        if len(set(cells)) != len(cells):
            raise ParameterError(f"cells={list(cells)!r} names a column twice")
        return list(cells)
    raise ParameterError(f"cells must be a column name or a list of column names, got {cells!r}")


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ParameterError(f"{name} must be at least {minimum}, got {value!r}")
    return int(value)


def _check_share(name: str, value: Any) -> float:
    v = float(check_finite(name, value))
    if not 0 <= v < 1:
        raise ParameterError(f"{name} must be a share in [0, 1), got {value!r}")
    return v


def _check_budget(budget: Any) -> tuple[str, float] | None:
    if budget is None:
        return None
    if not isinstance(budget, Mapping) or len(budget) != 1:
        raise ParameterError(
            f"budget must be one of {{'contacts': N}}, {{'offers': N}} or {{'spend': X}}, got {budget!r}"
        )
    ((key, value),) = budget.items()
    if key not in BUDGET_KEYS:
        raise ParameterError(
            f"budget key {key!r} is not known; use one of {', '.join(map(repr, BUDGET_KEYS))}"
        )
    amount = float(check_finite(f"budget[{key!r}]", value))
    if amount < 0:
        raise ParameterError(f"budget[{key!r}] must not be negative, got {value!r}")
    return str(key), amount


@dataclass(frozen=True)
class _Data:
    cell_keys: list[tuple[Any, ...]]
    cell: np.ndarray  # (N,) cell code
    arm: np.ndarray  # (N,) arm code, control = 0
    arms: tuple[str, ...]
    profit: np.ndarray  # (N,) profit per customer
    redeemed: np.ndarray  # (N,) 0/1
    gross: np.ndarray  # (N,) margin * revenue
    contact: np.ndarray  # (A,) contact cost
    offer: np.ndarray  # (A,) offer cost

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.cell_keys), len(self.arms)


def _prepare(
    outcomes: Any, *, costs: Any, margin: Any, control: Any, cells: list[str], variant_col: str,
    revenue: str, redeemed: str,
) -> tuple[_Data, float]:  # fmt: skip
    if not isinstance(outcomes, pd.DataFrame):
        raise ParameterError(f"outcomes must be a pandas DataFrame, got {type(outcomes).__name__}")
    m = float(check_finite("margin", margin))
    if not 0 < m <= 1:
        raise ParameterError(f"margin must be the share of revenue kept, in (0, 1], got {margin!r}")
    check_columns(outcomes, [variant_col, revenue, redeemed, *cells], what="outcomes")
    if len(outcomes) == 0:
        raise DataError("outcomes has no rows; pass the per-customer outcomes of the finished test")
    for col in [variant_col, *cells]:
        nulls = int(outcomes[col].isna().sum())
        if nulls:
            raise DataError(
                f"column {col!r} has {nulls} missing value(s); fill or drop those customers first"
            )
    labels = outcomes[variant_col].astype(str).to_numpy()
    present = sorted(set(labels.tolist()))
    if not isinstance(control, str) or control not in present:
        raise ParameterError(
            f"control={control!r} is not a value of column {variant_col!r} (values: {', '.join(present)}); "
            "name the no-contact arm of the test"
        )
    arms = (control, *[a for a in present if a != control])
    if len(arms) < 2:
        raise DataError(
            f"column {variant_col!r} holds only the control {control!r}; there is nothing to target"
        )
    cost = check_costs(costs, arms, control)
    red = outcomes[redeemed].to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(red).any() or not np.isin(red, (0.0, 1.0)).all():
        raise DataError(f"column {redeemed!r} must hold 0/1 or booleans without missing values")
    rev = outcomes[revenue].to_numpy(dtype=float, na_value=np.nan)
    bad = int((~np.isfinite(rev)).sum())
    if bad:
        raise DataError(
            f"{bad} missing or infinite value(s) in column {revenue!r}; fix them or drop those rows"
        )
    codes = outcomes.groupby(cells, sort=True, observed=True).ngroup().to_numpy()
    keys = list(outcomes.groupby(cells, sort=True, observed=True).size().index)
    keys = [k if isinstance(k, tuple) else (k,) for k in keys]
    arm_code = pd.Series(range(len(arms)), index=list(arms)).reindex(labels).to_numpy()
    contact = np.array([cost[a][0] for a in arms])
    offer = np.array([cost[a][1] for a in arms])
    gross = m * rev
    prof = gross - contact[arm_code] - offer[arm_code] * red
    data = _Data(keys, codes, arm_code, arms, prof, red, gross, contact, offer)
    return data, m


def _pools(
    cell_keys: list[tuple[Any, ...]], n_cell: np.ndarray, min_cell: int
) -> tuple[np.ndarray, list[str], list[tuple[Any, ...]]]:
    """Decision unit of each cell (-1: left to the overall best arm), where it was decided, unit keys."""
    depth = len(cell_keys[0])
    unit = np.full(len(cell_keys), -1)
    decided = ["overall"] * len(cell_keys)
    unit_ids: dict[tuple[int, tuple[Any, ...]], int] = {}
    todo = [i for i in range(len(cell_keys))]
    for level in range(depth, 0, -1):  # level = number of cell columns kept
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i in todo:
            groups.setdefault(cell_keys[i][:level], []).append(i)
        todo = []
        for prefix, members in groups.items():
            if n_cell[members].sum() >= min_cell:
                uid = unit_ids.setdefault((level, prefix), len(unit_ids))
                for i in members:
                    unit[i] = uid
                    decided[i] = "cell" if level == depth else "pooled"
            else:
                todo.extend(members)
    unit_keys = [prefix for (_, prefix) in sorted(unit_ids, key=unit_ids.__getitem__)]
    return unit, decided, unit_keys


def _hierarchy(
    cell_keys: list[tuple[Any, ...]], unit_keys: list[tuple[Any, ...]]
) -> tuple[tuple[tuple[np.ndarray, np.ndarray, int], ...], int, np.ndarray]:
    """Shrinkage levels (first 1, 2, ... cell columns), the number of groups and each unit's parent group."""
    depth = len(cell_keys[0])
    index: dict[tuple[Any, ...], int] = {(): 0}
    levels = []
    for level in range(1, depth):
        prefixes = list(dict.fromkeys(k[:level] for k in cell_keys))
        offset = len(index)
        for j, prefix in enumerate(prefixes):
            index[prefix] = offset + j
        member = np.zeros((len(cell_keys), len(prefixes)))
        for i, k in enumerate(cell_keys):
            member[i, index[k[:level]] - offset] = 1.0
        levels.append((member, prefixes, offset))
    n_groups = len(index)
    out = []
    for member, prefixes, offset in levels:
        parent = np.zeros((len(prefixes), n_groups))
        for j, prefix in enumerate(prefixes):
            parent[j, index[prefix[:-1]]] = 1.0
        out.append((member, parent, offset))
    unit_parent = np.zeros((len(unit_keys), n_groups))
    for u, key in enumerate(unit_keys):
        unit_parent[u, index[key[:-1]]] = 1.0
    return tuple(out), n_groups, unit_parent


# --------------------------------------------------------------------------------------------------
# the pipeline, vectorised over leading axes (bootstrap replicate, fold)
# --------------------------------------------------------------------------------------------------
def _replicate_sums(
    data: _Data, fold: np.ndarray, n_boot: int, rng: np.random.Generator, also: Any = None
) -> tuple[np.ndarray, list[Any]]:
    """Sums per (replicate, statistic, fold, cell, arm); replicate 0 is the data, then Poisson bootstraps.

    Statistics: count, sum of profit, sum of squared profit, sum of redeemed. ``also`` (a callable,
    or None) is called on each chunk of customer weights (customers x replicates) too; its results
    are returned in replicate order (the dr learner's sums, from the same replicates).
    """
    c, a = data.shape
    n = len(data.cell)
    groups = FOLDS * c * a
    group = (fold * c + data.cell) * a + data.arm
    rows = np.arange(n)
    columns = [np.ones(n), data.profit, data.profit**2, data.redeemed]
    x = sparse.hstack(
        [sparse.csr_matrix((col, (rows, group)), shape=(n, groups)) for col in columns], format="csr"
    ).T.tocsr()  # (4 * groups) x customers
    out = np.empty((n_boot + 1, len(columns) * groups))
    out[0] = np.asarray(x.sum(axis=1)).ravel()
    extra = [] if also is None else [also(np.ones((n, 1)))]
    for start in range(0, n_boot, _BOOT_CHUNK):
        size = min(_BOOT_CHUNK, n_boot - start)
        w = rng.poisson(1.0, size=(n, size)).astype(np.float64)
        out[1 + start : 1 + start + size] = (x @ w).T
        if also is not None:
            extra.append(also(w))
    return out.reshape(n_boot + 1, len(columns), FOLDS, c, a), extra


def _effects(n: np.ndarray, s: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Incremental mean profit of each arm vs column 0, its squared standard error and a usable mask."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / n
        var = np.maximum(q - s * mean, 0.0) / (n - 1)
    usable = (n >= 2) & (n[..., :1] >= 2)
    d = np.where(usable, mean - mean[..., :1], 0.0)
    se2 = np.where(usable, var / n + var[..., :1] / n[..., :1], np.inf)
    return d, np.maximum(se2, 1e-12), usable


def _tau2(d: np.ndarray, se2: np.ndarray, usable: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Between-group variance per arm around the parents' means: Paule-Mandel, by bisection.

    The root of ``sum_g (d_g - mu_p(g))**2 / (se2_g + tau2) = sum_p (k_p - 1)``, with ``mu_p`` the
    parent's random-effects mean (statsmodels ``combine_effects(method_re="iterated")`` with one
    parent); zero when even ``tau2 = 0`` leaves less spread than expected. With few groups it is
    less biased toward zero than DerSimonian-Laird, which over-shrinks cells that truly differ.
    """
    ok = usable.astype(float)
    k = np.einsum("...ga,gp->...pa", ok, parent)
    df = np.maximum(k - 1, 0).sum(axis=-2)  # (..., a)
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = np.einsum("...ga,gp->...pa", ok * d, parent) / k
        dev = (d - np.einsum("...pa,gp->...ga", np.nan_to_num(plain), parent)) ** 2
        hi = np.where(df > 0, (ok * dev).sum(axis=-2) / df, 0.0) + 1e-12
    dz = np.where(usable, d, 0.0)

    def excess(tau2: np.ndarray) -> np.ndarray:
        w = ok / (se2 + tau2[..., None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.einsum("...ga,gp->...pa", w * dz, parent) / np.einsum("...ga,gp->...pa", w, parent)
        mu_g = np.einsum("...pa,gp->...ga", np.nan_to_num(mu), parent)
        return (w * (dz - mu_g) ** 2).sum(axis=-2) - df

    lo = np.zeros_like(hi)
    for _ in range(40):
        mid = (lo + hi) / 2
        above = excess(mid) > 0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where((df > 0) & (excess(np.zeros_like(hi)) > 0), (lo + hi) / 2, 0.0)


def _shrink_to(
    d: np.ndarray, se2: np.ndarray, usable: np.ndarray, parent: np.ndarray, parent_est: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical Bayes over the groups axis (-2), each group shrunk toward its parent's estimate.

    ``parent`` is (groups x parents) 0/1; the between-group variance ``tau2`` (one per arm) is
    :func:`_tau2`. ``parent_est`` (..., parents, arms) is the target; None: the parents'
    random-effects means. Returns the shrunk effects, the share of its own deviation each group
    keeps, ``tau2 / (tau2 + se2)``, and the parents' estimates.
    """
    tau2 = _tau2(d, se2, usable, parent)[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        if parent_est is None:
            wr = np.where(usable, 1.0 / (se2 + tau2), 0.0)
            dz = np.where(usable, d, 0.0)
            parent_est = np.einsum("...ga,gp->...pa", wr * dz, parent) / np.einsum(
                "...ga,gp->...pa", wr, parent
            )
        target_g = np.einsum("...pa,gp->...ga", np.nan_to_num(parent_est), parent)
        keep = np.where(usable, tau2 / (tau2 + se2), 0.0)
    return target_g + keep * (d - target_g), keep, np.nan_to_num(parent_est)


def _nested_shrink(
    sums: tuple[np.ndarray, np.ndarray, np.ndarray],
    unit_sums: tuple[np.ndarray, np.ndarray, np.ndarray],
    setup: _Setup,
) -> tuple[np.ndarray, np.ndarray]:
    """Shrunk unit effects: cells toward their parent group, groups toward the arm's overall effect.

    With one cell column this is plain empirical Bayes toward each arm's overall (random-effects)
    effect; with more, each level of the cell columns is shrunk toward the level above, the top
    level toward the arm's overall effect (the parents' estimates are themselves shrunk).
    """
    n, s, q = sums
    lead = n.shape[:-2]
    a = n.shape[-1]
    est_all = np.zeros((*lead, setup.n_groups, a - 1))
    for member, parent, offset in setup.levels:
        gd, gse2, gok = _effects(*(np.einsum("...ca,cg->...ga", x, member) for x in (n, s, q)))
        target = None if offset == 1 else est_all[..., : setup.n_groups, :]
        if target is not None:
            shrunk, _, _ = _shrink_to(gd[..., 1:], gse2[..., 1:], gok[..., 1:], parent, target)
        else:
            shrunk, _, mu = _shrink_to(gd[..., 1:], gse2[..., 1:], gok[..., 1:], parent[:, :1], None)
            est_all[..., :1, :] = mu
        est_all[..., offset : offset + member.shape[1], :] = shrunk
    ud, use2, uok = _effects(*unit_sums)
    if not setup.levels:  # one cell column: units shrink toward the arm's overall effect
        est, keep, _ = _shrink_to(ud[..., 1:], use2[..., 1:], uok[..., 1:], setup.unit_parent[:, :1], None)
    else:
        est, keep, _ = _shrink_to(ud[..., 1:], use2[..., 1:], uok[..., 1:], setup.unit_parent, est_all)
    zero = np.zeros((*est.shape[:-1], 1))
    return np.concatenate([zero, est], axis=-1), np.concatenate([zero + 1.0, keep], axis=-1)


@dataclass(frozen=True)
class _Setup:
    member: np.ndarray  # (C, U) 0/1: cell -> decision unit
    leftover: np.ndarray  # (C,) bool: cell left to the overall best arm
    n_cell: np.ndarray  # (C,) customers per cell in the test
    share: np.ndarray  # (C, A) arm shares in each cell (propensities)
    contact: np.ndarray
    offer: np.ndarray
    method: str
    budget: tuple[str, float] | None
    # the cell hierarchy for shrinkage: (cells x groups membership, groups x all-groups parent, offset)
    levels: tuple[tuple[np.ndarray, np.ndarray, int], ...] = ()
    n_groups: int = 1  # all groups: the overall (index 0) and every group of every level
    unit_parent: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))  # units x all groups


def _learn(
    n: np.ndarray, s: np.ndarray, q: np.ndarray, r: np.ndarray, setup: _Setup,
    scores: np.ndarray | None = None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Choices learned from (..., cell, arm) sums: the plan's and the best arm's policies (..., C, A).

    ``scores`` (..., C, A): the dr learner's cell scores learned from the same customers; when
    given they replace the (shrunk or raw) cell estimates as what the plan maximises.
    """
    un = np.einsum("...ca,cu->...ua", n, setup.member)
    us = np.einsum("...ca,cu->...ua", s, setup.member)
    uq = np.einsum("...ca,cu->...ua", q, setup.member)
    ur = np.einsum("...ca,cu->...ua", r, setup.member)
    d, se2, usable = _effects(un, us, uq)
    if setup.method == "shrunk" and un.shape[-2] > 0:
        est, keep = _nested_shrink((n, s, q), (un, us, uq), setup)
    else:
        est, keep = d, np.where(usable, 1.0, 0.0)
    # the overall effect of each arm: cell effects weighted by the cells' sizes
    cd, _, cu = _effects(n, s, q)
    wc = np.where(cu, setup.n_cell[:, None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        overall = np.nan_to_num((wc * cd).sum(axis=-2) / wc.sum(axis=-2))  # (..., A), column 0 is 0
    best = 1 + np.argmax(overall[..., 1:], axis=-1)
    best_policy = np.zeros(n.shape)
    np.put_along_axis(
        best_policy, best[..., None, None] + np.zeros((*n.shape[:-1], 1), dtype=int), 1.0, axis=-1
    )
    # per-cell estimates: the unit's, or the overall effect for leftover cells
    cell_est = np.einsum("...ua,cu->...ca", est, setup.member)
    cell_est = np.where(setup.leftover[:, None], overall[..., None, :], cell_est)
    cell_ok = np.einsum("...ua,cu->...ca", usable.astype(float), setup.member) > 0
    cell_ok = cell_ok | setup.leftover[:, None]
    cell_ok[..., 0] = True
    if scores is not None:
        cell_est, cell_ok = scores, np.ones(scores.shape, dtype=bool)
    score = np.where(cell_ok, cell_est, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.einsum("...ua,cu->...ca", np.where(un > 0, ur / un, 0.0), setup.member)
        all_rate = r.sum(axis=-2) / n.sum(axis=-2)
    rate = np.where(setup.leftover[:, None], np.nan_to_num(all_rate)[..., None, :], rate)
    if setup.budget is None:
        choice = np.argmax(score, axis=-1)
        plan = np.zeros(n.shape)
        np.put_along_axis(plan, choice[..., None], 1.0, axis=-1)
    else:
        plan = _budgeted(score, rate, setup, setup.budget)
        best_policy = _budgeted_best(best, rate, setup, setup.budget, n.shape)
    return {
        "plan": plan, "best_policy": best_policy, "best": best, "est": est, "keep": keep, "d": d,
        "se2": se2, "usable": usable, "overall": overall, "rate": rate, "cell_est": cell_est,
    }  # fmt: skip


def _option_costs(rate: np.ndarray, setup: _Setup, kind: str) -> np.ndarray:
    """Cost per customer of each option (..., C, A) in the budget's unit."""
    if kind == "contacts":
        return np.broadcast_to((np.arange(len(setup.contact)) > 0).astype(float), rate.shape)
    if kind == "offers":
        return np.broadcast_to((setup.offer > 0).astype(float), rate.shape)
    return setup.contact + setup.offer * rate


def _budgeted(score: np.ndarray, rate: np.ndarray, setup: _Setup, budget: tuple[str, float]) -> np.ndarray:
    kind, amount = budget
    cost = _option_costs(rate, setup, kind) * setup.n_cell[:, None]
    profit = np.where(np.isfinite(score), score, -1e300) * setup.n_cell[:, None]
    flat_p = profit.reshape(-1, *profit.shape[-2:])
    flat_c = np.broadcast_to(cost, profit.shape).reshape(flat_p.shape)
    out = np.empty(flat_p.shape)
    for i in range(flat_p.shape[0]):
        out[i] = allocate_budget(np.maximum(flat_p[i], -1e12), flat_c[i], amount)
    return out.reshape(profit.shape)


def _budgeted_best(
    best: np.ndarray, rate: np.ndarray, setup: _Setup, budget: tuple[str, float], shape: tuple[int, ...]
) -> np.ndarray:
    """The single best arm sent to as many customers as the budget allows (the same share in every cell)."""
    kind, amount = budget
    cost = _option_costs(rate, setup, kind)
    per_cell = np.take_along_axis(cost, np.broadcast_to(best[..., None, None], (*shape[:-1], 1)), axis=-1)[
        ..., 0
    ]
    total = (per_cell * setup.n_cell).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(total > 0, np.minimum(1.0, amount / total), 1.0)
    policy = np.zeros(shape)
    idx = np.broadcast_to(best[..., None, None], (*shape[:-1], 1))
    np.put_along_axis(policy, idx, np.broadcast_to(frac[..., None, None], (*shape[:-1], 1)), axis=-1)
    policy[..., 0] += 1.0 - frac[..., None]
    return policy


def _outcome_model(n: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Mean profit per (..., cell, arm) from training sums; an empty cell takes the arm's overall mean."""
    with np.errstate(divide="ignore", invalid="ignore"):
        overall = s.sum(axis=-2, keepdims=True) / n.sum(axis=-2, keepdims=True)
        mean = np.where(n > 0, s / n, overall)
    return np.nan_to_num(mean)


def _aipw_totals(
    policy: np.ndarray, mu: np.ndarray, n: np.ndarray, s: np.ndarray, share: np.ndarray
) -> np.ndarray:
    """Sum over a fold's customers of the AIPW score of ``policy`` minus that of no contact."""
    n_c = n.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        correction = np.where(share > 0, (s - n * mu) / share, 0.0)
    score = n_c * mu + correction  # (..., C, A): AIPW total for "everyone in the cell gets arm a"
    return (policy * score).sum(axis=(-1, -2)) - score[..., 0].sum(axis=-1)


def _cross_fitted(sums: np.ndarray, setup: _Setup, scores: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Cross-fitted incremental profit per customer of the plan and of the best arm, per replicate.

    ``scores`` (B, K, C, A): the dr learner's cell scores, fold ``k``'s learned without fold ``k``.
    """
    n, s, q, r = (sums[:, i] for i in range(4))  # (B, K, C, A)
    train = [t.sum(axis=1, keepdims=True) - t for t in (n, s, q, r)]
    learned = _learn(*train, setup, scores)
    mu = _outcome_model(train[0], train[1])
    total = n.sum(axis=(1, 2, 3))
    plan = _aipw_totals(learned["plan"], mu, n, s, setup.share).sum(axis=1) / total
    best = _aipw_totals(learned["best_policy"], mu, n, s, setup.share).sum(axis=1) / total
    return {"plan": plan, "best": best}


# --------------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------------
def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


@dataclass(frozen=True, eq=False)
class TargetingPlan(Displayable):
    """Who gets which arm in the next wave, with its cross-fitted value and the adoption gate.

    ``policy`` maps each cell (a tuple of cell values) to ``{arm: share}`` (shares sum to one; one
    arm except where a budget splits a cell). ``adopt`` is true when the plan's interval against
    sending everyone ``best_arm`` lies above zero; ``recommended`` is ``"plan"``, ``"best"`` or
    ``"none"``. ``.value``, ``.table`` and ``.curve`` are copies of the result tables.
    """

    policy: dict[tuple[Any, ...], dict[str, float]]
    adopt: bool
    best_arm: str
    recommended: str
    control: str
    arms: tuple[str, ...]
    cells: tuple[str, ...]
    method: str
    budget: dict[str, float] | None
    explore: float
    holdout: float
    alpha: float
    n_boot: int
    seed: int
    customers: int
    min_cell: int
    exploration_cost: float  # per 1,000 customers
    detectable: float  # per customer, next wave vs its holdout
    _value: pd.DataFrame = field(repr=False)
    _table: pd.DataFrame = field(repr=False)
    _curve: pd.DataFrame = field(repr=False)
    features: tuple[str, ...] = ()  # method "dr": the customer features it learned from

    @property
    def value(self) -> pd.DataFrame:
        """Cross-fitted incremental profit per 1,000 customers of the plan, the best arm and no contact."""
        return self._value.copy()

    @property
    def curve(self) -> pd.DataFrame:
        """Cross-fitted profit per 1,000 customers of budgeted plans, from no contact to the plan's own."""
        return self._curve.copy()

    def to_pandas(self) -> pd.DataFrame:
        """One row per cell: the chosen arm, its estimates, contacts, cost and contribution."""
        return self._table.copy()

    def weights(self) -> dict[str, dict[str, float]]:
        """Per-cell assignment weights of the next wave, keyed by ``"|"``-joined cell values.

        The recommended policy (the plan when adopted, else the best arm or no contact) for most,
        ``holdout`` of every contacted cell kept without contact and ``explore`` spread evenly over
        all arms. Arms with weight zero are left out.
        """
        return {
            "|".join(str(v) for v in key): _wave_weights(
                shares, self.arms, self.control, self.explore, self.holdout
            )
            for key, shares in self._recommended_policy().items()
        }

    def _recommended_policy(self) -> dict[tuple[Any, ...], dict[str, float]]:
        if self.recommended == "plan":
            return self.policy
        arm = self.best_arm if self.recommended == "best" else self.control
        return {key: {arm: 1.0} for key in self.policy}

    def assign(
        self,
        units: pd.DataFrame,
        *,
        salt: str,
        id_col: str = "customer_id",
        method: str = "block",
        variant_col: str = "variant",
        propensity_col: str = "propensity",
    ) -> pd.DataFrame:
        """Randomise the next wave by per-cell weights (:meth:`weights`), stratified by the cells.

        Returns a copy of ``units`` with the arm in ``variant_col`` and each customer's probability
        of the arm they got in ``propensity_col``; ``frame.attrs["abkit_targeting"]`` holds the
        salt, method, cell columns and weights. A cell the test did not have gets the recommendation
        for everyone (best arm or no contact) and is counted in the metadata.
        """
        if not isinstance(units, pd.DataFrame):
            raise ParameterError(f"units must be a pandas DataFrame, got {type(units).__name__}")
        check_columns(units, list(self.cells), what="units")
        if propensity_col in units.columns:
            raise ColumnError(
                f"units already has a {propensity_col!r} column; drop it or pass propensity_col="
            )
        weights = self.weights()
        fallback_arm = self.best_arm if self.recommended == "best" else self.control
        if self.recommended == "plan":
            fallback_arm = self.best_arm
        keys = (
            units[list(self.cells)].astype(str).agg("|".join, axis=1)
            if len(units)
            else pd.Series([], dtype=str)
        )
        unseen = sorted(set(keys.tolist()) - set(weights))
        fallback = _wave_weights({fallback_arm: 1.0}, self.arms, self.control, self.explore, self.holdout)
        for key in unseen:
            weights[key] = fallback
        present = {k: weights[k] for k in sorted(set(keys.tolist()))}
        out = assign(
            units, variants=present, salt=salt, strata=list(self.cells), id_col=id_col, method=method,
            variant_col=variant_col,
        )  # fmt: skip
        table = pd.DataFrame(
            [(k, a, w / sum(ws.values())) for k, ws in present.items() for a, w in ws.items()],
            columns=["_key", "_arm", "_p"],
        ).set_index(["_key", "_arm"])["_p"]
        lookup = pd.MultiIndex.from_arrays([keys.to_numpy(), out[variant_col].astype(str).to_numpy()])
        out[propensity_col] = table.reindex(lookup).to_numpy(dtype=float)
        out.attrs["abkit_targeting"] = {
            "salt": salt, "method": method, "cells": list(self.cells), "weights": present,
            "recommended": self.recommended, "unseen_cells": len(unseen), "propensity_col": propensity_col,
        }  # fmt: skip
        return out

    def summary(self, language: str = "en", currency: str | None = None) -> str:
        """Plain-language summary; the first line says what to send to whom and whether to adopt.

        Money reads with ``currency``'s symbol (an ISO 4217 code, e.g. the spec's ``[report]
        currency``; None: no symbol), as in the evaluation report (:func:`abkit.formatting.money`).
        """
        check_choice("language", language, LANGUAGES)

        def msg(key: str, **values: Any) -> str:
            return message(f"target.summary.{key}", language, **values)

        def money(value: float, decimals: int | None = 0) -> str:
            return fmt.money(value, currency, decimals=decimals)

        v = self._value.set_index("policy")
        plan, best = v.loc["plan"], v.loc["best"]
        vs = {
            "vs": money(plan["vs_best"]), "vlo": money(plan["vs_best_ci_low"]),
            "vhi": money(plan["vs_best_ci_high"]), "best": self.best_arm,
        }  # fmt: skip
        if self.recommended == "plan":
            parts = []
            tab = self._table
            for arm in [*self.arms[1:], self.control]:
                rows = tab[tab["arm"] == arm]
                if len(rows) == 0:
                    continue
                key = "nobody" if arm == self.control else "send"
                parts.append(msg(key, arm=arm, cells=len(rows), customers=fmt.count(rows["customers"].sum())))
            sep = "、" if language == "ja" else ", "
            lead = msg(
                "lead_plan", what=sep.join(parts), gain=money(plan["per_1000"]), lo=money(plan["ci_low"]),
                hi=money(plan["ci_high"]), **vs,
            )  # fmt: skip
        else:
            lead = msg(
                f"lead_{self.recommended}", gain=money(best["per_1000"]), lo=money(best["ci_low"]),
                hi=money(best["ci_high"]), **vs,
            )  # fmt: skip
        method = msg(f"method_{self.method}", features=", ".join(self.features))
        lines = [lead, msg("honest", n_boot=self.n_boot), method]
        if self.budget:
            ((kind, amount),) = self.budget.items()
            shown = money(amount, None) if kind == "spend" else fmt.count(amount)
            lines.append(msg("budget", kind=msg(f"budget_{kind}"), amount=shown))
        dogs = self._table[self._table["sleeping_dog"]]
        if len(dogs):
            names = ", ".join(" / ".join(str(r[c]) for c in self.cells) for _, r in dogs.iterrows())
            lines.append(msg("dogs", cells=names))
        pooled = self._table[self._table["decided_at"].isin(("pooled", "overall"))]
        if len(pooled):
            left = int((pooled["decided_at"] == "overall").sum())
            lines.append(msg("pooled", k=len(pooled), min_cell=fmt.count(self.min_cell), j=left))
        if self.recommended != "none" and (self.explore > 0 or self.holdout > 0):
            wave = msg(
                "wave", holdout=_pct(self.holdout), explore=_pct(self.explore),
                cost=money(self.exploration_cost), mde=money(float(self.detectable), None),
            )  # fmt: skip
            lines.append(wave)
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Cross-fitted profit per 1,000 customers against the budget (``.curve``); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        curve = self._curve
        kind = curve.columns[0]
        ax.plot(curve[kind], curve["per_1000"], marker="o", label="targeted plan (cross-fitted)")
        best = self._value.set_index("policy").loc["best", "per_1000"]
        ax.axhline(best, color="grey", linestyle="--", label=f"everyone gets {self.best_arm}")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(kind)
        ax.set_ylabel("incremental profit per 1,000 customers")
        ax.set_title("Next wave: profit against budget")
        ax.legend(loc="best", fontsize="small")
        return ax

    def _title(self) -> str:
        return self.summary().splitlines()[0]

    def _repr_html_(self) -> str:
        value = frame_to_html(self._value, title=self._title(), notes=self.summary().splitlines()[1:])
        cells = frame_to_html(self._table, title="Per cell")
        return value + "\n" + cells

    def __repr__(self) -> str:
        v = self._value.set_index("policy").loc["plan"]
        return (
            f"TargetingPlan(cells={len(self._table)}, method={self.method!r}, "
            f"recommended={self.recommended!r}, "
            f"adopt={self.adopt}, best_arm={self.best_arm!r}, per_1000={v['per_1000']:.1f}, "
            f"vs_best={v['vs_best']:.1f} [{v['vs_best_ci_low']:.1f}, {v['vs_best_ci_high']:.1f}])"
        )


def _wave_weights(
    shares: Mapping[str, float], arms: Sequence[str], control: str, explore: float, holdout: float
) -> dict[str, float]:
    w = dict.fromkeys(arms, explore / len(arms))
    contacted = 1.0 - shares.get(control, 0.0)
    for arm, share in shares.items():
        w[arm] += (1.0 - explore - (holdout if arm != control else 0.0)) * share
    w[control] += holdout * contacted
    return {a: v for a, v in w.items() if v > 1e-15}


# --------------------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------------------
def target(
    outcomes: pd.DataFrame,
    *,
    costs: Mapping[str, Any],
    margin: float,
    control: str,
    cells: str | Sequence[str],
    variant_col: str = "variant",
    revenue: str = "revenue",
    redeemed: str = "repurchased",
    method: str = "shrunk",
    features: str | Sequence[str] | None = None,
    budget: Mapping[str, float] | None = None,
    explore: float = 0.10,
    holdout: float = 0.05,
    min_cell: int = 200,
    alpha: float = 0.05,
    n_boot: int = 200,
    seed: int = 0,
) -> TargetingPlan:
    """Plan the next wave from a finished randomised test: per cell the best arm, or no contact.

    See the module docstring for the method, the honest (cross-fitted) value and the gate.
    ``features`` (only with ``method="dr"``): columns of ``outcomes`` known before the send
    (numbers, booleans or text categories, which are one-hot encoded) that the dr learner uses.

    >>> from abkit.datasets import targeting_test
    >>> t = targeting_test(20_000, seed=2)
    >>> plan = target(t.outcomes, costs=t.costs, margin=t.margin, control="holdout",
    ...               cells=["segment", "recency_band"], n_boot=50)
    >>> plan.adopt, plan.best_arm
    (True, 'reminder')
    >>> plan.policy[("high_value", "06m")]
    {'personal': 1.0}
    >>> list(plan.value["policy"])
    ['plan', 'best', 'none']
    """
    cell_cols = _cells_list(cells)
    check_choice("method", method, METHODS)
    if method == "dr" and features is None:
        raise ParameterError(
            "method='dr' learns from customer features: pass features=[...], columns of outcomes known "
            "before the send (e.g. ['recency_days', 'frequency', 'segment'])"
        )
    if method != "dr" and features is not None:
        raise ParameterError(
            f"features={features!r} are used only by method='dr'; pass method='dr' or drop features"
        )
    budget_spec = _check_budget(budget)
    explore = _check_share("explore", explore)
    holdout = _check_share("holdout", holdout)
    if explore + holdout >= 1:
        raise ParameterError(
            f"explore + holdout must leave room for the plan (< 1), got {explore:g} + {holdout:g}"
        )
    min_cell = _check_int("min_cell", min_cell, 1)
    alpha = float(check_probability("alpha", alpha, what="intervals are at level 1 - alpha"))
    n_boot = _check_int("n_boot", n_boot, 20)
    seed = _check_int("seed", seed, 0)
    data, margin = _prepare(
        outcomes, costs=costs, margin=margin, control=control, cells=cell_cols, variant_col=variant_col,
        revenue=revenue, redeemed=redeemed,
    )  # fmt: skip
    c, a = data.shape
    n_ca = np.bincount(data.cell * a + data.arm, minlength=c * a).reshape(c, a).astype(float)
    n_cell = n_ca.sum(axis=1)
    unit, decided, unit_keys = _pools(data.cell_keys, n_cell, min_cell)
    levels, n_groups, unit_parent = _hierarchy(data.cell_keys, unit_keys)
    n_units = int(unit.max()) + 1 if (unit >= 0).any() else 0
    member = np.zeros((c, n_units))
    member[unit >= 0, unit[unit >= 0]] = 1.0
    setup = _Setup(
        member=member, leftover=unit < 0, n_cell=n_cell, share=n_ca / n_cell[:, None], contact=data.contact,
        offer=data.offer, method=method, budget=budget_spec, levels=levels, n_groups=n_groups,
        unit_parent=unit_parent,
    )  # fmt: skip

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    # folds: within each (cell, arm), customers in random order are dealt to the folds in turn
    group = data.cell * a + data.arm
    order = np.lexsort((rng.random(len(group)), group))
    starts = np.searchsorted(group[order], group[order], side="left")
    fold = np.empty(len(group), dtype=np.int64)
    fold[order] = (np.arange(len(group)) - starts) % FOLDS
    reducer = None
    if method == "dr":
        design = design_matrix(outcomes, features, outcome_columns=[variant_col, revenue, redeemed])
        reducer = dr_statistics(design, data.cell, data.arm, fold, data.profit, setup.share, FOLDS)
    sums, chunks = _replicate_sums(data, fold, n_boot, rng, reducer)
    # dr: cell scores (replicate, held-out fold or FOLDS = none, cell, arm) of the same replicates
    scores, coef = dr_scores(stack_statistics(chunks)) if reducer is not None else (None, None)
    values = _cross_fitted(sums, setup, None if scores is None else scores[:, :FOLDS])

    z = float(stats.norm.ppf(1 - alpha / 2))

    def row(x: np.ndarray) -> tuple[float, float, float]:
        # estimate +- z bootstrap SDs: percentile intervals would sit too low, because a bootstrap
        # sample's duplicated customers make the plans learned from it worse than the data's own
        est, sd = 1000 * float(x[0]), 1000 * float(np.std(x[1:], ddof=1))
        return est, est - z * sd, est + z * sd

    p_est, p_lo, p_hi = row(values["plan"])
    b_est, b_lo, b_hi = row(values["best"])
    v_est, v_lo, v_hi = row(values["plan"] - values["best"])
    value = pd.DataFrame(
        {
            "policy": ["plan", "best", "none"],
            "per_1000": [p_est, b_est, 0.0],
            "ci_low": [p_lo, b_lo, 0.0],
            "ci_high": [p_hi, b_hi, 0.0],
            "vs_best": [v_est, np.nan, np.nan],
            "vs_best_ci_low": [v_lo, np.nan, np.nan],
            "vs_best_ci_high": [v_hi, np.nan, np.nan],
        }
    )
    adopt = bool(v_lo > 0)
    recommended = "plan" if adopt else ("best" if b_lo > 0 else "none")

    # the plan itself: learned on all the customers
    full = [sums[0, i].sum(axis=0) for i in range(4)]  # (C, A)
    learned = _learn(*full, setup, None if scores is None else scores[0, FOLDS])
    policy_arr = learned["plan"]
    best_arm = data.arms[int(learned["best"])]
    policy = {
        key: {data.arms[j]: float(policy_arr[i, j]) for j in range(a) if policy_arr[i, j] > 1e-12}
        for i, key in enumerate(data.cell_keys)
    }
    learner = None
    if scores is not None:
        learner = (scores[:, FOLDS], customer_choices(design, coef[0, FOLDS]))
        decided = ["model"] * c
    table = _cell_table(data, learned, setup, unit, decided, n_cell, cell_cols, alpha, margin, learner)
    curve = _curve(sums[:1], setup, budget_spec, learned, data, None if scores is None else scores[0])
    # what the next wave's exploration and holdout cost, and the gain its holdout can detect
    const = _constant_values(sums[0], setup)  # per customer, each arm sent to everyone
    chosen = p_est / 1000 if recommended == "plan" else (b_est / 1000 if recommended == "best" else 0.0)
    mix = (1 - explore - holdout) * chosen + explore / a * float(const.sum()) + holdout * 0.0
    if recommended == "none":
        mix = explore / a * float(const.sum())
    exploration_cost = 1000 * (chosen - mix)
    contacted = float(table["contacts"].sum()) if recommended == "plan" else float(n_cell.sum())
    detectable = _detectable(data, contacted, holdout, explore, a, alpha)
    return TargetingPlan(
        policy=policy, adopt=adopt, best_arm=best_arm, recommended=recommended, control=control,
        arms=data.arms, cells=tuple(cell_cols), method=method,
        budget=None if budget_spec is None else {budget_spec[0]: budget_spec[1]}, explore=explore,
        holdout=holdout, alpha=alpha, n_boot=n_boot, seed=seed, customers=int(n_cell.sum()),
        min_cell=min_cell, exploration_cost=exploration_cost, detectable=detectable, _value=value,
        _table=table, _curve=curve, features=() if features is None else tuple(feature_columns(features)),
    )  # fmt: skip


def _constant_values(sums0: np.ndarray, setup: _Setup) -> np.ndarray:
    """Post-stratified incremental profit per customer of sending each arm to everyone (no learning)."""
    n, s = sums0[0].sum(axis=0), sums0[1].sum(axis=0)
    mu = _outcome_model(n, s)
    d = mu - mu[:, :1]
    return (setup.n_cell[:, None] * d).sum(axis=0) / setup.n_cell.sum()


def _detectable(data: _Data, contacted: float, holdout: float, explore: float, k: int, alpha: float) -> float:
    """Smallest gain per customer the next wave's holdout detects (two-sided, 80% power)."""
    sd = float(np.std(data.profit, ddof=1)) if len(data.profit) > 1 else float("nan")
    n_hold = contacted * (holdout + explore / k)
    n_treat = contacted * (1 - holdout - explore)
    if not (sd > 0 and n_hold >= 2 and n_treat >= 2):
        return float("nan")
    return float(mde_mean(sd, n_hold, alpha=alpha, ratio=n_treat / n_hold, correction=None))


def _cell_table(
    data: _Data, learned: dict[str, np.ndarray], setup: _Setup, unit: np.ndarray, decided: list[str],
    n_cell: np.ndarray, cell_cols: list[str], alpha: float, margin: float,
    learner: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """One row per cell; ``learner``: the dr scores on all folds per replicate and each customer's choice."""
    c, a = data.shape
    z = float(stats.norm.ppf(1 - alpha / 2))
    policy = learned["plan"]
    main = np.argmax(policy, axis=1)
    cell_est = learned["cell_est"]
    best_contacted = 1 + np.argmax(np.where(np.isfinite(cell_est[:, 1:]), cell_est[:, 1:], -np.inf), axis=1)
    shown = np.where(main == 0, best_contacted, main)
    u = np.where(unit >= 0, unit, 0)
    has_unit = (unit >= 0) & (learned["est"].shape[0] > 0)
    d = np.where(has_unit, learned["d"][u, shown] if learned["d"].size else 0.0, np.nan)
    se2 = np.where(has_unit, learned["se2"][u, shown] if learned["se2"].size else np.inf, np.nan)
    keep = np.where(has_unit, learned["keep"][u, shown] if learned["keep"].size else 0.0, np.nan)
    shrunk = cell_est[np.arange(c), shown]
    post_sd = np.sqrt(keep * se2) if setup.method == "shrunk" else np.sqrt(se2)
    rate = learned["rate"]
    per_cost = (setup.contact + setup.offer * rate) * policy
    contacts = n_cell * (1 - policy[:, 0])
    # sleeping dogs: contact (any arm, pooled) lowers margin x revenue significantly, before its costs
    g_n = np.bincount(data.cell * a + data.arm, minlength=c * a).reshape(c, a).astype(float)
    g_s = np.bincount(data.cell * a + data.arm, weights=data.gross, minlength=c * a).reshape(c, a)
    g_q = np.bincount(data.cell * a + data.arm, weights=data.gross**2, minlength=c * a).reshape(c, a)
    pooled = np.stack([g_n[:, 0], g_n[:, 1:].sum(1)], 1), np.stack([g_s[:, 0], g_s[:, 1:].sum(1)], 1)
    pq = np.stack([g_q[:, 0], g_q[:, 1:].sum(1)], 1)
    gd, gse2, gok = _effects(pooled[0], pooled[1], pq)
    dog = gok[:, 1] & (gd[:, 1] + z * np.sqrt(gse2[:, 1]) < 0)
    frame = pd.DataFrame({col: [k[i] for k in data.cell_keys] for i, col in enumerate(cell_cols)})
    frame["customers"] = n_cell.astype(np.int64)
    frame["arm"] = np.asarray(data.arms, dtype=object)[main]
    frame["arm_share"] = policy[np.arange(c), main]
    frame["campaign"] = np.asarray(data.arms, dtype=object)[shown]
    frame["profit_shrunk"] = shrunk
    frame["shrunk_ci_low"] = np.where(has_unit, shrunk - z * post_sd, np.nan)
    frame["shrunk_ci_high"] = np.where(has_unit, shrunk + z * post_sd, np.nan)
    frame["profit_raw"] = d
    frame["raw_ci_low"] = d - z * np.sqrt(se2)
    frame["raw_ci_high"] = d + z * np.sqrt(se2)
    frame["shrinkage"] = 1.0 - keep if setup.method == "shrunk" else np.where(has_unit, 0.0, np.nan)
    frame["contacts"] = contacts
    frame["cost"] = n_cell * per_cost.sum(axis=1)
    frame["contribution"] = n_cell * (policy * cell_est).sum(axis=1)
    frame["sleeping_dog"] = dog
    frame["decided_at"] = decided
    if learner is not None:  # the model's cell estimate, its bootstrap interval, customers agreeing
        full, choice = learner
        sd = np.std(full[1:, np.arange(c), shown], axis=0, ddof=1)
        frame["shrunk_ci_low"] = shrunk - z * sd
        frame["shrunk_ci_high"] = shrunk + z * sd
        frame["shrinkage"] = np.nan
        agree = np.bincount(data.cell, weights=(choice == main[data.cell]).astype(float), minlength=c)
        frame["learner_share"] = agree / n_cell
    return frame


def _curve(
    sums0: np.ndarray,
    setup: _Setup,
    budget: tuple[str, float] | None,
    learned: dict[str, np.ndarray],
    data: _Data,
    scores: np.ndarray | None = None,
) -> pd.DataFrame:
    """Cross-fitted value of budgeted plans on a grid from nothing to the unconstrained plan's use.

    ``scores`` (K + 1, C, A): the dr learner's cell scores without each fold, then on all folds.
    """
    kind = budget[0] if budget else "contacts"
    unconstrained = _Setup(**{**setup.__dict__, "budget": None})
    full = None if scores is None else scores[-1]
    plan = _learn(*[sums0[0, i].sum(axis=0) for i in range(4)], unconstrained, full)["plan"]
    per = _option_costs(learned["rate"], setup, kind)
    top = float((setup.n_cell[:, None] * per * plan).sum())
    if budget:
        top = max(top, budget[1])
    grid = np.linspace(0.0, top, _CURVE_POINTS)
    rows = []
    for amount in grid:
        step = _Setup(**{**setup.__dict__, "budget": (kind, float(amount))})
        v = _cross_fitted(sums0, step, None if scores is None else scores[None, :-1])["plan"][0]
        rows.append((float(amount), 0.0 if abs(v) < 1e-12 else 1000 * float(v)))
    return pd.DataFrame(rows, columns=[kind, "per_1000"])


# --------------------------------------------------------------------------------------------------
# valuing a policy on a wave with stored propensities
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PolicyValue(Displayable):
    """Incremental profit of a policy against no contact on a randomised wave: IPW and AIPW rows."""

    _table: pd.DataFrame
    customers: int

    def to_pandas(self) -> pd.DataFrame:
        """Rows ``estimator`` = ``"ipw"``, ``"aipw"``: value per customer, its standard error and interval."""
        return self._table.copy()

    def _title(self) -> str:
        return f"Value of the policy against no contact ({self.customers:,} customers)"

    def __repr__(self) -> str:
        ipw, aipw = self._table["per_1000"].tolist()
        return f"PolicyValue(customers={self.customers:,}, ipw_per_1000={ipw:.1f}, aipw_per_1000={aipw:.1f})"


def _policy_matrix(policy: Any, keys: list[tuple[Any, ...]], arms: tuple[str, ...]) -> np.ndarray:
    if isinstance(policy, TargetingPlan):
        policy = policy.policy
    out = np.zeros((len(keys), len(arms)))
    if isinstance(policy, str):
        if policy not in arms:
            raise ParameterError(f"policy={policy!r} is not an arm of the wave ({', '.join(arms)})")
        out[:, arms.index(policy)] = 1.0
        return out
    if not isinstance(policy, Mapping):
        raise ParameterError(
            f"policy must be an arm, a mapping cell -> arm or a TargetingPlan, got {type(policy).__name__}"
        )
    norm = {}
    for cell, choice in policy.items():
        key = tuple(cell) if isinstance(cell, tuple | list) else (cell,)
        norm[tuple(str(v) for v in key)] = choice
        norm["|".join(str(v) for v in key)] = choice
    for i, key in enumerate(keys):
        text = tuple(str(v) for v in key)
        choice = norm.get(text, norm.get("|".join(text)))
        if choice is None:
            raise ParameterError(f"policy has no entry for cell {key!r}; give every cell of the wave an arm")
        shares = {choice: 1.0} if isinstance(choice, str) else dict(choice)
        total = sum(float(v) for v in shares.values())
        for arm, s in shares.items():
            if arm not in arms:
                raise ParameterError(
                    f"policy[{key!r}] names arm {arm!r}, not an arm of the wave ({', '.join(arms)})"
                )
            out[i, arms.index(arm)] = float(s) / total
    return out


def value_of(
    policy: Any,
    outcomes: pd.DataFrame,
    *,
    costs: Mapping[str, Any],
    margin: float,
    control: str,
    cells: str | Sequence[str],
    variant_col: str = "variant",
    revenue: str = "revenue",
    redeemed: str = "repurchased",
    propensity: str = "propensity",
    alpha: float = 0.05,
) -> PolicyValue:
    """Incremental profit per customer of ``policy`` against no contact, from a wave's stored propensities.

    ``policy``: an arm (everyone gets it), a mapping cell -> arm or cell -> {arm: share}, or a
    :class:`TargetingPlan` (its ``policy``). Each customer's ``propensity`` is the probability of
    the arm they got. IPW is Horvitz-Thompson: ``mean(Y * (pi(A|cell) - [A = control]) / e)``.
    AIPW uses the wave's cell-arm means as outcome model; with propensities constant in a cell it
    equals the post-stratified difference. Standard errors from the per-customer scores; normal
    intervals at level ``1 - alpha``.

    This is the way to value a targeted wave (``abkit init --from DIR --targeted`` then ``abkit
    assign``): its assignment keeps each customer's ``propensity``, which reaches
    ``abkit.workflow.analyse(...).outcomes``; ``evaluate(..., propensity_col="propensity")`` (which
    the report uses) weights the rows that mix cells the same way (Hájek arm means).

    >>> df = pd.DataFrame({"cell": ["a"] * 4, "variant": ["mail", "mail", "none", "none"],
    ...                    "revenue": [10.0, 0.0, 5.0, 0.0], "repurchased": [1, 0, 1, 0],
    ...                    "propensity": [0.5] * 4})
    >>> v = value_of("mail", df, costs={"mail": {"contact": 1.0}}, margin=1.0, control="none", cells="cell")
    >>> v.table["value"].tolist()  # (10 - 2) / 2 - 5 / 2 = 1.5
    [1.5, 1.5]
    """
    cell_cols = _cells_list(cells)
    alpha = float(check_probability("alpha", alpha, what="intervals are at level 1 - alpha"))
    data, _ = _prepare(
        outcomes, costs=costs, margin=margin, control=control, cells=cell_cols, variant_col=variant_col,
        revenue=revenue, redeemed=redeemed,
    )  # fmt: skip
    check_columns(outcomes, [propensity], what="outcomes")
    e = check_propensities(outcomes[propensity].to_numpy(dtype=float, na_value=np.nan), propensity)
    pi = _policy_matrix(policy, data.cell_keys, data.arms)
    c, a = data.shape
    n_total = len(data.profit)
    n_ca = np.bincount(data.cell * a + data.arm, minlength=c * a).reshape(c, a)
    empty = ((pi - np.eye(a)[0][None, :]) != 0) & (n_ca == 0)
    if empty.any():
        i, j = np.argwhere(empty)[0]
        raise DataError(
            f"cell {data.cell_keys[i]!r} has no customer in arm {data.arms[j]!r}, which the policy needs; "
            "AIPW cannot value it (assign with exploration)"
        )
    ipw_scores, aipw_scores = policy_scores(data.profit, data.cell, data.arm, e, pi)
    z = float(stats.norm.ppf(1 - alpha / 2))
    rows = []
    for name, sc in (("ipw", ipw_scores), ("aipw", aipw_scores)):
        est = float(sc.mean())
        se = float(sc.std(ddof=1) / math.sqrt(n_total)) if n_total > 1 else float("nan")
        rows.append((name, est, se, est - z * se, est + z * se, 1000 * est))
    table = pd.DataFrame(rows, columns=["estimator", "value", "se", "ci_low", "ci_high", "per_1000"])
    return PolicyValue(_table=table, customers=n_total)
