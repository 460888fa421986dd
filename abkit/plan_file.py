"""The published targeting plan of an experiment (``DIR/targeting/plan.json``): its names and its reader.

Kept apart from :mod:`abkit.next_wave` (which makes the plan and its report) so that the next wave's
spec (:func:`abkit.programme.init_from`) can read a plan without the report layer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from abkit.errors import DataError

__all__ = ["PLAN_FILE", "PLAN_SCHEMA", "TARGETING_DIR", "read_plan"]

#: Schema of ``plan.json`` (documented in :mod:`abkit.next_wave`).
PLAN_SCHEMA = "abkit.targeting/1"
#: The folder of an experiment that holds its published plan.
TARGETING_DIR = "targeting"
#: The machine-readable plan inside that folder.
PLAN_FILE = "plan.json"


def read_plan(folder: str | Path) -> dict[str, Any]:
    """The published plan ``FOLDER/targeting/plan.json`` of an experiment, checked.

    Raises :class:`~abkit.errors.DataError` naming the file when it is missing, not JSON, of
    another schema or without per-cell weights.
    """
    path = Path(folder) / TARGETING_DIR / PLAN_FILE
    if not path.is_file():
        raise DataError(f"{path} does not exist; run `abkit target {folder}` first")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); run `abkit target --force` again") from None
    if not isinstance(doc, dict) or doc.get("schema") != PLAN_SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise DataError(f"{path}: schema {found!r} is not {PLAN_SCHEMA!r}; run `abkit target --force` again")
    cells, weights = doc.get("cells"), doc.get("weights")
    if not (isinstance(cells, list) and cells and all(isinstance(c, str) for c in cells)):
        raise DataError(f"{path}: 'cells' must be a non-empty list of column names")
    ok = isinstance(weights, dict) and all(
        isinstance(w, dict) and w and all(isinstance(v, int | float) and v >= 0 for v in w.values())
        for w in weights.values()
    )
    if not ok:
        raise DataError(f"{path}: 'weights' must map each cell to {{arm: weight}} with weights 0 or more")
    return doc
