"""The README's walk-through, run as written: an e-mail tool's export to a published report.

A per-customer export (three arms, the holdout "No E-Mail", flags ``visit`` and ``conversion``,
amount ``spend``, a history column, no ids, no dates) is imported with ``abkit import`` (row
numbers as ids, since the same file is ``[data] outcomes``), validated, and reported.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ABKIT = str(Path(sys.executable).parent / "abkit")


def walkthrough() -> tuple[list[str], str, list[str]]:
    """The README walk-through: commands before the spec, the spec, commands after it."""
    text = README.read_text(encoding="utf-8")
    start = text.index("### Walk-through")
    section = text[start : text.index("\n## ", start)]
    bash = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    toml = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    assert len(bash) == 2 and len(toml) == 1
    return bash[0].strip().splitlines(), toml[0], bash[1].strip().splitlines()


def run(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    args = shlex.split(line)
    if args[0] == "abkit":
        args[0] = ABKIT
    elif args[0] == "python":
        args[0] = sys.executable
        args[1] = str(ROOT / args[1])
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=600)


def test_the_readme_walkthrough_reaches_a_published_report(tmp_path: Path) -> None:
    before, spec, after = walkthrough()
    lines = [x for x in spec.splitlines() if x.strip() and not x.lstrip().startswith("#")]
    assert len(lines) <= 30, "the walk-through's spec is about 25 lines"
    for line in before:
        out = run(line, tmp_path)
        assert out.returncode == 0, (line, out.stderr)
    folder = tmp_path / "experiments" / "email-campaign"
    export = pd.read_csv(folder / "campaign.csv")
    assert {"visit", "conversion", "spend", "history_segment", "segment"} <= set(export.columns)
    assert "No E-Mail" in set(export["segment"]) and not {"customer_id", "id"} & set(export.columns)
    (folder / "experiment.toml").write_text(spec, encoding="utf-8")

    imported, validated, reported = (run(line, tmp_path) for line in after)
    assert imported.returncode == 0, imported.stderr
    assert "64,000 customers" in imported.stdout and "made outside abkit" in imported.stdout
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert reported.returncode == 0, reported.stderr
    html = Path(reported.stdout.strip().splitlines()[-1])
    html = html if html.is_absolute() else tmp_path / html
    page = html.read_text(encoding="utf-8")
    for shown in ("Site visit", "No E-Mail", "Mens E-Mail", "made outside abkit", "history_segment"):
        assert shown in page, shown
    assert "Traceback" not in reported.stderr


def test_import_without_id_col_needs_the_outcomes_file(tmp_path: Path) -> None:
    before, spec, _ = walkthrough()
    for line in before:
        assert run(line, tmp_path).returncode == 0
    folder = tmp_path / "experiments" / "email-campaign"
    (folder / "experiment.toml").write_text(spec, encoding="utf-8")
    other = folder / "copy.csv"
    other.write_bytes((folder / "campaign.csv").read_bytes())
    out = run(f"abkit import {folder} {other} --variant-col segment", tmp_path)
    assert out.returncode == 1 and "--id-col" in out.stderr and out.stderr.count("\n") == 1
    assert not (folder / "assignment.parquet").exists()


def test_imported_csv_ids_keep_their_leading_zeros(tmp_path: Path) -> None:
    before, spec, _ = walkthrough()
    for line in before:
        assert run(line, tmp_path).returncode == 0
    folder = tmp_path / "experiments" / "email-campaign"
    (folder / "experiment.toml").write_text(spec, encoding="utf-8")
    export = pd.read_csv(folder / "campaign.csv")
    export.insert(0, "member_no", [f"{i:07d}" for i in range(len(export))])
    export.to_csv(folder / "with_ids.csv", index=False)
    command = f"abkit import {folder} {folder / 'with_ids.csv'} --id-col member_no --variant-col segment"
    out = run(command, tmp_path)
    assert out.returncode == 0, out.stderr
    saved = pd.read_parquet(folder / "assignment.parquet")
    assert saved["customer_id"].iloc[:2].tolist() == ["0000000", "0000001"]
