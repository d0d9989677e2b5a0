"""Figures of a leaderboard, returned as matplotlib Figures (no pyplot, no display needed).

- :func:`likelihood_grid`: one panel per sample-quality metric against the likelihood, in a grid of
  at most four columns, sized to stay legible at page width (about 1300 px at the default dpi).
- :func:`spectrum`: curves that metrics return in ``extras`` (the divergence spectrum, PRD ...).
"""

from __future__ import annotations

import io
import os
import math

import numpy as np

from metrics import InputError

#: Models are labelled in the scatter panels up to this many; above it the points stay unlabelled.
MAX_LABELLED = 16


def _spread_scale(set_scale, values) -> None:
    """A symmetric-log axis when the largest value exceeds 20 times the median (one outlier would otherwise
    squeeze every other model into a corner); linear otherwise."""
    v = np.abs(np.asarray(values, float))
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) >= 3 and v.max() / np.median(v) > 20:
        set_scale("symlog", linthresh=float(np.median(v)))


def _figure(width: float, height: float, layout: str | None = "constrained"):
    # a bare Figure renders through Agg and never touches a display or pyplot's global state
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def likelihood_grid(board, *, x: str | None = None, ncols: int = 4):
    """Likelihood (x axis) against each other metric (y axis), one labelled point per model.

    Parameters
    ----------
    board : Leaderboard
    x : str, optional
        Metric of the x axis; default the first likelihood metric, else the first metric.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        ``x`` not in the board, or nothing to plot against it.
    """
    if x is None:
        x = (board.likelihood_metrics or board.metrics)[0]
    elif x not in board.metrics:
        raise InputError(f"`x` must be a metric in these results ({', '.join(board.metrics)}); got {x!r}.")
    ys = [m for m in board.metrics if m != x and (m in board.quality_metrics or x not in board.likelihood_metrics)]
    if not ys:
        raise InputError(f"nothing to plot against {x!r}: the results hold no other metric.")
    vals = board.values()
    cols = min(ncols, len(ys))
    rows = math.ceil(len(ys) / cols)
    # fixed margins instead of a layout engine: the grid is regular, and constrained layout costs
    # seconds on large boards
    fig = _figure(3.6 * cols, 2.9 * rows + 0.4, layout=None)
    top = 1 - 0.45 / (2.9 * rows + 0.4)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.5 / (2.9 * rows + 0.4), top=top, wspace=0.28,
                        hspace=0.55)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    label = len(board.models) <= MAX_LABELLED
    for ax, y in zip(axes, ys):
        both = vals[[x, y]].dropna()
        ax.scatter(both[x], both[y], s=14, color="tab:blue", zorder=3)
        _spread_scale(ax.set_xscale, both[x])
        _spread_scale(ax.set_yscale, both[y])
        if label:
            for model, (vx, vy) in both.iterrows():
                ax.annotate(model, (vx, vy), textcoords="offset points", xytext=(3, 3), fontsize=7, clip_on=True)
        ax.set_title(f"{y} {board.arrow(y)}", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_xlabel(f"{x} {board.arrow(x)}", fontsize=8)
    for ax in axes[len(ys):]:
        ax.set_visible(False)
    fig.suptitle(f"{x} against each other metric (arrows: better direction; wide ranges on a symmetric log "
                 "scale)", fontsize=10, y=1 - 0.1 / (2.9 * rows + 0.4))
    return fig


def _curves(board) -> dict:
    """metric -> model -> (x, y, low, high, x label, y label) from the curves metrics return."""
    curves = {}
    for r in board.rows:
        if r.status != "ok":
            continue
        spectrum, curve = r.extras.get("spectrum"), r.extras.get("curve")
        if isinstance(spectrum, list) and spectrum and all(isinstance(p, dict) and "pi" in p and "d_pi" in p
                                                           for p in spectrum):
            xs, ys = [p["pi"] for p in spectrum], [p["d_pi"] for p in spectrum]
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
            *(np.asarray([math.nan if v is None else v for v in arr], float) for arr in (xs, ys, lo, hi)), *labels)
    return curves


def spectrum(board):
    """One panel per metric that returned a curve, one line per model (with its band when given).

    Raises
    ------
    InputError
        No metric returned a curve.
    """
    curves = _curves(board)
    if not curves:
        raise InputError("no metric in these results returned a curve (extras `spectrum` or `curve`); "
                         "score with the `spectrum` metric to plot a divergence spectrum.")
    fig = _figure(5.0 * len(curves), 3.8)
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (metric, per_model) in zip(axes, curves.items()):
        for model in board.models:
            if model not in per_model:
                continue
            xs, ys, lo, hi, xlabel, ylabel = per_model[model]
            (line,) = ax.plot(xs, ys, marker=".", label=model)
            if np.isfinite(lo).all() and np.isfinite(hi).all():
                ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
        ax.set_title(metric, fontsize=10)
        ax.legend(fontsize=7, ncol=2 if len(per_model) > 6 else 1)
    return fig


def plot(board, kind: str = "scatter", *, x: str | None = None, path=None):
    """``"scatter"`` (:func:`likelihood_grid`) or ``"spectrum"`` (:func:`spectrum`); saved to ``path`` too."""
    if kind == "scatter":
        fig = likelihood_grid(board, x=x)
    elif kind == "spectrum":
        fig = spectrum(board)
    else:
        raise InputError(f"`kind` must be 'scatter' or 'spectrum'; got {kind!r}.")
    if path is not None:  # rendered in memory, then written atomically (symlinks followed, modes kept)
        from .atomic import atomic_write

        buf = io.BytesIO()
        fig.savefig(buf, format=os.path.splitext(str(path))[1].lstrip(".").lower() or "png", bbox_inches="tight")
        atomic_write(path, buf.getvalue())
    return fig


def png_bytes(fig, *, dpi: int = 80) -> bytes:
    """The figure as PNG bytes with fixed metadata (regenerating an unchanged figure gives the same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def board_figures(board) -> dict:
    """name -> (PNG bytes, caption) for every figure the board supports (what ``publish`` writes)."""
    out = {}
    if board.likelihood_metrics and board.quality_metrics:
        out["likelihood_vs_quality.png"] = (png_bytes(likelihood_grid(board)),
                                            "Likelihood against each sample-quality metric, one point per model.")
    if _curves(board):
        out["spectrum.png"] = (png_bytes(spectrum(board)), "Curves returned by the metrics (e.g. the d_pi "
                               "divergence spectrum), one line per model.")
    return out
