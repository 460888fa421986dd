"""Names people give to variants, segments and channels: what is accepted, and safe file names from them.

A label (a variant, segment or channel name) is any non-empty text of at most
:data:`MAX_LABEL_LENGTH` characters without control characters: spaces, punctuation and Japanese
are welcome (``"No E-Mail"``, ``"クーポン"``). Where a label becomes part of a file name (send
lists), :func:`slug` turns it into a safe, collision-free file-name part.
"""

from __future__ import annotations

import hashlib
import unicodedata

from abkit.errors import ParameterError

__all__ = ["MAX_LABEL_LENGTH", "check_label", "label_problem", "slug"]

#: Longest variant, segment or channel name (characters).
MAX_LABEL_LENGTH = 64
_SAFE_PUNCTUATION = "._-"


def label_problem(value: object) -> str | None:
    """Why ``value`` is not an acceptable label, or None when it is.

    >>> label_problem("No E-Mail") is None, label_problem("メールなし") is None
    (True, True)
    >>> label_problem("a\\nb")
    'contains a control character (U+000A)'
    """
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    if not value.strip():
        return "must not be empty"
    if len(value) > MAX_LABEL_LENGTH:
        return f"is {len(value)} characters long; at most {MAX_LABEL_LENGTH} are allowed"
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\u200d":
            return f"contains a control character (U+{ord(ch):04X})"
    return None


def check_label(value: object, what: str) -> str:
    """Return ``value`` if it is an acceptable label, else raise :class:`~abkit.errors.ParameterError`.

    >>> check_label("Coupon 10%", "variant")
    'Coupon 10%'
    >>> check_label("", "variant")
    Traceback (most recent call last):
    ...
    abkit.errors.ParameterError: variant '' must not be empty
    """
    problem = label_problem(value)
    if problem is not None:
        raise ParameterError(f"{what} {value!r} {problem}")
    return str(value)


def slug(name: str) -> str:
    """A safe file-name part for ``name``, distinct for distinct names.

    A name made only of ASCII letters, digits, ``.``, ``_`` and ``-`` (not starting with ``.``) is
    kept as it is, so existing file names do not change. Any other name keeps its letters and digits
    (Unicode included, NFC-normalised), turns every other character into ``_`` and gains ``-`` plus
    8 hex digits of its SHA-256, so two names never share a file.

    >>> slug("coupon")
    'coupon'
    >>> slug("No E-Mail")
    'No_E-Mail-21ea5908'
    >>> slug("../etc") != slug("__etc") and "/" not in slug("../etc")
    True
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"name={name!r} must be non-empty text to make a file name from it")
    if (
        name.isascii()
        and not name.startswith(".")
        and all(ch.isalnum() or ch in _SAFE_PUNCTUATION for ch in name)
    ):
        return name
    text = unicodedata.normalize("NFC", name)
    safe = "".join(ch if (ch.isalnum() or ch in "_-") else "_" for ch in text).strip("_")[:48] or "name"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{safe}-{digest}"
