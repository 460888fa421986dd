"""Every sentence, heading and label a person reads, per language, from one catalogue file each.

The catalogues are JSON files shipped in ``abkit/locales/`` (``en.json``, ``ja.json``): a flat
mapping from a key to a text with ``{placeholders}``. Adding a language is adding one file with
the same keys and placeholders (a test checks this). Texts are plain: whoever renders them as
HTML or Markdown escapes them.

>>> message("decision.ship")
'Ship'
>>> message("decision.ship", "ja")
'本展開'
>>> message("status.running", day=10, days=14)
'attribution window open: day 10 of 14'
"""

from __future__ import annotations

import json
import string
from functools import cache
from importlib import resources
from typing import Any

from abkit.errors import ParameterError

__all__ = ["LANGUAGES", "Text", "catalogue", "label", "message", "placeholders"]

#: Languages with a catalogue in ``abkit/locales/``.
LANGUAGES: tuple[str, ...] = ("en", "ja")


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ParameterError(f"language={language!r} is not available; use one of {', '.join(LANGUAGES)}")
    return language


@cache
def catalogue(language: str = "en") -> dict[str, str]:
    """The message catalogue of ``language`` (key -> text), read once from the package data.

    >>> catalogue("en")["heading.health"]
    'Data health'
    """
    _check_language(language)
    text = (resources.files("abkit") / "locales" / f"{language}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {str(k): str(v) for k, v in data.items() if not k.startswith("_")}


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders of a catalogue text.

    >>> sorted(placeholders("day {day} of {days}"))
    ['day', 'days']
    """
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def message(key: str, language: str = "en", **values: Any) -> str:
    """The text of ``key`` in ``language`` with ``values`` filled in.

    An unknown key or a missing value raises :class:`~abkit.errors.ParameterError` (never a
    half-filled sentence).

    >>> message("heading.recommendation", "ja")
    'セグメント別の推奨'
    """
    table = catalogue(_check_language(language))
    try:
        text = table[key]
    except KeyError:
        raise ParameterError(f"message key {key!r} is not in the {language!r} catalogue") from None
    try:
        return text.format(**values) if values or placeholders(text) else text
    except KeyError as exc:
        raise ParameterError(f"message {key!r} needs the value {exc.args[0]!r}") from None


def label(prefix: str, name: str, language: str = "en") -> str:
    """The catalogue's wording of a name (``label("metric", "repurchased")``), else the name itself.

    User-chosen names (a custom metric, a segment) have no entry and read as written.

    >>> label("metric", "repurchased", "ja"), label("metric", "my_metric", "ja")
    ('再購入率', 'my_metric')
    """
    return catalogue(_check_language(language)).get(f"{prefix}.{name}", name)


class Text(str):
    """A ``str`` that displays as formatted text in Jupyter (not as an escaped repr with ``\\n``).

    ``print(text)`` and comparisons work as for any string; Jupyter uses ``_repr_markdown_``
    (preformatted, so alignment and user text show literally).

    >>> t = Text("a\\nb"); print(t); t == "a\\nb"
    a
    b
    True
    """

    __slots__ = ()

    def _repr_markdown_(self) -> str:
        return "```text\n" + str(self).replace("```", "` ` `") + "\n```"

    def _repr_html_(self) -> str:
        import html

        return f"<pre style='white-space:pre-wrap'>{html.escape(str(self))}</pre>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))
