"""Tests of abkit.experiment: the demo spec, the template, round trips, and every bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

import abkit
from abkit.errors import ColumnError, FileExistsAbkitError, ParameterError, SourceError, SpecError
from abkit.experiment import _KEYS, Experiment, Prior, Variant, _line_map, scaffold, write_scaffold
from abkit.population import SegmentRules

DEMO = Path(__file__).resolve().parents[1] / "experiments" / "winback-demo" / "experiment.toml"
DEMO_SPEC = DEMO.read_text(encoding="utf-8")
# The demo spec turns on sequential monitoring and CUPED; the tests below vary those keys from a
# plain fixed-horizon analysis, so they start from the demo with both lines reset.
DEMO_TEXT = re.sub(
    r"sequential = true[^\n]*\n(?:\s+#[^\n]*\n)*covariates = [^\n]*\n", "sequential = false\n", DEMO_SPEC
)
assert DEMO_TEXT != DEMO_SPEC


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line equal to ``needle``, else containing it (the test's own count)."""
    lines = text.splitlines()
    for i, line in enumerate(lines, 1):
        if line.strip() == needle:
            return i
    for i, line in enumerate(lines, 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in text")


def replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def load_bad(tmp_path: Path, text: str, match: str, *, line: int | None = None) -> SpecError:
    path = write(tmp_path, text)
    with pytest.raises(SpecError, match=match) as info:
        Experiment.load(tmp_path)
    message = str(info.value)
    assert str(path) in message
    if line is not None:
        assert f"line {line}:" in message or f"line {line}," in message, message
    return info.value


# ---------------------------------------------------------------------------- the demo spec


def test_demo_spec_loads_with_the_expected_values():
    exp = Experiment.load(DEMO.parent)
    assert exp.path == DEMO and exp.folder == DEMO.parent
    assert exp.name == "winback-demo" and exp.salt == "winback-demo-2026-06"
    assert exp.hypothesis.startswith("A coupon brings back") and "\n" not in exp.hypothesis
    assert exp.dates.send_date == dt.date(2026, 6, 1) and exp.dates.window_days == 14
    assert exp.dates.window_end == dt.date(2026, 6, 15) and exp.dates.planned_end == dt.date(2026, 6, 15)
    assert exp.variant_names == ("holdout", "coupon", "personal", "reminder")
    assert exp.weights == {"holdout": 0.2, "coupon": 0.3, "personal": 0.3, "reminder": 0.2}
    assert exp.control == "holdout" and exp.holdouts == ("holdout",)
    assert exp.contacted_variants == ("coupon", "personal", "reminder")
    assert exp.variant("coupon") == Variant(
        "coupon", 0.3, "email", True, 0.01, 5.0, "Come back: 5.00 off your next order, valid 14 days"
    )
    assert exp.variant("holdout").channel == "none" and not exp.variant("holdout").contacted
    assert exp.metrics.primary == "repurchased"
    assert exp.metrics.secondary == ("revenue", "opened", "clicked")
    assert exp.metrics.guardrails == ("unsubscribed", "complained")
    assert exp.metrics.all[0] == "repurchased" and len(exp.metrics.all) == 6
    assert exp.population.dormant_after == 180 and exp.population.lapsed_after == 730
    assert exp.population.exclude == ("opted_out", "complained", "hard_bounced")
    assert exp.population.lapsed_flags == ("cancelled", "complained")
    assert exp.strata == "segment"
    a = exp.analysis
    assert (a.method, a.alpha, a.correction, a.sequential, a.power) == (
        "frequentist",
        0.05,
        "holm",
        True,
        0.8,
    )
    assert a.covariates == ("monetary_total", "frequency", "recency_days") and a.n_star is None
    assert a.prior == Prior(1.0, 1.0) and a.gross_margin == 0.4 and a.control is None
    assert exp.data_path("events") == DEMO.parent / "data" / "events.parquet"
    assert exp.paths["assignment"] == DEMO.parent / "assignment.parquet"
    assert exp.reports_dir == DEMO.parent / "reports"
    assert exp.send_lists_dir == DEMO.parent / "send_lists"


def test_demo_spec_matches_the_synthetic_data_defaults():
    from abkit.datasets import DEFAULT_EFFECTS, DEFAULT_VARIANTS

    exp = Experiment.load(DEMO)
    assert exp.weights == DEFAULT_VARIANTS
    assert set(DEFAULT_EFFECTS) == set(exp.contacted_variants)
    assert exp.holdouts == ("holdout",)


def test_experiment_is_exported_and_renders():
    exp = abkit.Experiment.load(DEMO)
    assert repr(exp).startswith("Experiment(name='winback-demo'")
    table = exp.to_pandas()
    assert list(table.variant) == list(exp.variant_names)
    assert table.share.sum() == pytest.approx(1.0)
    html = exp._repr_html_()
    assert "winback-demo" in html and "Hypothesis" in html


def test_demo_round_trip(tmp_path):
    exp = Experiment.load(DEMO)
    again = Experiment.load(write(tmp_path, exp.to_toml()))
    assert dataclasses.replace(again, path=exp.path) == exp


def test_scaffold_round_trip_and_defaults(tmp_path):
    text = scaffold("spring", send_date="2026-03-02")
    assert text.count("#") > 20  # a commented template
    exp = Experiment.from_toml(text, path=tmp_path / "experiment.toml")
    assert exp.name == "spring" and exp.salt == "spring-2026-03-02"
    assert exp.dates.send_date == dt.date(2026, 3, 2) and exp.dates.planned_end == dt.date(2026, 3, 16)
    again = Experiment.from_toml(exp.to_toml(), path=exp.path)
    assert again == exp
    custom = Experiment.from_toml(scaffold("x", send_date=dt.date(2026, 1, 5), salt='a "quoted" salt'))
    assert custom.salt == 'a "quoted" salt'
    today = Experiment.from_toml(scaffold("y")).dates.send_date
    assert today == dt.date.today() + dt.timedelta(days=7)


def test_round_trip_of_optional_parts(tmp_path):
    text = replace(
        DEMO_TEXT,
        "[strata]\ncolumn = ",
        "[population.segments]\nhigh_value_threshold = 100\n"
        'precedence = ["one_time", "high_value"]\n\n[strata]\ncolumn = ',
    )
    text = replace(text, 'method = "frequentist"', 'method = "bayesian"\ncontrol = "holdout"')
    text = replace(text, 'primary = "repurchased"', 'primary = "repurchased"\ncustom = ["replied"]')
    text = replace(text, 'secondary = ["revenue"', 'secondary = ["replied", "revenue"')
    exp = Experiment.load(write(tmp_path, text))
    assert exp.population.segment_rules == {
        "high_value_threshold": 100.0,
        "precedence": ("one_time", "high_value"),
    }
    assert exp.metrics.custom == ("replied",) and exp.analysis.control == "holdout"
    assert exp.analysis.method == "bayesian"
    assert (
        dataclasses.replace(Experiment.from_toml(exp.to_toml(), path=tmp_path / "x.toml"), path=exp.path)
        == exp
    )


def test_segment_keys_are_the_fields_of_segment_rules():
    fields = {f.name for f in dataclasses.fields(SegmentRules)}
    assert set(_KEYS["population.segments"]) == fields
    text = replace(DEMO_TEXT, "[strata]", "[population.segments]\nhigh_frequency_threshold = 4\n\n[strata]")
    rules = SegmentRules(**Experiment.from_toml(text).population.segment_rules)
    assert rules.high_frequency_threshold == 4.0


def test_write_scaffold_refuses_to_overwrite(tmp_path):
    path = write_scaffold(tmp_path / "autumn", send_date="2026-10-01")
    assert Experiment.load(path).name == "autumn"
    with pytest.raises(FileExistsAbkitError, match="overwrite=True"):
        write_scaffold(tmp_path / "autumn", send_date="2026-10-01")
    write_scaffold(tmp_path / "autumn", "renamed", overwrite=True, send_date="2026-10-01")
    assert Experiment.load(path).name == "renamed"
    assert [p.name for p in (tmp_path / "autumn").iterdir()] == ["experiment.toml"]  # no temporary left


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "bad name"}, "name='bad name'"),
        ({"name": "ok", "send_date": "2026-02-30"}, "send_date='2026-02-30' is not a date"),
        ({"name": "ok", "send_date": dt.datetime(2026, 1, 1, 9)}, "not a date-time"),
        ({"name": "ok", "salt": " "}, "salt"),
    ],
)
def test_scaffold_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        scaffold(**kwargs)


# ---------------------------------------------------------------------------- line numbers


def test_line_map_finds_tables_keys_inline_tables_and_skips_multiline_strings():
    text = 'a = 1\nb = """\nfake = 2\n"""\n[t.u]\nx = { y = 1, z = 2 }\n"q.k" = 3\n[[arr]]\nw = 4\n'
    lines = _line_map(text)
    assert lines["a"] == 1 and lines["b"] == 2 and "fake" not in lines
    assert lines["t"] == 5 and lines["t.u"] == 5 and lines["t.u.x"] == 6
    assert lines["t.u.x.y"] == 6 and lines["t.u.x.z"] == 6
    assert lines["t.u.q.k"] == 7 and lines["arr.w"] == 9


# ---------------------------------------------------------------------------- bad input


def test_missing_spec_file(tmp_path):
    with pytest.raises(
        SpecError, match=re.escape(str(tmp_path / "experiment.toml")) + ".*does not exist.*abkit init"
    ):
        Experiment.load(tmp_path)
    with pytest.raises(SpecError, match="does not exist"):
        Experiment.load(tmp_path / "nope.toml")


def test_not_utf8_and_not_toml(tmp_path):
    (tmp_path / "experiment.toml").write_bytes(b"name = '\xff'\n")
    with pytest.raises(SpecError, match="not UTF-8"):
        Experiment.load(tmp_path)
    text = replace(DEMO_TEXT, "window_days = 14", "window_days = = 14")
    load_bad(tmp_path, text, r"line \d+, column \d+: not valid TOML", line=line_of(text, "window_days = ="))


def test_unknown_key_names_key_line_and_suggestion(tmp_path):
    text = replace(DEMO_TEXT, "offer_cost = 5.0", "offer_cost = 5.0\nwieght = 0.3")
    err = load_bad(
        tmp_path, text, r"variants\.coupon\.wieght: unknown key 'wieght' \(did you mean 'weight'\?\)"
    )
    assert f"line {line_of(text, 'wieght')}:" in str(err)
    text = replace(DEMO_TEXT, "owner =", "onwer = 'x'\nowner =")
    load_bad(
        tmp_path, text, r"onwer: unknown key 'onwer' \(did you mean 'owner'\?\)", line=line_of(text, "onwer")
    )
    text = replace(DEMO_TEXT, "[strata]", "[stratum]")
    load_bad(tmp_path, text, "unknown key 'stratum'.*'strata'", line=line_of(text, "[stratum]"))
    text = replace(DEMO_TEXT, "alpha = 1.0\nbeta = 1.0", "alpha = 1.0\nbeta = 1.0\ngamma = 2.0")
    load_bad(tmp_path, text, r"analysis\.prior\.gamma: unknown key", line=line_of(text, "gamma"))


@pytest.mark.parametrize(
    ("old", "new", "match", "needle"),
    [
        (
            "weight = 0.3",
            'weight = "0.3"',
            r"variants\.coupon\.weight: must be a number, got string '0.3'",
            '"0.3"',
        ),
        (
            "window_days = 14",
            "window_days = 14.5",
            r"dates\.window_days: must be an integer, got float",
            "14.5",
        ),
        ("salt = ", "salt = 42 #", r"salt: must be a string", "salt = 42"),
        (
            "sequential = false",
            'sequential = "no"',
            r"analysis\.sequential: must be true or false",
            "sequential",
        ),
        (
            'exclude = ["opted_out"',
            'exclude = ["opted_out", 3',
            r"population\.exclude: must be a list of strings",
            "exclude",
        ),
        (
            "contacted = false",
            "contacted = 0",
            r"variants\.holdout\.contacted: must be true or false",
            "contacted = 0",
        ),
    ],
)
def test_wrong_types(tmp_path, old, new, match, needle):
    text = replace(DEMO_TEXT, old, new)
    load_bad(tmp_path, text, match, line=line_of(text, needle))


def test_a_table_given_as_a_value(tmp_path):
    text = replace(DEMO_TEXT, '[strata]\ncolumn = "segment"', "")
    text = replace(text, "salt = ", 'strata = "segment"\nsalt = ')
    load_bad(
        tmp_path,
        text,
        r"strata: must be a table \(\[strata\]\), got string 'segment'",
        line=line_of(text, "strata ="),
    )
    # the same line below another table is an unknown key of that table
    text = replace(DEMO_TEXT, '[strata]\ncolumn = "segment"', 'strata = "segment"')
    load_bad(tmp_path, text, r"population\.strata: unknown key 'strata'", line=line_of(text, "strata ="))


@pytest.mark.parametrize("weight", ["0", "-1", "0.0", "-0.5"])
def test_non_positive_weight(tmp_path, weight):
    text = replace(DEMO_TEXT, "weight = 0.3", f"weight = {weight}")
    load_bad(
        tmp_path,
        text,
        rf"variants\.coupon\.weight: must be positive, got {weight}",
        line=line_of(text, f"weight = {weight}"),
    )


@pytest.mark.parametrize(
    ("old", "new", "match", "table"),
    [
        ('salt = "winback-demo-2026-06"', "", "salt: missing required key 'salt'", None),
        ("send_date = 2026-06-01", "", r"dates\.send_date: missing required key", "[dates]"),
        ('events = "data/events.parquet"', "", r"data\.events: missing required key", "[data]"),
        ('primary = "repurchased"', "", r"metrics\.primary: missing required key", "[metrics]"),
        ("weight = 0.3", "channel2 = 1", r"unknown key 'channel2'", "channel2"),
    ],
)
def test_missing_keys_point_at_their_table(tmp_path, old, new, match, table):
    text = replace(DEMO_TEXT, old, new)
    load_bad(tmp_path, text, match, line=line_of(text, table) if table else None)


def test_missing_weight_and_missing_tables(tmp_path):
    text = replace(DEMO_TEXT, "weight = 0.3\nchannel", "channel")
    load_bad(
        tmp_path,
        text,
        r"variants\.coupon\.weight: missing required key",
        line=line_of(text, "[variants.coupon]"),
    )
    text = DEMO_TEXT.split("[dates]")[0]
    load_bad(tmp_path, text, r"dates: missing table \[dates\]")
    start = DEMO_TEXT.index("# The holdout is not contacted")
    end = DEMO_TEXT.index("[metrics]")
    load_bad(tmp_path, DEMO_TEXT[:start] + DEMO_TEXT[end:], r"variants: missing table")


def test_no_holdout_or_control(tmp_path):
    text = replace(DEMO_TEXT, 'channel = "none"\ncontacted = false', 'channel = "email"')
    load_bad(
        tmp_path, text, "no holdout or control.*contacted = false", line=line_of(text, "# The holdout") + 1
    )
    # a named control (a business-as-usual email) is accepted instead
    exp = Experiment.from_toml(
        text.replace('method = "frequentist"', 'method = "frequentist"\ncontrol = "holdout"')
    )
    assert exp.control == "holdout" and exp.holdouts == ()


def test_variant_rules(tmp_path):
    two = replace(
        DEMO_TEXT,
        "[variants.reminder]",
        "[variants.nothing]\nweight = 1\ncontacted = false\n\n[variants.reminder]",
    )
    load_bad(tmp_path, two, r"several variants are not contacted \(\['holdout', 'nothing'\]\)")
    one = DEMO_TEXT[: DEMO_TEXT.index("[variants.coupon]")] + DEMO_TEXT[DEMO_TEXT.index("[metrics]") :]
    load_bad(tmp_path, one, "declares 1 variant")
    dup = replace(DEMO_TEXT, "[variants.reminder]", "[variants.coupon]")
    err = load_bad(tmp_path, dup, r"not valid TOML: Cannot declare \('variants', 'coupon'\) twice")
    assert re.search(r"line \d+, column \d+", str(err))
    case = replace(DEMO_TEXT, "[variants.reminder]", "[variants.Coupon]")
    load_bad(
        tmp_path, case, "'Coupon' differs from 'coupon' only by case", line=line_of(case, "[variants.Coupon]")
    )
    bad_name = replace(DEMO_TEXT, "[variants.reminder]", '[variants."re\\tminder"]')
    load_bad(tmp_path, bad_name, r"variant name 're\\tminder' contains a control character \(U\+0009\)")
    long_name = replace(DEMO_TEXT, "[variants.reminder]", f'[variants."{"x" * 65}"]')
    load_bad(tmp_path, long_name, "is 65 characters long; at most 64")
    channel = replace(DEMO_TEXT, 'channel = "email"', 'channel = ""')
    empty = line_of(channel, 'channel = ""')
    load_bad(tmp_path, channel, r"variants\.coupon\.channel: must not be empty", line=empty)
    contradiction = replace(DEMO_TEXT, 'channel = "none"', 'channel = "postal"')
    load_bad(
        tmp_path, contradiction, "contradicts contacted = false", line=line_of(contradiction, '"postal"')
    )
    contacted_none = replace(DEMO_TEXT, 'weight = 0.3\nchannel = "email"', 'weight = 0.3\nchannel = "none"')
    load_bad(tmp_path, contacted_none, "a contacted variant needs a channel")
    cost = replace(DEMO_TEXT, "contacted = false", "contacted = false\ncontact_cost = 0.5")
    load_bad(tmp_path, cost, "'holdout' is not contacted", line=line_of(cost, "contact_cost = 0.5"))
    negative = replace(DEMO_TEXT, "offer_cost = 5.0", "offer_cost = -5.0")
    load_bad(tmp_path, negative, r"offer_cost: must be zero or positive", line=line_of(negative, "-5.0"))
    not_table = replace(DEMO_TEXT, "[variants.holdout]", "[variants]\nsolo = 1\n[variants.holdout]")
    load_bad(tmp_path, not_table, r"variants\.solo: must be a table", line=line_of(not_table, "solo = 1"))


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("send_date = 2026-06-01", 'send_date = "June 1st"', r"dates\.send_date: 'June 1st' is not a date"),
        ("send_date = 2026-06-01", "send_date = 2026-06-01T09:00:00", "not a date-time"),
        ("send_date = 2026-06-01", "send_date = 20260601", "20260601 is not a date"),
        ("planned_end = 2026-06-15", "planned_end = 2026-06-10", "before the attribution window ends"),
        (
            "planned_end = 2026-06-15",
            'planned_end = "2026-06-31"',
            r"dates\.planned_end: '2026-06-31' is not a date",
        ),
    ],
)
def test_bad_dates(tmp_path, old, new, match):
    text = replace(DEMO_TEXT, old, new)
    load_bad(tmp_path, text, match, line=line_of(text, new.split(" =")[0]))


def test_invalid_toml_date_is_reported_with_its_line(tmp_path):
    text = replace(DEMO_TEXT, "send_date = 2026-06-01", "send_date = 2026-13-01")
    load_bad(tmp_path, text, "not valid TOML", line=line_of(text, "2026-13-01"))


def test_iso_string_dates_are_accepted():
    exp = Experiment.from_toml(replace(DEMO_TEXT, "send_date = 2026-06-01", 'send_date = "2026-06-01"'))
    assert exp.dates.send_date == dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    ("old", "new", "match", "needle"),
    [
        ('name = "winback-demo"', 'name = "win back"', "name: 'win back' must be letters", "win back"),
        ('owner = "crm-team@example.com"', 'owner = "  "', "owner: must not be empty", 'owner = "  "'),
        (
            'assignment = "assignment.parquet"',
            'assignment = "assignment.xlsx"',
            r"data\.assignment: 'assignment.xlsx' must end in \.csv or \.parquet",
            "xlsx",
        ),
        (
            "dormant_after = 180",
            "dormant_after = 0",
            r"population\.dormant_after: must be at least 1",
            "dormant_after = 0",
        ),
        (
            "lapsed_after = 730",
            "lapsed_after = 100",
            r"population\.lapsed_after: 100 must be greater than dormant_after",
            "lapsed_after = 100",
        ),
        (
            'primary = "repurchased"',
            'primary = "repurchase"',
            r"metrics\.primary: 'repurchase' is not a known metric \(did you mean 'repurchased'\?\)",
            "primary =",
        ),
        (
            'guardrails = ["unsubscribed"',
            'guardrails = ["revenue"',
            r"metrics\.guardrails: 'revenue' is already listed in metrics\.secondary",
            "guardrails =",
        ),
        (
            'secondary = ["revenue"',
            'secondary = ["revenue", "revenue"',
            r"metrics\.secondary: lists 'revenue' more than once",
            "secondary =",
        ),
        (
            'method = "frequentist"',
            'method = "bayes"',
            r"analysis\.method: 'bayes' is not known \(did you mean 'bayesian'\?\)",
            "method =",
        ),
        ("alpha = 0.05", "alpha = 5", r"analysis\.alpha: must be strictly between 0 and 1", "alpha = 5"),
        (
            'correction = "holm"',
            'correction = "fdr"',
            r"analysis\.correction: 'fdr' is not known",
            "correction =",
        ),
        ("power = 0.8", "power = 80", r"analysis\.power: must be strictly between 0 and 1", "power = 80"),
        (
            "gross_margin = 0.4",
            "gross_margin = 40",
            r"analysis\.gross_margin: must be in \(0, 1\]",
            "gross_margin",
        ),
        (
            "gross_margin = 0.4",
            'gross_margin = 0.4\ncontrol = "hold"',
            r"analysis\.control: 'hold' is not a variant \(did you mean 'holdout'\?\)",
            "control =",
        ),
        (
            "alpha = 1.0\nbeta",
            "alpha = 0.0\nbeta",
            r"analysis\.prior\.alpha: must be positive \(Beta prior\)",
            "alpha = 0.0",
        ),
        ('column = "segment"', "column = 1", r"strata\.column: must be a string", "column = 1"),
        (
            "weight = 0.2\nchannel",
            "weight = inf\nchannel",
            r"variants\.holdout\.weight: must be a finite number",
            "inf",
        ),
    ],
)
def test_bad_values(tmp_path, old, new, match, needle):
    text = replace(DEMO_TEXT, old, new)
    load_bad(tmp_path, text, match, line=line_of(text, needle))


def test_prior_as_inline_table_reports_its_line(tmp_path):
    text = replace(DEMO_TEXT, "[analysis.prior]", "").replace("alpha = 1.0\nbeta = 1.0", "")
    text = replace(text, "gross_margin = 0.4", "gross_margin = 0.4\nprior = { alpha = 1.0, beta = -2.0 }")
    load_bad(tmp_path, text, r"analysis\.prior\.beta: must be positive", line=line_of(text, "prior = {"))


def test_flags_need_a_customers_table(tmp_path):
    text = replace(DEMO_TEXT, 'customers = "data/customers.parquet"', "")
    load_bad(
        tmp_path,
        text,
        r"population\.exclude: flags .* need a customers table",
        line=line_of(text, "exclude ="),
    )
    text = replace(text, 'exclude = ["opted_out", "complained", "hard_bounced"]', "exclude = []")
    text = replace(text, 'lapsed_flags = ["cancelled", "complained"]', "lapsed_flags = []")
    exp = Experiment.from_toml(text)
    assert exp.data.customers is None and "customers" not in exp.paths


def test_custom_metrics_rules(tmp_path):
    text = replace(DEMO_TEXT, 'primary = "repurchased"', 'primary = "repurchased"\ncustom = ["opened"]')
    load_bad(
        tmp_path, text, r"metrics\.custom: 'opened' is a built-in metric", line=line_of(text, "custom =")
    )


# ---------------------------------------------------------------------------- data paths and assignment


def test_data_path_must_exist(tmp_path):
    path = write(tmp_path, DEMO_TEXT)
    exp = Experiment.load(path)
    with pytest.raises(
        SourceError, match=r"line \d+: data\.events = 'data/events\.parquet': file .* does not exist"
    ) as info:
        exp.data_path("events", must_exist=True)
    assert f"line {line_of(DEMO_TEXT, 'events = ')}:" in str(info.value) and str(path) in str(info.value)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "events.parquet").write_bytes(b"")
    with pytest.raises(SourceError, match="is empty"):
        exp.data_path("events", must_exist=True)
    (tmp_path / "data" / "events.parquet").write_bytes(b"x")
    assert exp.data_path("events", must_exist=True) == tmp_path / "data" / "events.parquet"
    with pytest.raises(ParameterError, match=r"source='event' is not known \(did you mean 'events'\?\)"):
        exp.data_path("event")
    absolute = Experiment.from_toml(replace(DEMO_TEXT, '"data/events.parquet"', f'"{tmp_path / "ev.csv"}"'))
    assert absolute.data_path("events") == tmp_path / "ev.csv"
    no_customers = Experiment.from_toml(
        DEMO_TEXT.replace('customers = "data/customers.parquet"', "")
        .replace('exclude = ["opted_out", "complained", "hard_bounced"]', "exclude = []")
        .replace('lapsed_flags = ["cancelled", "complained"]', "lapsed_flags = []")
    )
    with pytest.raises(SourceError, match=r"data\.customers is not declared"):
        no_customers.data_path("customers")
    with pytest.raises(ParameterError, match=r"variant 'cupon'.*did you mean 'coupon'"):
        exp.variant("cupon")


def test_check_assignment(tmp_path):
    exp = Experiment.load(write(tmp_path, DEMO_TEXT))
    good = pd.DataFrame(
        {"customer_id": range(8), "variant": ["holdout", "coupon", "personal", "reminder"] * 2}
    )
    exp.check_assignment(good)
    missing = good[good.variant != "personal"]
    with pytest.raises(SpecError, match="variant\\(s\\) 'personal' of the spec have no customer") as info:
        exp.check_assignment(missing)
    assert f"line {line_of(DEMO_TEXT, '[variants.personal]')}:" in str(info.value)
    extra = pd.concat([good, pd.DataFrame({"customer_id": [9, 10], "variant": ["vip", "vip"]})])
    with pytest.raises(SpecError, match=r"'vip' \(2 customers\) that are not in the spec"):
        exp.check_assignment(extra)
    with pytest.raises(ColumnError, match="'arm'"):
        exp.check_assignment(good, variant_col="arm")
    exp.check_assignment(good.rename(columns={"variant": "arm"}), variant_col="arm")


def test_planning_baseline_is_read_and_checked(tmp_path: Path) -> None:
    text = scaffold("plan-test", send_date="2026-06-01")
    assert Experiment.from_toml(text).analysis.baseline == 0.03
    bad = text.replace("baseline = 0.03", "baseline = 1.5")
    with pytest.raises(SpecError, match=r"line \d+: analysis.baseline: must be strictly between 0 and 1"):
        Experiment.from_toml(bad)


# ------------------------------------------------------------------------------------------------
# monitoring keys of [analysis]: sequential tuning and CUPED covariates
# ------------------------------------------------------------------------------------------------
def test_monitoring_keys_defaults_and_round_trip(tmp_path):
    a = Experiment.load(write(tmp_path, DEMO_TEXT)).analysis
    assert (a.n_star, a.sequential_method, a.covariates) == (None, "asymptotic-cs", ())
    text = replace(
        DEMO_TEXT,
        "sequential = false",
        'sequential = true\nn_star = 20000\nsequential_method = "asymptotic-cs"\n'
        'covariates = ["monetary_total", "frequency", "recency_days"]',
    )
    exp = Experiment.load(write(tmp_path, text))
    a = exp.analysis
    assert a.sequential and a.n_star == 20000.0 and a.sequential_method == "asymptotic-cs"
    assert a.covariates == ("monetary_total", "frequency", "recency_days")
    again = Experiment.from_toml(exp.to_toml(), path=tmp_path / "x.toml")
    assert dataclasses.replace(again, path=exp.path) == exp
    text = replace(
        DEMO_TEXT, "sequential = false", 'sequential = true\nsequential_method = "msprt"\ntau = 0.005'
    )
    exp = Experiment.load(write(tmp_path, text))
    assert (exp.analysis.sequential_method, exp.analysis.tau, exp.analysis.n_star) == ("msprt", 0.005, None)
    again = Experiment.from_toml(exp.to_toml(), path=tmp_path / "x.toml")
    assert dataclasses.replace(again, path=exp.path) == exp


def test_scaffold_lists_the_monitoring_keys():
    text = scaffold("spring", send_date="2026-06-01")
    for key in ("sequential_method = ", "covariates = []"):
        assert key in text
    a = Experiment.from_toml(text).analysis
    assert a.covariates == () and a.sequential_method == "asymptotic-cs"


@pytest.mark.parametrize(
    ("new", "match", "needle"),
    [
        ("n_star = 0", r"analysis\.n_star: must be a positive number of units", "n_star = 0"),
        ("n_star = -100.5", r"analysis\.n_star: must be a positive number", "n_star = -100.5"),
        ('n_star = "big"', r"analysis\.n_star: must be a number, got string", 'n_star = "big"'),
        ('sequential_method = "wald"', r"analysis\.sequential_method: 'wald' is not known", "wald"),
        ("tau = 0", r"analysis\.tau: must be a positive mixing SD", "tau = 0"),
        ("tau = 0.01", r"analysis\.tau: tunes sequential_method = 'msprt'", "tau = 0.01"),
        ('sequential_method = "msprt"', r"analysis\.sequential_method: 'msprt' needs analysis\.tau", "msprt"),
        (
            'sequential_method = "msprt"\ntau = 0.01\nn_star = 500',
            r"analysis\.n_star: tunes 'asymptotic-cs'",
            "n_star = 500",
        ),
        ('covariates = "frequency"', r"analysis\.covariates: must be a list of strings", "covariates"),
        (
            'covariates = ["frequency", "frequency"]',
            r"analysis\.covariates: lists 'frequency' more",
            "covariates",
        ),
    ],
)
def test_bad_monitoring_keys(tmp_path, new, match, needle):
    text = replace(DEMO_TEXT, "sequential = false", f"sequential = false\n{new}")
    load_bad(tmp_path, text, match, line=line_of(text, needle))


def test_sequential_or_covariates_with_a_bayesian_analysis_are_refused(tmp_path):
    text = replace(DEMO_TEXT, 'method = "frequentist"', 'method = "bayesian"')
    seq = replace(text, "sequential = false", "sequential = true")
    load_bad(
        tmp_path,
        seq,
        r"analysis\.sequential: applies to method = 'frequentist' only",
        line=line_of(seq, "sequential = true"),
    )
    cov = replace(text, "sequential = false", 'sequential = false\ncovariates = ["frequency"]')
    load_bad(tmp_path, cov, r"analysis\.covariates: CUPED covariates apply", line=line_of(cov, "covariates"))


# ------------------------------------------------------------------------- [data] engines (abkit.sources)
EVENTS_LINE = 'events = "data/events.parquet"         # customer_id, event, timestamp, amount'


def with_events(value: str, *extra: str) -> str:
    return replace(DEMO_TEXT, EVENTS_LINE, "\n".join([f"events = {value}", *extra]))


def test_engine_defaults_to_pandas_and_a_glob_or_directory_means_duckdb(tmp_path):
    assert Experiment.load(DEMO).data.engine == "pandas"
    assert Experiment.load(DEMO).data.url_env is None
    for events in ('"data/events/*.parquet"', '"data/events/"', '"/abs/events/**/*.csv"'):
        exp = Experiment.from_toml(with_events(events), path=tmp_path / "experiment.toml")
        assert exp.data.engine == "duckdb", events
        assert dataclasses.replace(Experiment.from_toml(exp.to_toml(), path=exp.path)) == exp
    # partitioned transactions are read by read_table (directory or glob)
    text = replace(
        DEMO_TEXT, 'transactions = "data/transactions.parquet"', 'transactions = "data/transactions/"'
    )
    assert Experiment.from_toml(text).data.transactions == "data/transactions/"


def test_postgres_engine_keys_and_round_trip(tmp_path):
    query = '"""SELECT customer_id, event, "timestamp", amount\nFROM crm.events WHERE campaign = \'wb\'"""'
    exp = Experiment.load(write(tmp_path, with_events(query, 'engine = "postgres"')))
    assert exp.data.engine == "postgres" and exp.data.url_env == "ABKIT_DATABASE_URL"
    assert exp.data.events.startswith("SELECT customer_id") and "events" not in exp.paths
    with pytest.raises(SourceError, match=r"data\.events is a PostgreSQL table or query"):
        exp.data_path("events")
    named = Experiment.from_toml(
        with_events('"crm.events"', 'engine = "postgres"', 'url_env = "CRM_DB_URL"'), path=exp.path
    )
    assert named.data.url_env == "CRM_DB_URL"
    assert Experiment.from_toml(named.to_toml(), path=exp.path) == named
    spark = Experiment.from_toml(
        with_events('"warehouse.email_events"', 'engine = "spark"', 'spark_master = "yarn"'), path=exp.path
    )
    assert (spark.data.engine, spark.data.spark_master) == ("spark", "yarn")
    assert Experiment.from_toml(spark.to_toml(), path=exp.path) == spark


@pytest.mark.parametrize(
    ("extra", "events", "match", "needle"),
    [
        (
            'engine = "duckbd"',
            '"data/events.parquet"',
            r"data\.engine: 'duckbd' is not known \(did you mean 'duckdb'\?\)",
            "duckbd",
        ),
        (
            'engine = "pandas"',
            '"data/events/*.parquet"',
            r"data\.events: .*is a directory or a glob, which engine = 'pandas'",
            "events = ",
        ),
        (
            'engine = "postgres"',
            '"data/events.parquet"',
            r"data\.events: .*looks like a file; with engine = 'postgres'",
            "events = ",
        ),
        ('url_env = "X_URL"', '"data/events.parquet"', r"data\.url_env: applies only to engine", "url_env"),
        (
            'spark_master = "local[2]"',
            '"data/events.parquet"',
            r"data\.spark_master: applies only to engine = 'spark'",
            "spark_master",
        ),
        ("engine = 7", '"data/events.parquet"', r"data\.engine: must be a string", "engine = 7"),
        ("", '"data/events.json"', r"data\.events: 'data/events.json' must end in \.csv", "events = "),
    ],
)
def test_bad_engine_keys_name_the_key_and_line(tmp_path, extra, events, match, needle):
    text = with_events(events, extra)
    load_bad(tmp_path, text, match, line=line_of(text, needle))


def test_url_env_holding_a_url_is_refused_without_echoing_it(tmp_path):
    secret = "postgresql://ana:s3cret@db:5432/crm"
    text = with_events('"crm.events"', 'engine = "postgres"', f'url_env = "{secret}"')
    error = load_bad(
        tmp_path,
        text,
        r"data\.url_env: must be the NAME of an environment variable",
        line=line_of(text, "url_env"),
    )
    assert "s3cret" not in str(error) and secret not in str(error)


def test_assignment_must_be_one_file(tmp_path):
    text = replace(DEMO_TEXT, 'assignment = "assignment.parquet"', 'assignment = "assignments/*.parquet"')
    load_bad(tmp_path, text, r"data\.assignment: .*must be one file", line=line_of(text, "assignments/*"))


# ------------------------------------------------------------------------------------------------
# decision, report and programme settings; cooldown and variant families


def test_new_settings_default_and_round_trip(tmp_path):
    exp = Experiment.from_toml(DEMO_TEXT)
    assert exp.report.language == "en" and exp.report.currency == "USD"
    assert exp.report.max_data_lag_days == 2
    assert exp.decision.objective is None and exp.programme is None
    assert exp.population.cooldown_days is None
    assert exp.variant("coupon").family == "coupon"
    text = DEMO_TEXT.replace(
        'weight = 0.3\nchannel = "email"', 'weight = 0.3\nfamily = "offer"\nchannel = "email"', 1
    )
    text = text.replace("lapsed_after = 730", "lapsed_after = 730\ncooldown_days = 60", 1)
    text = text.replace('language = "en"', 'language = "ja"').replace('currency = "USD"', 'currency = "JPY"')
    text = text.replace("[report]\n", "[report]\nmax_data_lag_days = 5\n")
    text += '\n[decision]\nobjective = "primary"\n\n[programme]\nname = "winback"\nholdout = 0.05\n'

    exp = Experiment.from_toml(text)
    assert exp.variant("coupon").family == "offer"
    assert exp.population.cooldown_days == 60
    assert exp.decision.objective == "primary" and exp.objective == "primary"
    assert (exp.report.language, exp.report.currency, exp.report.max_data_lag_days) == ("ja", "JPY", 5)
    assert exp.programme == abkit.experiment.Programme("winback", 0.05)
    again = Experiment.from_toml(exp.to_toml(), path=exp.path)
    assert again == exp


def test_objective_is_profit_automatically_when_costs_and_margin_are_given():
    exp = Experiment.from_toml(DEMO_TEXT)
    assert exp.has_costs and exp.analysis.gross_margin is not None
    assert exp.objective == "profit"
    no_margin = Experiment.from_toml(re.sub(r"gross_margin = [^\n]*\n", "", DEMO_TEXT))
    assert no_margin.objective == "primary"


@pytest.mark.parametrize(
    ("extra", "match", "needle"),
    [
        ('[decision]\nobjective = "money"', r"decision.objective: 'money' is not known", "objective"),
        ('[report]\nlanguage = "fr"', r"report.language: 'fr' is not available", "language"),
        ('[report]\ncurrency = "yen"', r"report.currency: 'yen' is not an ISO 4217", "currency"),
        ("[report]\nmax_data_lag_days = -1", r"report.max_data_lag_days: must be between 0", "max_data"),
        ('[report]\ncolour = "red"', r"unknown key 'colour'", "colour"),
        ("[programme]\nholdout = 0.05", r"programme.name: missing required key", "[programme]"),
        ('[programme]\nname = "w"\nholdout = 1.5', r"programme.holdout: must be a share", "holdout = 1.5"),
        ('[programme]\nname = "a b"', r"programme.name: 'a b' must be at most", "name = \"a b\""),
    ],
)
def test_bad_new_settings_name_the_key_and_line(tmp_path, extra, match, needle):
    text = DEMO_TEXT.split("\n[report]")[0] + "\n" + extra + "\n"
    load_bad(tmp_path, text, match, line=line_of(text, needle))


def test_bad_cooldown_is_refused(tmp_path):
    text = DEMO_TEXT.replace("lapsed_after = 730", "lapsed_after = 730\ncooldown_days = 0", 1)
    match = r"population.cooldown_days: must be a number of days"
    load_bad(tmp_path, text, match, line=line_of(text, "cooldown"))


def test_byte_order_mark_is_accepted(tmp_path):
    (tmp_path / "experiment.toml").write_bytes(b"\xef\xbb\xbf" + DEMO_TEXT.encode("utf-8"))
    assert Experiment.load(tmp_path).name == "winback-demo"


@pytest.mark.parametrize("name", ["winback\n", "x" * 65, "a/b", "[x]"])
def test_names_are_full_matched_and_bounded(tmp_path, name):
    text = DEMO_TEXT.replace('name = "winback-demo"', f"name = {name!r}".replace("'", '"'), 1)
    text = text.replace('"winback\n"', '"winback\\n"')
    load_bad(tmp_path, text, r"name: .* must be letters")
    with pytest.raises(ParameterError, match="must be letters"):
        scaffold(name)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("window_days = 14", "window_days = 100000", r"dates.window_days: must be between 1 and 366"),
        ("send_date = 2026-06-01", "send_date = 9999-12-30", r"dates.send_date: 9999-12-30 is outside"),
        ("planned_end = 2026-06-15", "planned_end = 9999-12-31", r"dates.planned_end: 9999-12-31 is outside"),
    ],
)
def test_extreme_dates_are_bad_input_not_overflow(tmp_path, old, new, match):
    load_bad(tmp_path, replace(DEMO_TEXT, old, new), match)


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://reporter:Pa#ssw0rd@db/crm",
        "postgres://db/crm",
        "s3a://AKIAKEY:secret@bucket/events/",
    ],
)
def test_a_url_pasted_as_a_data_source_is_refused_without_echoing_it(tmp_path, value):
    text = replace(DEMO_TEXT, 'events = "data/events.parquet"', f'events = "{value}"')
    err = load_bad(tmp_path, text, r"data.events: looks like a database URL", line=line_of(text, "events ="))
    for secret in ("Pa#ssw0rd", "secret", "reporter", "AKIAKEY", value):
        assert secret not in str(err)


# ------------------------------------------------------------------------------ bring your own data
BYOD = '''\
name = "email-test"
hypothesis = "An e-mail brings more visits than none."
owner = "crm@example.com"
salt = "s1"

[dates]
send_date = 2026-06-01
window_days = 14

[data]
outcomes = "data/export.csv"
assignment = "assignment.csv"
timezone = "Asia/Tokyo"
timestamp_format = "%d/%m/%Y %H:%M"
encoding = "cp932"
max_bad_share = 0.01

[data.columns]
customer_id = "id"

[data.columns.outcomes]
variant = "arm"

[population]
exclude = []
lapsed_flags = []

[variants."No E-Mail"]
weight = 1
contacted = false

[variants."Mens E-Mail"]
weight = 1

[variants."クーポン LINE"]
weight = 1
channel = "line"

[metrics]
primary = "visit"
secondary = ["spend", "repurchased"]

[metrics.define.visit]
kind = "rate"
label = "サイト訪問"

[metrics.define.spend]
kind = "mean"
column = "spend_usd"

[analysis]
breakdowns = ["history_segment"]
'''


def test_a_per_customer_export_spec_loads_and_round_trips(tmp_path: Path) -> None:
    exp = Experiment.load(write(tmp_path, BYOD))
    data = exp.data
    assert data.events is None and data.transactions is None and data.outcomes == "data/export.csv"
    assert (data.timezone, data.timestamp_format, data.encoding, data.max_bad_share) == (
        "Asia/Tokyo", "%d/%m/%Y %H:%M", "cp932", 0.01
    )
    assert data.columns_for("outcomes").variant == "arm" and data.columns_for("outcomes").customer_id == "id"
    assert data.columns_for("events").variant == "variant"
    assert exp.variant_names == ("No E-Mail", "Mens E-Mail", "クーポン LINE")
    assert exp.variant("クーポン LINE").channel == "line"
    assert exp.metrics.label("visit") == "サイト訪問" and exp.metrics.label("repurchased") == "repurchased"
    assert exp.metrics.define["spend"].column == "spend_usd" and exp.metrics.define["spend"].kind == "mean"
    assert exp.metrics.define["visit"].population == "assigned"
    assert exp.analysis.breakdowns == ("history_segment",)
    again = Experiment.from_toml(exp.to_toml(), path=exp.path)
    assert again == exp
    with pytest.raises(SourceError, match=r"line 10: `abkit plan` reads data.transactions, which is not"):
        exp.data_path("transactions", needed_by="plan")


@pytest.mark.parametrize(
    ("old", "new", "match", "needle"),
    [
        ('encoding = "cp932"', 'encoding = "klingon"', r"data\.encoding: 'klingon' is not known", "klingon"),
        ('timezone = "Asia/Tokyo"', 'timezone = "JST"', r"data\.timezone: 'JST' is not an IANA", '"JST"'),
        ('timestamp_format = "%d/%m/%Y %H:%M"', 'timestamp_format = "dd/mm/yyyy"',
         r"data\.timestamp_format: 'dd/mm/yyyy' is not a strptime format", "dd/mm"),
        ("max_bad_share = 0.01", "max_bad_share = 0.9", r"data\.max_bad_share: must be a share in \[0",
         "0.9"),
        ('variant = "arm"', 'varient = "arm"', r"data\.columns\.outcomes\.varient: unknown key 'varient' "
         r"\(did you mean 'variant'\?\)", "varient"),
        ('kind = "rate"', 'kind = "ratio"', r"metrics\.define\.visit\.kind: 'ratio' is not known", "ratio"),
        ('label = "サイト訪問"', 'label = "サイト訪問"\npopulation = "everyone"',
         r"metrics\.define\.visit\.population: 'everyone' is not known", "everyone"),
        ('label = "サイト訪問"', 'label = "サイト訪問"\nunit = "%"', r"visit\.unit: unknown key", "unit"),
        ('primary = "visit"', 'primary = "visits"', r"metrics\.primary: 'visits' is not a known metric "
         r"\(did you mean 'visit'\?\).*\[metrics\.define\.visits\]", 'primary = "visits"'),
        ('outcomes = "data/export.csv"', 'outcomes = "data/export.json"',
         r"data\.outcomes: 'data/export.json' must end in \.csv, \.parquet or \.xlsx", "export.json"),
        ('outcomes = "data/export.csv"', "", r"data\.events: missing required key 'events' \(or 'outcomes'\)",
         "[data]"),
        ('[variants."Mens E-Mail"]', '[variants."Mens\\u0007Mail"]', r"a control character \(U\+0007\)",
         '[variants."No E-Mail"]'),
        ('channel = "line"', 'channel = "none"', "a contacted variant needs a channel", '"none"'),
        ('breakdowns = ["history_segment"]', 'breakdowns = "history_segment"',
         r"analysis\.breakdowns: must be a list of strings", "breakdowns"),
    ],
)
def test_bring_your_own_data_keys_are_validated(tmp_path, old, new, match, needle) -> None:
    text = replace(BYOD, old, new)
    load_bad(tmp_path, text, match, line=line_of(text, needle))


def test_per_table_event_columns_and_timezones_need_the_pandas_engine(tmp_path: Path) -> None:
    spec = scaffold("w", send_date="2026-06-01").replace('"data/events.parquet"', '"data/events/*.parquet"')
    load_bad(tmp_path, spec.replace('timezone = "UTC"', 'timezone = "Asia/Tokyo"'),
             r"data\.timezone: applies to engine = 'pandas' \(engine is 'duckdb'\)")
    events_cols = spec + '\n[data.columns.events]\ncustomer_id = "uid"\n'
    load_bad(tmp_path, events_cols, r"data\.columns\.events: applies")
    load_bad(tmp_path, spec.replace('assignment = "assignment.parquet"',
                                    'assignment = "assignment.parquet"\noutcomes = "o.csv"'),
             r"data\.outcomes: a per-customer outcomes table is combined with engine = 'pandas' only")


def test_the_scaffold_documents_the_new_keys() -> None:
    text = scaffold("w", send_date="2026-06-01")
    for key in ("outcomes =", "encoding =", "sheet =", "timestamp_format =", "timezone =", "max_bad_share =",
                "[data.columns.outcomes]", "[metrics.define.visit]", "population =", "breakdowns =", "line,"):
        assert key in text, key
    exp = Experiment.from_toml(text)
    assert exp.data.timezone == "UTC" and exp.data.max_bad_share == 0.001 and exp.analysis.breakdowns == ()


# -------------------------------------------------------------------- TOML writer (issue 14)
# variant names are letters, digits, '-', '_' and '.' (a dot must be quoted in a TOML key); the
# free text around them (family, description, hypothesis, owner, salt) may hold anything
VARIANT_NAMES = ["v1.0", "a.b.c", "9-lives"]
HOSTILE_TEXT = ["two words", "クーポン 10%", 'say "hi"', "it's", "back\\slash", "[x]", "#1 = 2"]


def test_to_toml_quotes_any_variant_name_and_text_through_tomli_w():
    import tomllib

    import tomli_w

    exp = Experiment.load(DEMO)
    variants = tuple(
        dataclasses.replace(v, name=name, family=family, description=f'line one\nline "two" {family}')
        for v, name, family in zip(exp.variants, VARIANT_NAMES, HOSTILE_TEXT, strict=False)
    )
    hostile = dataclasses.replace(
        exp,
        variants=variants,
        hypothesis='A "quoted"\nhypothesis with ] and # and 日本語',
        owner="o'brien@example.com",
        salt='s"\\\t',
        analysis=dataclasses.replace(exp.analysis, control=variants[0].name),
    )
    text = hostile.to_toml()
    assert Experiment.from_toml(text, path=exp.path) == hostile
    first, blank, rest = text.split("\n", 2)
    assert first.startswith("# abkit experiment spec (") and blank == ""
    # everything after the header is exactly what the maintained writer produces
    assert rest == tomli_w.dumps(tomllib.loads(rest))


def test_the_header_comment_cannot_be_broken_by_a_name():
    exp = Experiment.load(DEMO)
    text = dataclasses.replace(exp, name="x\ny = 1").to_toml()
    assert text.splitlines()[0] == "# abkit experiment spec (x y = 1)"


@pytest.mark.parametrize("salt", ['a "quoted" salt', "back\\slash", "tab\there", "new\nline", "クーポン"])
def test_scaffold_writes_any_salt_through_tomli_w(salt):
    exp = Experiment.from_toml(scaffold("x", send_date="2026-01-05", salt=salt))
    assert exp.salt == salt
    assert Experiment.from_toml(exp.to_toml()) == exp


@pytest.mark.parametrize("alternative", ["larger", "smaller"])
def test_analysis_alternative_round_trips(tmp_path: Path, alternative: str) -> None:
    text = scaffold("spring", send_date="2026-06-01")
    assert 'alternative = "two-sided"' in text
    assert Experiment.from_toml(text).analysis.alternative == "two-sided"
    exp = Experiment.from_toml(text.replace('alternative = "two-sided"', f'alternative = "{alternative}"'))
    assert exp.analysis.alternative == alternative
    assert f"one-sided ({alternative})" in repr(exp._notes())
    again = Experiment.from_toml(exp.to_toml(), path=tmp_path / "x.toml")
    assert again.analysis.alternative == alternative
    assert dataclasses.replace(again, path=exp.path) == exp


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ('"greater"', r"analysis\.alternative: 'greater' is not known.*'two-sided', 'larger', 'smaller'"),
        ('"large"', r"analysis\.alternative: 'large' is not known \(did you mean 'larger'\?\)"),
        ("1", r"analysis\.alternative: must be a string"),
    ],
)
def test_bad_analysis_alternative_names_the_key_value_and_choices(value: str, match: str) -> None:
    text = scaffold("spring", send_date="2026-06-01")
    text = text.replace('alternative = "two-sided"', f"alternative = {value}")
    with pytest.raises(SpecError, match=match):
        Experiment.from_toml(text)
