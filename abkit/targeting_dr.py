"""The doubly robust learner of ``abkit.target(..., method="dr")``: cell scores from customer features.

A cross-fitted DR-learner (Kennedy 2023) on the customers' ``features``, written entirely in
sufficient statistics so that the whole learn-and-value pipeline can be bootstrapped:

1. **Design.** Numeric features become a cubic B-spline basis (scikit-learn ``SplineTransformer``,
   five uniform knots over the 1st-99th percentile range, so a non-linear effect of e.g. recency is
   learned); text or categorical features are one-hot encoded (``OneHotEncoder``, at most
   :data:`MAX_LEVELS` values); booleans are one 0/1 column; plus an unpenalised intercept.
2. **Outcome models** (stage 1): per arm, a ridge regression of profit per customer on the design
   (penalty :data:`RIDGE_OUTCOME`, in customers). Cross-fitted: the model used for a customer of
   fold *j* is fitted without fold *j* (and without the fold held out for valuation).
3. **Pseudo-outcomes** (AIPW): ``phi_a = mu_a(x) + [A = a] (Y - mu_a(x)) / e_a`` with ``e_a`` the
   test's known share of arm *a* in the customer's cell (the randomisation's propensity).
4. **Effect models** (stage 2): per arm, a ridge regression of ``phi_a - phi_control`` on the design
   (penalty :data:`RIDGE_EFFECT`): the predicted incremental profit ``tau_a(x)`` of each customer.
5. **Cell scores**: the mean of ``tau_a(x)`` over each cell's (training) customers. The targeting
   plan takes, per cell, the arm with the highest score (or no contact when none is above zero), so
   the next wave is still assigned by per-cell weights; :func:`customer_choices` gives each
   customer's own best option to show how far a cell's customers agree with its choice.

Ridge fits need only ``sum w x x'`` and ``sum w x y`` per (fold, arm) (the AIPW term also its
``1 / e`` weighted versions), so :func:`dr_statistics` reduces each bootstrap chunk of customer
weights to those sums and :func:`dr_scores` fits every fold and replicate at once with batched
linear solves. scikit-learn is the optional dependency ``pip install 'abkit[dr]'``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from abkit.errors import ColumnError, DataError, ParameterError

__all__ = [
    "MAX_COLUMNS",
    "MAX_LEVELS",
    "RIDGE_EFFECT",
    "RIDGE_OUTCOME",
    "DRStatistics",
    "customer_choices",
    "design_matrix",
    "dr_scores",
    "dr_statistics",
    "feature_columns",
    "load_sklearn",
    "stack_statistics",
]

#: Most distinct values of a text feature (one column each); more: group them first.
MAX_LEVELS = 50
#: Most columns of the design (intercept, spline and one-hot columns).
MAX_COLUMNS = 80
#: Ridge penalty of the per-arm outcome models (stage 1), in customers.
RIDGE_OUTCOME = 20.0
#: Ridge penalty of the per-arm effect models (stage 2), in customers.
RIDGE_EFFECT = 1000.0
_SPLINE_KNOTS = 5
_SPLINE_DEGREE = 3
_SOLVE_CHUNK = 8  # bootstrap replicates fitted at a time (bounds the stage-1 arrays)


def load_sklearn() -> Any:
    """The scikit-learn preprocessing module, or an error saying how to install the ``dr`` extra.

    >>> load_sklearn().__name__
    'sklearn.preprocessing'
    """
    try:
        from sklearn import preprocessing  # the optional dependency of method="dr"
    except ImportError:
        raise ParameterError(
            "method='dr' needs scikit-learn, which is not installed: pip install 'abkit[dr]' "
            "(or use method='shrunk')"
        ) from None
    return preprocessing


def feature_columns(features: Any) -> list[str]:
    """``features`` as a list of distinct column names (one name is a list of one).

    >>> feature_columns("segment")
    ['segment']
    """
    if isinstance(features, str):
        features = [features]
    if not (isinstance(features, Sequence) and features and all(isinstance(f, str) for f in features)):
        raise ParameterError(
            f"features must be a non-empty list of column names, got {features!r}; e.g. "
            "features=['recency_days', 'segment']"
        )
    if len(set(features)) != len(features):
        raise ParameterError(f"features={list(features)!r} names a column twice")
    return list(features)


def design_matrix(frame: pd.DataFrame, features: Any, *, outcome_columns: Sequence[str] = ()) -> np.ndarray:
    """The learner's design: intercept, spline bases of numeric features, one-hot text features.

    Raises naming the column when a feature is missing, is an outcome column, has missing values,
    is neither numeric nor text (e.g. a date: convert it to days first), is constant, or has more
    than :data:`MAX_LEVELS` text values.

    >>> df = pd.DataFrame({"days": [10, 40, 90, 200], "segment": ["a", "b", "a", "b"]})
    >>> design_matrix(df, ["days", "segment"]).shape  # intercept + 7 spline + 2 one-hot columns
    (4, 10)
    """
    features = feature_columns(features)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        shown = ", ".join(str(c) for c in frame.columns[:25])
        raise ColumnError(
            f"features names {', '.join(map(repr, missing))}, not a column of outcomes; columns: {shown}"
        )
    leaked = [f for f in features if f in outcome_columns]
    if leaked:
        raise ParameterError(
            f"feature {leaked[0]!r} is the arm or an outcome of the test; features must be known before "
            "the send (e.g. recency, frequency, segment): drop it from features"
        )
    pre = load_sklearn()
    blocks = [np.ones((len(frame), 1))]
    categorical: list[np.ndarray] = []
    for name in features:
        col = frame[name]
        nulls = int(col.isna().sum())
        if nulls:
            raise DataError(
                f"feature {name!r} has {nulls:,} missing value(s); fill them (e.g. with 0 or 'unknown') "
                "or drop those customers before targeting"
            )
        if pd.api.types.is_bool_dtype(col):
            blocks.append(col.to_numpy(dtype=float)[:, None])
        elif pd.api.types.is_numeric_dtype(col):
            x = col.to_numpy(dtype=float)
            if not np.isfinite(x).all():
                raise DataError(f"feature {name!r} has infinite values; fix or drop those customers")
            lo, hi = np.quantile(x, [0.01, 0.99])
            if not hi > lo:
                lo, hi = float(x.min()), float(x.max())
            if not hi > lo:
                raise DataError(
                    f"feature {name!r} is constant ({lo:g}); it cannot tell customers apart: drop it"
                )
            spline = pre.SplineTransformer(
                n_knots=_SPLINE_KNOTS, degree=_SPLINE_DEGREE, knots="uniform", extrapolation="constant"
            )
            blocks.append(spline.fit_transform(np.clip(x, lo, hi)[:, None]))
        elif pd.api.types.is_object_dtype(col) or isinstance(
            col.dtype, pd.CategoricalDtype | pd.StringDtype
        ):
            text = col.astype(str).to_numpy(dtype=object)[:, None]
            levels = len(np.unique(text))
            if levels > MAX_LEVELS:
                raise DataError(
                    f"feature {name!r} has {levels:,} distinct values; one-hot encoding takes at most "
                    f"{MAX_LEVELS}: group the values (or drop an identifier)"
                )
            onehot = pre.OneHotEncoder(sparse_output=False, dtype=float).fit_transform(text)
            blocks.append(onehot)
            categorical.append(onehot)
        else:
            raise DataError(
                f"feature {name!r} is of type {col.dtype}; features must be numbers, booleans or text "
                "categories: convert it (a date, e.g., to days since)"
            )
    for first, second in itertools.combinations(categorical, 2):  # pairs of text features: their cells
        pair = (first[:, :, None] * second[:, None, :]).reshape(len(frame), -1)
        blocks.append(pair[:, pair.any(axis=0)])
    z = np.hstack(blocks)
    if z.shape[1] > MAX_COLUMNS:
        raise ParameterError(
            f"features={features!r} make {z.shape[1]} design columns, more than {MAX_COLUMNS}; use fewer "
            "features or group the values of text features"
        )
    return z


@dataclass(frozen=True)
class DRStatistics:
    """Per-replicate sums of the DR learner: (B, F, A, p, p), (B, F, A, p) and (B, F, C, p), (B, F, C)."""

    xx: np.ndarray  # sum w z z' per (fold, arm)
    xx_ipw: np.ndarray  # sum w z z' / e per (fold, arm)
    xy: np.ndarray  # sum w z y per (fold, arm)
    xy_ipw: np.ndarray  # sum w z y / e per (fold, arm)
    x_cell: np.ndarray  # sum w z per (fold, cell)
    n_cell: np.ndarray  # sum w per (fold, cell)


class _Reducer:
    """Turns chunks of customer weights (n x b) into the learner's sums, customers grouped by design row."""

    def __init__(
        self, z: np.ndarray, cell: np.ndarray, arm: np.ndarray, fold: np.ndarray, profit: np.ndarray,
        share: np.ndarray, folds: int,
    ) -> None:  # fmt: skip
        c, a = share.shape
        _, row = np.unique(z, axis=0, return_inverse=True)
        row = row.ravel()
        key = ((row * folds + fold) * c + cell) * a + arm
        uniq, group = np.unique(key, return_inverse=True)
        group = group.ravel()
        n, g = len(z), len(uniq)
        rows = np.arange(n)
        self.count = sparse.csr_matrix((np.ones(n), (group, rows)), shape=(g, n))
        self.total = sparse.csr_matrix((profit, (group, rows)), shape=(g, n))
        first = np.zeros(g, dtype=np.int64)
        first[group] = rows
        self.z = z[first]  # (G, p)
        g_arm, g_cell = uniq % a, (uniq // a) % c
        g_fold = (uniq // (a * c)) % folds
        self.inv_e = 1.0 / share[g_cell, g_arm]
        self.block = g_fold * a + g_arm  # (fold, arm) of each group
        self.fold_cell = sparse.csr_matrix(
            (np.ones(g), (g_fold * c + g_cell, np.arange(g))), shape=(folds * c, g)
        )
        self.shape = (folds, a, c, z.shape[1])

    def __call__(self, w: np.ndarray) -> tuple[np.ndarray, ...]:
        folds, a, c, p = self.shape
        b = w.shape[1]
        cnt = np.asarray(self.count @ w)  # (G, b)
        tot = np.asarray(self.total @ w)
        g = len(self.z)
        rows = np.repeat(np.arange(g), b)
        cols = np.repeat(self.block * b, b) + np.tile(np.arange(b), g)

        def spread(values: np.ndarray) -> sparse.csr_matrix:  # (G, F*A*b): a group's weight in its block
            return sparse.csr_matrix((values.ravel(), (rows, cols)), shape=(g, folds * a * b))

        ie = self.inv_e[:, None]
        m_n, m_ipw, m_y, m_yipw = spread(cnt), spread(cnt * ie), spread(tot), spread(tot * ie)
        xx = np.zeros((folds * a * b, p * p))
        xx_ipw = np.zeros_like(xx)
        step = max(1, 4_000_000 // (p * p))  # groups at a time: bounds the z z' rows held in memory
        for start in range(0, g, step):
            zs = self.z[start : start + step]
            outer = (zs[:, :, None] * zs[:, None, :]).reshape(len(zs), p * p)
            xx += m_n[start : start + step].T @ outer
            xx_ipw += m_ipw[start : start + step].T @ outer
        xy, xy_ipw = m_y.T @ self.z, m_yipw.T @ self.z

        def order(x: np.ndarray, *shape: int) -> np.ndarray:  # (F*A*b, ...) -> (b, F, A, ...)
            return np.moveaxis(x.reshape(folds, a, b, *shape), 2, 0)

        weighted = cnt.T[:, :, None] * self.z[None, :, :]  # (b, G, p)
        x_cell = np.stack([self.fold_cell @ weighted[i] for i in range(b)])  # (b, F*C, p)
        n_cell = np.asarray(self.fold_cell @ cnt).T  # (b, F*C)
        return (
            order(xx, p, p), order(xx_ipw, p, p), order(xy, p), order(xy_ipw, p),
            x_cell.reshape(b, folds, c, p), n_cell.reshape(b, folds, c),
        )  # fmt: skip


def dr_statistics(
    z: np.ndarray, cell: np.ndarray, arm: np.ndarray, fold: np.ndarray, profit: np.ndarray, share: np.ndarray,
    folds: int,
) -> _Reducer:  # fmt: skip
    """A reducer: call it on each (customers x replicates) weight chunk; stack with :func:`stack_statistics`.

    >>> z = np.ones((4, 1)); r = dr_statistics(z, np.zeros(4, int), np.array([0, 1, 0, 1]),
    ...     np.array([0, 0, 1, 1]), np.array([1.0, 2.0, 3.0, 4.0]), np.array([[0.5, 0.5]]), folds=2)
    >>> r(np.ones((4, 1)))[2][0, :, :, 0].tolist()  # sum of profit per (fold, arm)
    [[1.0, 2.0], [3.0, 4.0]]
    """
    return _Reducer(z, cell, arm, fold, profit, share, folds)


def stack_statistics(chunks: Sequence[tuple[np.ndarray, ...]]) -> DRStatistics:
    """One :class:`DRStatistics` from the reducer's chunks, in replicate order."""
    return DRStatistics(*(np.concatenate([ch[i] for ch in chunks]) for i in range(6)))


def _ridge(xx: np.ndarray, xy: np.ndarray, penalty: float) -> np.ndarray:
    """Batched ridge solutions; the intercept (column 0) is not penalised."""
    p = xx.shape[-1]
    pen = np.eye(p) * penalty
    pen[0, 0] = 1e-9 * penalty  # keeps the system solvable when a (fold, arm) is empty
    return np.linalg.solve(xx + pen, xy[..., None])[..., 0]


def dr_scores(stats: DRStatistics, *, ridge_outcome: float = RIDGE_OUTCOME,
              ridge_effect: float = RIDGE_EFFECT) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Cell scores (B, K + 1, C, A) and effect coefficients (B, K + 1, A, p) per held-out fold.

    Index ``k < K`` of the second axis is learned without fold ``k`` (it is valued on fold ``k``);
    index ``K`` is learned on every fold (the plan itself). Column 0 (the control) scores 0.

    >>> rng = np.random.default_rng(0)
    >>> z = np.column_stack([np.ones(400), rng.integers(0, 2, 400)])
    >>> arm = np.arange(400) % 2; y = 1.0 * arm * z[:, 1] + rng.normal(size=400)
    >>> reducer = dr_statistics(z, np.zeros(400, int), arm, np.arange(400) // 2 % 2, y,
    ...                         np.array([[0.5, 0.5]]), folds=2)
    >>> scores, theta = dr_scores(stack_statistics([reducer(np.ones((400, 1)))]), ridge_effect=1.0)
    >>> bool(abs(theta[0, 2, 1, 1] - 1.0) < 0.5)  # the planted effect of the feature
    True
    """
    arrays = [getattr(stats, f.name) for f in fields(stats)]
    parts = [
        _dr_scores(DRStatistics(*(x[i : i + _SOLVE_CHUNK] for x in arrays)), ridge_outcome, ridge_effect)
        for i in range(0, stats.xx.shape[0], _SOLVE_CHUNK)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _dr_scores(
    stats: DRStatistics, ridge_outcome: float, ridge_effect: float
) -> tuple[np.ndarray, np.ndarray]:
    xx, xx_ipw, xy, xy_ipw = stats.xx, stats.xx_ipw, stats.xy, stats.xy_ipw
    folds = xx.shape[1]
    train = ~np.eye(folds + 1, folds, dtype=bool)  # (K + 1, F): configuration k trains on f != k
    inner = train[:, :, None] & train[:, None, :] & ~np.eye(folds, dtype=bool)[None]  # (K+1, J, F)
    t = train.astype(float)
    # stage 1: outcome model of each arm for fold j's customers, fitted without folds j and k
    xx1 = np.einsum("kjf,bfapq->bkjapq", inner.astype(float), xx)
    xy1 = np.einsum("kjf,bfap->bkjap", inner.astype(float), xy)
    beta = _ridge(xx1, xy1, ridge_outcome)  # (B, K+1, J, A, p)
    # stage 2: sum over fold j of z * phi_a = xx_j beta + xy_ipw_j,a - xx_ipw_j,a beta
    xx_all = xx.sum(axis=2)  # (B, F, p, p)
    contrib = (
        np.einsum("bjpq,bkjaq->bkjap", xx_all, beta)
        + xy_ipw[:, None]
        - np.einsum("bjapq,bkjaq->bkjap", xx_ipw, beta)
    )
    rhs = np.einsum("kj,bkjap->bkap", t, contrib)
    delta = rhs[:, :, 1:] - rhs[:, :, :1]
    gram = np.einsum("kf,bfpq->bkpq", t, xx_all)
    theta = _ridge(gram[:, :, None], delta, ridge_effect)  # (B, K+1, A-1, p)
    x_cell = np.einsum("kf,bfcp->bkcp", t, stats.x_cell)
    n_cell = np.einsum("kf,bfc->bkc", t, stats.n_cell)
    total = np.maximum(n_cell.sum(axis=2, keepdims=True), 1e-300)[..., None]
    overall = x_cell.sum(axis=2, keepdims=True) / total  # a cell without training customers
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x = np.where(n_cell[..., None] > 0, x_cell / n_cell[..., None], overall)
    score = np.einsum("bkcp,bkap->bkca", mean_x, theta)
    zero = np.zeros((*score.shape[:-1], 1))
    coef = np.concatenate([np.zeros((*theta.shape[:2], 1, theta.shape[-1])), theta], axis=2)
    return np.concatenate([zero, score], axis=-1), coef


def customer_choices(z: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Each customer's own best option (arm code, 0 = no contact) from the effect coefficients (A, p).

    >>> customer_choices(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 0.0], [-1.0, 2.0]])).tolist()
    [0, 1]
    """
    return np.argmax(z @ coef.T, axis=1)
