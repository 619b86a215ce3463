"""Render an eval run record (`evals/RECORD.md`) as a markdown summary and a self-contained HTML report.

    python -m evals.report path/to/eval.json [--out DIR]      # writes DIR/eval.md and DIR/eval.html

Both formats render the same sections (`evals.report_sections`); the HTML adds inline SVG plots and has no
network reference, so it opens from disk offline. Every string taken from the record is escaped: the dataset
holds prompt-injection cases, and their text ends up in ids, check details and errors.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from html import escape
from pathlib import Path

from evals.plots import DASH
from evals.report_sections import Record, Table, header, sections

MARKDOWN_FAILURES = 50
HTML_FAILURES = 500  # the HTML table sorts, so it can hold more than a reader scrolls past in markdown


# ---------------------------------------------------------------- markdown


def _md(text: str, limit: int = 240) -> str:
    """One table cell: no line breaks, pipes escaped, no tag a permissive renderer would run."""
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|").replace("<", "&lt;")


def _md_table(table: Table) -> list[str]:
    lines = [f"### {_md(table.title)}", ""] if table.title else []
    if table.rows:
        lines += ["| " + " | ".join(_md(h) for h in table.headers) + " |", "|" + "---|" * len(table.headers)]
        lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in table.rows]
    else:
        lines.append(DASH)
    return [*lines, *(["", _md(table.note)] if table.note else []), ""]


def markdown(record: Record) -> str:
    lines = ["# Eval report", ""] + [f"- **{name}**: {_md(value, 2000)}" for name, value in header(record)] + [""]
    for section in sections(record, MARKDOWN_FAILURES):
        lines += [f"## {_md(section.title)}", ""]
        for table in section.tables:
            lines += _md_table(table)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- HTML

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #e5e7eb; } h3 { font-size: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; } dt { color: #6b7280; }
dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .5rem 0 1rem; } th, td { padding: .3rem .6rem; text-align: left;
        border-bottom: 1px solid #e5e7eb; vertical-align: top; } th { background: #f9fafb; }
table.sortable th { cursor: pointer; } table.sortable th:hover { background: #eef2ff; }
td { max-width: 34rem; overflow-wrap: anywhere; }
.PASS { color: #15803d; font-weight: 600; } .REGRESSED { color: #b91c1c; font-weight: 600; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5rem; } svg.plot { max-width: 100%; height: auto; }
.note { color: #6b7280; }
"""

# Click a header of a sortable table to sort by that column (numbers by value), again to reverse.
SORT = """
document.querySelectorAll("table.sortable th").forEach(th => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], col = th.cellIndex, dir = th.dataset.dir === "asc" ? -1 : 1;
  th.dataset.dir = dir > 0 ? "asc" : "desc";
  const text = row => row.cells[col].textContent;
  [...body.rows].sort((a, b) => dir * text(a).localeCompare(text(b), undefined, {numeric: true}))
    .forEach(row => body.appendChild(row));
}));
"""


def _html_table(table: Table) -> str:
    parts = [f"<h3>{escape(table.title)}</h3>"] if table.title else []
    if table.rows:
        head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="{escape(c)}">{escape(c)}</td>' if c in ("PASS", "REGRESSED") else f"<td>{escape(c)}</td>"
                for c in row
            )
            + "</tr>"
            for row in table.rows
        )
        sortable = ' class="sortable"' if table.sortable else ""
        parts.append(f"<table{sortable}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    else:
        parts.append(f"<p>{DASH}</p>")
    if table.note:
        parts.append(f'<p class="note">{escape(table.note)}</p>')
    return "".join(parts)


def html(record: Record) -> str:
    facts = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in header(record))
    body = [f"<h1>Eval report</h1><dl>{facts}</dl>"]
    for section in sections(record, HTML_FAILURES):
        body.append(f"<h2>{escape(section.title)}</h2>")
        if section.figures:
            body.append('<div class="figures">' + "".join(section.figures) + "</div>")
        body += [_html_table(table) for table in section.tables]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Eval report</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{SORT}</script>\n</body></html>\n"
    )


def write_reports(record: Record, out: Path) -> list[Path]:
    """Write `out/eval.md` and `out/eval.html` (creating `out`) and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "eval.md", out / "eval.html"]
    paths[0].write_text(markdown(record), encoding="utf-8")
    paths[1].write_text(html(record), encoding="utf-8")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.report", description="Re-render a saved eval record.")
    parser.add_argument("record", type=Path, help="an eval.json written by `switchyard eval`")
    parser.add_argument("--out", type=Path, help="directory for eval.md and eval.html (default: the record's)")
    args = parser.parse_args(argv)
    record = json.loads(args.record.read_text(encoding="utf-8"))
    for path in write_reports(record, args.out or args.record.parent):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
