"""One list of sections, five renderings: Markdown, HTML, LaTeX (booktabs), terminal and JSON.

:func:`build_report` turns a :class:`~genbench.leaderboard.Leaderboard` into a :class:`Report`: a
title, the context line (reference, extractor, n per model, seed, genbench version) and a list of
sections (:class:`Text`, :class:`Table`, :class:`Figure`). Each renderer walks the same list, so
the formats cannot drift apart; none of them computes anything.

Numbers in a column share their number of decimals (three significant digits for the column's
largest value), so they line up when right-aligned. A value's interval is shown compactly as
``±half-width`` when it is symmetric, ``[low, high]`` otherwise; a value that only bounds the metric
is shown as ``> value``; the models statistically tied with the best are in bold (group letters in
HTML); a negative estimate of a lower-is-better metric whose interval covers 0 is marked ``≈0``
(noise level); metrics that are tests show their p-value.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field

#: Most findings listed in Markdown, LaTeX and the terminal (HTML and JSON list more; the count line
#: always gives the total).
MAX_FINDINGS_TEXT = 25
MAX_FINDINGS_HTML = 200


# ---------------------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One table cell: its parts are rendered per format.

    Attributes
    ----------
    text : str
        The main text (a formatted number or a word).
    value : float or None
        The raw number (sorting, JSON).
    ci : str
        Compact interval, e.g. ``±0.05``.
    extra : str
        A short addition such as ``p<0.001``.
    best : bool
        In the top rank group (shown in bold).
    group : int or None
        Rank group (1 = tied with the best).
    flag : str
        ``"noise"`` or ``"bound"`` or ``""``.
    numeric : bool
        Right-aligned.
    title : str
        Hover text in HTML.
    """

    text: str
    value: float | None = None
    ci: str = ""
    extra: str = ""
    best: bool = False
    group: int | None = None
    flag: str = ""
    numeric: bool = False
    title: str = ""

    def plain(self) -> str:
        """The cell as one plain string (terminal, CSV-like contexts)."""
        parts = [self.text + (" ≈0" if self.flag == "noise" else "")]
        if self.ci:
            parts.append(self.ci)
        if self.extra:
            parts.append(f"({self.extra})")
        return " ".join(parts)


@dataclass(frozen=True)
class Text:
    """A paragraph (``kind="p"``), a heading (``"h2"``, ``"h3"``) or a bullet list item group (``"li"``)."""

    text: str
    kind: str = "p"
    items: tuple = ()


@dataclass(frozen=True)
class Table:
    """A table: column headers, rows of :class:`Cell`, an optional caption."""

    title: str
    columns: tuple
    rows: tuple
    caption: str = ""
    numeric: tuple = ()  # indices of right-aligned columns


@dataclass(frozen=True)
class Figure:
    """A figure: its file name beside the page and a caption (the PNG bytes come at render time)."""

    name: str
    caption: str


@dataclass
class Report:
    """A title, the context line and the sections, renderable in every format."""

    title: str
    context: str
    sections: list = field(default_factory=list)
    data: dict = field(default_factory=dict)

    # ---- Markdown ----------------------------------------------------------------------------

    def to_markdown(self, *, figures: bool = True) -> str:
        """GitHub-flavoured Markdown; figures are linked by file name (``figures=False`` drops them)."""
        out = [f"# {self.title}", "", self.context, ""]
        for s in self.sections:
            if isinstance(s, Text):
                out += _md_text(s)
            elif isinstance(s, Table):
                out += _md_table(s)
            elif isinstance(s, Figure) and figures:
                out += [f"![{s.caption}]({s.name})", ""]
        return "\n".join(out).rstrip("\n") + "\n"

    # ---- HTML --------------------------------------------------------------------------------

    def to_html(self, *, figures: dict | None = None, fragment: bool = False) -> str:
        """A self-contained page (inline CSS and JS, figures as base64 ``data:`` URIs, no network).

        Parameters
        ----------
        figures : dict of name -> PNG bytes, optional
            Figures to embed; a :class:`Figure` section without bytes is left out.
        fragment : bool
            Only the body (for notebooks: ``_repr_html_``).
        """
        figures = figures or {}
        e = html.escape
        body = [f"<h1>{e(self.title)}</h1>", f'<p class="context">{e(self.context)}</p>']
        for s in self.sections:
            if isinstance(s, Text):
                body.append(_html_text(s))
            elif isinstance(s, Table):
                body.append(_html_table(s))
            elif isinstance(s, Figure) and s.name in figures:
                data = base64.b64encode(figures[s.name]).decode("ascii")
                body.append(f'<figure><img alt="{e(s.caption)}" src="data:image/png;base64,{data}">'
                            f"<figcaption>{e(s.caption)}</figcaption></figure>")
        inner = "\n".join(body)
        if fragment:
            return f'<div class="genbench-board"><style>{_CSS}</style>\n{inner}\n</div>'
        return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{e(self.title)}</title>\n<style>body{{margin:0;background:#fff}}{_CSS}</style>\n</head>\n"
                "<body>\n"
                f'<main class="genbench-board">\n{inner}\n</main>\n<script>{_JS}</script>\n</body>\n</html>\n')

    # ---- LaTeX -------------------------------------------------------------------------------

    def to_latex(self) -> str:
        """One ``booktabs`` table per table section (needs ``\\usepackage{booktabs}``)."""
        out = [f"% {_tex(self.title)}: generated by genbench; needs \\usepackage{{booktabs}}",
               f"% {_tex(self.context)}"]
        for s in self.sections:
            if not isinstance(s, Table):
                continue
            align = "".join("r" if i in s.numeric else "l" for i in range(len(s.columns)))
            out += ["", f"% {_tex(s.title)}", r"\begin{tabular}{" + align + "}", r"\toprule",
                    " & ".join(_tex(c) for c in s.columns) + r" \\", r"\midrule"]
            for row in s.rows:
                out.append(" & ".join(_tex_cell(c) for c in row) + r" \\")
            out += [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(out) + "\n"

    # ---- terminal ----------------------------------------------------------------------------

    def print(self, console) -> None:
        """Print to a :class:`rich.console.Console` (tables as rich tables)."""
        from rich.table import Table as RichTable
        from rich.text import Text as RichText

        console.print(RichText(self.title, style="bold"))
        console.print(RichText(self.context))
        for s in self.sections:
            if isinstance(s, Text):
                if s.kind in ("h2", "h3"):
                    console.print(RichText("\n" + s.text, style="bold"))
                elif s.kind == "li":
                    console.print(RichText(s.text))
                    for item in s.items:
                        console.print(RichText(f"  - {item}"))
                else:
                    console.print(RichText(s.text))
            elif isinstance(s, Table):
                table = RichTable(title=s.title or None, title_justify="left")
                for i, col in enumerate(s.columns):
                    table.add_column(col, justify="right" if i in s.numeric else "left", overflow="fold")
                for row in s.rows:
                    table.add_row(*(RichText(c.plain(), style="bold" if c.best else "") for c in row))
                console.print(table)

    # ---- JSON --------------------------------------------------------------------------------

    def to_json(self) -> dict:
        """JSON-ready: title, context, the sections (tables with text and raw values) and ``data``."""
        sections = []
        for s in self.sections:
            if isinstance(s, Text):
                sections.append({"kind": s.kind, "text": s.text, **({"items": list(s.items)} if s.items else {})})
            elif isinstance(s, Table):
                sections.append({"kind": "table", "title": s.title, "columns": list(s.columns), "rows": [
                    [{"text": c.plain(), "value": _finite(c.value), "group": c.group, "flag": c.flag or None}
                     for c in row] for row in s.rows]})
            elif isinstance(s, Figure):
                sections.append({"kind": "figure", "name": s.name, "caption": s.caption})
        return {"title": self.title, "context": self.context, "sections": sections, **self.data}


def _finite(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# renderers' pieces
# ---------------------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def _md_text(s: Text) -> list[str]:
    if s.kind == "h2":
        return [f"## {s.text}", ""]
    if s.kind == "h3":
        return [f"### {s.text}", ""]
    if s.kind == "li":
        return ([_md_escape(s.text), ""] if s.text else []) + [f"- {_md_escape(i)}" for i in s.items] + [""]
    return [_md_escape(s.text), ""]


def _md_cell(c: Cell) -> str:
    text = _md_escape(c.text)
    if c.best:
        text = f"**{text}**"
    if c.flag == "noise":
        text += " ≈0"
    if c.ci:
        text += f" {c.ci}"
    if c.extra:
        text += f" ({c.extra})"
    return text


def _md_table(t: Table) -> list[str]:
    out = [f"**{_md_escape(t.title)}**", ""] if t.title else []
    out.append("| " + " | ".join(_md_escape(c) for c in t.columns) + " |")
    out.append("| " + " | ".join("---:" if i in t.numeric else "---" for i in range(len(t.columns))) + " |")
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
    if t.caption:
        out += ["", _md_escape(t.caption)]
    return out + [""]


def _html_text(s: Text) -> str:
    e = html.escape
    if s.kind in ("h2", "h3"):
        return f"<{s.kind}>{e(s.text)}</{s.kind}>"
    if s.kind == "li":
        head = f"<p>{e(s.text)}</p>" if s.text else ""
        return head + "<ul>" + "".join(f"<li>{e(i)}</li>" for i in s.items) + "</ul>"
    return f"<p>{e(s.text)}</p>"


_GROUP_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _html_cell(c: Cell) -> str:
    e = html.escape
    classes = ["num"] if c.numeric else []
    if c.best:
        classes.append("best")
    if c.flag:
        classes.append(c.flag)
    attrs = f' class="{" ".join(classes)}"' if classes else ""
    if c.value is not None and math.isfinite(c.value):
        attrs += f' data-v="{c.value!r}"'
    if c.title:
        attrs += f' title="{e(c.title)}"'
    inner = e(c.text)
    if c.flag == "noise":
        inner += '<span class="flag">≈0</span>'
    if c.ci:
        inner += f'<span class="ci">{e(c.ci)}</span>'
    if c.extra:
        inner += f'<span class="p">{e(c.extra)}</span>'
    if c.group is not None:
        letter = _GROUP_LETTERS[c.group - 1] if c.group <= len(_GROUP_LETTERS) else str(c.group)
        inner += f'<sup class="g">{letter}</sup>'
    return f"<td{attrs}>{inner}</td>"


def _html_table(t: Table) -> str:
    e = html.escape
    head = "".join(f'<th class="{"num" if i in t.numeric else ""}">{e(c)}</th>' for i, c in enumerate(t.columns))
    body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in t.rows)
    title = f"<h3>{e(t.title)}</h3>" if t.title else ""
    caption = f'<p class="caption">{e(t.caption)}</p>' if t.caption else ""
    return (f'{title}<div class="tablewrap"><table class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{caption}")


_CSS = (
    ".genbench-board{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1320px;margin:1.5rem auto;"
    "padding:0 1rem;color:#222;line-height:1.4;box-sizing:border-box}"
    ".genbench-board h1{font-size:1.5rem;margin:.5rem 0}.genbench-board h2{font-size:1.2rem;margin:1.6rem 0 .4rem;"
    "border-bottom:1px solid #ddd}.genbench-board h3{font-size:1rem;margin:1rem 0 .3rem}"
    ".genbench-board .context{color:#444;font-size:.92rem}"
    ".genbench-board .tablewrap{max-width:100%;overflow-x:auto}"
    ".genbench-board table{border-collapse:collapse;margin:.3rem 0;font-size:.9rem;font-variant-numeric:tabular-nums}"
    ".genbench-board th,.genbench-board td{border-bottom:1px solid #e4e4e8;padding:.25rem .55rem;"
    "white-space:nowrap;text-align:left}"
    ".genbench-board th{background:#f4f4f6;cursor:pointer;user-select:none;position:sticky;top:0}"
    ".genbench-board th.num,.genbench-board td.num{text-align:right}"
    ".genbench-board tbody tr:nth-child(even){background:#fafafb}"
    ".genbench-board td.best{font-weight:650}"
    ".genbench-board .ci,.genbench-board .p{color:#6a6a72;font-size:.82em;margin-left:.3em;font-weight:400}"
    ".genbench-board sup.g{color:#3a62a8;font-size:.72em;margin-left:.15em;font-weight:400}"
    ".genbench-board td.noise{color:#8a6d00}.genbench-board .flag{font-size:.8em;margin-left:.25em}"
    ".genbench-board td.bound{color:#555;font-style:italic}"
    ".genbench-board figure{margin:1rem 0}.genbench-board img{max-width:100%;height:auto;border:1px solid #eee}"
    ".genbench-board figcaption,.genbench-board .caption{color:#555;font-size:.88rem}"
)

# click a header to sort by it (numbers by their raw value, text otherwise; empty cells last)
_JS = (
    "document.querySelectorAll('table.sortable').forEach(function(t){"
    "t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){"
    "var b=t.tBodies[0],asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';"
    "var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){"
    "var a=x.cells[i].dataset.v,c=y.cells[i].dataset.v;"
    "if(a===undefined&&c===undefined){return (asc?1:-1)*x.cells[i].textContent.localeCompare(y.cells[i].textContent);}"
    "if(a===undefined){return 1;}if(c===undefined){return -1;}return asc?a-c:c-a;});"
    "rows.forEach(function(r){b.appendChild(r);});});});});"
)


def _tex(s: str) -> str:
    repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "↑": r"$\uparrow$", "↓": r"$\downarrow$", "±": r"$\pm$", "≈": r"$\approx$", ">": r"$>$",
            "<": r"$<$", "τ": r"$\tau$", "Δ": r"$\Delta$", "–": "--", "×": r"$\times$"}
    return "".join(repl.get(ch, ch) for ch in s)


def _tex_cell(c: Cell) -> str:
    text = _tex(c.text)
    if c.best:
        text = r"\textbf{" + text + "}"
    if c.flag == "noise":
        text += r" $\approx$0"
    if c.ci:
        text += r" {\scriptsize " + _tex(c.ci) + "}"
    if c.extra:
        text += r" {\scriptsize (" + _tex(c.extra) + ")}"
    return text


# ---------------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------------


def column_format(values) -> str:
    """A format spec giving the column's largest magnitude three significant digits.

    Examples
    --------
    The smallest magnitude keeps two significant digits when that costs at most three more decimals.

    >>> column_format([0.512, 0.213]), column_format([-4.66, 120.5]), column_format([23.0, 0.04]), column_format([3e-6])
    ('.3f', '.1f', '.3f', '.2e')
    """
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return ".3g"
    top = max(finite)
    if top >= 1e5 or top < 1e-3:
        return ".2e"
    decimals = max(0, 2 - math.floor(math.log10(top)))
    small = max(0, 1 - math.floor(math.log10(min(finite))))
    return f".{min(6, max(decimals, min(small, decimals + 3)))}f"


def fmt_pvalue(p, *, spaced: bool = False) -> str:
    """``p<0.001`` / ``p=0.0034`` / ``p=0.04`` / ``p=0.31``; ``not tested`` for None/NaN.

    Examples
    --------
    >>> fmt_pvalue(0.0004), fmt_pvalue(0.0034), fmt_pvalue(0.0312), fmt_pvalue(None)
    ('p<0.001', 'p=0.0034', 'p=0.031', 'not tested')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "not tested"
    eq, lt = (" = ", " < ") if spaced else ("=", "<")
    if p < 0.001:
        return f"p{lt}0.001"
    return f"p{eq}{p:.2g}" if p < 0.1 else f"p{eq}{p:.2f}"


def _compact_ci(value: float, low: float, high: float, spec: str) -> str:
    lo_w, hi_w = value - low, high - value
    if max(lo_w, hi_w) > 0 and abs(lo_w - hi_w) <= 0.1 * max(lo_w, hi_w):
        return f"±{format((lo_w + hi_w) / 2, spec)}"
    return f"[{format(low, spec)}, {format(high, spec)}]"


# ---------------------------------------------------------------------------------------------
# the board as sections
# ---------------------------------------------------------------------------------------------

_GROUP_TITLES = {"likelihood": "Likelihood", "kernel": "Kernel two-sample", "classifier": "Classifier divergences",
                 "perceptual": "Sample quality (features)",
                 "memorisation": "Memorisation (generated vs the training set; small p: copying)"}


def _context_line(board) -> str:
    c = board.context()
    ref = c["reference"] or "reference"
    if c["reference_hash"]:
        ref += f" (sha256 {c['reference_hash'][:12]})"
    sizes = c["n_per_model"]
    n_text = ("n per model: " + (str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}")) if sizes else \
        "n per model: unknown"
    if c["n_reference"]:
        n_text += f" (reference {'/'.join(map(str, c['n_reference']))})"
    seeds = ", ".join(map(str, c["seeds"])) or "unknown"
    return (f"Reference: {ref}. Extractor: {c['extractor'] or 'unknown'}. {n_text}. Seed: {seeds}. "
            f"genbench {c['genbench_version']}. {c['models']} models × {c['metrics']} metrics, ordered by "
            f"{board.sort} {board.arrow(board.sort)}.")


def _metric_cells(board, metric: str, ranks, groups) -> list[Cell]:
    rows = [board.row(m, metric) for m in board.models]
    spec = column_format([r.value for r in rows if r is not None and r.status == "ok"])
    tested = not groups[metric].isna().all()
    cells = []
    for model, r in zip(board.models, rows):
        if r is None:
            cells.append(Cell("–", title="not scored"))
            continue
        if r.status != "ok":
            cells.append(Cell(r.status, title=r.error))
            continue
        v = r.value
        text = format(v, spec)
        ci = _compact_ci(v, r.ci.low, r.ci.high, spec) if r.ci is not None else ""
        extra = fmt_pvalue(r.pvalue) if r.pvalue is not None else ""
        flag, title = "", ""
        if r.bound is not None:
            text = ("> " if r.bound == "lower" else "< ") + text
            flag, title = "bound", f"a {r.bound} bound on {metric}, not an estimate: not ranked"
        elif (not board.higher_is_better(metric) and v < 0 and r.ci is not None and r.ci.low <= 0 <= r.ci.high):
            flag, title = "noise", "negative estimate whose interval covers 0: at noise level"
        if r.ci is not None:
            title = (title + "; " if title else "") + f"{r.ci.level:.0%} CI [{r.ci.low:.4g}, {r.ci.high:.4g}] " \
                                                         f"({r.ci.method or 'method not recorded'})"
        group = groups.at[model, metric]
        group = None if not tested or math.isnan(group) else int(group)
        cells.append(Cell(text, value=v, ci=ci, extra=extra, best=group == 1, group=group, flag=flag, numeric=True,
                          title=title))
    return cells


def _board_tables(board) -> list:
    ranks, groups = board.ranks(), board.rank_groups()
    sort_rank = ranks[board.sort]
    by_group: dict = {}
    for metric in board.metrics:
        by_group.setdefault(board.group(metric), []).append(metric)
    cols = {m: _metric_cells(board, m, ranks, groups) for m in board.metrics}
    out = []
    for group, metrics in by_group.items():
        header = ("#", "model", *(f"{m} {board.arrow(m)}" for m in metrics))
        rows = []
        for i, model in enumerate(board.models):
            r = sort_rank.get(model, math.nan)
            rank = Cell("" if math.isnan(r) else str(int(r)), value=None if math.isnan(r) else float(r), numeric=True)
            rows.append((rank, Cell(model), *(cols[m][i] for m in metrics)))
        out.append(Table(_GROUP_TITLES.get(group, group or "Other metrics"), header, tuple(rows),
                         numeric=tuple(range(2, len(header))) + (0,)))
    return out


def _agreement_table(board) -> Table:
    ag = board.rank_agreement()
    ag = ag[ag["likelihood_vs_quality"]]
    lik = board.likelihood_metrics
    qual = board.quality_metrics
    tau = {}
    for r in ag.itertuples():
        lm, qm = (r.metric_a, r.metric_b) if r.metric_a in lik else (r.metric_b, r.metric_a)
        tau[lm, qm] = (r.kendall_tau, r.n_models)
    rows = []
    for lm in lik:
        cells = [Cell(lm)]
        for qm in qual:
            t, n = tau.get((lm, qm), (math.nan, 0))
            cells.append(Cell("–" if math.isnan(t) else f"{t:+.2f}", value=None if math.isnan(t) else t, numeric=True,
                              title=f"Kendall tau over {n} models"))
        rows.append(tuple(cells))
    return Table("Rank agreement (Kendall τ; +1 same order, -1 opposite)", ("likelihood metric", *qual), tuple(rows),
                 numeric=tuple(range(1, len(qual) + 1)))


def _diff_text(diff: float, low: float, high: float) -> str:
    spec = column_format([diff])
    text = format(diff, "+" + spec)
    if math.isfinite(low) and math.isfinite(high):
        text += f" [{format(low, spec)}, {format(high, spec)}]"
    return text


def _findings_table(findings, limit: int) -> Table:
    rows = []
    for f in findings.head(limit).itertuples():
        rows.append((
            Cell(f.better_likelihood), Cell(f.likelihood_metric),
            Cell(_diff_text(f.likelihood_diff, f.likelihood_ci_low, f.likelihood_ci_high), value=f.likelihood_diff,
                 numeric=True),
            Cell(fmt_pvalue(f.likelihood_pvalue), value=f.likelihood_pvalue, numeric=True),
            Cell(f.better_quality), Cell(f.quality_metric),
            Cell(_diff_text(f.quality_diff, f.quality_ci_low, f.quality_ci_high), value=f.quality_diff, numeric=True),
            Cell(fmt_pvalue(f.quality_pvalue), value=f.quality_pvalue, numeric=True),
            Cell(f"{min(f.likelihood_effect, f.quality_effect):.2f}",
                 value=float(min(f.likelihood_effect, f.quality_effect)), numeric=True),
        ))
    return Table("", ("better by likelihood", "likelihood metric", "Δ likelihood [CI]", "p (adj.)",
                      "better by quality", "quality metric", "Δ quality [CI]", "p (adj.)", "effect"),
                 tuple(rows), numeric=(2, 3, 6, 7, 8))


def _notes(board) -> Text | None:
    grouped: dict = {}
    for model, metric, status, message in board.notes():
        grouped.setdefault((metric, status, message), []).append(model)
    if not grouped:
        return None
    items = []
    for (metric, status, message), models in grouped.items():
        shown = ", ".join(models[:6]) + (f" and {len(models) - 6} more" if len(models) > 6 else "")
        items.append(f"{metric} {status} on {shown}: {message}")
    return Text("", "li", tuple(items))


def _memorisation(board) -> list:
    """One line per memorisation metric and model: its value, p-value and whether it flags copying."""
    items = []
    for metric in board.memorisation_metrics:
        for model in board.models:
            r = board.row(model, metric)
            if r is None or r.status != "ok":
                continue
            flagged = r.pvalue is not None and r.pvalue < board.alpha
            verdict = (f"flagged: closer to its training set than fresh data ({fmt_pvalue(r.pvalue, spaced=True)})" if flagged
                       else f"not flagged ({fmt_pvalue(r.pvalue, spaced=True)})")
            items.append(f"{model}: {metric} = {r.value:.4g}, {verdict}")
    if not items:
        return []
    return [Text("Memorisation", "h2"),
            Text("Generated samples against the models' training set, the reference serving as held-out test data "
                 f"(one-sided tests at α = {board.alpha}; a small p: closer to training points than fresh data are)."),
            Text("", "li", tuple(items))]


def build_report(board, *, figures: tuple = (), max_findings: int = MAX_FINDINGS_TEXT) -> Report:
    """The sections of a leaderboard.

    Parameters
    ----------
    board : Leaderboard
    figures : sequence of (file name, caption)
        Figures to place after the findings (their bytes are given to :meth:`Report.to_html`).
    max_findings : int
        Findings listed in the table (the count line gives the total).

    Returns
    -------
    Report
    """
    sections: list = [Text(
        f"Each metric is ranked in its own direction (↑ higher is better, ↓ lower is better); nothing is averaged "
        f"across metrics. Values: estimate ±half-width of its interval (or [low, high] when asymmetric). Bold "
        f"(letters in HTML): rank groups, the models whose adjusted p-values (α = {board.alpha}) do not separate "
        f"them from the group's leader (only in columns where every pair was compared). '> v': a lower bound, "
        f"not ranked. '≈0': a negative estimate whose interval covers 0 (noise level). n/a: the metric does not "
        f"apply; failed: see Notes.")]
    sections += _board_tables(board)
    data = {"context": board.context(), "counts": None, "findings": []}
    sections.append(Text("Likelihood vs sample quality", "h2"))
    if not board.likelihood_metrics or not board.quality_metrics:
        missing = "likelihood" if not board.likelihood_metrics else "sample-quality"
        sections.append(Text(f"No {missing} metric in these results, so likelihood and sample quality cannot be "
                             "compared."))
    else:
        sections.append(_agreement_table(board))
        counts = board.disagreement_counts()
        findings = board.findings()
        data["counts"] = counts
        data["findings"] = [{k: (None if isinstance(v, float) and not math.isfinite(v) else
                                 (v.item() if hasattr(v, "item") else v)) for k, v in rec.items()}
                            for rec in findings.to_dict(orient="records")]
        sections.append(Text("Findings", "h3"))
        if counts["total"] == 0:
            sections.append(Text("None: every likelihood metric orders every pair of models like every quality "
                                 "metric."))
        else:
            shown = min(len(findings), max_findings)
            sections.append(Text(
                f"{counts['significant']} of {counts['total']} oppositely ordered (pair, likelihood metric, quality "
                f"metric) combinations are significant on both sides after the multiplicity adjustment (α = "
                f"{board.alpha})" + (f"; the {shown} largest by effect are listed" if shown < len(findings) else "")
                + f". The rest: {counts['one_side']} significant on one side only, {counts['not_significant']} on "
                f"neither, {counts['not_compared']} without a comparison on one side. Effect: the smaller of the two "
                "differences as a share of its metric's range over the models."))
            if shown:
                sections.append(_findings_table(findings, shown))
    sections += _memorisation(board)
    for name, caption in figures:
        sections.append(Figure(name, caption))
    notes = _notes(board)
    if notes:
        sections += [Text("Notes", "h2"), notes]
    return Report(board.title, _context_line(board), sections, data)


def dumps(report: Report) -> str:
    """The report's JSON text."""
    return json.dumps(report.to_json(), indent=1, allow_nan=False) + "\n"
