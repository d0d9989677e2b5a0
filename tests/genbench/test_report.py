"""Report: one list of sections rendered as Markdown, HTML, LaTeX, terminal and JSON; the schema table."""

import json
import math
import shutil
import subprocess

import pytest

from genbench.report import Cell, Report, Table, Text, _compact_ci, column_format, dumps, fmt_pvalue
from genbench.results import COMPARISON_SCHEMA, RESULT_SCHEMA, Comparison, ResultRow, schema_markdown
from metrics import ConfidenceInterval


def _report():
    table = Table("Scores", ("model", "fid ↓"), (
        (Cell("a_1"), Cell("1.50", value=1.5, ci="±0.10", best=True, group=1, numeric=True)),
        (Cell("b|2"), Cell("> 3.00", value=3.0, flag="bound", numeric=True)),
    ), numeric=(1,))
    return Report("Board & co", "Reference: real.npy.", [Text("Intro *text*."), table, Text("Notes", "h2"),
                                                         Text("", "li", ("one", "two"))], {"counts": {"total": 0}})


def test_one_section_list_in_every_format():
    r = _report()
    md = r.to_markdown()
    assert md.splitlines()[:4] == ["# Board & co", "", "Reference: real.npy.", ""]
    assert "| model | fid ↓ |\n| --- | ---: |\n| a_1 | **1.50** ±0.10 |\n| b\\|2 | > 3.00 |" in md
    assert "Intro \\*text\\*." in md and "- one\n- two" in md
    page = r.to_html()
    assert '<td class="num best" data-v="1.5">1.50<span class="ci">±0.10</span><sup class="g">a</sup></td>' in page
    assert '<td class="num bound" data-v="3.0">&gt; 3.00</td>' in page and "<li>two</li>" in page
    tex = r.to_latex()
    assert r"\begin{tabular}{lr}" in tex and r"a\_1 & \textbf{1.50} {\scriptsize $\pm$0.10} \\" in tex
    assert r"b|2 & $>$ 3.00 \\" in tex and r"\bottomrule" in tex
    data = json.loads(dumps(r))
    assert data["sections"][1]["rows"][1][1] == {"text": "> 3.00", "value": 3.0, "group": None, "flag": "bound"}
    assert data["counts"] == {"total": 0}


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_with_booktabs(tmp_path):
    (tmp_path / "board.tex").write_text(_report().to_latex())
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\\usepackage{booktabs}\\usepackage[utf8]{inputenc}"
                                      "\\begin{document}\\input{board}\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]


def test_numbers_share_decimals_per_column_and_intervals_are_compact():
    assert [format(v, column_format([0.512, 0.0213, 0.9])) for v in (0.512, 0.0213)] == ["0.512", "0.021"]
    assert column_format([-178.1, -2.5]) == ".1f" and column_format([1.2e7]) == ".2e"
    assert column_format([math.nan, None]) == ".3g"
    assert _compact_ci(1.0, 0.9, 1.1, ".2f") == "±0.10"
    assert _compact_ci(1.0, 0.5, 1.1, ".2f") == "[0.50, 1.10]"  # asymmetric: both ends
    assert fmt_pvalue(0.0004, spaced=True) == "p < 0.001" and fmt_pvalue(0.5) == "p=0.50"


def test_schema_documents_every_field_of_the_json_forms():
    row = ResultRow("a", "fid", 1.0, False, ci=ConfidenceInterval(0.5, 1.5))
    comp = Comparison("fid", "a", "b", 0.5, 0.01, False)
    assert list(RESULT_SCHEMA) == list(row.to_json())
    assert list(COMPARISON_SCHEMA) == list(comp.to_json())
    table = schema_markdown()
    assert "| `higher_is_better` | boolean | the metric's direction |" in table
    assert "| `pvalue_adjusted` | number or null | pvalue after the multiplicity adjustment |" in table
    assert ResultRow.from_json(row.to_json()) == row and Comparison.from_json(comp.to_json()) == comp
