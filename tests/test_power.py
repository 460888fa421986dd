"""Tests for abkit.power against published values (R, Cohen, Dunnett), statsmodels and scipy."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.power import (
    NormalIndPower,
    TTestIndPower,
    normal_power_het,
    normal_sample_size_one_tail,
)
from statsmodels.stats.proportion import power_proportions_2indep, samplesize_proportions_2indep_onetail

import abkit
from abkit import power as P
from abkit.errors import AbkitError, ParameterError


def cohen_p2(p1: float, h: float) -> float:
    """The rate p2 whose Cohen's h against p1 is h."""
    return math.sin(h / 2 + math.asin(math.sqrt(p1))) ** 2


# ----------------------------------------------------------------------------------------- R


def test_r_power_prop_test_sample_size() -> None:
    # R: power.prop.test(p1 = .50, p2 = .75, power = .90) prints n = 76.7069 (help page: "=> n = 76.7").
    # R solves with uniroot (tol ~1e-4) and ignores the far tail, so compare to 1e-3.
    s = P.sample_size(0.5, 0.25, power=0.9)
    assert s.control_exact == pytest.approx(76.7069, abs=1e-3)
    assert (s.control, s.per_variant, s.total) == (77, 77, 154)
    assert abkit.sample_size(0.5, 0.25, power=0.9).control == 77


def test_r_power_prop_test_power() -> None:
    # R: power.prop.test(n = 50, p1 = .50, p2 = .75) -> power = 0.7401659 (one tail, strict = FALSE).
    # abkit counts both tails (R's strict = TRUE); the far tail here is Phi(-4.70) ~ 1.3e-6.
    assert P.power(0.5, 0.25, 50) == pytest.approx(0.7401659, abs=3e-6)
    far_tail = stats.norm.cdf((-0.25 - 1.959964 * math.sqrt(0.625 * 0.375 * 2 / 50)) / math.sqrt(0.4375 / 50))
    assert P.power(0.5, 0.25, 50) - far_tail == pytest.approx(0.7401659, abs=1e-7)
    assert abkit.power_proportions(0.5, 0.25, 50) == P.power(0.5, 0.25, 50)


def test_r_power_t_test() -> None:
    # R: power.t.test(delta = 1, sd = 1, power = .90) -> n = 22.02110 (uniroot tolerance ~1e-4)
    s = P.sample_size_mean(1, 1, power=0.9)
    assert s.control_exact == pytest.approx(22.02110, abs=1e-4)
    assert (s.control, s.total) == (23, 46)
    # R: power.t.test(n = 20, delta = 1) -> power = 0.8689528
    assert P.power_mean(1, 1, 20) == pytest.approx(0.8689528, abs=1e-6)
    # R: power.t.test(n = 20, delta = 1, sd = 1, power = .90, ... delta = NULL) solves for delta
    assert P.power_mean(P.mde_mean(1, 20, power=0.9), 1, 20) == pytest.approx(0.9, abs=1e-10)


# ------------------------------------------------------------------------------------ Cohen


@pytest.mark.parametrize(("h", "n"), [(0.2, 393), (0.5, 63), (0.8, 25)])
def test_cohen_table_arcsine(h: float, n: int) -> None:
    # Cohen (1988), Statistical Power Analysis, table 6.4.1: two-sided alpha .05, power .80.
    for p1 in (0.1, 0.3, 0.5):
        s = P.sample_size(p1, cohen_p2(p1, h) - p1, method="arcsine")
        assert s.control == n


@pytest.mark.parametrize("ratio", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_arcsine_matches_statsmodels(ratio: float, alternative: str) -> None:
    p1 = 0.08
    h = 0.15 if alternative != "smaller" else -0.15
    p2 = math.sin(h / 2 + math.asin(math.sqrt(p1))) ** 2
    ref_n = NormalIndPower().solve_power(
        effect_size=h, power=0.8, alpha=0.05, ratio=ratio, alternative=alternative
    )
    s = P.sample_size(p1, p2 - p1, method="arcsine", ratio=ratio, alternative=alternative)
    assert s.control_exact == pytest.approx(ref_n, rel=1e-6)
    assert s.per_variant_exact == pytest.approx(ratio * ref_n, rel=1e-6)
    ref_power = NormalIndPower().power(h, nobs1=500, alpha=0.05, ratio=ratio, alternative=alternative)
    assert P.power(p1, p2 - p1, 500, method="arcsine", ratio=ratio, alternative=alternative) == pytest.approx(
        ref_power, rel=1e-10
    )


# -------------------------------------------------------------------------- pooled/unpooled


@pytest.mark.parametrize("ratio", [1.0, 3.0, 9.0, 0.25])
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_pooled_matches_statsmodels(ratio: float, alternative: str) -> None:
    # statsmodels labels: sample 1 = our variant (nobs1 = ratio * n), sample 2 = our control (prop2),
    # nobs2 = nobs1 * (1 / ratio); its null variance uses the allocation-weighted pooled rate.
    p1, d = 0.05, (0.012 if alternative != "smaller" else -0.012)
    n = 4000.0
    ref = power_proportions_2indep(
        d, p1, ratio * n, ratio=1 / ratio, alternative=alternative, return_results=False
    )
    assert P.power(p1, d, n, ratio=ratio, alternative=alternative) == pytest.approx(ref, rel=1e-10)
    # sample size: statsmodels' power (both tails) is exactly on target at our n; its explicit
    # formula ignores the far tail of a two-sided test, so it asks for a hair more (~1e-6 relative)
    s = P.sample_size(p1, d, ratio=ratio, alternative=alternative)
    sm_power = power_proportions_2indep(
        d, p1, ratio * s.control_exact, ratio=1 / ratio, alternative=alternative, return_results=False
    )
    assert sm_power == pytest.approx(0.8, abs=1e-10)
    ref_n = (
        samplesize_proportions_2indep_onetail(d, p1, 0.8, ratio=1 / ratio, alternative=alternative) / ratio
    )
    assert s.control_exact == pytest.approx(ref_n, rel=1e-5)
    assert s.control_exact <= ref_n * (1 + 1e-12)


@pytest.mark.parametrize("ratio", [1.0, 4.0])
def test_unpooled_matches_statsmodels(ratio: float) -> None:
    p1, p2, n = 0.03, 0.04, 5000.0
    std = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)  # per control unit, H0 and H1 alike
    ref = normal_power_het(p2 - p1, n, 0.05, std_null=std, std_alternative=std)
    assert P.power(p1, p2 - p1, n, ratio=ratio, method="unpooled") == pytest.approx(ref, rel=1e-10)
    ref_n = normal_sample_size_one_tail(p2 - p1, 0.9, 0.05 / 2, std_null=std)
    s = P.sample_size(p1, p2 - p1, ratio=ratio, method="unpooled", power=0.9)
    assert s.control_exact == pytest.approx(ref_n, rel=1e-5)  # the formula ignores the far tail
    sm_power = normal_power_het(p2 - p1, s.control_exact, 0.05, std_null=std, std_alternative=std)
    assert sm_power == pytest.approx(0.9, abs=1e-10)


def fleiss_corrected(n: float, d: float, ratio: float) -> float:
    # Fleiss, Tytun & Ury (1980), Biometrics 36:343-346: n' = n/4 (1 + sqrt(1 + 2(r + 1)/(n r |d|)))^2
    return n / 4 * (1 + math.sqrt(1 + 2 * (ratio + 1) / (n * ratio * abs(d)))) ** 2


def test_continuity_correction_fleiss() -> None:
    # uncorrected n from statsmodels, corrected by the published formula
    for p1, d, pw, ratio in [(0.5, 0.25, 0.9, 1.0), (0.1, 0.05, 0.8, 1.0), (0.2, -0.08, 0.8, 2.0)]:
        n = samplesize_proportions_2indep_onetail(d, p1, pw, ratio=1 / ratio) / ratio
        s = P.sample_size(p1, d, power=pw, ratio=ratio, continuity=True)
        # the formula ignores the far tail of the two-sided test (~1e-6 relative here)
        assert s.control_exact == pytest.approx(fleiss_corrected(n, d, ratio), rel=1e-5)
        far_free = P.sample_size(
            p1,
            d,
            power=pw,
            ratio=ratio,
            continuity=True,
            alternative="larger" if d > 0 else "smaller",
            alpha=0.025,
        )
        assert far_free.control_exact == pytest.approx(fleiss_corrected(n, d, ratio), rel=1e-9)
    # worked by hand: p1 = .5, p2 = .75, alpha .05 two-sided, power .9 -> 76.7069 -> 84.52 per group
    assert P.sample_size(0.5, 0.25, power=0.9, continuity=True).control == 85
    # the corrected test rejects less often, so power drops at a fixed n
    assert P.power(0.5, 0.25, 50, continuity=True) < P.power(0.5, 0.25, 50)


def test_methods_differ_and_are_reported() -> None:
    sizes = {m: P.sample_size(0.05, 0.01, method=m).control_exact for m in ("pooled", "unpooled", "arcsine")}
    assert len(set(sizes.values())) == 3
    s = P.sample_size(0.05, 0.01, method="unpooled")
    assert s.method == "unpooled" and "unpooled" in str(s)
    assert "Fleiss" in P.sample_size(0.05, 0.01)._repr_html_()


# -------------------------------------------------------------------------- multiplicity


@pytest.mark.parametrize(("k", "ref"), [(2, 2.212), (3, 2.349), (4, 2.442)])
def test_dunnett_two_sided_table(k: int, ref: float) -> None:
    # Dunnett (1964) Biometrics 20:482-491, two-sided alpha .05, infinite df, equal allocation
    assert round(P.dunnett_critical_value(0.05, variants=k), 3) == ref


@pytest.mark.parametrize(("k", "ref"), [(2, 1.916), (3, 2.062)])
def test_dunnett_one_sided_table(k: int, ref: float) -> None:
    # Dunnett (1955) JASA 50:1096-1121, one-sided alpha .05, infinite df (1.92, 2.06 to 2 decimals;
    # 3 decimals from Bechhofer & Dunnett 1988 tables)
    assert P.dunnett_critical_value(0.05, variants=k, alternative="larger") == pytest.approx(ref, abs=6e-4)


@pytest.mark.parametrize(("df", "k", "ref"), [(5, 2, 3.03), (10, 2, 2.57), (10, 3, 2.76), (20, 3, 2.54)])
def test_dunnett_finite_df_table(df: int, k: int, ref: float) -> None:
    # Dunnett (1964) two-sided alpha .05 table, 2 decimals
    assert round(P.dunnett_critical_value(0.05, variants=k, df=df), 2) == ref


@pytest.mark.parametrize("ratio", [0.5, 3.0, 9.0])
def test_dunnett_matches_multivariate_normal(ratio: float) -> None:
    k = 3
    rho = ratio / (1 + ratio)
    cov = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    mvn = stats.multivariate_normal(np.zeros(k), cov)
    c = P.dunnett_critical_value(0.05, variants=k, ratio=ratio)
    assert mvn.cdf(np.full(k, c), lower_limit=np.full(k, -c)) == pytest.approx(0.95, abs=2e-5)
    c1 = P.dunnett_critical_value(0.05, variants=k, ratio=ratio, alternative="larger")
    assert mvn.cdf(np.full(k, c1)) == pytest.approx(0.95, abs=2e-5)


def test_dunnett_multivariate_t() -> None:
    k, df = 3, 12
    c = P.dunnett_critical_value(0.05, variants=k, df=df)
    cov = np.full((k, k), 0.5) + 0.5 * np.eye(k)
    mvt = stats.multivariate_t(np.zeros(k), cov, df=df, seed=7)
    assert mvt.cdf(np.full(k, c), lower_limit=np.full(k, -c), maxpts=400_000) == pytest.approx(0.95, abs=5e-4)


def test_corrections_coincide_for_one_variant_and_bonferroni_divides_alpha() -> None:
    for corr in ("bonferroni", "dunnett", None):
        assert P.power(0.05, 0.01, 5000, correction=corr) == pytest.approx(P.power(0.05, 0.01, 5000))
        assert P.power_mean(1, 3, 90, correction=corr) == pytest.approx(P.power_mean(1, 3, 90))
    assert P.power(0.05, 0.01, 5000, variants=3) == pytest.approx(P.power(0.05, 0.01, 5000, alpha=0.05 / 3))
    assert P.power_mean(1, 3, 90, variants=4) == pytest.approx(P.power_mean(1, 3, 90, alpha=0.05 / 4))
    # Dunnett is less conservative than Bonferroni, which is stricter than no correction
    b, d, n = (
        P.sample_size(0.05, 0.01, variants=3, correction=c).control_exact
        for c in ("bonferroni", "dunnett", None)
    )
    assert n < d < b


def test_dunnett_power_uses_critical_value() -> None:
    c = P.dunnett_critical_value(0.05, variants=3, ratio=2.0)
    n, p1, p2 = 3000.0, 0.05, 0.065
    se1 = math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / (2 * n))
    pbar = (p1 + 2 * p2) / 3
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n + 1 / (2 * n)))
    ref = stats.norm.cdf((p2 - p1 - c * se0) / se1) + stats.norm.cdf((p1 - p2 - c * se0) / se1)
    assert P.power(p1, p2 - p1, n, ratio=2.0, variants=3, correction="dunnett") == pytest.approx(
        ref, rel=1e-9
    )
    s = P.sample_size(p1, p2 - p1, ratio=2.0, variants=3, correction="dunnett")
    assert s.critical_value == pytest.approx(c)
    assert s.total == s.control + 3 * s.per_variant


def test_dunnett_means_uses_multivariate_t_with_pooled_df() -> None:
    n, k, r = 15.0, 3, 1.0
    df = n + k * r * n - (k + 1)
    c = P.dunnett_critical_value(0.05, variants=k, df=df)
    ncp = 1.0 / math.sqrt(2 / n)
    ref = stats.nct.sf(c, df, ncp) + stats.nct.cdf(-c, df, ncp)
    assert P.power_mean(1.0, 1.0, n, variants=k, correction="dunnett") == pytest.approx(ref, rel=1e-7)
    s = P.sample_size_mean(1.0, 1.0, variants=k, correction="dunnett")
    assert P.power_mean(1.0, 1.0, s.control_exact, variants=k, correction="dunnett") == pytest.approx(
        0.8, abs=1e-9
    )


# -------------------------------------------------------------------------------- means


@pytest.mark.parametrize("ratio", [1.0, 2.5, 0.4])
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_means_match_statsmodels(ratio: float, alternative: str) -> None:
    d, sd = (2.0 if alternative != "smaller" else -2.0), 7.0
    es = d / sd
    ref = TTestIndPower().power(es, nobs1=60, alpha=0.05, ratio=ratio, alternative=alternative)
    assert P.power_mean(d, sd, 60, ratio=ratio, alternative=alternative) == pytest.approx(ref, rel=1e-8)
    ref_n = TTestIndPower().solve_power(es, power=0.8, alpha=0.05, ratio=ratio, alternative=alternative)
    s = P.sample_size_mean(d, sd, ratio=ratio, alternative=alternative)
    assert s.control_exact == pytest.approx(ref_n, rel=1e-5)
    assert s.per_variant == math.ceil(ratio * s.control_exact)


def test_mde_mean_round_trip() -> None:
    for alt, sign in (("two-sided", 1), ("larger", 1), ("smaller", -1)):
        m = P.mde_mean(12.0, 400, ratio=3, variants=3, alternative=alt, power=0.85)
        assert np.sign(m) == sign
        assert P.power_mean(m, 12.0, 400, ratio=3, variants=3, alternative=alt) == pytest.approx(
            0.85, abs=1e-10
        )


# --------------------------------------------------------------------------- properties

rates = st.floats(0.01, 0.5)
lifts = st.floats(0.05, 0.8)
targets = st.floats(0.5, 0.97)
ratios = st.sampled_from([0.5, 1.0, 2.0, 3.0, 9.0])
methods = st.sampled_from(["pooled", "unpooled", "arcsine"])
alternatives = st.sampled_from(["two-sided", "larger"])
corrections = st.sampled_from(["bonferroni", "dunnett", None])


@settings(max_examples=60, deadline=None)
@given(rates, lifts, targets, ratios, methods, alternatives, st.integers(1, 4), corrections, st.booleans())
def test_sample_size_reaches_target(p1, lift, target, ratio, method, alt, k, corr, cc) -> None:
    cc = cc and method != "arcsine"
    kw = dict(
        power=target, ratio=ratio, method=method, alternative=alt, variants=k, correction=corr, continuity=cc
    )
    s = P.sample_size(p1, lift, relative=True, **kw)
    kw.pop("power")
    assert P.power(p1, lift * p1, s.control_exact, **kw) == pytest.approx(target, abs=1e-8)
    real = dict(kw, ratio=s.per_variant / s.control)
    assert P.power(p1, lift * p1, s.control, **real) >= target - 1e-9
    assert s.achieved_power >= target - 1e-9
    assert s.total == s.control + k * s.per_variant


@settings(max_examples=60, deadline=None)
@given(
    rates,
    st.floats(50, 1e6),
    targets,
    ratios,
    methods,
    st.sampled_from(list(P._ALTERNATIVES)),
    st.integers(1, 4),
)
def test_mde_round_trip(p1, n, target, ratio, method, alt, k) -> None:
    kw = dict(ratio=ratio, method=method, alternative=alt, variants=k)
    try:
        m = P.mde(p1, n, power=target, **kw)
    except ParameterError as exc:  # only when no rate in (0, 1) is detectable
        assert "too small" in str(exc)
        return
    assert (m < 0) == (alt == "smaller")
    assert 0 < p1 + m < 1
    assert P.power(p1, m, n, **kw) == pytest.approx(target, abs=1e-8)
    rel = P.mde(p1, n, power=target, relative=True, **kw)
    assert rel == pytest.approx(m / p1, rel=1e-9)
    assert P.sample_size(p1, m, power=target, **kw).control_exact == pytest.approx(n, rel=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.05, 3), st.floats(0.5, 50), targets, ratios, st.integers(1, 3), corrections)
def test_sample_size_mean_reaches_target(d, sd, target, ratio, k, corr) -> None:
    s = P.sample_size_mean(d, sd, power=target, ratio=ratio, variants=k, correction=corr)
    kw = dict(ratio=ratio, variants=k, correction=corr)
    assert P.power_mean(d, sd, s.control_exact, **kw) == pytest.approx(target, abs=1e-8)
    assert P.power_mean(d, sd, s.control, **dict(kw, ratio=s.per_variant / s.control)) >= target - 1e-9


def test_direction_of_mde() -> None:
    up = P.mde(0.05, 6000)
    down = P.mde(0.05, 6000, direction="decrease")
    smaller = P.mde(0.05, 6000, alternative="smaller")
    assert up > 0 > smaller > down  # one-sided detects a smaller change than two-sided
    assert abs(down) < up  # a decrease from 5% has less variance than an increase
    assert P.power(0.05, down, 6000) == pytest.approx(0.8, abs=1e-9)


# ----------------------------------------------------------------------- vectorisation


def test_power_vectorised_matches_scalar() -> None:
    n = np.linspace(100, 20000, 1000)
    vec = P.power(0.04, 0.01, n, ratio=3, variants=3, correction="dunnett")
    assert isinstance(vec, np.ndarray) and vec.shape == (1000,)
    for i in (0, 500, 999):
        assert vec[i] == pytest.approx(
            P.power(0.04, 0.01, float(n[i]), ratio=3, variants=3, correction="dunnett")
        )
    assert np.all(np.diff(vec) > 0)
    mdes = np.linspace(0.002, 0.03, 50)
    assert P.power(0.04, mdes, 5000).shape == (50,)
    assert isinstance(P.power(0.04, 0.01, 5000), float)
    means = P.power_mean(np.array([0.5, 1.0]), 3.0, np.array([100, 400]))
    assert means == pytest.approx([P.power_mean(0.5, 3.0, 100), P.power_mean(1.0, 3.0, 400)])


def test_power_curve_is_tidy() -> None:
    c = P.power_curve(0.05, [0.005, 0.01], n=np.arange(1000, 6000, 1000), ratio=3, variants=3)
    assert len(c) == 10
    assert {"n", "n_variant", "total", "mde", "relative_mde", "power", "method", "correction"} <= set(
        c.columns
    )
    row = c.iloc[7]
    assert row["power"] == pytest.approx(P.power(0.05, row["mde"], row["n"], ratio=3, variants=3))
    assert row["total"] == pytest.approx(row["n"] * 10)
    rel = P.power_curve(0.05, 0.2, n=2000, relative=True)
    assert rel["mde"].iloc[0] == pytest.approx(0.01)
    m = P.power_curve(mde=np.array([1.0, 2.0]), n=50, sd=4.0)
    assert m["power"].tolist() == pytest.approx([P.power_mean(1, 4, 50), P.power_mean(2, 4, 50)])
    assert (m["method"] == "t").all()


def test_plot_power_curve() -> None:
    before = plt.get_fignums()
    fig, ax = plt.subplots()
    out = P.plot_power_curve(0.05, [0.01, 0.02], n=np.linspace(500, 8000, 40), ax=ax)
    assert out is ax
    assert len(ax.get_lines()) == 3  # two curves and the target line
    assert plt.get_fignums() == [*before, fig.number]
    plt.close(fig)
    ax2 = P.plot_power_curve(0.05, np.linspace(0.005, 0.03, 30), n=4000, target=None)
    assert ax2.get_xlabel() == "absolute effect (mde)" and len(ax2.get_lines()) == 1
    plt.close(ax2.figure)
    assert plt.get_fignums() == before


# --------------------------------------------------------------------------------- plan


def test_plan_fixed_pool() -> None:
    weights = {"holdout": 0.1, "coupon": 0.3, "personal": 0.3, "urgency": 0.3}
    t = P.plan(12_000, 0.04, weights=weights)
    assert t["n"].sum() == 12_000 and t["n"].tolist() == [1200, 3600, 3600, 3600]
    assert t["role"].tolist() == ["control", "variant", "variant", "variant"]
    assert t["n"].dtype == np.int64
    coupon = t.set_index("arm").loc["coupon"]
    assert coupon["comparison"] == "coupon vs holdout"
    ref = P.mde(0.04, 1200, ratio=3, variants=3)
    assert coupon["mde"] == pytest.approx(ref, rel=1e-9)
    assert coupon["relative_mde"] == pytest.approx(ref / 0.04, rel=1e-9)
    assert coupon["detectable_rate"] == pytest.approx(0.04 + ref)
    assert pd.isna(t.set_index("arm").loc["holdout", "mde"])


def test_plan_unequal_arms_and_dunnett() -> None:
    weights = {"holdout": 2, "coupon": 5, "thank_you": 3}  # shares 0.2, 0.5, 0.3
    t = P.plan(1001, 0.1, weights=weights, correction="dunnett").set_index("arm")
    assert t["n"].tolist() == [200, 501, 300] and t["n"].sum() == 1001
    # Dunnett with unequal arms: correlation sqrt(r_i r_j / ((1 + r_i)(1 + r_j)))
    r = np.array([501 / 200, 300 / 200])
    lam = np.sqrt(r / (1 + r))
    cov = np.outer(lam, lam)
    np.fill_diagonal(cov, 1.0)
    c = t.loc["coupon", "critical_value"]
    mvn = stats.multivariate_normal(np.zeros(2), cov)
    assert mvn.cdf([c, c], lower_limit=[-c, -c]) == pytest.approx(0.95, abs=2e-5)
    m = t.loc["coupon", "mde"]
    n1, n2, p2 = 200, 501, 0.1 + m
    pbar = (n1 * 0.1 + n2 * p2) / (n1 + n2)
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    se1 = math.sqrt(0.09 / n1 + p2 * (1 - p2) / n2)
    pw = stats.norm.cdf((m - c * se0) / se1) + stats.norm.cdf((-m - c * se0) / se1)
    assert pw == pytest.approx(0.8, abs=1e-9)
    assert t.loc["coupon", "mde"] < t.loc["thank_you", "mde"]


def test_plan_means() -> None:
    t = P.plan(3000, weights={"holdout": 1, "coupon": 1, "dm": 1}, sd=20.0, control="holdout")
    assert t["mde"].iloc[1] == pytest.approx(P.mde_mean(20.0, 1000, variants=2))
    assert "relative_mde" not in t.columns


# ---------------------------------------------------------------------------- display


def test_sample_size_result_object() -> None:
    s = P.sample_size(0.04, 0.25, relative=True, ratio=3, variants=3)
    assert s.mde == pytest.approx(0.01) and s.relative_mde == pytest.approx(0.25)
    assert s.per_variant_exact == pytest.approx(3 * s.control_exact)
    assert s.kind == "proportion" and P.sample_size_mean(1, 2).kind == "mean"
    assert repr(s).startswith("SampleSize(control=")
    frame = s.to_pandas()
    assert frame["arm"].tolist() == ["control", "variant 1", "variant 2", "variant 3"]
    assert frame["n"].sum() == s.total
    assert "<table" in s._repr_html_() and "per-comparison power" in str(s)
    with pytest.raises(AttributeError):
        s.control = 1  # type: ignore[misc]


# -------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: P.sample_size(0, 0.01), "baseline"),
        (lambda: P.sample_size(1.2, 0.01), "baseline"),
        (lambda: P.sample_size(0.95, 0.1), "baseline \\+ mde"),
        (lambda: P.sample_size(0.05, -0.06), "baseline \\+ mde"),
        (lambda: P.sample_size(0.6, 1.0, relative=True), "baseline \\* \\(1 \\+ mde\\)"),
        (lambda: P.power(0.05, [0.01, 0.99], 100), "baseline \\+ mde"),
        (lambda: P.sample_size(0.05, 0), "mde"),
        (lambda: P.power(0.05, 0.0, 100), "mde"),
        (lambda: P.sample_size_mean(0, 1), "mde"),
        (lambda: P.sample_size(0.05, 0.01, alpha=0), "alpha"),
        (lambda: P.sample_size(0.05, 0.01, alpha=1.5), "alpha"),
        (lambda: P.sample_size(0.05, 0.01, power=1), "power"),
        (lambda: P.sample_size(0.05, 0.01, power=-0.1), "power"),
        (lambda: P.mde_mean(1, 100, power=0), "power"),
        (lambda: P.power(0.05, 0.01, 0), "n"),
        (lambda: P.power(0.05, 0.01, [100, -5]), "n"),
        (lambda: P.mde(0.05, -100), "n"),
        (lambda: P.power_mean(1, 1, 0), "n"),
        (lambda: P.sample_size(0.05, 0.01, ratio=0), "ratio"),
        (lambda: P.power(0.05, 0.01, 100, ratio=-1), "ratio"),
        (lambda: P.sample_size_mean(1, 1, ratio=0), "ratio"),
        (lambda: P.sample_size(float("nan"), 0.01), "baseline"),
        (lambda: P.sample_size(0.05, float("inf")), "mde"),
        (lambda: P.power(0.05, 0.01, float("nan")), "n"),
        (lambda: P.sample_size(0.05, 0.01, alpha=float("nan")), "alpha"),
        (lambda: P.sample_size(0.05, 0.01, ratio=float("inf")), "ratio"),
        (lambda: P.sample_size_mean(1, float("nan")), "sd"),
        (lambda: P.sample_size_mean(1, -2), "sd"),
        (lambda: P.sample_size(0.05, 0.01, method="wald"), "method='wald'"),
        (lambda: P.power(0.05, 0.01, 100, method="exact"), "method='exact'"),
        (lambda: P.sample_size(0.05, 0.01, alternative="greater"), "alternative='greater'"),
        (lambda: P.power_mean(1, 1, 10, alternative="two.sided"), "alternative='two.sided'"),
        (lambda: P.sample_size(0.05, 0.01, correction="holm"), "correction='holm'"),
        (lambda: P.sample_size_mean(1, 1, correction="sidak"), "correction='sidak'"),
        (lambda: P.sample_size(0.05, 0.01, variants=0), "variants"),
        (lambda: P.sample_size(0.05, 0.01, variants=2.5), "variants"),
        (lambda: P.mde_mean(1, 100, variants=-1), "variants"),
        (lambda: P.power(0.05, 0.01, 100, variants=True), "variants"),
        (lambda: P.sample_size(0.05, 0.01, continuity=True, method="arcsine"), "continuity"),
        (lambda: P.sample_size(0.05, -0.01, alternative="larger"), "alternative='larger'"),
        (lambda: P.sample_size_mean(1, 1, alternative="smaller"), "alternative='smaller'"),
        (lambda: P.mde(0.05, 2), "n=2 is too small"),
        (lambda: P.mde(0.05, 1000, direction="up"), "direction='up'"),
        (lambda: P.mde(0.05, 1000, direction="decrease", alternative="larger"), "direction='decrease'"),
        (lambda: P.power_mean(1, 1, 0.5), "n=0.5 is too small"),
        (lambda: P.sample_size("0.05", 0.01), "baseline"),
        (lambda: P.plan(12000, 0.05, weights={"coupon": 1, "dm": 1}), "no arm is named 'control' or"),
        (lambda: P.plan(12000, 0.05, weights={"holdout": 1}), "weights"),
        (lambda: P.plan(12000, 0.05, weights={"holdout": 1, "coupon": -1}), "weights"),
        (lambda: P.plan(12000, weights={"holdout": 1, "coupon": 1}), "baseline"),
        (lambda: P.plan(0, 0.05, weights={"holdout": 1, "coupon": 1}), "pool_size"),
        (lambda: P.plan(4, 0.05, weights={"holdout": 1, "coupon": 1}), "cannot reach"),
        (lambda: P.power_curve(0.05, 0.01), "n"),
        (lambda: P.dunnett_critical_value(0.05, variants=0), "variants"),
    ],
)
def test_bad_input(call, match) -> None:
    with pytest.raises(AbkitError, match=match):
        call()


def test_bad_input_is_a_parameter_error_and_value_error() -> None:
    with pytest.raises(ParameterError, match=r"mde must be non-zero.*0\.0"):
        P.sample_size(0.05, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        P.sample_size(0.05, 0.01, alpha=2)


# ------------------------------------------------------------------------------------------------
# group-sequential planning (looks=)
# ------------------------------------------------------------------------------------------------
def test_plan_with_looks_shows_the_sample_size_inflation() -> None:
    from abkit.stats.sequential import sample_size_inflation

    weights = {"holdout": 0.5, "mail": 0.5}
    fixed = P.plan(12000, 0.04, weights=weights, correction=None)
    # Jennison & Turnbull (2000), Table 2.1: classic Pocock, K = 5, alpha = 0.05, power 0.8 -> R = 1.229
    t = P.plan(12000, 0.04, weights=weights, correction=None, looks=5, spending="pocock-classic")
    row = t[t["role"] == "variant"].iloc[0]
    assert row["inflation"] == pytest.approx(1.229, abs=6e-4)
    assert row["looks"] == 5 and row["spending"] == "pocock-classic"
    assert row["mde"] == pytest.approx(fixed["mde"].iloc[1], rel=1e-12)  # the fixed columns are unchanged
    assert row["sequential_mde"] == pytest.approx(row["mde"] * np.sqrt(1.229), rel=5e-4)
    assert row["sequential_relative_mde"] == pytest.approx(row["sequential_mde"] / 0.04)
    assert pd.isna(t["inflation"].iloc[0]) and pd.isna(t["looks"].iloc[0])  # the control row
    # Bonferroni over two variants: the inflation at alpha / 2, one-sided design for "larger"
    three = {"holdout": 0.2, "a": 0.4, "b": 0.4}
    t = P.plan(10000, 0.04, weights=three, looks=[0.5, 1.0], alternative="larger")
    ref = sample_size_inflation([0.5, 1.0], alpha=0.025, power=0.8, alternative="larger")
    assert t["inflation"].iloc[1] == pytest.approx(ref, rel=1e-12)
    assert "inflation" not in P.plan(10000, 0.04, weights=three).columns


def test_plan_looks_bad_input() -> None:
    w = {"holdout": 0.5, "mail": 0.5}
    with pytest.raises(ParameterError, match="spending='pocock' applies to a group-sequential plan"):
        P.plan(12000, 0.04, weights=w, spending="pocock")
    with pytest.raises(ParameterError, match="spending"):
        P.plan(12000, 0.04, weights=w, looks=3, spending="haybittle")
    with pytest.raises(ParameterError, match="looks"):
        P.plan(12000, 0.04, weights=w, looks=0)
    with pytest.raises(ParameterError, match="looks"):
        P.plan(12000, 0.04, weights=w, looks=[0.5, 0.4, 1.0])
