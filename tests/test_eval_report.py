"""The eval report: markdown and self-contained HTML rendered from a hand-made run record (evals/RECORD.md).

The fixture has 10 case runs over three intents and two tiers: one crashed case (an `error` column in the
confusion matrix), an injection case whose answer holds a script tag, and a comparison with one regressed
metric and one flipped case.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from evals.plots import DASH
from evals.report import html, markdown, write_reports

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "eval_record.json"
INJECTION = "<script>alert(1)</script>"


@pytest.fixture
def record() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.S)


def test_markdown_headline_shows_every_rate_with_its_n(record: dict[str, Any]) -> None:
    md = markdown(record)
    for row in (
        "| route accuracy | 70.0% (n=10) |",
        "| deterministic-tier precision | 83.3% (n=6) |",
        "| trajectory match | 70.0% (n=10) |",
        "| task success | 60.0% (n=10) |",
        "| pass@1 | 60.0% (n=10) |",
        "| pass^1 | 60.0% (n=10) |",
        "| LLM call rate | 30.0% (n=10) |",
        "| degraded share | 10.0% (n=10) |",
        "| tokens | 930 prompt + 130 completion (n=10) |",
        "| cost | $0.0014 total, $0.000142 per case (n=10) |",
    ):
        assert row in md
    assert "| order_status | 75.0% (n=4) | 75.0% (n=4) |" in md
    assert f"| classifier | 0.0% (n=10) | {DASH} |" in md  # tier precision with n=0 shows a dash
    assert "| rule | 5.50 | 14.2 | 14.8 | 6 |" in md
    assert "- **LLM**: simulated" in md and "45858e4f0c1d" in md and "(sha256 9f2c4e1ab37d)" in md


def test_markdown_shows_the_regression_and_the_flipped_case(record: dict[str, Any]) -> None:
    md = markdown(record)
    assert "## Comparison with evals/baseline.json: REGRESSED" in md
    assert "| route accuracy | 80.0% → 70.0% | -10.0 pt | drop > 1.0 pt | REGRESSED |" in md
    assert "| LLM call rate | 30.0% → 30.0% | +0.0 pt | rise > 2.0 pt | PASS |" in md
    assert "| os-003 | intent_ok | True → False |" in md


def test_markdown_lists_failing_cases_with_checks_errors_and_path_differences(record: dict[str, Any]) -> None:
    md = markdown(record)
    assert "## Failing cases (4 of 10 case runs)" in md
    failing = [line.split(" | ")[0].lstrip("| ") for line in md.split("## Failing cases")[1].splitlines()[4:]]
    assert failing == ["fq-003", "os-003", "rf-002", "rf-003"]
    assert f"| rf-002 | refund → refund | rule | refund_amount | refund_amount: refunded 12.50 USD | {DASH} |" in md
    assert f"| rf-003 | refund → error | {DASH} | intent, path, error |" in md
    assert "error: TimeoutError: lookup &lt;order_status> exceeded 2.0 s" in md
    assert "after guard → route: expected lookup_order → respond, got {order_status, payment_history, " in md
    assert "Order \\| #10001" in md  # a pipe in a detail does not break the table
    assert INJECTION not in md


def test_failing_cases_are_capped_with_a_count_of_the_rest(record: dict[str, Any]) -> None:
    broken = record["cases"][2]
    record["cases"] = [{**broken, "id": f"os-{i:03d}"} for i in range(60)]
    md = markdown(record)
    assert "| os-049 |" in md and "| os-050 |" not in md
    assert "… and 10 more." in md
    assert "os-059" in html(record)  # the sortable HTML table holds more


def test_html_heatmap_has_a_cell_and_a_count_for_every_matrix_entry(record: dict[str, Any]) -> None:
    heatmap = next(svg for svg in svgs(html(record)) if 'class="cell"' in svg)
    matrix = record["metrics"]["confusion"]["matrix"]
    assert heatmap.count('class="cell"') == 3 * 4
    counts = re.findall(r'<text[^>]*class="count"[^>]*>(\d+)</text>', heatmap)
    assert counts == [str(n) for row in matrix for n in row]
    for label in ("Confusion", "expected", "predicted", "faq", "order_status", "refund", "error"):
        assert f">{label}" in heatmap
    assert "refund → error: 1 (33% of row)" in heatmap


def test_html_plots_latency_per_tier_and_intent_and_tier_shares(record: dict[str, Any]) -> None:
    page = html(record)
    plots = svgs(page)
    assert len(plots) == 4
    for svg in plots:
        ET.fromstring(svg)  # well-formed, so every label was escaped
    tiers = next(svg for svg in plots if "Latency per tier" in svg)
    assert "rule (n=6)" in tiers and "llm (n=3)" in tiers and "none (error) (n=1)" in tiers
    assert tiers.count("<circle") == 10
    intents = next(svg for svg in plots if "Latency per expected intent" in svg)
    assert "order_status (n=4)" in intents and "p50 5.50 · p95 691 ms" in intents
    assert "60.0% (n=10)" in next(svg for svg in plots if "Tier share" in svg)


def test_html_is_self_contained(record: dict[str, Any]) -> None:
    page = html(record)
    assert not re.search(r"""(src|href|xmlns)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.I)
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_injection_text_from_the_record_is_escaped(record: dict[str, Any]) -> None:
    record["cases"][2]["id"] = INJECTION
    record["comparison"]["flipped"][0]["id"] = INJECTION
    record["run"]["target"] = INJECTION
    page, md = html(record), markdown(record)
    assert INJECTION not in page and INJECTION not in md
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # id, flipped id, target, fq-003's detail
    assert page.count("<script>") == 1  # only the table sorter


def test_renders_records_with_nothing_measured() -> None:
    bare: dict[str, Any] = {"schema": 1, "run": {}, "cases": [], "metrics": {}, "comparison": None}
    md = markdown(bare)
    assert f"| route accuracy | {DASH} |" in md and "Comparison" not in md
    assert "No failing cases." in md
    page = html(bare)
    assert "no latency samples" in page and 'class="cell"' not in page


def test_renders_zero_samples_missing_keys_and_several_repetitions(record: dict[str, Any]) -> None:
    metrics = record["metrics"]
    metrics["route_accuracy"] = {"value": None, "n": 0}
    metrics["per_intent"]["faq"]["precision"] = {"value": 0.0, "n": 0}
    del metrics["tier_precision"]
    record["comparison"] = None
    record["run"]["repetitions"] = 2
    record["cases"] += [{**copy.deepcopy(case), "repetition": 1} for case in record["cases"]]
    md = markdown(record)
    assert f"| route accuracy | {DASH} |" in md
    assert f"| faq | {DASH} | 66.7% (n=3) |" in md
    assert f"| rule | 60.0% (n=10) | {DASH} |" in md
    assert "| rf-002#0 |" in md and "| rf-002#1 |" in md
    assert "Comparison" not in md
    assert "rule (n=12)" in html(record)


def test_write_reports_writes_both_files(record: dict[str, Any], tmp_path: Path) -> None:
    paths = write_reports(record, tmp_path / "out")
    assert paths == [tmp_path / "out" / "eval.md", tmp_path / "out" / "eval.html"]
    assert paths[0].read_text(encoding="utf-8") == markdown(record)
    assert paths[1].read_text(encoding="utf-8") == html(record)


def test_command_line_rerenders_a_saved_record(record: dict[str, Any], tmp_path: Path) -> None:
    saved = tmp_path / "run" / "eval.json"
    saved.parent.mkdir()
    saved.write_text(json.dumps(record), encoding="utf-8")
    command = [sys.executable, "-m", "evals.report", str(saved), "--out", str(tmp_path / "report")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == [str(tmp_path / "report" / "eval.md"), str(tmp_path / "report" / "eval.html")]
    assert "REGRESSED" in (tmp_path / "report" / "eval.md").read_text(encoding="utf-8")
    subprocess.run(command[:4], cwd=ROOT, capture_output=True, check=True, timeout=60)
    assert (saved.parent / "eval.html").read_text(encoding="utf-8") == html(record)
