"""Leaderboards from long results: ranks, statistical ties, rank agreement, and the significant
findings where likelihood and sample quality disagree. Analysis only: :mod:`genbench.report`
renders it, :mod:`genbench.plots` draws it, :mod:`genbench.publish` writes it.

A :class:`Leaderboard` takes result rows (:class:`~genbench.results.ResultRow`) and, as its own
table, the pairwise comparisons (:class:`~genbench.results.Comparison`) of a scoring run. Every
metric is ranked in its own direction; a model without a value (``n/a``, ``failed``) or with a value
that only bounds the metric (``bound``) gets no rank there, and nothing is averaged across metrics.
Models whose adjusted p-values do not separate them form one rank group (a statistical tie). The
likelihood-vs-quality analysis (Huszar 2015) keeps only *findings*: pairs of models that a likelihood
metric and a sample-quality metric order oppositely with both differences significant after the
multiplicity adjustment.

Results computed against different references or with different extractors are never ranked in one
column: the constructor raises :class:`MixedResultsError` naming the groups; :func:`split_results`
gives one :class:`~genbench.results.ResultSet` per group.

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
>>> lb.disagreements()[["better_likelihood", "better_quality", "significant"]].values.tolist()
[['a', 'b', False]]
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

from metrics import InputError

from .results import (Comparison, ResultRow, ResultSet, comparisons_to_frame, frame_to_comparisons, frame_to_rows,
                      load_results, rows_to_frame)

LIKELIHOOD_GROUP = "likelihood"
#: Metrics of a model's samples against its training set: shown in their own section, not as sample quality.
MEMORISATION_GROUP = "memorisation"


def _once(method):
    """Cache a no-argument method's result on the instance (a board never changes after it is built)."""
    name = f"_cached_{method.__name__}"

    @functools.wraps(method)
    def wrapper(self):
        if name not in self.__dict__:
            self.__dict__[name] = method(self)
        return self.__dict__[name]

    return wrapper


class MixedResultsError(InputError):
    """Results from different references or extractors were given to one leaderboard."""


def _group_key(row: ResultRow) -> tuple[str, str, str]:
    return (row.reference_hash, row.reference, row.extractor)


def _group_label(key, models) -> str:
    ref_hash, ref, extractor = key
    ref_text = (ref or "reference") + (f" ({ref_hash[:8]})" if ref_hash else "")
    shown = ", ".join(models[:4]) + (f" and {len(models) - 4} more" if len(models) > 4 else "")
    return f"reference {ref_text} with extractor {extractor or 'unknown'}: {shown}"


def split_results(results: ResultSet) -> dict[str, ResultSet]:
    """One :class:`ResultSet` per (reference, extractor), keyed by a readable label.

    Comparisons go with the group holding both of their models.
    """
    groups: dict = {}
    for r in results.rows:
        groups.setdefault(_group_key(r), []).append(r)
    out = {}
    for key, rows in groups.items():
        models = list(dict.fromkeys(r.model for r in rows))
        names = set(models)
        comps = tuple(c for c in results.comparisons if c.model_a in names and c.model_b in names)
        out[_group_label(key, models)] = ResultSet(tuple(rows), comps)
    return out


def _as_result_set(results, comparisons) -> ResultSet:
    if hasattr(results, "rows") and hasattr(results, "comparisons"):  # ScoreRun or ResultSet
        rows, comps = tuple(results.rows), tuple(results.comparisons)
    elif isinstance(results, pd.DataFrame):
        rows, comps = tuple(frame_to_rows(results)), ()
    elif isinstance(results, (list, tuple)) and results and all(isinstance(r, ResultRow) for r in results):
        rows, comps = tuple(results), ()
    elif isinstance(results, (list, tuple)) and results and all(isinstance(r, pd.DataFrame) for r in results):
        rows, comps = tuple(frame_to_rows(pd.concat(results, ignore_index=True))), ()
    elif isinstance(results, (str, Path)) or (isinstance(results, (list, tuple)) and results
                                              and all(isinstance(r, (str, Path)) for r in results)):
        loaded = load_results(results)
        rows, comps = loaded.rows, loaded.comparisons
    else:
        raise InputError("`results` must be a ScoreRun, a ResultSet, a long results DataFrame, a list of ResultRow, "
                         f"or results.jsonl path(s); got {type(results).__name__}.")
    if comparisons is not None:
        comps = tuple(frame_to_comparisons(comparisons) if isinstance(comparisons, pd.DataFrame) else comparisons)
        if not all(isinstance(c, Comparison) for c in comps):
            raise InputError("`comparisons` must be a list of genbench.results.Comparison or their DataFrame.")
    return ResultSet(rows, comps)


class Leaderboard:
    """Models x metrics, ranked per metric with statistical ties, and the likelihood-vs-quality findings.

    Parameters
    ----------
    results : ScoreRun, ResultSet, DataFrame, list of ResultRow, or path(s) to ``results.jsonl``
        The rows (and, for a run, result set or files, their comparisons).
    comparisons : list of Comparison or DataFrame, optional
        The pairwise comparisons; overrides the ones carried by ``results``.
    sort : str, optional
        Metric the rows are ordered by (best first). Default: the first likelihood metric, else the
        first metric.
    alpha : float
        Level at which an adjusted p-value separates two models.
    title : str
        Heading of the rendered tables.

    Raises
    ------
    InputError
        Empty results, the same (model, metric) twice, an unknown ``sort`` metric (with
        suggestions), a bad ``alpha``.
    MixedResultsError
        Rows from more than one (reference, extractor); the message names the groups.
    """

    def __init__(self, results, comparisons=None, *, sort: str | None = None, alpha: float = 0.05,
                 title: str = "Leaderboard"):
        data = _as_result_set(results, comparisons)
        if not data.rows:
            raise InputError("`results` holds no rows; score some models first.")
        seen = set()
        for r in data.rows:
            if (r.model, r.metric) in seen:
                raise InputError(f"model {r.model!r} has more than one {r.metric!r} result; "
                                 "give the models distinct names.")
            seen.add((r.model, r.metric))
        groups = split_results(data)
        if len(groups) > 1:
            raise MixedResultsError(
                f"these results were computed against {len(groups)} different references/extractors and cannot be "
                "ranked in one column: " + "; ".join(groups) + ". Publish one board per group (`genbench "
                "leaderboard --split`, or genbench.leaderboard.split_results), or rescore against one reference.")
        if not (isinstance(alpha, float) and 0.0 < alpha < 1.0):
            raise InputError(f"`alpha` must be a float in (0, 1); got {alpha!r}.")
        self.rows = data.rows
        self.comparisons = data.comparisons
        self.results = rows_to_frame(self.rows)
        self.alpha = alpha
        self.title = title
        self.metrics = list(dict.fromkeys(r.metric for r in self.rows))
        first = {}
        for r in self.rows:
            first.setdefault(r.metric, r)
        self._direction = {m: bool(first[m].higher_is_better) for m in self.metrics}
        self._group = {m: first[m].group for m in self.metrics}
        if sort is None:
            sort = (self.likelihood_metrics or self.metrics)[0]
        elif sort not in self.metrics:
            close = difflib.get_close_matches(sort, self.metrics, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise InputError(f"cannot sort by {sort!r}: not in these results.{hint} Available: {', '.join(self.metrics)}.")
        self.sort = sort
        self.models = self._ordered_models()
        self._index = {m: i for i, m in enumerate(self.models)}

    # ---- structure ---------------------------------------------------------------------------

    @property
    def likelihood_metrics(self) -> list[str]:
        """Metrics of the ``likelihood`` group, in results order."""
        return [m for m in self.metrics if self._group[m] == LIKELIHOOD_GROUP]

    @property
    def quality_metrics(self) -> list[str]:
        """Every other metric but memorisation: measures of the generated samples."""
        return [m for m in self.metrics if self._group[m] not in (LIKELIHOOD_GROUP, MEMORISATION_GROUP)]

    @property
    def memorisation_metrics(self) -> list[str]:
        """Metrics of the ``memorisation`` group (samples against the training set), in results order."""
        return [m for m in self.metrics if self._group[m] == MEMORISATION_GROUP]

    def higher_is_better(self, metric: str) -> bool:
        """The metric's declared direction."""
        return self._direction[metric]

    def group(self, metric: str) -> str:
        """The metric's family (``likelihood``, ``kernel`` ...)."""
        return self._group[metric]

    def row(self, model: str, metric: str) -> ResultRow | None:
        """The result row of one model and metric, or None."""
        return self._rows_by_key.get((model, metric))

    @functools.cached_property
    def _rows_by_key(self) -> dict:
        return {(r.model, r.metric): r for r in self.rows}

    def _ordered_models(self) -> list[str]:
        names = list(dict.fromkeys(r.model for r in self.rows))
        sign = 1.0 if self.higher_is_better(self.sort) else -1.0
        good = {r.model: sign * r.value for r in self.rows
                if r.metric == self.sort and r.status == "ok" and r.bound is None}
        return sorted(sorted(names), key=lambda m: (m not in good, -good.get(m, 0.0)))

    @_once
    def values(self) -> pd.DataFrame:
        """Models x metrics of values; NaN where the metric is ``n/a`` or ``failed`` for a model."""
        out = pd.DataFrame(np.nan, index=pd.Index(self.models, name="model"), columns=self.metrics)
        for r in self.rows:
            if r.status == "ok":
                out.at[r.model, r.metric] = r.value
        return out

    def _goodness(self, *, confident: bool = True) -> pd.DataFrame:
        """Values signed so that larger is always better; bounds left out when ``confident``."""
        vals = self.values().copy()
        if confident:
            for r in self.rows:
                if r.bound is not None:
                    vals.at[r.model, r.metric] = np.nan
        signs = np.array([1.0 if self.higher_is_better(m) else -1.0 for m in self.metrics])
        return vals * signs

    def ranks(self) -> pd.DataFrame:
        """Models x metrics of ranks (1 = best) in each metric's own direction; ties share the best rank.

        A value that only bounds the metric (``bound``) is not ranked.
        """
        return self._goodness().rank(ascending=False, method="min")

    # ---- comparisons -------------------------------------------------------------------------

    @functools.cached_property
    def _pmatrix(self) -> dict:
        """metric -> (n x n adjusted p-values, NaN: not compared; {(i, j): comparison}; n x n interval
        ends ``low``, ``high`` of row-model minus column-model)."""
        n = len(self.models)
        out = {}
        for c in self.comparisons:
            if c.model_a not in self._index or c.model_b not in self._index or c.metric not in self._direction:
                continue
            if c.metric not in out:
                out[c.metric] = (np.full((n, n), np.nan), {}, np.full((n, n), np.nan), np.full((n, n), np.nan))
            p = c.pvalue if c.pvalue_adjusted is None else c.pvalue_adjusted
            i, j = self._index[c.model_a], self._index[c.model_b]
            mat, objs, low, high = out[c.metric]
            if c.status == "ok" and p is not None and math.isfinite(p):
                mat[i, j] = mat[j, i] = p
            if c.ci is not None:
                low[i, j], high[i, j] = c.ci.low, c.ci.high
                low[j, i], high[j, i] = -c.ci.high, -c.ci.low
            objs[(i, j)] = c
        return out

    def comparison(self, metric: str, a: str, b: str) -> Comparison | None:
        """The comparison of ``a`` and ``b`` on ``metric`` (either order), or None."""
        entry = self._pmatrix.get(metric)
        if entry is None or a not in self._index or b not in self._index:
            return None
        i, j = self._index[a], self._index[b]
        return entry[1].get((i, j)) or entry[1].get((j, i))

    def tested_metrics(self) -> list[str]:
        """Metrics with at least one pairwise comparison."""
        return [m for m in self.metrics if m in self._pmatrix]

    def rank_groups(self) -> pd.DataFrame:
        """Models x metrics of rank groups: 1 for the models statistically tied with the best, and so on.

        Going down the ranking, a model joins the current group unless its adjusted p-value against
        the group's leader is below ``alpha``; then it leads a new group. NaN for unranked models and
        for metrics where not every pair of ranked models was compared.
        """
        good = self._goodness()
        out = pd.DataFrame(np.nan, index=good.index, columns=self.metrics)
        for metric in self.tested_metrics():
            col = good[metric].dropna().sort_values(ascending=False, kind="stable")
            mat = self._pmatrix[metric][0]
            idx = [self._index[m] for m in col.index]
            sub = mat[np.ix_(idx, idx)]
            if len(idx) > 1 and not np.isfinite(sub[np.triu_indices(len(idx), 1)]).all():
                continue  # groups need every pair compared; a partial table would call untested pairs ties
            group, leader = 0, None
            for model, value in col.items():
                i = self._index[model]
                if leader is None or (mat[leader[0], i] < self.alpha and value < leader[1]):
                    group, leader = group + 1, (i, value)
                out.at[model, metric] = group
        return out

    # ---- tables ------------------------------------------------------------------------------

    def table(self) -> pd.DataFrame:
        """Models x (metric, field): ``value``, ``ci_low``, ``ci_high``, ``rank``, ``group``, ``status``.

        Rows are ordered by the ``sort`` metric, best first; models without a value for it come
        last. Use :meth:`style` for a formatted display in a notebook.
        """
        ranks, groups = self.ranks(), self.rank_groups()
        nan = math.nan
        parts = {}
        for metric in self.metrics:
            cells = [self.row(m, metric) for m in self.models]
            ok = [c is not None and c.status == "ok" for c in cells]
            parts[metric] = pd.DataFrame({
                "value": [c.value if k else nan for c, k in zip(cells, ok)],
                "ci_low": [c.ci.low if k and c.ci else nan for c, k in zip(cells, ok)],
                "ci_high": [c.ci.high if k and c.ci else nan for c, k in zip(cells, ok)],
                "rank": ranks[metric].to_numpy(),
                "group": groups[metric].to_numpy(),
                "status": [c.status if c is not None else "missing" for c in cells],
            }, index=self.models)
        out = pd.concat(parts, axis=1)
        out.index.name = "model"
        return out

    def style(self):
        """The values as a styled frame for notebooks: 4 significant digits, each metric's best group
        in bold, direction arrows in the headers (a :class:`pandas.io.formats.style.Styler`)."""
        values = self.values().rename(columns={m: f"{m} {self.arrow(m)}" for m in self.metrics})
        groups = self.rank_groups().rename(columns={m: f"{m} {self.arrow(m)}" for m in self.metrics})
        bold = groups.map(lambda g: "font-weight: bold" if g == 1 else "")
        return (values.style.format("{:.4g}", na_rep="–").apply(lambda _: bold, axis=None)
                .set_table_styles([{"selector": "td", "props": "text-align: right"}]))

    def arrow(self, metric: str) -> str:
        """``↑`` when higher is better, else ``↓``."""
        return "↑" if self.higher_is_better(metric) else "↓"

    def rank_agreement(self) -> pd.DataFrame:
        """Kendall tau and Spearman rho between every pair of metric rankings.

        Correlations are of the direction-adjusted values, so +1 means the two metrics order the
        models identically and -1 exactly oppositely. Only models with a value for both count
        (``n_models``); with fewer than 2, or a constant column, the correlations are NaN.

        Returns
        -------
        pandas.DataFrame
            Columns ``metric_a, metric_b, likelihood_vs_quality, n_models, kendall_tau,
            kendall_pvalue, spearman_rho, spearman_pvalue``.
        """
        good = self._goodness(confident=False)
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

    @_once
    def disagreements(self) -> pd.DataFrame:
        """Every pair of models that a likelihood metric and a sample-quality metric order oppositely.

        Returns
        -------
        pandas.DataFrame
            One row per (likelihood metric, quality metric, pair): ``better_likelihood`` /
            ``better_quality`` (the model each metric prefers), the differences as *preferred minus
            other* in each metric's units (``likelihood_diff``, ``quality_diff``) with their
            intervals (``*_ci_low``, ``*_ci_high``, NaN when the comparison gave none), the adjusted
            p-values (``likelihood_pvalue``, ``quality_pvalue``; NaN when not compared), the effect
            sizes (``likelihood_effect``, ``quality_effect``: the difference as a share of the
            metric's range over the models) and ``significant`` (both adjusted p-values below
            ``alpha``). Ties are not disagreements. Computed once per board, vectorised over pairs.
        """
        good = self._goodness(confident=False)
        vals = self.values()
        n = len(self.models)
        iu, ju = np.triu_indices(n, k=1)
        frames = []
        models = np.array(self.models, dtype=object)
        for lm, qm in itertools.product(self.likelihood_metrics, self.quality_metrics):
            gl, gq = good[lm].to_numpy(), good[qm].to_numpy()
            dl, dq = gl[iu] - gl[ju], gq[iu] - gq[ju]
            keep = np.isfinite(dl) & np.isfinite(dq) & (dl * dq < 0)
            if not keep.any():
                continue
            i, j = iu[keep], ju[keep]
            a_wins_l = dl[keep] > 0
            wl = np.where(a_wins_l, i, j)  # preferred by the likelihood
            wq = np.where(a_wins_l, j, i)  # preferred by the quality metric
            vl, vq = vals[lm].to_numpy(), vals[qm].to_numpy()
            pl = self._pmatrix[lm][0][i, j] if lm in self._pmatrix else np.full(len(i), np.nan)
            pq = self._pmatrix[qm][0][i, j] if qm in self._pmatrix else np.full(len(i), np.nan)
            frame = pd.DataFrame({
                "likelihood_metric": lm, "quality_metric": qm,
                "better_likelihood": models[wl], "better_quality": models[wq],
                "likelihood_diff": vl[wl] - vl[wq], "quality_diff": vq[wq] - vq[wl],
                "likelihood_pvalue": pl, "quality_pvalue": pq,
                "likelihood_effect": np.abs(vl[wl] - vl[wq]) / _spread(vl),
                "quality_effect": np.abs(vq[wq] - vq[wl]) / _spread(vq),
            })
            frame["significant"] = (frame["likelihood_pvalue"] < self.alpha) & (frame["quality_pvalue"] < self.alpha)
            frames.append(frame)
        cols = ["likelihood_metric", "quality_metric", "better_likelihood", "better_quality", "likelihood_diff",
                "likelihood_ci_low", "likelihood_ci_high", "likelihood_pvalue", "likelihood_effect", "quality_diff",
                "quality_ci_low", "quality_ci_high", "quality_pvalue", "quality_effect", "significant"]
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=bool if c == "significant" else float) for c in cols})
        out = pd.concat(frames, ignore_index=True)
        index = self._index
        for side, metric_col, first, second in (("likelihood", "likelihood_metric", "better_likelihood",
                                                 "better_quality"),
                                                ("quality", "quality_metric", "better_quality", "better_likelihood")):
            lows, highs = np.full(len(out), np.nan), np.full(len(out), np.nan)
            for metric, rows in out.groupby(metric_col, sort=False).groups.items():
                if metric not in self._pmatrix:
                    continue
                _, _, low, high = self._pmatrix[metric]
                i = out.loc[rows, first].map(index).to_numpy()
                j = out.loc[rows, second].map(index).to_numpy()
                lows[rows], highs[rows] = low[i, j], high[i, j]  # preferred minus other
            out[f"{side}_ci_low"], out[f"{side}_ci_high"] = lows, highs
        return out[cols]

    def findings(self) -> pd.DataFrame:
        """The disagreements with both differences significant after the multiplicity adjustment,
        strongest first (by the smaller of the two effect sizes)."""
        d = self.disagreements()
        f = d[d["significant"]].copy()
        f["_key"] = np.minimum(f["likelihood_effect"], f["quality_effect"])
        return f.sort_values("_key", ascending=False, kind="stable").drop(columns="_key").reset_index(drop=True)

    def disagreement_counts(self) -> dict:
        """How the oppositely ordered pairs split: ``total``, ``significant`` (both sides),
        ``one_side`` (only one side significant), ``not_significant`` (both compared, neither
        significant) and ``not_compared`` (a side without a comparison)."""
        d = self.disagreements()
        pl, pq = d["likelihood_pvalue"].to_numpy(dtype=float), d["quality_pvalue"].to_numpy(dtype=float)
        compared = np.isfinite(pl) & np.isfinite(pq)
        sl, sq = pl < self.alpha, pq < self.alpha
        return {"total": len(d), "significant": int((sl & sq).sum()),
                "one_side": int((compared & (sl ^ sq)).sum()),
                "not_significant": int((compared & ~sl & ~sq).sum()),
                "not_compared": int((~compared).sum())}

    def notes(self) -> list[tuple[str, str, str, str]]:
        """(model, metric, status, message) for every row that is not ``ok``."""
        return [(r.model, r.metric, r.status, r.error) for r in self.rows if r.status != "ok"]

    def context(self) -> dict:
        """What produced the numbers: reference, extractor, n per model, seeds, genbench version."""
        from . import __version__

        first = self.rows[0]
        sizes = sorted({r.n[-1] for r in self.rows if r.status == "ok" and r.n})
        ref_sizes = sorted({r.n[0] for r in self.rows if r.status == "ok" and len(r.n) == 2})
        return {"reference": first.reference, "reference_hash": first.reference_hash, "extractor": first.extractor,
                "n_per_model": sizes, "n_reference": ref_sizes,
                "seeds": sorted({r.seed for r in self.rows if r.seed is not None}),
                "genbench_version": __version__, "models": len(self.models), "metrics": len(self.metrics)}

    # ---- display -----------------------------------------------------------------------------

    def report(self):
        """The board as a :class:`genbench.report.Report` (one list of sections, every format)."""
        from .report import build_report

        return build_report(self)

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown (deterministic: no dates, no paths)."""
        return self.report().to_markdown()

    def to_html(self, figures: dict | None = None) -> str:
        """A self-contained HTML page (no network); ``figures`` (title -> PNG bytes) are embedded."""
        return self.report().to_html(figures=figures)

    def to_latex(self) -> str:
        """``booktabs`` tables to ``\\input`` into a paper."""
        return self.report().to_latex()

    def to_json(self) -> dict:
        """The board's sections as JSON-ready data."""
        return self.report().to_json()

    def to_csv(self, path=None) -> str | None:
        """The wide table as CSV: ``model, rank, <metric>, <metric>_ci_low, <metric>_ci_high,
        <metric>_rank, <metric>_group, <metric>_status ...``. Returns the text when ``path`` is None."""
        import io

        table = self.table()
        flat = pd.DataFrame(index=table.index)
        flat["rank"] = table[(self.sort, "rank")].astype("Int64")
        for metric in self.metrics:
            for fld in ("value", "ci_low", "ci_high", "rank", "group", "status"):
                column = table[(metric, fld)]
                flat[metric if fld == "value" else f"{metric}_{fld}"] = (
                    column.astype("Int64") if fld in ("rank", "group") else column)
        buf = io.StringIO()
        flat.reset_index().to_csv(buf, index=False, lineterminator="\n")
        if path is None:
            return buf.getvalue()
        from .runner import atomic_write_text

        atomic_write_text(path, buf.getvalue())
        return None

    def comparisons_frame(self) -> pd.DataFrame:
        """The comparisons table as a frame."""
        return comparisons_to_frame(self.comparisons)

    def plot(self, kind: str = "scatter", *, x: str | None = None, path=None):
        """A matplotlib Figure (see :mod:`genbench.plots`): ``"scatter"`` (likelihood vs each quality
        metric, a grid) or ``"spectrum"``; saved to ``path`` too when given."""
        from . import plots

        return plots.plot(self, kind, x=x, path=path)

    def _repr_html_(self) -> str:
        return self.report().to_html(fragment=True)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return (f"<Leaderboard {self.title!r}: {len(self.models)} models x {len(self.metrics)} metrics, "
                f"{len(self.comparisons)} comparisons, sorted by {self.sort}>")


def _spread(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    spread = float(finite.max() - finite.min()) if len(finite) else 0.0
    return spread if spread > 0 else 1.0
