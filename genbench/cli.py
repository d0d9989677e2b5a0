"""The ``genbench`` command: parse, call the library, render.

Results go to stdout (a table, or ``--format json|csv``) so they can be piped; progress, warnings
and errors go to stderr. Exit codes: 0 ok, 1 a metric failed, 2 bad input, 130 interrupted by
Ctrl-C (SIGINT), 143 terminated by SIGTERM; an interrupt prints one line, ``interrupted``, and
leaves no temporary or staging files behind.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
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


def render(rows, fmt: str) -> None:
    """Write result rows to stdout as a table, JSON records or CSV."""
    from .results import rows_to_frame

    if fmt == "json":
        # the rows' own JSON form keeps full float precision; NaN becomes null
        sys.stdout.write(json.dumps([r.to_json() for r in rows], indent=2) + "\n")
        return
    df = rows_to_frame(rows)
    if fmt == "csv":
        df.assign(n=[" ".join(map(str, n)) for n in df["n"]], extras=[json.dumps(e) for e in df["extras"]]).to_csv(
            sys.stdout, index=False)
        return
    table = Table()
    for col in ("model", "metric", "value", "95% CI", "p-value", "n", "status", "error"):
        table.add_column(col, overflow="fold")
    for r in df.itertuples():
        ci = "" if math.isnan(r.ci_low) else f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
        cells = (r.model, r.metric, _fmt(r.value), ci, _fmt(r.pvalue), ", ".join(map(str, r.n)),
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


def _device_args(args) -> dict:
    """``--device/--numerics/--workers/--shard-size`` as library options (the device checked now, so a
    missing GPU is a one-line error before any work)."""
    from .extractors._torch import resolve_device

    if args.device is not None:
        resolve_device(args.device)
    return {k: v for k, v in dict(device=args.device, numerics=args.numerics, workers=args.workers,
                                   shard_size=args.shard_size).items() if v is not None}


def _distributed_failure(exc) -> int:
    stderr.print(f"[red]genbench: error:[/red] {escape(str(exc))}", highlight=False)
    return 1


def cmd_score(args) -> int:
    from .distributed import DistributedError
    from .runner import check_writable, score_run, write_results

    if args.out:
        check_writable(args.out)  # before the slow part
    try:
        run = score_run(
            args.reference, args.models, metrics=args.metrics, features=args.features, seed=args.seed,
            skip_bad=args.skip_bad, cache=not args.no_cache, weights=args.weights, batch_size=args.batch_size,
            significance=args.significance, options=parse_options(args.option), progress=not args.quiet,
            train=args.train, n_samples=args.n_samples, **_device_args(args),
        )
    except DistributedError as exc:
        return _distributed_failure(exc)
    if run is None:  # a torchrun rank other than 0: it extracted its shards; rank 0 scores and writes
        return 0
    if args.out:
        write_results(run.result_set(), args.out)
        stderr.print(f"wrote {len(run.rows)} results to {args.out} ({len(run.comparisons)} comparisons beside it)",
                     highlight=False)
    render(run.rows, args.format)
    return _report_failures(run.results)


def _render_board(board, fmt: str) -> None:
    """A leaderboard to stdout: a terminal table, Markdown, the report's JSON or the wide CSV."""
    from .report import dumps

    if fmt == "markdown":
        sys.stdout.write(board.to_markdown())
    elif fmt == "csv":
        sys.stdout.write(board.to_csv())
    elif fmt == "json":
        sys.stdout.write(dumps(board.report()))
    else:
        board.report().print(Console(file=sys.stdout, width=max(120, Console().width), highlight=False))


def _slug(label: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")[:60] or "group"


def cmd_leaderboard(args) -> int:
    from pathlib import Path

    from .leaderboard import Leaderboard, split_results
    from .publish import check_target, publish
    from .results import load_results

    if args.publish:
        check_target(Path(args.publish).absolute())
    loaded = load_results(args.results)
    if not args.split:
        boards = [(None, Leaderboard(loaded, sort=args.sort, title=args.title))]
    else:
        groups = split_results(loaded)
        boards = []
        for i, (label, part) in enumerate(groups.items(), 1):
            title = args.title if len(groups) == 1 else f"{args.title} ({label.split(':')[0]})"
            boards.append((f"group-{i}-{_slug(label.split(':')[0])}" if len(groups) > 1 else None,
                           Leaderboard(part, sort=args.sort, title=title)))
    for sub, board in boards:
        _render_board(board, args.format)
        if args.publish:
            target = Path(args.publish) if sub is None else Path(args.publish) / sub
            if sub is not None:
                target.parent.mkdir(exist_ok=True)
            out = publish(board, target)
            stderr.print(f"published {out}", highlight=False)
    return 0


def cmd_run(args) -> int:
    from .suite import run_suite

    board, out = run_suite(args.suite, progress=not args.quiet, **_device_args(args))
    if board is None:  # a torchrun rank other than 0
        return 0
    _render_board(board, args.format)
    stderr.print(f"published {out}", highlight=False)
    return _report_failures(board.results)


def _progress_flag(p) -> None:
    """One spelling across score, run and demo: --no-progress; -q/--quiet kept as aliases."""
    p.add_argument("--no-progress", "-q", "--quiet", action="store_true", dest="quiet",
                   help="no progress display on stderr (-q, --quiet: same)")


def _add_device_flags(p, suite: bool = False) -> None:
    over = " (overrides the suite file's value)" if suite else ""
    p.add_argument("--device", help="where network extractors run: auto (the local rank's GPU when CUDA is present, "
                                    f"else the CPU), cpu, cuda, cuda:N or mps (default: auto){over}")
    p.add_argument("--numerics", choices=("reference", "fast", "fast+compile"),
                   help="precision of network extractors: reference (float32, TF32 off, deterministic; default) or "
                        f"fast (TF32/bfloat16, autotuned kernels on GPUs); recorded in the extractor id{over}")
    p.add_argument("--workers", type=int, help=f"processes decoding image files (default: 2){over}")
    p.add_argument("--shard-size", type=int, help="items per cached shard, a multiple of --batch-size: the unit of "
                                                  f"resuming and of the work shared by torchrun ranks (default: 4096){over}")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="genbench",
        description="Evaluate generative models: likelihood, kernel tests, classifier divergences, perceptual proxies.",
    )
    parser.add_argument("--version", action="version", version=f"genbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("metrics", help="list the registered metrics")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("extractors", help="list the registered feature extractors")
    p.set_defaults(func=cmd_extractors)

    p = sub.add_parser("score", help="score model sample sets against a reference set")
    p.add_argument("reference", help="reference (real) set: an image directory (png/jpg/bmp/webp, with an image "
                                     "extractor in --features), .npy/.npz/.pt arrays or a directory of shards, "
                                     ".txt/.jsonl text, or saved mu/sigma statistics (.npz)")
    p.add_argument("models", nargs="+", help="model sets, each of the same kind as the reference; NAME=PATH names "
                                             "a model")
    p.add_argument("--metrics", default="fid",
                   help="comma-separated metric names or groups: likelihood, kernel, classifier, perceptual, memorisation, all "
                        "(default: fid)")
    p.add_argument("--features", default="identity",
                   help="feature extractor (default: identity, for (n, d) vectors; image directories need one "
                        "of pixels, random-cnn, digits, inception-fid); `genbench extractors` lists them")
    p.add_argument("--seed", type=int, default=0, help="seed passed to every randomised metric")
    p.add_argument("--out", help="also write the results as JSON lines to this file (for `genbench leaderboard`)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable samples instead of stopping")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    p.add_argument("--weights", help="weights file for the feature extractor")
    p.add_argument("--batch-size", type=int, default=64, help="feature-extraction batch size (default: 64)")
    p.add_argument("--significance", default="auto",
                   help="metrics compared pairwise between models (p-values adjusted for multiplicity): auto, all, "
                        "none, or comma-separated names (default: auto; see genbench.significance)")
    p.add_argument("--option", action="append", metavar="METRIC.OPTION=VALUE",
                   help="an option for one metric, e.g. kid.subset_size=500 or c2st.classifier=mlp (repeatable)")
    p.add_argument("--train", metavar="TRAIN",
                   help="the models' training set, for the memorisation metrics (data_copying, authenticity); "
                        "REF is then read as a held-out test set")
    p.add_argument("--n-samples", type=int, metavar="N",
                   help="score only the first N items of the reference and of every model (sorted order; the training "
                        "set stays whole), e.g. the 50k / 10k protocols")
    _progress_flag(p)
    _add_device_flags(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("leaderboard", help="rank models from results files; --publish writes the tables")
    p.add_argument("results", nargs="+", help="results.jsonl files written by `genbench score --out`")
    p.add_argument("--publish", metavar="DIR",
                   help="write leaderboard.md/html/tex/csv, results.jsonl and provenance.json into DIR")
    p.add_argument("--sort", help="metric to rank by (default: the first likelihood metric, else the first metric)")
    p.add_argument("--title", default="Leaderboard", help="heading of the published tables")
    p.add_argument("--format", choices=("table", "markdown", "json", "csv"), default="table", help="output format")
    p.add_argument("--split", action="store_true",
                   help="results from different references/extractors: one board per group (published into "
                        "DIR/group-N-REFERENCE/) instead of an error")
    p.set_defaults(func=cmd_leaderboard)

    # listed here for `genbench --help`; main() hands its arguments to the demo's own parser
    sub.add_parser("demo", help="run the offline demo suites and publish their leaderboards (genbench demo --help)")

    p = sub.add_parser("run", help="score and publish a benchmark suite described by a TOML file")
    p.add_argument("suite", help="suite file (see genbench.suite)")
    p.add_argument("--format", choices=("table", "markdown", "json", "csv"), default="table", help="output format")
    _progress_flag(p)
    _add_device_flags(p, suite=True)
    p.set_defaults(func=cmd_run)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` and cleanup handler runs."""


def _raise_terminated(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    warnings.showwarning = _show_warning
    previous = None
    try:  # only the main thread may install handlers (main() called from a thread keeps the default)
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:
        pass
    try:
        if argv[:1] == ["demo"]:
            from .demo import main as demo_main

            return demo_main(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except InputError as exc:
        stderr.print(f"[red]genbench: error:[/red] {escape(str(exc))}", highlight=False)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: one line, no traceback, the shell's codes
        terminated = isinstance(exc, Terminated)
        print("interrupted (SIGTERM)" if terminated else "interrupted", file=sys.stderr, flush=True)
        return 128 + (signal.SIGTERM if terminated else signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
