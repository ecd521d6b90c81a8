"""The suite table in four forms: terminal (rich), markdown, HTML and LaTeX.

Measured numbers carry a mark (``*``) and a provenance line each (policybench version,
model, server and its ``/version``, prompt format, date, run id) under the table, so a
reader can tell "measured here" from "published" (rows taken from the suite file's
``[published]`` table, marked as such).
"""

from __future__ import annotations

import html
from typing import Any

from policybench.service.suite import Cell, SuiteRow, SuiteTable

FORMATS = ("terminal", "markdown", "html", "latex")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cell(cell: Cell | None, measured: bool) -> str:
    if cell is None or cell.f1 is None:
        return "-" if cell is None or cell.status in ("published", "not run") else "n/a"
    return _num(cell.f1) + ("*" if measured else "")


def _header(table: SuiteTable) -> list[str]:
    sets = [
        f"{s.name} ({table.sizes[s.name]:,})" if s.name in table.sizes else s.name
        for s in table.sets
    ]
    return ["model", "kind", *sets, "weighted avg."]


def _rows(table: SuiteTable) -> list[list[str]]:
    out = []
    for row in table.rows:
        measured = not row.published
        cells = [_cell(row.cells.get(s.name), measured) for s in table.sets]
        weighted = row.weighted(table.sets)
        out.append(
            [
                row.model,
                "published" if row.published else "measured",
                *cells,
                _num(weighted) + ("*" if measured and weighted is not None else ""),
            ]
        )
    return out


def provenance_lines(table: SuiteTable) -> list[str]:
    """One line per measured cell, and what the marks mean."""
    lines = [
        f"F1 ({'refusal' if table.task.value == 'refusal' else 'harmful'} = positive), "
        f"{table.task.value} task; weighted avg. = sum(F1 x samples) / sum(samples). "
        "* measured here by policybench; published rows as given in the suite file."
    ]
    for row in table.rows:
        if row.published:
            continue
        for s in table.sets:
            cell = row.cells.get(s.name)
            if cell is None or cell.provenance is None:
                continue
            p = cell.provenance
            ci = f" [{cell.ci[0]:.1f}, {cell.ci[1]:.1f}]" if cell.ci else ""
            version = f" ({p.server_version})" if p.server_version else ""
            lines.append(
                f"{row.model} / {s.name}: F1 {_num(cell.f1)}{ci}, {cell.samples:,} samples, "
                f"{cell.failures} failures; policybench {p.policybench}, model {p.model}, "
                f"server {p.server}{version}, prompt format {p.prompt_format}, "
                f"{p.date}, run {p.run_id}"
            )
    return lines


def render(table: SuiteTable, fmt: str) -> str:
    if fmt == "markdown":
        return markdown(table)
    if fmt == "html":
        return html_table(table)
    if fmt == "latex":
        return latex(table)
    raise ValueError(fmt)


def terminal(table: SuiteTable, console: Any) -> None:
    from rich.table import Table

    t = Table(title=table.title, title_justify="left", header_style="bold")
    header = _header(table)
    for i, col in enumerate(header):
        t.add_column(col, justify="left" if i < 2 else "right")
    for cells in _rows(table):
        t.add_row(*cells)
    console.print(t)
    for line in provenance_lines(table):
        console.print(line, soft_wrap=True, highlight=False)


def markdown(table: SuiteTable) -> str:
    header = _header(table)
    lines = [f"### {table.title}", "", "| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join(["---", "---", *["---:"] * (len(header) - 2)]) + " |")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in _rows(table)]
    lines.append("")
    lines += [f"- {line}" for line in provenance_lines(table)]
    return "\n".join(lines) + "\n"


def html_table(table: SuiteTable) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in _header(table))
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in _rows(table))
    notes = "".join(f"<li>{e(line)}</li>" for line in provenance_lines(table))
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{e(table.title)}</title></head><body>\n"
        f'<h3>{e(table.title)}</h3>\n<table border="1"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>\n<ul>{notes}</ul>\n</body></html>\n"
    )


_LATEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def _tex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex(table: SuiteTable) -> str:
    header = _header(table)
    cols = "ll" + "r" * (len(header) - 2)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{_tex(table.title)}}}",
        rf"\begin{{tabular}}{{{cols}}}",
        r"\toprule",
        " & ".join(_tex(c) for c in header) + r" \\",
        r"\midrule",
    ]
    for r in _rows(table):
        lines.append(" & ".join(_tex(c).replace("*", r"$^{*}$") for c in r) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    lines += [f"% {line}" for line in provenance_lines(table)]
    return "\n".join(lines) + "\n"


__all__ = ["FORMATS", "SuiteRow", "render", "terminal"]
