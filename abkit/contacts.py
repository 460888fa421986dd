"""Who a wave may contact: the programme holdout and contact pressure across the experiments of a root.

Two rules run on a wave's eligible dormant customers before its own split (``abkit assign``):

1. **Programme holdout** (``[programme] name = "winback"``, ``holdout = 0.05``): a customer belongs to
   the programme holdout when the programme-level hash ``unit_hash(id, salt="programme:NAME")`` is
   below ``holdout × 16¹⁵``. Membership depends on the id, the programme's name and the share only:
   it is the same in every wave, does not change as the pool grows or new customers become dormant,
   and no wave of the programme ever contacts a member. Each wave records the members it found
   eligible next to its assignment (``<assignment stem>.programme-holdout.csv``) so the programme's
   total effect can be measured against them (:func:`abkit.programme.programme_effect`).
2. **Contact pressure** (``[population] cooldown_days = 60``): customers that another experiment
   under the same root (the folder holding the experiment folders) put in a contacted variant, with
   a send date within ``cooldown_days`` days of this wave's send date, are left out. Holdout arms
   are never counted as contacts.

Both are counted among the exclusions (reasons :data:`PROGRAMME_HOLDOUT_REASON` and
:data:`COOLDOWN_REASON`), like opt-outs, never dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abkit._io import write_frame
from abkit._validate import check_probability
from abkit.assignment import load_assignment, unit_hash
from abkit.errors import AbkitError, AbkitWarning, DataError, ParameterError
from abkit.experiment import SPEC_FILE, Experiment

__all__ = [
    "COOLDOWN_REASON",
    "PROGRAMME_HOLDOUT_REASON",
    "ContactRules",
    "apply_contact_rules",
    "experiment_folders",
    "programme_holdout",
    "programme_holdout_path",
    "read_programme_holdout",
    "recent_contacts",
    "save_programme_holdout",
]

PROGRAMME_HOLDOUT_REASON = "programme holdout"
COOLDOWN_REASON = "contacted recently (cooldown)"
_HASH_SPACE = 16**15  # unit_hash values lie in [0, 16**15)


def programme_holdout(ids: Any, name: str, share: float) -> pd.Series:
    """True for the ids in programme ``name``'s holdout (a ``share`` of any pool), False otherwise.

    Membership is decided per id by the salted hash ``unit_hash(id, salt=f"programme:{name}")``
    against a fixed threshold, so it never changes: not across waves, not as the pool grows.
    The result is a boolean Series aligned with ``ids`` (its index when ``ids`` is a Series).

    >>> ids = [f"C{i:05d}" for i in range(10_000)]
    >>> member = programme_holdout(ids, "winback", 0.05)
    >>> round(float(member.mean()), 3)
    0.051
    >>> bool(member.iloc[:100].equals(programme_holdout(ids[:100], "winback", 0.05)))  # pool grew: same
    True
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"name={name!r} must be the programme's non-empty name, e.g. 'winback'")
    share = float(check_probability("share", share))
    index = ids.index if isinstance(ids, pd.Series) else None
    values = ids.to_numpy() if isinstance(ids, pd.Series) else ids
    if len(values) == 0:
        return pd.Series([], dtype=bool, index=index, name="programme_holdout")
    h = unit_hash(values, f"programme:{name}")
    member = h < np.int64(round(share * _HASH_SPACE))
    return pd.Series(member, index=index, name="programme_holdout")


def experiment_folders(root: str | Path) -> list[Path]:
    """The folders directly under ``root`` that hold an ``experiment.toml``, sorted by name.

    >>> experiment_folders("no/such/root")
    []
    """
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / SPEC_FILE).is_file())


def programme_holdout_path(exp: Experiment) -> Path:
    """Where a wave records its eligible programme-holdout members (beside its assignment)."""
    assignment = exp.data_path("assignment")
    return assignment.with_name(f"{assignment.stem}.programme-holdout.csv")


def save_programme_holdout(exp: Experiment, members: pd.DataFrame, *, overwrite: bool = False) -> Path:
    """Write the wave's eligible programme-holdout members (ids as text) atomically; return the path."""
    return write_frame(members, programme_holdout_path(exp), overwrite=overwrite)


def read_programme_holdout(exp: Experiment) -> pd.DataFrame:
    """The programme-holdout members a wave recorded (empty when it recorded none)."""
    id_col = exp.data.columns.customer_id
    path = programme_holdout_path(exp)
    if not path.is_file():
        return pd.DataFrame({id_col: pd.Series([], dtype=str)})
    return pd.read_csv(path, dtype={id_col: str, "segment": str}, keep_default_na=False)


def recent_contacts(
    root: str | Path, *, send_date: Any, days: int, exclude: str | Path | None = None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Customers put in a contacted variant by an experiment under ``root`` sent within ``days`` days.

    Returns ``(contacts, skipped)``: ``contacts`` has ``customer_id`` (text), ``experiment`` and
    ``send_date``; ``skipped`` names the folders whose spec or assignment could not be read, with
    the reason (a draft without an assignment is not skipped: it contacted nobody). ``exclude`` is
    the folder of the wave being assigned.

    >>> contacts, skipped = recent_contacts("no/such/root", send_date="2026-06-01", days=60)
    >>> len(contacts), skipped
    (0, ())
    """
    send = pd.Timestamp(send_date).date()
    frames: list[pd.DataFrame] = []
    skipped: list[str] = []
    own = Path(exclude).resolve() if exclude is not None else None
    for folder in experiment_folders(root):
        if own is not None and folder.resolve() == own:
            continue
        try:
            other = Experiment.load(folder)
            if abs((other.dates.send_date - send).days) > days:
                continue
            path = other.data_path("assignment")
            if not path.exists():
                continue
            frame = load_assignment(path).frame
        except AbkitError as exc:
            skipped.append(f"{folder.name} ({exc})")
            continue
        contacted = frame["variant"].astype(str).isin(other.contacted_variants)
        ids = frame.loc[contacted, other.data.columns.customer_id].astype(str)
        frames.append(
            pd.DataFrame(
                {"customer_id": ids.to_numpy(), "experiment": other.name, "send_date": other.dates.send_date}
            )
        )
    empty = pd.DataFrame({"customer_id": pd.Series([], dtype=str), "experiment": [], "send_date": []})
    contacts = pd.concat(frames, ignore_index=True) if frames else empty
    return contacts, tuple(skipped)


@dataclass(frozen=True)
class ContactRules:
    """A wave's units after the programme holdout and the cooldown, and what each rule removed."""

    units: pd.DataFrame
    exclusions: pd.DataFrame
    holdout: pd.DataFrame


def apply_contact_rules(exp: Experiment, units: pd.DataFrame) -> ContactRules:
    """Remove the programme holdout, then recently contacted customers, from a wave's eligible units.

    ``exclusions`` has the columns of :attr:`abkit.Population.exclusions` (``reason``, ``unit``,
    ``count``, ``effect``): one row per rule the spec declares. ``holdout`` lists the programme
    holdout members found eligible (id and segment), to be saved with the assignment.
    """
    id_col = exp.data.columns.customer_id
    rows: list[tuple[str, str, int, str]] = []
    holdout = units.iloc[0:0]
    if exp.programme is not None and exp.programme.holdout > 0:
        member = programme_holdout(units[id_col], exp.programme.name, exp.programme.holdout).to_numpy()
        holdout = units.loc[member]
        units = units.loc[~member]
        rows.append(
            (
                PROGRAMME_HOLDOUT_REASON,
                "customers",
                int(member.sum()),
                f"kept out of every wave of programme {exp.programme.name!r} "
                f"({exp.programme.holdout:.1%} of the pool, never contacted)",
            )
        )
    days = exp.population.cooldown_days
    if days is not None:
        contacts, skipped = recent_contacts(
            exp.folder.parent, send_date=exp.dates.send_date, days=days, exclude=exp.folder
        )
        if skipped:
            warnings.warn(
                f"cooldown: could not read {len(skipped)} experiment folder(s) under "
                f"{exp.folder.parent.name}: {'; '.join(skipped)}",
                AbkitWarning,
                stacklevel=2,
            )
        recent = units[id_col].astype(str).isin(set(contacts["customer_id"]))
        units = units.loc[~recent.to_numpy()]
        rows.append(
            (
                COOLDOWN_REASON,
                "customers",
                int(recent.sum()),
                f"contacted by another experiment of this root within {days} days of the send date",
            )
        )
    if not len(units) and rows:
        shown = ", ".join(f"{r[0]}: {r[2]:,}" for r in rows)
        raise DataError(
            f"{exp.path}: no customer is left to assign after {shown}; "
            "lower programme.holdout or population.cooldown_days"
        )
    segment = [c for c in (exp.strata, "segment") if c and c in holdout.columns][:1]
    exclusions = pd.DataFrame(rows, columns=["reason", "unit", "count", "effect"]).astype({"count": np.int64})
    members = holdout[[id_col, *segment]].rename(columns={segment[0]: "segment"} if segment else {})
    return ContactRules(units=units.reset_index(drop=True), exclusions=exclusions, holdout=members)
