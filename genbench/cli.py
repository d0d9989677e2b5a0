"""The ``genbench`` command: parse, call the library, render.

Results go to stdout (a table, or ``--format json|csv``) so they can be piped; progress, warnings
and errors go to stderr. Exit codes: 0 ok, 1 a metric failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from metrics import InputError

stderr = Console(stderr=True, soft_wrap=True)  # one message per line, never re-wrapped


def _show_warning(message, category, filename, lineno, file=None, line=None):
    stderr.print(f"[yellow]warning[/yellow]: {escape(str(message))}", highlight=False)


def _fmt(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e5 else f"{x:.4e}"
    return str(x)


def cmd_metrics(args) -> int:
    from metrics import available_metrics

    table = Table(title="Registered metrics")
    for col in ("name", "needs", "better", "group", "summary"):
        table.add_column(col, overflow="fold")
    for spec in available_metrics().values():
        cells = (spec.name, spec.needs, "higher" if spec.higher_is_better else "lower", spec.group, spec.summary)
        table.add_row(*map(escape, cells))
    Console(file=sys.stdout, width=max(100, Console().width)).print(table)
    return 0


def cmd_extractors(args) -> int:
    from .extractors import available_extractors

    table = Table(title="Feature extractors (--features NAME)")
    for col in ("name", "inputs", "options", "summary"):
        table.add_column(col, overflow="fold")
    for spec in available_extractors().values():
        table.add_row(spec.name, ", ".join(spec.inputs), ", ".join(spec.options), escape(spec.summary))
    Console(file=sys.stdout, width=max(100, Console().width)).print(table)
    return 0


def render(df, fmt: str) -> None:
    """Write a results DataFrame to stdout as a table, JSON records or CSV."""
    from .runner import results_records

    if fmt == "json":
        # results_records keeps full float precision (to_json rounds to 10 digits); NaN becomes null
        sys.stdout.write(json.dumps(results_records(df), indent=2) + "\n")
        return
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
        return
    table = Table()
    for col in ("model", "metric", "value", "95% CI", "p-value", "n", "status", "error"):
        table.add_column(col, overflow="fold")
    for r in df.itertuples():
        ci = "" if math.isnan(r.ci_low) else f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
        cells = (r.model, r.metric, _fmt(r.value), ci, _fmt(r.pvalue), ", ".join(map(str, json.loads(r.n))),
                 r.status, r.error)
        table.add_row(*map(escape, cells))
    Console(file=sys.stdout, width=max(120, Console().width)).print(table)


def _report_failures(df) -> int:
    """Log failed and not-applicable rows to stderr; the exit code: 1 when a metric failed."""
    for r in df.itertuples():
        if r.status == "failed":
            stderr.print(f"[red]metric failed[/red]: {escape(f'{r.metric} on {r.model}: {r.error}')}", highlight=False)
        elif r.status == "n/a":
            stderr.print(f"[dim]n/a[/dim]: {escape(f'{r.metric} on {r.model}: {r.error}')}", highlight=False)
    return 1 if (df["status"] == "failed").any() else 0


def parse_options(items) -> dict:
    """``["kid.subset_size=500", "c2st.classifier=mlp"]`` -> ``{"kid": {"subset_size": 500}, ...}``.

    Values are read as JSON when they parse (numbers, true/false, lists), else kept as strings.
    """
    options: dict = {}
    for item in items or ():
        target, sep, raw = item.partition("=")
        metric, dot, key = target.partition(".")
        if not (sep and dot and metric and key):
            raise InputError(f"`--option` must look like METRIC.OPTION=VALUE (e.g. kid.subset_size=500); got {item!r}.")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        options.setdefault(metric, {})[key] = value
    return options


def cmd_score(args) -> int:
    from .runner import check_writable, score, write_results

    if args.out:
        check_writable(args.out)  # before the slow part
    df = score(
        args.reference, args.models, metrics=args.metrics, features=args.features, seed=args.seed,
        skip_bad=args.skip_bad, cache=not args.no_cache, weights=args.weights, batch_size=args.batch_size,
        significance=args.significance, n_permutations=args.permutations, options=parse_options(args.option),
        progress=not args.quiet, train=args.train, n_samples=args.n_samples,
    )
    if args.out:
        write_results(df, args.out)
        stderr.print(f"wrote {len(df)} results to {args.out}", highlight=False)
    render(df, args.format)
    return _report_failures(df)


def _render_board(board, fmt: str) -> None:
    if fmt == "markdown":
        sys.stdout.write(board.to_markdown())
        return
    if fmt == "csv":
        sys.stdout.write(board.to_csv())
        return
    if fmt == "json":
        table = board.table()
        out = {
            "sort": board.sort,
            "models": [
                {"model": model, **{metric: {f: _json_value(table.loc[model, (metric, f)])
                                             for f in ("value", "ci_low", "ci_high", "rank", "status")}
                                    for metric in board.metrics}}
                for model in board.models
            ],
            "rank_agreement": [{k: _json_value(v) for k, v in rec.items()}
                               for rec in board.rank_agreement().to_dict(orient="records")],
            "disagreements": [{k: _json_value(v) for k, v in rec.items()}
                              for rec in board.disagreements().to_dict(orient="records")],
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table(title=f"ranked by {board.sort}")
    table.add_column("rank", justify="right")
    table.add_column("model")
    for metric in board.metrics:
        table.add_column(f"{metric} {'↑' if board.higher_is_better(metric) else '↓'}", overflow="fold")
    for cells in board.display_rows():
        table.add_row(*map(escape, cells))
    console = Console(file=sys.stdout, width=max(120, Console().width))
    console.print(table)
    sentences = board.disagreement_sentences()
    if board.likelihood_metrics and board.quality_metrics:
        console.print("Likelihood vs sample quality:", style="bold", highlight=False, markup=False)
        ag = board.rank_agreement()
        for r in ag[ag["likelihood_vs_quality"]].itertuples():
            console.print(f"  {r.metric_a} vs {r.metric_b}: Kendall tau {_fmt(r.kendall_tau, 3) or 'n/a'}, "
                          f"Spearman rho {_fmt(r.spearman_rho, 3) or 'n/a'} over {r.n_models} models", highlight=False,
                          markup=False)
        for s in sentences:
            console.print(f"  - {s}", highlight=False, markup=False)


def _json_value(v):
    if hasattr(v, "item"):
        v = v.item()
    return None if isinstance(v, float) and math.isnan(v) else v


def cmd_leaderboard(args) -> int:
    from .leaderboard import Leaderboard
    from .publish import check_target, publish
    from pathlib import Path

    if args.publish:
        check_target(Path(args.publish).absolute())
    board = Leaderboard(args.results, sort=args.sort, title=args.title)
    _render_board(board, args.format)
    if args.publish:
        out = publish(board, args.publish)
        stderr.print(f"published {out}", highlight=False)
    return 0


def cmd_run(args) -> int:
    from .suite import run_suite

    board, out = run_suite(args.suite, progress=not args.quiet)
    _render_board(board, args.format)
    stderr.print(f"published {out}", highlight=False)
    return _report_failures(board.results)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genbench",
        description="Evaluate generative models: likelihood, kernel tests, classifier divergences, perceptual proxies.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("metrics", help="list the registered metrics")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("extractors", help="list the registered feature extractors")
    p.set_defaults(func=cmd_extractors)

    p = sub.add_parser("score", help="score model sample sets against a reference set")
    p.add_argument("reference", help="reference (real) set: .npy/.npz features or saved mu/sigma statistics")
    p.add_argument("models", nargs="+", help="model sets; NAME=PATH names a model")
    p.add_argument("--metrics", default="fid",
                   help="comma-separated metric names or groups: likelihood, kernel, classifier, perceptual, memorisation, all "
                        "(default: fid)")
    p.add_argument("--features", default="identity",
                   help="feature extractor (default: identity); `genbench extractors` lists them")
    p.add_argument("--seed", type=int, default=0, help="seed passed to every randomised metric")
    p.add_argument("--out", help="also write the results as JSON lines to this file (for `genbench leaderboard`)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable samples instead of stopping")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    p.add_argument("--weights", help="weights file for the feature extractor")
    p.add_argument("--batch-size", type=int, default=64, help="feature-extraction batch size (default: 64)")
    p.add_argument("--significance", default="auto",
                   help="metrics tested pairwise between models: auto (log-prob metrics only: cheap), all, none, or "
                        "comma-separated names; each generated-set metric named costs 2 x PERMUTATIONS metric "
                        "calls per pair of models (default: auto)")
    p.add_argument("--permutations", type=int, default=199,
                   help="permutations per pair of models for the significance tests (default: 199)")
    p.add_argument("--option", action="append", metavar="METRIC.OPTION=VALUE",
                   help="an option for one metric, e.g. kid.subset_size=500 or c2st.classifier=mlp (repeatable)")
    p.add_argument("--train", metavar="TRAIN",
                   help="the models' training set, for the memorisation metrics (data_copying, authenticity); "
                        "REF is then read as a held-out test set")
    p.add_argument("--n-samples", type=int, metavar="N",
                   help="score only the first N items of the reference and of every model (sorted order; the training "
                        "set stays whole), e.g. the 50k / 10k protocols")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("leaderboard", help="rank models from results files; --publish writes the tables")
    p.add_argument("results", nargs="+", help="results.jsonl files written by `genbench score --out`")
    p.add_argument("--publish", metavar="DIR",
                   help="write leaderboard.md/html/tex/csv, results.jsonl and provenance.json into DIR")
    p.add_argument("--sort", help="metric to rank by (default: the first likelihood metric, else the first metric)")
    p.add_argument("--title", default="Leaderboard", help="heading of the published tables")
    p.add_argument("--format", choices=("table", "markdown", "json", "csv"), default="table", help="output format")
    p.set_defaults(func=cmd_leaderboard)

    # listed here for `genbench --help`; main() hands its arguments to the demo's own parser
    sub.add_parser("demo", help="run the offline demo suites and publish their leaderboards (genbench demo --help)")

    p = sub.add_parser("run", help="score and publish a benchmark suite described by a TOML file")
    p.add_argument("suite", help="suite file (see genbench.suite)")
    p.add_argument("--format", choices=("table", "markdown", "json", "csv"), default="table", help="output format")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    warnings.showwarning = _show_warning
    if argv[:1] == ["demo"]:
        from .demo import main as demo_main

        return demo_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        stderr.print(f"[red]genbench: error:[/red] {escape(str(exc))}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
