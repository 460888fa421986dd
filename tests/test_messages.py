"""Tests for abkit.messages: complete, consistent catalogues and clear errors."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from abkit.errors import ParameterError
from abkit.messages import LANGUAGES, Text, catalogue, label, message, placeholders

DECISIONS = ("ship", "keep holdout", "keep collecting", "check the data")
CONFIDENCE = ("very likely better", "likely better", "unclear", "likely worse", "very likely worse")


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    english = catalogue("en")
    for language in LANGUAGES:
        other = catalogue(language)
        assert set(other) == set(english), f"{language}: keys differ: {set(other) ^ set(english)}"
        for key, text in english.items():
            assert placeholders(other[key]) == placeholders(text), f"{language}: {key}"
            assert other[key].strip(), f"{language}: {key} is empty"


def test_catalogue_files_are_package_data_and_valid_json() -> None:
    for language in LANGUAGES:
        raw = (resources.files("abkit") / "locales" / f"{language}.json").read_text(encoding="utf-8")
        assert isinstance(json.loads(raw), dict)


def test_decision_values_and_confidence_words_are_translated() -> None:
    import abkit.evaluation as evaluation

    words = set(CONFIDENCE) | set(getattr(evaluation, "CONFIDENCE_WORDS", ()))
    for language in LANGUAGES:
        table = catalogue(language)
        for decision in DECISIONS:
            assert f"decision.{decision}" in table
        for word in words:
            assert f"confidence.{word}" in table
    assert label("decision", "ship", "ja") != "ship"
    assert label("confidence", "very likely better", "ja") != "very likely better"


def test_japanese_uses_the_field_vocabulary() -> None:
    text = "".join(catalogue("ja").values())
    for term in ("開封率", "クリック率", "再購入率", "増分利益", "ホールドアウト", "セグメント", "推奨"):
        assert term in text
    assert message("metric.repurchased", "ja") == "再購入率"
    assert message("heading.health", "ja") == "データ健全性"


def test_unknown_key_language_or_missing_value_is_an_error() -> None:
    with pytest.raises(ParameterError, match=r"message key 'no\.such\.key'"):
        message("no.such.key")
    with pytest.raises(ParameterError, match="language='fr' is not available"):
        message("heading.health", "fr")
    with pytest.raises(ParameterError, match="needs the value 'days'"):
        message("status.running", day=3)


def test_label_falls_back_to_the_user_name() -> None:
    assert label("metric", "my_custom_metric", "ja") == "my_custom_metric"


def test_text_prints_cleanly_and_displays_as_text() -> None:
    text = Text("line one\n<b>two</b> $5")
    assert str(text) == "line one\n<b>two</b> $5"
    assert "&lt;b&gt;" in text._repr_html_()
    assert text._repr_markdown_().startswith("```text\n")
