"""Tests for abkit.names: labels users give to variants, segments and channels, and file-name slugs."""

from __future__ import annotations

import pytest

from abkit.errors import ParameterError
from abkit.names import check_label, label_problem, slug


@pytest.mark.parametrize("name", ["No E-Mail", "クーポン 10%", "Mens E-Mail", "a/b", "x" * 64, "🎁 gift"])
def test_any_text_is_a_label(name: str) -> None:
    assert label_problem(name) is None and check_label(name, "variant") == name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "must not be empty"),
        ("  ", "must not be empty"),
        ("x" * 65, "65 characters long"),
        ("a\nb", "control character"),
        ("a\u202eb", "control character"),
        (3, "must be text"),
    ],
)
def test_bad_labels_are_named(name: object, problem: str) -> None:
    assert problem in str(label_problem(name))
    with pytest.raises(ParameterError, match=problem):
        check_label(name, "variant")


def test_slug_keeps_safe_names_and_separates_the_others() -> None:
    assert slug("coupon") == "coupon" and slug("v1.2_b-c") == "v1.2_b-c"
    names = [
        "No E-Mail",
        "No_E-Mail",
        "No E_Mail",
        "no e-mail",
        "クーポン",
        "クーポン ",
        "../x",
        ".hidden",
        "a/b",
        "a\\b",
    ]
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(names)  # collision-free
    for s in slugs:
        assert "/" not in s and "\\" not in s and not s.startswith(".") and " " not in s
    assert slug("クーポン").startswith("クーポン-")
    with pytest.raises(ParameterError):
        slug("")
