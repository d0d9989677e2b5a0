"""Leaderboards from long results: ranks per metric, rank agreement, and where likelihood and sample
quality disagree.

A :class:`Leaderboard` is built from the long table :func:`genbench.score` returns (or from
``results.jsonl`` files). Every metric is ranked in its own direction; a model without a value for a
metric (``n/a`` or ``failed``) gets no rank there, and nothing is ever averaged across metrics, so a
missing value can never be silently filled in. The section that matters (Huszar 2015) is
"Likelihood vs sample quality": rank correlations between each likelihood metric and each
sample-quality metric, and the pairs of models they order oppositely, with the paired tests'
p-values when the run recorded them (:mod:`genbench.significance`).

Examples
--------
>>> import pandas as pd
>>> from genbench import Leaderboard
>>> rows = [
...     {"model": m, "metric": k, "value": v, "higher_is_better": h, "group": g}
...     for m, ll, q in [("a", -1.0, 3.0), ("b", -2.0, 1.0)]
...     for k, v, h, g in [("log_likelihood", ll, True, "likelihood"), ("fid", q, False, "perceptual")]
... ]
>>> lb = Leaderboard(pd.DataFrame(rows))
>>> lb.ranks().loc["a"].tolist()
[1.0, 2.0]
>>> lb.disagreements()[["better_likelihood", "better_quality"]].values.tolist()
[['a', 'b']]
"""

from __future__ import annotations

import difflib
import html
import io
import itertools
import json
import math
import warnings

import numpy as np
import pandas as pd
import scipy.stats

from metrics import InputError

from .runner import normalize_results, read_results, results_records

LIKELIHOOD_GROUP = "likelihood"
#: Metrics of a model's samples against its training set: shown in their own section, not as sample quality.
MEMORISATION_GROUP = "memorisation"


def fmt_value(x, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; ``""`` for NaN/None.

    Examples
    --------
    >>> fmt_value(3.14159), fmt_value(123456.0), fmt_value(float("nan"))
    ('3.142', '1.235e+05', '')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    x = float(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def fmt_pvalue(p) -> str:
    """``p < 0.001`` / ``p < 0.01`` / ``p = 0.034``; ``not tested`` when there is no p-value.

    Examples
    --------
    >>> fmt_pvalue(0.0004), fmt_pvalue(0.005), fmt_pvalue(0.0312), fmt_pvalue(None)
    ('p < 0.001', 'p < 0.01', 'p = 0.031', 'not tested')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "not tested"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return "p < 0.01"
    return f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"


class Leaderboard:
    """Models x metrics, ranked per metric, with the likelihood-vs-sample-quality analysis.

    Parameters
    ----------
    results : pandas.DataFrame, str, Path, or a list of them
        Long results (:data:`genbench.runner.COLUMNS`; older schemas are upgraded), or paths to
        ``results.jsonl`` files. Several are concatenated; the same (model, metric) twice is an error.
    sort : str, optional
        Metric the rows are ordered by (best first). Default: the first likelihood metric, else the
        first metric.
    alpha : float
        Significance level used to call a disagreement significant.
    title : str
        Heading of the published tables.

    Raises
    ------
    InputError
        Empty results, an unknown ``sort`` metric (with suggestions), a bad ``alpha``.
    """

    def __init__(self, results, *, sort: str | None = None, alpha: float = 0.05, title: str = "Leaderboard"):
        if isinstance(results, pd.DataFrame):
            df = normalize_results(results)
        elif isinstance(results, (list, tuple)) and results and all(isinstance(r, pd.DataFrame) for r in results):
            df = normalize_results(pd.concat(results, ignore_index=True))
        else:
            df = read_results(results)
        if df.empty:
            raise InputError("`results` holds no rows; score some models first.")
        if df.duplicated(["model", "metric"]).any():
            first = df[df.duplicated(["model", "metric"], keep=False)].iloc[0]
            raise InputError(
                f"model {first['model']!r} has more than one {first['metric']!r} result; "
                "give the models distinct names."
            )
        if not (isinstance(alpha, float) and 0.0 < alpha < 1.0):
            raise InputError(f"`alpha` must be a float in (0, 1); got {alpha!r}.")
        self.results = df
        self.alpha = alpha
        self.title = title
        self.metrics = list(dict.fromkeys(df["metric"]))
        self._info = df.drop_duplicates("metric").set_index("metric")[["higher_is_better", "group"]]
        if sort is None:
            likelihood = self.likelihood_metrics
            sort = likelihood[0] if likelihood else self.metrics[0]
        elif sort not in self.metrics:
            close = difflib.get_close_matches(sort, self.metrics, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise InputError(f"cannot sort by {sort!r}: not in these results.{hint} Available: {', '.join(self.metrics)}.")
        self.sort = sort
        self.models = self._ordered_models()

    # ---- structure ---------------------------------------------------------------------------

    @property
    def likelihood_metrics(self) -> list[str]:
        """Metrics of the ``likelihood`` group, in results order."""
        return [m for m in self.metrics if self._info.loc[m, "group"] == LIKELIHOOD_GROUP]

    @property
    def quality_metrics(self) -> list[str]:
        """Every other metric but memorisation: measures of the generated samples."""
        return [m for m in self.metrics if self._info.loc[m, "group"] not in (LIKELIHOOD_GROUP, MEMORISATION_GROUP)]

    @property
    def memorisation_metrics(self) -> list[str]:
        """Metrics of the ``memorisation`` group (samples against the training set), in results order."""
        return [m for m in self.metrics if self._info.loc[m, "group"] == MEMORISATION_GROUP]

    def memorisation_sentences(self) -> list[str]:
        """One line per memorisation metric and model: its value, p-value, and whether it flags copying."""
        out = []
        for metric in self.memorisation_metrics:
            for model in self.models:
                row = self._cell(metric).loc[model]
                if row["status"] != "ok":
                    continue
                p = row["pvalue"]
                flag = (f"**flagged: closer to its training set than fresh data** ({fmt_pvalue(p)}, alpha {self.alpha})"
                        if not math.isnan(p) and p < self.alpha else f"not flagged ({fmt_pvalue(p)})")
                out.append(f"`{model}`: {metric} = {fmt_value(row['value'])}, {flag}")
        return out

    def higher_is_better(self, metric: str) -> bool:
        return bool(self._info.loc[metric, "higher_is_better"])

    def _wide(self, column: str) -> pd.DataFrame:
        wide = self.results.pivot(index="model", columns="metric", values=column)
        return wide.reindex(columns=self.metrics)

    def values(self) -> pd.DataFrame:
        """Models x metrics of values; NaN where the metric is ``n/a`` or ``failed`` for a model."""
        ok = self.results.assign(value=self.results["value"].where(self.results["status"] == "ok"))
        wide = ok.pivot(index="model", columns="metric", values="value").reindex(columns=self.metrics)
        return wide.reindex(getattr(self, "models", list(wide.index))).astype(float)

    def _goodness(self) -> pd.DataFrame:
        """Values signed so that larger is always better."""
        vals = self.values()
        signs = np.array([1.0 if self.higher_is_better(m) else -1.0 for m in self.metrics])
        return vals * signs

    def ranks(self) -> pd.DataFrame:
        """Models x metrics of ranks (1 = best) in each metric's own direction; ties share the best rank."""
        return self._goodness().rank(ascending=False, method="min")

    def _ordered_models(self) -> list[str]:
        names = sorted(self.results["model"].unique())
        vals = self.results[(self.results["metric"] == self.sort) & (self.results["status"] == "ok")]
        good = dict(zip(vals["model"], vals["value"] * (1 if self.higher_is_better(self.sort) else -1)))
        return sorted(names, key=lambda m: (m not in good or math.isnan(good[m]), -good.get(m, 0.0), m))

    def _cell(self, metric: str) -> pd.DataFrame:
        return self.results[self.results["metric"] == metric].set_index("model").reindex(self.models)

    def _comparison(self, metric: str, model: str, other: str) -> dict:
        row = self.results[(self.results["metric"] == metric) & (self.results["model"] == model)]
        if row.empty:
            return {}
        return json.loads(row.iloc[0]["comparisons"]).get(other, {})

    # ---- tables ------------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """Models x (metric, field): ``value``, ``ci_low``, ``ci_high``, ``rank``, ``status``.

        Rows are ordered by the ``sort`` metric, best first; models without a value for it come last.
        """
        ranks = self.ranks()
        parts = {}
        for metric in self.metrics:
            cell = self._cell(metric)
            ok = cell["status"] == "ok"
            parts[metric] = pd.DataFrame({
                "value": cell["value"].where(ok),
                "ci_low": cell["ci_low"].where(ok),
                "ci_high": cell["ci_high"].where(ok),
                "rank": ranks[metric].reindex(self.models),
                "status": cell["status"].fillna("missing"),
            })
        out = pd.concat(parts, axis=1)
        out.index.name = "model"
        return out

    def rank_agreement(self) -> pd.DataFrame:
        """Kendall tau and Spearman rho between every pair of metric rankings.

        Correlations are of the direction-adjusted values, so +1 means the two metrics order the
        models identically (best to worst) and -1 means exactly oppositely. Only models with a value
        for both metrics count (``n_models``); with fewer than 3 the p-values mean little, and with
        fewer than 2, or a constant column, the correlations are NaN.

        Returns
        -------
        pandas.DataFrame
            Columns ``metric_a, metric_b, likelihood_vs_quality, n_models, kendall_tau,
            kendall_pvalue, spearman_rho, spearman_pvalue``.
        """
        good = self._goodness()
        likelihood = set(self.likelihood_metrics)
        rows = []
        for a, b in itertools.combinations(self.metrics, 2):
            both = good[[a, b]].dropna()
            res = {"metric_a": a, "metric_b": b, "likelihood_vs_quality": (a in likelihood) != (b in likelihood),
                   "n_models": len(both), "kendall_tau": math.nan, "kendall_pvalue": math.nan,
                   "spearman_rho": math.nan, "spearman_pvalue": math.nan}
            if len(both) >= 2 and both[a].nunique() > 1 and both[b].nunique() > 1:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    kt = scipy.stats.kendalltau(both[a], both[b])
                    sr = scipy.stats.spearmanr(both[a], both[b])
                res.update(kendall_tau=float(kt.statistic), kendall_pvalue=float(kt.pvalue),
                           spearman_rho=float(sr.statistic), spearman_pvalue=float(sr.pvalue))
            rows.append(res)
        return pd.DataFrame(rows, columns=["metric_a", "metric_b", "likelihood_vs_quality", "n_models",
                                           "kendall_tau", "kendall_pvalue", "spearman_rho", "spearman_pvalue"])

    def disagreements(self) -> pd.DataFrame:
        """Pairs of models that a likelihood metric and a sample-quality metric order oppositely.

        Returns
        -------
        pandas.DataFrame
            One row per (likelihood metric, quality metric, pair): ``better_likelihood`` (the model
            the likelihood metric prefers), ``better_quality`` (the one the quality metric prefers),
            each difference as *preferred minus other* in the metric's units
            (``likelihood_diff``, ``quality_diff``), the paired tests' ``likelihood_pvalue`` /
            ``quality_pvalue`` (NaN when not tested), and ``significant``: both p-values below
            ``alpha``. Significant rows first. Ties are not disagreements.
        """
        good = self._goodness()
        vals = self.values()
        rows = []
        for lm, qm in itertools.product(self.likelihood_metrics, self.quality_metrics):
            for a, b in itertools.combinations(self.models, 2):
                gl = good.loc[a, lm] - good.loc[b, lm]
                gq = good.loc[a, qm] - good.loc[b, qm]
                if not (np.isfinite(gl) and np.isfinite(gq)) or gl * gq >= 0:
                    continue
                wl, ll = (a, b) if gl > 0 else (b, a)  # winner/loser by likelihood
                pl = self._comparison(lm, wl, ll).get("pvalue", math.nan)
                pq = self._comparison(qm, ll, wl).get("pvalue", math.nan)
                pl = math.nan if pl is None else float(pl)
                pq = math.nan if pq is None else float(pq)
                rows.append({
                    "likelihood_metric": lm, "quality_metric": qm,
                    "better_likelihood": wl, "better_quality": ll,
                    "likelihood_diff": float(vals.loc[wl, lm] - vals.loc[ll, lm]), "likelihood_pvalue": pl,
                    "quality_diff": float(vals.loc[ll, qm] - vals.loc[wl, qm]), "quality_pvalue": pq,
                    "significant": bool(pl < self.alpha and pq < self.alpha),
                })
        cols = ["likelihood_metric", "quality_metric", "better_likelihood", "better_quality", "likelihood_diff",
                "likelihood_pvalue", "quality_diff", "quality_pvalue", "significant"]
        out = pd.DataFrame(rows, columns=cols)
        if len(out):
            out = out.sort_values("significant", ascending=False, kind="stable").reset_index(drop=True)
        return out

    def disagreement_sentences(self) -> list[str]:
        """Each disagreement as one plain sentence, e.g. ``a beats b on log_likelihood (p < 0.01)
        while b beats a on fid (p = 0.03)``."""
        return [
            f"{r.better_likelihood} beats {r.better_quality} on {r.likelihood_metric} ({fmt_pvalue(r.likelihood_pvalue)})"
            f" while {r.better_quality} beats {r.better_likelihood} on {r.quality_metric} ({fmt_pvalue(r.quality_pvalue)})"
            + (" - both significant" if r.significant else "")
            for r in self.disagreements().itertuples()
        ]

    def notes(self) -> list[tuple[str, str, str, str]]:
        """(model, metric, status, message) for every row that is not ``ok``."""
        bad = self.results[self.results["status"] != "ok"]
        return [(r.model, r.metric, r.status, r.error) for r in bad.itertuples()]

    # ---- rendering ---------------------------------------------------------------------------

    def _arrow(self, metric: str) -> str:
        return "↑" if self.higher_is_better(metric) else "↓"

    def display_rows(self) -> list[list[str]]:
        """Display rows: rank, model, then ``value [low, high] (rank)`` per metric."""
        table = self.table()
        rows = []
        for model in self.models:
            r = table.loc[model]
            rank = r[(self.sort, "rank")]
            cells = [("" if math.isnan(rank) else str(int(rank))), model]
            for metric in self.metrics:
                status = r[(metric, "status")]
                if status != "ok":
                    cells.append(status)
                    continue
                text = fmt_value(r[(metric, "value")])
                if not math.isnan(r[(metric, "ci_low")]):
                    text += f" [{fmt_value(r[(metric, 'ci_low')])}, {fmt_value(r[(metric, 'ci_high')])}]"
                text += f" ({int(r[(metric, 'rank')])})"
                cells.append(text)
            rows.append(cells)
        return rows

    def _agreement_rows(self) -> list[list[str]]:
        ag = self.rank_agreement()
        ag = ag[ag["likelihood_vs_quality"]]
        return [[r.metric_a if r.metric_a in self.likelihood_metrics else r.metric_b,
                 r.metric_b if r.metric_a in self.likelihood_metrics else r.metric_a,
                 str(r.n_models), fmt_value(r.kendall_tau, 3) or "n/a", fmt_value(r.spearman_rho, 3) or "n/a"]
                for r in ag.itertuples()]

    def _legend(self) -> str:
        direction = "higher is better" if self.higher_is_better(self.sort) else "lower is better"
        return (f"Models ranked by `{self.sort}` ({direction}). Each cell: value [CI] (rank within that metric, "
                "in its own direction: ↑ higher is better, ↓ lower is better). `n/a`: the metric does not apply "
                "to the model; `failed`: see Notes. Missing values are never averaged or filled in.")

    def _likelihood_intro(self) -> str | None:
        if not self.likelihood_metrics:
            return "No likelihood metric in these results, so likelihood and sample quality cannot be compared."
        if not self.quality_metrics:
            return "No sample-quality metric in these results, so likelihood and sample quality cannot be compared."
        return None

    def to_markdown(self) -> str:
        """The leaderboard as GitHub-flavoured Markdown (deterministic: no dates, no paths)."""
        def md_row(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        out = [f"# {self.title}", "", self._legend(), ""]
        out.append(md_row(["rank", "model", *(f"{m} {self._arrow(m)}" for m in self.metrics)]))
        out.append(md_row(["---:", "---", *("---" for _ in self.metrics)]))
        out += [md_row(c) for c in self.display_rows()]
        out += ["", "## Likelihood vs sample quality", ""]
        intro = self._likelihood_intro()
        if intro:
            out.append(intro)
        else:
            out += ["Rank agreement between each likelihood metric and each sample-quality metric "
                    "(+1: same order, -1: opposite order).", ""]
            out.append(md_row(["likelihood metric", "quality metric", "models", "Kendall tau", "Spearman rho"]))
            out.append(md_row(["---", "---", "---:", "---:", "---:"]))
            out += [md_row(r) for r in self._agreement_rows()]
            out += ["", "### Disagreements", ""]
            sentences = self.disagreement_sentences()
            if sentences:
                out.append(f"Pairs of models ordered oppositely (paired tests; significant: both p < {self.alpha}):")
                out.append("")
                out += [f"- {s}" for s in sentences]
            else:
                out.append("None: every likelihood metric orders every pair of models like every quality metric.")
        if self.memorisation_metrics:
            out += ["", "## Memorisation", "", "Generated samples against the models' training set, the reference "
                    "serving as held-out test data (one-sided tests; small p: closer to training points than fresh "
                    "data are).", ""]
            out += [f"- {s}" for s in self.memorisation_sentences()]
        notes = self.notes()
        if notes:
            out += ["", "## Notes", ""]
            out += [f"- `{metric}` on `{model}`: {status}: {msg}" for model, metric, status, msg in notes]
        return "\n".join(out) + "\n"

    def to_html(self) -> str:
        """A standalone, styled HTML page (no external resources)."""
        e = html.escape

        def table(header, rows, numeric=()):
            head = "".join(f"<th>{e(h)}</th>" for h in header)
            body = "".join(
                "<tr>" + "".join(f'<td class="{"num" if i in numeric else ""}">{e(c)}</td>' for i, c in enumerate(r))
                + "</tr>" for r in rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        parts = [f"<h1>{e(self.title)}</h1>", f"<p>{e(self._legend())}</p>",
                 table(["rank", "model", *(f"{m} {self._arrow(m)}" for m in self.metrics)], self.display_rows(),
                       numeric={0}),
                 "<h2>Likelihood vs sample quality</h2>"]
        intro = self._likelihood_intro()
        if intro:
            parts.append(f"<p>{e(intro)}</p>")
        else:
            parts.append("<p>Rank agreement between each likelihood metric and each sample-quality metric "
                         "(+1: same order, -1: opposite order).</p>")
            parts.append(table(["likelihood metric", "quality metric", "models", "Kendall tau", "Spearman rho"],
                               self._agreement_rows(), numeric={2, 3, 4}))
            parts.append("<h3>Disagreements</h3>")
            sentences = self.disagreement_sentences()
            if sentences:
                parts.append("<ul>" + "".join(f'<li class="{"sig" if "significant" in s else ""}">{e(s)}</li>'
                                              for s in sentences) + "</ul>")
            else:
                parts.append("<p>None: every likelihood metric orders every pair of models like every quality metric.</p>")
        notes = self.notes()
        if notes:
            parts.append("<h2>Notes</h2><ul>" + "".join(
                f"<li><code>{e(metric)}</code> on <code>{e(model)}</code>: {e(status)}: {e(msg)}</li>"
                for model, metric, status, msg in notes) + "</ul>")
        style = (
            "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:72rem;margin:2rem auto;"
            "padding:0 1rem;color:#222}table{border-collapse:collapse;margin:1rem 0}"
            "th,td{border-bottom:1px solid #ddd;padding:.35rem .7rem;text-align:left}"
            "th{background:#f4f4f6}td.num{text-align:right}tbody tr:nth-child(odd){background:#fafafa}"
            "li.sig{font-weight:600}code{background:#f4f4f6;padding:0 .2rem}"
        )
        return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f"<title>{e(self.title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
                + "\n".join(parts) + "\n</body>\n</html>\n")

    def to_latex(self) -> str:
        """LaTeX tables (``booktabs``) to ``\\input`` into a paper: the leaderboard and the rank agreement."""
        def tex(s: str) -> str:
            repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
            return "".join(repl.get(ch, ch) for ch in s)

        arrows = {True: r"$\uparrow$", False: r"$\downarrow$"}
        out = [f"% {self.title}: generated by genbench; needs \\usepackage{{booktabs}}",
               r"\begin{tabular}{r l " + " ".join("l" for _ in self.metrics) + "}", r"\toprule",
               " & ".join(["rank", "model", *(f"{tex(m)} {arrows[self.higher_is_better(m)]}" for m in self.metrics)])
               + r" \\", r"\midrule"]
        out += [" & ".join(tex(c) for c in row) + r" \\" for row in self.display_rows()]
        out += [r"\bottomrule", r"\end{tabular}"]
        if not self._likelihood_intro():
            out += ["", "% Likelihood vs sample quality: rank agreement", r"\begin{tabular}{l l r r r}", r"\toprule",
                    r"likelihood metric & quality metric & models & Kendall $\tau$ & Spearman $\rho$ \\", r"\midrule"]
            out += [" & ".join(tex(c) for c in row) + r" \\" for row in self._agreement_rows()]
            out += [r"\bottomrule", r"\end{tabular}"]
            for s in self.disagreement_sentences():
                out.append(f"% disagreement: {s}")
        return "\n".join(out) + "\n"

    def to_csv(self, path=None) -> str | None:
        """The wide table as CSV: ``model, rank, <metric>, <metric>_ci_low, <metric>_ci_high,
        <metric>_rank, <metric>_status ...``. Returns the text when ``path`` is None."""
        table = self.table()
        flat = pd.DataFrame(index=table.index)
        flat["rank"] = table[(self.sort, "rank")].astype("Int64")
        for metric in self.metrics:
            for field in ("value", "ci_low", "ci_high", "rank", "status"):
                column = table[(metric, field)]
                flat[metric if field == "value" else f"{metric}_{field}"] = (
                    column.astype("Int64") if field == "rank" else column)
        buf = io.StringIO()
        flat.reset_index().to_csv(buf, index=False, lineterminator="\n")
        if path is None:
            return buf.getvalue()
        from .runner import atomic_write_text

        atomic_write_text(path, buf.getvalue())
        return None

    def records(self) -> list[dict]:
        """The long results as JSON-ready dicts (what ``results.jsonl`` holds, one per line)."""
        return results_records(self.results)

    # ---- plots -------------------------------------------------------------------------------

    def plot(self, kind: str = "scatter", *, x: str | None = None, path=None):
        """Draw the leaderboard with matplotlib (a pyplot-free Figure: no display needed).

        Parameters
        ----------
        kind : {"scatter", "spectrum"}
            ``"scatter"``: one panel per sample-quality metric, the likelihood metric on the x axis,
            one labelled point per model. ``"spectrum"``: curves per model from metrics that
            return one (``extras`` with a ``curve`` of ``x``/``y`` lists, or ``alphas``/``values``
            lists, e.g. the divergence spectrum or PRD).
        x : str, optional
            Metric for the x axis of the scatter; default the first likelihood metric, else the
            first metric.
        path : str or Path, optional
            Also save the figure there (format from the suffix).

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        InputError
            Unknown ``kind`` or ``x``, nothing to draw.
        """
        # a bare Figure (no pyplot) renders through Agg and never touches a display or global state
        from matplotlib.figure import Figure

        if kind == "scatter":
            fig = self._scatter(Figure, x)
        elif kind == "spectrum":
            fig = self._spectrum(Figure)
        else:
            raise InputError(f"`kind` must be 'scatter' or 'spectrum'; got {kind!r}.")
        if path is not None:
            fig.savefig(path, bbox_inches="tight")
        return fig

    def _scatter(self, Figure, x):
        if x is None:
            x = (self.likelihood_metrics or self.metrics)[0]
        elif x not in self.metrics:
            raise InputError(f"`x` must be a metric in these results ({', '.join(self.metrics)}); got {x!r}.")
        ys = [m for m in self.metrics if m != x and (m in self.quality_metrics or x not in self.likelihood_metrics)]
        if not ys:
            raise InputError(f"nothing to plot against {x!r}: the results hold no other metric.")
        vals = self.values()
        fig = Figure(figsize=(4.2 * len(ys), 3.6), layout="constrained")
        axes = fig.subplots(1, len(ys), squeeze=False)[0]
        for ax, y in zip(axes, ys):
            both = vals[[x, y]].dropna()
            ax.scatter(both[x], both[y], color="tab:blue")
            for model, (vx, vy) in both.iterrows():
                ax.annotate(model, (vx, vy), textcoords="offset points", xytext=(4, 4), fontsize=8)
            ax.set_xlabel(f"{x} ({'higher' if self.higher_is_better(x) else 'lower'} is better)")
            ax.set_ylabel(f"{y} ({'higher' if self.higher_is_better(y) else 'lower'} is better)")
            ax.set_title(f"{y} vs {x}", fontsize=10)
        return fig

    def _curves(self) -> dict:
        """metric -> model -> (x, y, low, high, x label, y label) from the curves metrics return."""
        curves = {}
        for r in self.results[self.results["status"] == "ok"].itertuples():
            extras = json.loads(r.extras)
            spectrum, curve = extras.get("spectrum"), extras.get("curve")
            if isinstance(spectrum, list) and spectrum and all(isinstance(p, dict) and "pi" in p and "d_pi" in p
                                                               for p in spectrum):
                # the divergence spectrum (metrics.classifier): d_pi over the prior pi, with a CI band
                xs = [p["pi"] for p in spectrum]
                ys = [p["d_pi"] for p in spectrum]
                lo = [p.get("ci_low", math.nan) for p in spectrum]
                hi = [p.get("ci_high", math.nan) for p in spectrum]
                labels = ("pi", "d_pi")
            elif isinstance(curve, dict) and "x" in curve and "y" in curve:
                xs, ys = curve["x"], curve["y"]
                lo = hi = [math.nan] * len(xs)
                labels = (curve.get("x_label", "x"), curve.get("y_label", "y"))
            else:
                continue
            curves.setdefault(r.metric, {})[r.model] = (
                *(np.asarray([math.nan if v is None else v for v in arr], float) for arr in (xs, ys, lo, hi)),
                *labels)
        return curves

    def _spectrum(self, Figure):
        curves = self._curves()
        if not curves:
            raise InputError("no metric in these results returned a curve (extras `spectrum` or `curve`); "
                             "score with the `spectrum` metric to plot a divergence spectrum.")
        fig = Figure(figsize=(4.8 * len(curves), 3.6), layout="constrained")
        axes = fig.subplots(1, len(curves), squeeze=False)[0]
        for ax, (metric, per_model) in zip(axes, curves.items()):
            for model in self.models:
                if model not in per_model:
                    continue
                xs, ys, lo, hi, xlabel, ylabel = per_model[model]
                (line,) = ax.plot(xs, ys, marker=".", label=model)
                if np.isfinite(lo).all() and np.isfinite(hi).all():
                    ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
                ax.set_xlabel(xlabel)
                ax.set_ylabel(ylabel)
            ax.set_title(metric, fontsize=10)
            ax.legend(fontsize=8)
        return fig
