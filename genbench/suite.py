"""Benchmark suites: one TOML file that regenerates a published leaderboard with one command.

Format (paths are relative to the suite file)::

    [suite]
    title = "Toy Gaussians"          # optional; heading of the published tables
    reference = "data/real.npy"      # the reference (real) set
    metrics = ["log_likelihood", "fid", "kernel"]   # names or groups
    extractor = "identity"           # feature extractor (default "identity")
    seed = 0                         # default 0
    output = "leaderboards/toy"      # published directory
    sort = "log_likelihood"          # optional
    significance = "auto"            # optional: "auto", "all", "none" or a list of metric names
    train = "data/train.npy"         # optional: the models' training set (memorisation metrics)
    n_samples = 10000                # optional: score the first N items of the reference and models

    [models]                         # name = path, in leaderboard order
    good = "data/good.npy"
    vae = "runs/vae"                 # a directory; runs/vae/log_probs.npy adds the likelihood

    device = "auto"                  # optional: auto, cpu, cuda, cuda:N, mps (--device overrides)
    numerics = "reference"           # optional: reference or fast (--numerics overrides)
    workers = 2                      # optional: image-decoding processes
    shard_size = 4096                # optional: items per cached shard (a multiple of batch_size)

    [options.kid]                    # optional: keyword options of one metric
    subset_size = 500

``genbench run SUITE.toml`` scores every model, publishes into ``output`` (creating its parent
folders) and records the suite file's SHA-256 and its path relative to ``output`` in
``provenance.json`` (never an absolute path).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from metrics import InputError

from .errors import OutputError, SampleError

_SUITE_KEYS = ("title", "reference", "metrics", "extractor", "seed", "output", "sort", "significance",
               "skip_bad", "batch_size", "weights", "device", "numerics", "workers", "shard_size",
               "train", "n_samples")
_REQUIRED = ("reference", "metrics", "output")


@dataclass(frozen=True)
class Suite:
    """A parsed suite file, paths resolved against its directory.

    Attributes
    ----------
    path : Path
        The suite file.
    reference : Path
    models : dict of str -> Path
    metrics : list of str
    output : Path
    extractor, seed, title, sort, significance, skip_bad, batch_size, weights, device, numerics, workers,
    shard_size, train, n_samples
        As in the file (see the module docstring).
    options : dict
        Per-metric options from ``[options.METRIC]`` tables (checked when the suite runs).
    sha256 : str
        Content hash of the suite file.
    """

    path: Path
    reference: Path
    models: dict
    metrics: list
    output: Path
    extractor: str = "identity"
    seed: int = 0
    title: str = "Leaderboard"
    sort: str | None = None
    significance: object = "auto"
    skip_bad: bool = False
    batch_size: int = 64
    weights: str | None = None
    device: str = "auto"
    numerics: str = "reference"
    workers: int | None = None
    shard_size: int | None = None
    options: dict = field(default_factory=dict)
    sha256: str = field(default="", repr=False)
    train: Path | None = None
    n_samples: int | None = None


def _expect(value, kind, key: str, path: Path, example: str):
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise InputError(f"{path}: `{key}` must be {example}; got {value!r}.")
    return value


def load_suite(path) -> Suite:
    """Parse and validate a suite TOML file.

    Raises
    ------
    InputError
        Missing file, invalid TOML (with the parser's line), unknown or missing keys (with
        suggestions), values of the wrong type, no models.
    """
    path = Path(path)
    if not path.is_file():
        raise SampleError(f"suite file {str(path)!r}: no such file. Check the path.")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc}).") from None
    unknown_tables = sorted(set(data) - {"suite", "models", "options"})
    if unknown_tables:
        raise InputError(f"{path}: unknown table(s) {unknown_tables}; a suite has [suite], [models] and "
                         "optionally [options.METRIC].")
    options = _expect(data.get("options", {}), dict, "[options]", path, "tables like [options.kid]")
    suite = _expect(data.get("suite"), dict, "[suite]", path, "a table")
    for key in suite:
        if key not in _SUITE_KEYS:
            close = difflib.get_close_matches(key, _SUITE_KEYS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputError(f"{path}: unknown key `{key}` in [suite].{hint} Known: {', '.join(_SUITE_KEYS)}.")
    for key in _REQUIRED:
        if key not in suite:
            raise InputError(f"{path}: [suite] needs `{key}`.")
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise InputError(f"{path}: [models] must list at least one model as name = \"path\".")
    base = path.parent
    for name, p in models.items():
        _expect(p, str, f"models.{name}", path, "a path string")
    metrics = suite["metrics"]
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise InputError(f"{path}: `metrics` must be a non-empty list of metric names or groups; got {metrics!r}.")
    significance = suite.get("significance", "auto")
    if not (isinstance(significance, str) or (isinstance(significance, list)
                                              and all(isinstance(s, str) for s in significance))):
        raise InputError(f"{path}: `significance` must be 'auto', 'all', 'none' or a list of metric names; "
                         f"got {significance!r}.")
    return Suite(
        path=path,
        reference=base / _expect(suite["reference"], str, "reference", path, "a path string"),
        models={str(n): base / p for n, p in models.items()},
        metrics=metrics,
        output=base / _expect(suite["output"], str, "output", path, "a path string"),
        extractor=_expect(suite.get("extractor", "identity"), str, "extractor", path, "an extractor name"),
        seed=_expect(suite.get("seed", 0), int, "seed", path, "a non-negative int"),
        title=_expect(suite.get("title", "Leaderboard"), str, "title", path, "a string"),
        sort=_expect(suite.get("sort", ""), str, "sort", path, "a metric name") or None,
        significance=significance,
        skip_bad=_expect(suite.get("skip_bad", False), bool, "skip_bad", path, "true or false"),
        batch_size=_expect(suite.get("batch_size", 64), int, "batch_size", path, "a positive int"),
        weights=_expect(suite.get("weights", ""), str, "weights", path, "a path string") or None,
        device=_expect(suite.get("device", "auto"), str, "device", path, "auto, cpu, cuda, cuda:N or mps"),
        numerics=_expect(suite.get("numerics", "reference"), str, "numerics", path, "'reference' or 'fast'"),
        workers=_expect(suite["workers"], int, "workers", path, "a non-negative int") if "workers" in suite else None,
        shard_size=_expect(suite.get("shard_size", 0), int, "shard_size", path, "a positive int") or None,
        options=options,
        sha256=hashlib.sha256(raw).hexdigest(),
        train=base / _expect(suite["train"], str, "train", path, "a path string") if "train" in suite else None,
        n_samples=_expect(suite["n_samples"], int, "n_samples", path, "a positive int") if "n_samples" in suite else None,
    )


def run_suite(path, *, progress: bool = False, **overrides):
    """Score a suite and publish its leaderboard into the suite's ``output`` directory.

    ``overrides`` (``device``, ``numerics``, ``workers``, ``shard_size``) replace the file's values.

    Returns
    -------
    (Leaderboard, Path)
        The leaderboard and the published directory; ``(None, None)`` on ``torchrun`` ranks other
        than 0, which only extract.
    """
    from .leaderboard import Leaderboard
    from .publish import check_target, publish
    from .runner import score_run

    suite = load_suite(path)
    output = Path(suite.output).absolute()
    # fail before the (slow) scoring, not after; missing parents are created only once there is a
    # board to publish, so a run that fails leaves no empty folders behind
    ancestor = next(p for p in output.parents if p.exists())
    if ancestor == output.parent:
        check_target(output)
    elif not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"cannot publish to {str(suite.output)!r}: {str(ancestor)!r} is not a writable "
                          "directory, so its missing folders cannot be created. Choose a writable `output`.")
    run = score_run(suite.reference, suite.models, suite.metrics, features=suite.extractor, seed=suite.seed,
                    skip_bad=suite.skip_bad, weights=suite.weights, batch_size=suite.batch_size,
                    significance=suite.significance, options=suite.options, progress=progress,
                    train=suite.train, n_samples=suite.n_samples,
                    **{k: overrides.get(k, getattr(suite, k)) for k in ("device", "numerics", "workers", "shard_size")})
    if run is None:  # a torchrun rank other than 0: it only extracted
        return None, None
    board = Leaderboard(run, sort=suite.sort, title=suite.title)
    try:  # like `mkdir -p`
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot publish to {str(suite.output)!r}: cannot create its parent folders "
                          f"({exc.strerror or exc}). Choose a writable `output`.") from None
    out = publish(board, suite.output, suite={"path": suite_path_from(suite.path, out_dir=output),
                                               "sha256": suite.sha256})
    return board, out


def suite_path_from(suite_path, *, out_dir) -> str:
    """The suite file's path as ``provenance.json`` records it: relative to the published folder.

    Never an absolute path (it would publish the user's home directory); just the file name when no
    relative path exists (another drive).

    Examples
    --------
    >>> suite_path_from("/home/ann/bench/suite.toml", out_dir="/home/ann/bench/boards/toy")
    '../../suite.toml'
    """
    suite_path, out_dir = Path(suite_path).absolute(), Path(out_dir).absolute()
    try:
        return Path(os.path.relpath(suite_path, out_dir)).as_posix()
    except ValueError:
        return suite_path.name
