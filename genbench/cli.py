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
from rich.table import Table

from metrics import InputError

stderr = Console(stderr=True)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    stderr.print(f"[yellow]warning[/yellow]: {message}", highlight=False)


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
        table.add_row(spec.name, spec.needs, "higher" if spec.higher_is_better else "lower", spec.group, spec.summary)
    Console(file=sys.stdout, width=max(100, Console().width)).print(table)
    return 0


def render(df, fmt: str) -> None:
    """Write a results DataFrame to stdout as a table, JSON records or CSV."""
    if fmt == "json":
        # to_dict keeps full float precision (to_json rounds to 10 digits); NaN becomes null
        records = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
            for rec in df.to_dict(orient="records")
        ]
        for rec in records:
            rec["n"] = json.loads(rec["n"])
            rec["extras"] = json.loads(rec["extras"])
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
        return
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
        return
    table = Table()
    for col in ("model", "metric", "value", "95% CI", "p-value", "n", "error"):
        table.add_column(col, overflow="fold")
    for r in df.itertuples():
        ci = "" if math.isnan(r.ci_low) else f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
        table.add_row(r.model, r.metric, _fmt(r.value), ci, _fmt(r.pvalue), ", ".join(map(str, json.loads(r.n))),
                      r.error)
    Console(file=sys.stdout, width=max(120, Console().width)).print(table)


def cmd_score(args) -> int:
    from .runner import score

    df = score(args.reference, args.models, metrics=args.metrics, features=args.features, seed=args.seed)
    render(df, args.format)
    failed = df[df["error"] != ""]
    for r in failed.itertuples():
        stderr.print(f"[red]metric failed[/red]: {r.metric} on {r.model}: {r.error}", highlight=False)
    return 1 if len(failed) else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genbench",
        description="Evaluate generative models: likelihood, kernel tests, classifier divergences, perceptual proxies.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("metrics", help="list the registered metrics")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("score", help="score model sample sets against a reference set")
    p.add_argument("reference", help="reference (real) set: .npy/.npz features or saved mu/sigma statistics")
    p.add_argument("models", nargs="+", help="model sets; NAME=PATH names a model")
    p.add_argument("--metrics", default="fid", help="comma-separated metric names or groups (default: fid)")
    p.add_argument("--features", default="identity", help="feature extractor (default: identity)")
    p.add_argument("--seed", type=int, default=0, help="seed passed to every randomised metric")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    p.set_defaults(func=cmd_score)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return args.func(args)
    except InputError as exc:
        stderr.print(f"[red]genbench: error:[/red] {exc}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
