"""Likelihood family: exact test log-likelihood, bits per dimension, and Parzen-window estimates.

Exact likelihood is the yardstick the other families are compared against (Huszar 2015): a model
that reports per-example test log-probabilities is scored by their mean, in nats per example,
higher is better. Three ways in, one result shape:

- :func:`log_likelihood` - from an array of per-example log-probabilities (``log_probs.npy``);
- :func:`model_log_likelihood` - from a model object with ``log_prob`` / ``score_samples``;
- :func:`log_likelihood_from_report` - from a single reported number (NLL, bits/dim ...) and its unit.

:func:`parzen_log_likelihood` is the Gaussian kernel density estimate the GAN literature used for
models without a tractable likelihood (Breuleux et al. 2011; Goodfellow et al. 2014). It is here so
that published numbers can be reproduced and its failure mode demonstrated, not because it measures
likelihood: see Theis, van den Oord & Bethge (2016) and the Notes of that function.

Conventions, all in one place:

- ``value`` is always the mean log-likelihood per example in **nats** (natural log), whatever unit
  the input came in. Negative log-likelihood (NLL) is ``-value``.
- bits per dimension is ``-mean log2 p(x) / D = -value / (D ln 2)``: lower is better, reported in
  ``extras["bits_per_dim"]`` when the number of dimensions ``D`` (``n_dims``) is known.
- 8-bit data (images with values 0..255): bits/dim is only meaningful for a probability mass of the
  *discrete* data. A continuous density ``p`` fitted to uniformly dequantised pixels ``x + u``,
  ``u ~ U[0, 1)^D`` on the 0..256 scale gives a lower bound on the discrete log-mass, so its log-probs
  can be passed as they are. A density on data rescaled to ``[0, 1]`` (``y = (x + u) / 256``) must
  first be moved to the 0..256 scale by the change of variables ``log p_256 = log p_01 - D log 256``:
  pass ``log_probs - n_dims * np.log(256)``. Forgetting the shift makes bits/dim exactly 8 too small
  (a uniform density on ``[0, 1]^D`` would report 0 bits/dim instead of the correct 8).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.stats

from ._checks import as_matrix, check_choice, check_finite, check_int, check_pair, check_seed
from .errors import InputError, MetricWarning
from .registry import metric
from .result import ConfidenceInterval, MetricResult

__all__ = [
    "log_likelihood",
    "log_likelihood_difference",
    "log_likelihood_from_report",
    "model_log_likelihood",
    "parzen",
    "parzen_log_likelihood",
]

_LN2 = math.log(2.0)
_LOG_BASES = {"e": 1.0, "2": _LN2, "10": math.log(10.0)}  # multiply by this to get nats
_CI_METHODS = ("normal", "bootstrap")
_REPORT_UNITS = ("nats", "bits", "nats_per_dim", "bits_per_dim")
_REPORT_QUANTITIES = ("log_likelihood", "nll")
# bootstrap resamples are drawn this many at a time, so memory is bounded by about 4M indices
_BOOT_CELLS = 1 << 22
_DEFAULT_GRID_DECADES = (-2.0, 0.5, 26)  # log10 span and size of the default bandwidth grid, x scale


# ---------------------------------------------------------------------------------------------
# input checks (once, at the public entry)
# ---------------------------------------------------------------------------------------------


def _check_log_probs(log_probs, name: str = "log_probs") -> np.ndarray:
    """A finite float64 vector of per-example log-probabilities, or a message saying what is wrong."""
    if hasattr(log_probs, "detach"):  # torch tensors, without importing torch here
        log_probs = log_probs.detach().cpu().numpy()
    try:
        arr = np.asarray(log_probs)
    except Exception as exc:
        raise InputError(f"`{name}` could not be read as an array ({exc}). Pass a 1-D array of shape (n,).") from None
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InputError(f"`{name}` must be a real numeric array; got dtype {arr.dtype}. Pass a 1-D float array.")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InputError(
            f"`{name}` must be a 1-D array of per-example log-probabilities, shape (n,); got shape {arr.shape}. "
            "If these are per-dimension log-probabilities of a factorised model, sum them per example: "
            "`log_probs.reshape(len(log_probs), -1).sum(axis=1)`."
        )
    if arr.shape[0] == 0:
        raise InputError(f"`{name}` is empty; it needs at least 1 log-probability.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        row = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InputError(
            f"`{name}` contains non-finite values ({arr[row]}) first at row {row}. A log-probability of -inf "
            "means the model gives that test example zero probability, which makes the mean -inf; NaN means "
            "the model's evaluation failed. Fix the model's evaluation of those examples before scoring."
        )
    return arr


def _check_n_dims(n_dims) -> int | None:
    if n_dims is None:
        return None
    return check_int(n_dims, "n_dims", low=1,
                     hint="Pass the number of dimensions of one example, e.g. 784 for 28x28 images.")


def _check_base(base) -> str:
    if isinstance(base, numbers.Integral) and not isinstance(base, bool):
        base = str(int(base))
    if base not in _LOG_BASES:
        raise InputError(
            f"`base` must be one of {sorted(_LOG_BASES)}; got {base!r}. Say which logarithm the log-probs use."
        )
    return base


def _check_level(level) -> float:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < float(level) < 1.0:
        raise InputError(f"`level` must be a float in (0, 1); got {level!r}. Pass e.g. 0.95.")
    return float(level)


def _check_ci_options(ci_method, level, n_bootstrap) -> tuple[str, float, int]:
    ci_method = check_choice(ci_method, "ci_method", _CI_METHODS)
    level = _check_level(level)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", low=100, hint="Use at least 100 resamples (2000 is usual).")
    return ci_method, level, n_bootstrap


# ---------------------------------------------------------------------------------------------
# confidence intervals for a mean
# ---------------------------------------------------------------------------------------------


def _mean_ci(x: np.ndarray, ci_method: str, level: float, n_bootstrap: int, seed) -> ConfidenceInterval | None:
    """Interval for the mean of ``x``: Student t (n - 1 df) or bootstrap percentile."""
    n = len(x)
    if n < 2:
        warnings.warn(
            "one log-probability gives no confidence interval; pass more test examples.", MetricWarning, stacklevel=3
        )
        return None
    mean = float(x.mean())
    if ci_method == "normal":
        sem = float(x.std(ddof=1)) / math.sqrt(n)
        half = float(scipy.stats.t.ppf(0.5 + level / 2.0, df=n - 1)) * sem
        return ConfidenceInterval(mean - half, mean + half, level, "normal-t")
    rng = check_seed(seed)
    per_draw = max(1, _BOOT_CELLS // n)
    means = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, per_draw):
        stop = min(start + per_draw, n_bootstrap)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = x[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return ConfidenceInterval(float(low), float(high), level, f"bootstrap-percentile ({n_bootstrap} resamples)")


def _summary(x: np.ndarray) -> dict:
    """Per-example spread, small and JSON-friendly (the runner reads the full arrays itself)."""
    n = len(x)
    q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "std": float(x.std(ddof=1)) if n > 1 else 0.0,
        "sem": float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
        "min": float(x.min()),
        "max": float(x.max()),
        "quantiles": {"0.05": float(q[0]), "0.25": float(q[1]), "0.5": float(q[2]),
                      "0.75": float(q[3]), "0.95": float(q[4])},
    }


def _per_dim(value: float, n_dims: int | None) -> dict:
    if n_dims is None:
        return {}
    return {"n_dims": n_dims, "nats_per_dim": -value / n_dims, "bits_per_dim": -value / (n_dims * _LN2)}


# ---------------------------------------------------------------------------------------------
# exact log-likelihood from log-probabilities
# ---------------------------------------------------------------------------------------------


@metric("log_likelihood", needs="log_probs", higher_is_better=True, group="likelihood")
def log_likelihood(log_probs, *, n_dims=None, base="e", ci_method="normal", level=0.95, n_bootstrap=2000,
                   seed=0) -> MetricResult:
    """Mean test log-likelihood (nats per example) from a model's per-example log-probabilities.

    Parameters
    ----------
    log_probs : array_like of shape (n,)
        ``log p(x_i)`` of each test example under the model, in the logarithm given by ``base``.
        Shape ``(n, 1)`` is accepted; anything else with more than one column is rejected (sum
        per-dimension terms per example first). A torch tensor is accepted.
    n_dims : int, optional
        Dimensions of one example (e.g. ``784`` for 28x28 images, ``3072`` for 32x32x3). When given,
        ``extras`` also holds nats and bits per dimension.
    base : {"e", "2", "10"}
        Logarithm of ``log_probs``: ``"e"`` nats (torch, scikit-learn), ``"2"`` bits.
    ci_method : {"normal", "bootstrap"}
        ``"normal"``: mean +- t quantile (Student t with n - 1 degrees of freedom) x standard error;
        ``"bootstrap"``: percentile interval over ``n_bootstrap`` resampled means (seeded by ``seed``).
    level : float
        Nominal coverage of the interval.
    n_bootstrap : int
        Resamples for ``ci_method="bootstrap"``.
    seed : int or numpy.random.Generator
        Seeds the bootstrap; unused by the normal interval.

    Returns
    -------
    MetricResult
        ``value``: mean log-likelihood in nats per example (higher is better). ``ci``: interval for
        that mean over test examples. ``extras``: ``nll`` (= ``-value``, nats), ``std``, ``sem``,
        ``min``, ``max``, ``quantiles`` of the per-example log-likelihood (nats), ``sum`` and, with
        ``n_dims``, ``nats_per_dim`` and ``bits_per_dim`` (``-value / (n_dims ln 2)``, lower is
        better). ``n = (n,)``.

    Raises
    ------
    InputError
        Non-finite log-probabilities (the message gives the first row), a 2-D array, an empty
        array, a bad ``base``, ``n_dims``, ``ci_method`` or ``level``.

    Notes
    -----
    The default ``"normal"`` interval is the t interval; with skewed per-example log-probs it keeps
    its level well from n of a few dozen (measured coverage 0.944 at n = 100, nominal 0.95). The
    percentile bootstrap covers a little less at small n (0.938 at n = 100) and is offered for
    comparison with papers that report it.

    The interval covers sampling variation of the *test set* only; the model is held fixed. To
    compare two models on the same test examples use the paired :func:`log_likelihood_difference`:
    per-example differences are far less noisy than two separate intervals suggest.

    Bits per dimension is ``-E[log2 p(x)] / D``. For 8-bit data the log-probs must be of the
    discrete data, or of a continuous density on dequantised data on the 0..256 scale; a density
    on data rescaled to ``[0, 1]`` needs ``log_probs - n_dims * log(256)`` first (see the module
    docstring), otherwise bits/dim comes out exactly 8 too low.

    References
    ----------
    Theis, van den Oord & Bethge, "A note on the evaluation of generative models", ICLR 2016
    (section 3.1, dequantisation). Huszar, "How (not) to train your generative model", 2015.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> lp = np.full(100, -784 * np.log(2.0))        # one bit per dimension for every example
    >>> r = metrics.log_likelihood(lp, n_dims=784)
    >>> round(r.extras["bits_per_dim"], 6), round(r.extras["nll"], 2)
    (1.0, 543.43)
    """
    x = _check_log_probs(log_probs)
    n_dims = _check_n_dims(n_dims)
    x = x * _LOG_BASES[_check_base(base)]
    ci_method, level, n_bootstrap = _check_ci_options(ci_method, level, n_bootstrap)
    value = float(x.mean())
    ci = _mean_ci(x, ci_method, level, n_bootstrap, seed)
    extras = {"nll": -value, "unit": "nats", "sum": float(x.sum()), **_summary(x), **_per_dim(value, n_dims)}
    return MetricResult("log_likelihood", value, higher_is_better=True, ci=ci, n=(len(x),), extras=extras)


def log_likelihood_difference(log_probs_a, log_probs_b, *, n_dims=None, base="e", ci_method="normal", level=0.95,
                              n_bootstrap=2000, seed=0) -> MetricResult:
    """Paired difference of mean test log-likelihood, model A minus model B, on the same test examples.

    Parameters
    ----------
    log_probs_a, log_probs_b : array_like of shape (n,)
        Per-example log-probabilities of the *same* test examples in the *same* order.
    n_dims, base, ci_method, level, n_bootstrap, seed
        As in :func:`log_likelihood`; the bootstrap resamples examples, keeping pairs together.

    Returns
    -------
    MetricResult
        ``metric="log_likelihood_difference"``, ``value`` = mean of ``a_i - b_i`` in nats (positive:
        A is better), ``ci`` for it, ``pvalue`` of the two-sided paired t-test of zero mean
        difference. ``extras``: ``std``/``sem``/quantiles of the differences, ``frac_a_better``
        (share of examples where A gives higher probability) and, with ``n_dims``,
        ``bits_per_dim_difference`` (A minus B; negative: A is better).

    Notes
    -----
    Pairing removes the between-example spread that both models share (hard examples are hard for
    both), so the interval is usually much narrower than the two separate intervals suggest.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> b = rng.normal(-100.0, 10.0, size=500)         # model B; model A is 0.5 nats better on average
    >>> a = b + 0.5 + rng.normal(0.0, 1.0, size=500)
    >>> r = metrics.log_likelihood_difference(a, b)
    >>> bool(r.ci.low > 0), bool(metrics.log_likelihood(a).ci.low > metrics.log_likelihood(b).ci.high)
    (True, False)
    """
    a = _check_log_probs(log_probs_a, "log_probs_a")
    b = _check_log_probs(log_probs_b, "log_probs_b")
    if a.shape != b.shape:
        raise InputError(
            f"`log_probs_a` and `log_probs_b` must hold the same test examples in the same order; got lengths "
            f"{len(a)} and {len(b)}. Evaluate both models on the same test set."
        )
    n_dims = _check_n_dims(n_dims)
    scale = _LOG_BASES[_check_base(base)]
    ci_method, level, n_bootstrap = _check_ci_options(ci_method, level, n_bootstrap)
    d = (a - b) * scale
    value = float(d.mean())
    ci = _mean_ci(d, ci_method, level, n_bootstrap, seed)
    pvalue = None
    if len(d) > 1:
        sd = float(d.std(ddof=1))
        if sd > 0:
            tstat = value / (sd / math.sqrt(len(d)))
            pvalue = float(2.0 * scipy.stats.t.sf(abs(tstat), df=len(d) - 1))
        elif value == 0.0:
            pvalue = 1.0  # identical log-probs; a constant non-zero gap has p = 0, left as None
    extras = {"unit": "nats", **_summary(d), "frac_a_better": float(np.mean(d > 0))}
    if n_dims is not None:
        extras.update(n_dims=n_dims, bits_per_dim_difference=-value / (n_dims * _LN2))
    return MetricResult("log_likelihood_difference", value, higher_is_better=True, ci=ci, pvalue=pvalue,
                        n=(len(d),), extras=extras)


def log_likelihood_from_report(value, *, unit, quantity="log_likelihood", n_dims=None, n=None) -> MetricResult:
    """Turn one reported number (a paper's NLL, bits/dim ...) into a ``log_likelihood`` result.

    Parameters
    ----------
    value : float
        The reported number.
    unit : {"nats", "bits", "nats_per_dim", "bits_per_dim"}
        ``"nats"``/``"bits"``: per example (natural log / log2). ``"nats_per_dim"``/``"bits_per_dim"``:
        per example divided by the number of dimensions ``n_dims``.
    quantity : {"log_likelihood", "nll"}
        Sign convention of ``value``: ``"log_likelihood"`` (higher is better, usually negative) or
        ``"nll"`` (negative log-likelihood, lower is better, usually positive; bits/dim figures in
        papers are NLLs).
    n_dims : int, optional
        Dimensions of one example. Required for the per-dimension units (the result is always per
        example); with it, ``extras`` also holds ``bits_per_dim``.
    n : int, optional
        Number of test examples behind the reported number, if known (goes to ``result.n``).

    Returns
    -------
    MetricResult
        ``metric="log_likelihood"``, ``value`` = mean log-likelihood in nats per example, the same
        scale as :func:`log_likelihood`; ``ci=None`` (a single number has no interval);
        ``extras``: ``nll``, ``source="reported"``, ``reported`` (the original value, unit and
        quantity) and, with ``n_dims``, ``nats_per_dim``/``bits_per_dim``.

    Warns
    -----
    MetricWarning
        For ``quantity="log_likelihood"`` with a positive value in a per-dimension unit, or
        ``quantity="nll"`` with a negative one: possible for continuous densities, but usually a
        sign mix-up (bits/dim tables report NLL).

    Examples
    --------
    >>> from metrics import log_likelihood_from_report
    >>> r = log_likelihood_from_report(3.0, unit="bits_per_dim", quantity="nll", n_dims=3072)
    >>> round(r.value, 2), r.extras["bits_per_dim"]
    (-6388.04, 3.0)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise InputError(f"`value` must be a finite number; got {value!r}. Pass the reported NLL or log-likelihood.")
    unit = check_choice(unit, "unit", _REPORT_UNITS)
    quantity = check_choice(quantity, "quantity", _REPORT_QUANTITIES)
    n_dims = _check_n_dims(n_dims)
    if n is not None:
        n = check_int(n, "n", low=1)
    if unit.endswith("_per_dim") and n_dims is None:
        raise InputError(
            f"`n_dims` is needed to turn {unit} into a per-example log-likelihood; got None. "
            "Pass the number of dimensions of one example, e.g. n_dims=3072 for 32x32x3 images."
        )
    reported = float(value)
    if unit.endswith("_per_dim") and (reported > 0) == (quantity == "log_likelihood") and reported != 0:
        warnings.warn(
            f"a {'positive log-likelihood' if reported > 0 else 'negative NLL'} of {reported} {unit} is only "
            "possible for a continuous density; per-dimension tables usually report NLL. Check `quantity`.",
            MetricWarning,
            stacklevel=2,
        )
    nats = reported * (_LN2 if unit.startswith("bits") else 1.0)
    if unit.endswith("_per_dim"):
        nats *= n_dims
    ll = nats if quantity == "log_likelihood" else -nats
    extras = {"nll": -ll, "unit": "nats", "source": "reported",
              "reported": {"value": reported, "unit": unit, "quantity": quantity}, **_per_dim(ll, n_dims)}
    return MetricResult("log_likelihood", ll, higher_is_better=True, ci=None, n=() if n is None else (n,),
                        extras=extras)


# ---------------------------------------------------------------------------------------------
# log-likelihood of a model object
# ---------------------------------------------------------------------------------------------


def _model_evaluator(model):
    """A function batch -> log-probs array for the supported model kinds, and a label for messages."""
    if hasattr(model, "log_prob") and callable(model.log_prob):
        import torch

        dtype = device = None
        params = getattr(model, "parameters", None)
        if callable(params):  # torch.nn.Module (normalising flows ...): follow its weights
            first = next(iter(params()), None)
            if first is not None:
                dtype, device = first.dtype, first.device
        else:  # torch.distributions.Distribution: follow its parameters' dtype
            try:
                mean = model.mean
                if isinstance(mean, torch.Tensor) and mean.is_floating_point():
                    dtype, device = mean.dtype, mean.device
            except Exception:  # distributions without a mean (e.g. Cauchy) raise here
                pass

        def evaluate(batch):
            t = batch if isinstance(batch, torch.Tensor) else torch.as_tensor(batch)
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype=dtype, device=device)
            with torch.no_grad():
                out = model.log_prob(t)
            return out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)

        return evaluate, f"{type(model).__name__}.log_prob"
    if hasattr(model, "score_samples") and callable(model.score_samples):
        def evaluate(batch):
            if hasattr(batch, "detach"):
                batch = batch.detach().cpu().numpy()
            return np.asarray(model.score_samples(np.asarray(batch).reshape(len(batch), -1)))

        return evaluate, f"{type(model).__name__}.score_samples"
    if callable(model) and not hasattr(model, "forward"):
        return (lambda batch: np.asarray(_to_numpy(model(batch)))), getattr(model, "__name__", "model")
    raise InputError(
        f"`model` must have a `log_prob(x)` method (torch.distributions, normalising flows), a "
        f"`score_samples(X)` method (scikit-learn density estimators) or be a function x -> log p(x); "
        f"got {type(model).__name__}. Wrap it, e.g. `lambda x: my_model.log_likelihood(x)`."
    )


def _to_numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x


def model_log_likelihood(model, data, *, batch_size=1024, n_dims=None, base="e", ci_method="normal", level=0.95,
                         n_bootstrap=2000, seed=0, progress=None) -> MetricResult:
    """Mean test log-likelihood of a model object, evaluated in batches (same result as ``log_likelihood``).

    Parameters
    ----------
    model : object
        Anything with ``log_prob(x)`` returning one log-probability per row (``torch.distributions``
        objects, normalising-flow ``nn.Module`` s), or with ``score_samples(X)`` (scikit-learn
        ``GaussianMixture``, ``KernelDensity`` ...), or a plain function ``x -> log p(x)``.
        torch models run under ``torch.no_grad()``; numpy batches are converted to the dtype and
        device of the model's parameters. ``score_samples`` gets rows flattened to ``(b, -1)``.
    data : array_like or torch.Tensor of shape (n, ...)
        Test examples; row ``i`` is one example (images may keep their ``(C, H, W)`` shape).
    batch_size : int
        Rows per call to the model (bounds memory; the result does not depend on it).
    n_dims, base, ci_method, level, n_bootstrap, seed
        As in :func:`log_likelihood`. ``base`` is the logarithm the model returns (``"e"`` for
        torch and scikit-learn).
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch with the number of examples evaluated.
        This package never prints; the harness or a notebook wires this to a progress bar, e.g.
        ``rich.progress`` or ``tqdm``: ``bar = tqdm(total=len(x)); progress=lambda d, t: bar.update(d - bar.n)``.

    Returns
    -------
    MetricResult
        Exactly what :func:`log_likelihood` returns on the concatenated per-example log-probs.

    Raises
    ------
    InputError
        Unsupported model, a model returning the wrong number of values per batch (e.g. a
        ``Normal`` with per-dimension output: wrap it as ``Independent(dist, 1)``), non-finite
        log-probs (with the row), bad options.

    Warns
    -----
    MetricWarning
        When a torch module is in training mode (dropout / batch-norm change the log-probs): call
        ``model.eval()`` first. This function does not change the model's mode.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> from sklearn.mixture import GaussianMixture
    >>> x = np.random.default_rng(0).normal(size=(2000, 2))
    >>> gm = GaussianMixture(1, random_state=0).fit(x)
    >>> r = metrics.model_log_likelihood(gm, x, batch_size=500)
    >>> bool(np.isclose(r.value, gm.score(x)))
    True
    """
    batch_size = check_int(batch_size, "batch_size", low=1)
    if progress is not None and not callable(progress):
        raise InputError(f"`progress` must be a callable(done, total) or None; got {type(progress).__name__}.")
    if not hasattr(data, "detach"):
        try:
            data = np.asarray(data)
        except Exception as exc:
            raise InputError(f"`data` could not be read as an array ({exc}). Pass an (n, ...) array.") from None
        if not np.issubdtype(data.dtype, np.number):
            raise InputError(f"`data` must be numeric; got dtype {data.dtype}.")
        if data.ndim >= 1 and np.issubdtype(data.dtype, np.floating):
            check_finite(data.reshape(len(data), -1) if data.ndim > 1 else data, "data")
    shape = tuple(data.shape)
    if len(shape) == 0 or shape[0] == 0:
        raise InputError(f"`data` must hold at least one example along its first axis; got shape {shape}.")
    # validate the scoring options before spending time on the model
    _check_n_dims(n_dims)
    _check_base(base)
    _check_ci_options(ci_method, level, n_bootstrap)
    if getattr(model, "training", False) is True and hasattr(model, "eval"):
        warnings.warn(
            f"`model` ({type(model).__name__}) is in training mode: dropout and batch-norm change its "
            "log-probabilities. Call `model.eval()` before scoring.",
            MetricWarning,
            stacklevel=2,
        )
    evaluate, label = _model_evaluator(model)
    n = shape[0]
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        lp = np.asarray(_to_numpy(evaluate(data[start:stop])))
        if lp.shape not in ((stop - start,), (stop - start, 1)):
            raise InputError(
                f"{label} returned shape {lp.shape} for a batch of {stop - start} examples; expected "
                f"({stop - start},), one log-probability per example. For a factorised torch distribution "
                "wrap it as `torch.distributions.Independent(dist, reinterpreted_batch_ndims=1)`."
            )
        out[start:stop] = lp.reshape(-1)
        if progress is not None:
            progress(stop, n)
    return log_likelihood(out, n_dims=n_dims, base=base, ci_method=ci_method, level=level,
                          n_bootstrap=n_bootstrap, seed=seed)


# ---------------------------------------------------------------------------------------------
# Parzen-window (Gaussian KDE) log-likelihood
# ---------------------------------------------------------------------------------------------


def _check_bandwidth(bandwidth) -> float | str:
    if isinstance(bandwidth, str):
        if bandwidth != "cv":
            raise InputError(f"`bandwidth` must be a positive float or 'cv'; got {bandwidth!r}.")
        return bandwidth
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, numbers.Real) or not (
            math.isfinite(float(bandwidth)) and float(bandwidth) > 0):
        raise InputError(
            f"`bandwidth` must be a positive finite float or 'cv'; got {bandwidth!r}. "
            "Pass the kernel standard deviation in data units, or 'cv' to choose it on validation data."
        )
    return float(bandwidth)


def _check_grid(grid) -> np.ndarray | None:
    if grid is None:
        return None
    g = np.asarray(grid, dtype=np.float64).reshape(-1) if np.ndim(grid) <= 1 else None
    if g is None or g.size == 0 or not np.isfinite(g).all() or (g <= 0).any():
        raise InputError(
            f"`grid` must be a non-empty 1-D array of positive finite bandwidths; got {grid!r}. "
            "Pass e.g. np.logspace(-2, 0, 21)."
        )
    return np.unique(g)


def _check_fraction(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < 1.0:
        raise InputError(f"`validation_fraction` must be a float in (0, 1); got {value!r}. Pass e.g. 0.5.")
    return float(value)


def _parzen_log_density(x: np.ndarray, samples: np.ndarray, bandwidths: np.ndarray, chunk_size: int) -> np.ndarray:
    """log p_s(x_j) for every row of ``x`` and every bandwidth s: an (m, B) float64 array.

    Memory is bounded by a (chunk_size, chunk_size) block of squared distances; each block is
    computed once and reused for every bandwidth, and the log-sum-exp over samples is streamed
    across sample blocks with a running per-row minimum distance as the shift.
    """
    n_s, d = samples.shape
    # distances are translation invariant; centring first keeps ||x||^2 + ||s||^2 - 2 x.s from
    # cancelling badly when the data sit far from the origin
    centre = samples.mean(axis=0)
    samples = samples - centre
    x = x - centre
    s_sq = np.einsum("ij,ij->i", samples, samples)
    inv = 0.5 / bandwidths**2  # exponent is -D * inv
    out = np.empty((len(x), len(bandwidths)))
    buf = np.empty((chunk_size, min(chunk_size, n_s)))
    for i0 in range(0, len(x), chunk_size):
        xi = x[i0:i0 + chunk_size]
        r = len(xi)
        x_sq = np.einsum("ij,ij->i", xi, xi)
        dmin = np.full(r, np.inf)
        acc = np.zeros((r, len(bandwidths)))
        for j0 in range(0, n_s, chunk_size):
            sj = samples[j0:j0 + chunk_size]
            dist = xi @ sj.T
            dist *= -2.0
            dist += x_sq[:, None]
            dist += s_sq[None, j0:j0 + len(sj)]
            np.maximum(dist, 0.0, out=dist)
            new_min = np.minimum(dmin, dist.min(axis=1))
            if j0:  # terms summed so far were shifted by the old minimum; move them to the new one
                acc *= np.exp(-(dmin - new_min)[:, None] * inv[None, :])
            dist -= new_min[:, None]
            tmp = buf[:r, :len(sj)]
            for b, c in enumerate(inv):
                np.multiply(dist, -c, out=tmp)
                np.exp(tmp, out=tmp)
                acc[:, b] += tmp.sum(axis=1)
            dmin = new_min
        # acc >= 1 (the nearest sample contributes exp(0)), so the log is safe
        out[i0:i0 + r] = np.log(acc) - dmin[:, None] * inv[None, :]
    out -= math.log(n_s) + d * (np.log(bandwidths) + 0.5 * math.log(2.0 * math.pi))[None, :]
    return out


def _default_grid(samples: np.ndarray, validation: np.ndarray) -> tuple[np.ndarray, float]:
    """Log grid around the data's overall scale: sqrt of the mean per-feature variance of ``samples``."""
    scale = math.sqrt(float(samples.var(axis=0).mean()))
    if scale == 0.0:  # all samples identical: use how far validation points sit from them
        scale = math.sqrt(float(((validation - samples[0]) ** 2).mean()))
    if scale == 0.0:
        raise InputError(
            "every sample and validation point is identical, so no bandwidth can be chosen by 'cv'. "
            "Pass a float `bandwidth`."
        )
    lo, hi, num = _DEFAULT_GRID_DECADES
    return scale * np.logspace(lo, hi, int(num)), scale


def _parzen(test: np.ndarray, samples: np.ndarray, *, bandwidth, validation: np.ndarray | None, grid, seed,
            validation_fraction: float, chunk_size: int, level: float, names: tuple[str, str]) -> MetricResult:
    extras: dict = {}
    if bandwidth == "cv":
        if validation is None:
            if len(test) < 2:
                raise InputError(
                    f"`{names[0]}` needs at least 2 rows to split into validation and test halves for "
                    f"bandwidth='cv'; got {len(test)}. Pass `validation` or a float `bandwidth`."
                )
            perm = check_seed(seed).permutation(len(test))
            n_val = min(max(1, int(round(validation_fraction * len(test)))), len(test) - 1)
            validation, test = test[np.sort(perm[:n_val])], test[np.sort(perm[n_val:])]
            extras["validation"] = f"seeded split of `{names[0]}` ({n_val} validation rows, seed {seed})"
        else:
            extras["validation"] = "given"
        if grid is None:
            grid, scale = _default_grid(samples, validation)
            extras["grid_scale"] = scale
        # one pass over the distances serves both the choice (validation rows) and the estimate
        both = _parzen_log_density(np.vstack([validation, test]), samples, grid, chunk_size)
        cv = both[:len(validation)].mean(axis=0)
        best = int(np.argmax(cv))
        if len(grid) > 1 and best in (0, len(grid) - 1):
            warnings.warn(
                f"the bandwidth chosen by 'cv' ({grid[best]:.4g}) is at the {'low' if best == 0 else 'high'} "
                f"end of the grid [{grid[0]:.4g}, {grid[-1]:.4g}]; the best bandwidth may lie outside it. "
                "Pass a wider `grid`.",
                MetricWarning,
                stacklevel=3,
            )
        per_example = both[len(validation):, best]
        s = float(grid[best])
        extras.update(bandwidth_method="cv", n_validation=len(validation), grid=[float(g) for g in grid],
                      cv_log_likelihood=[float(v) for v in cv])
    else:
        if grid is not None:
            raise InputError("`grid` is only used with bandwidth='cv'; got a float bandwidth and a grid. Drop one.")
        s = float(bandwidth)
        per_example = _parzen_log_density(test, samples, np.array([s]), chunk_size)[:, 0]
        extras["bandwidth_method"] = "fixed"
    value = float(per_example.mean())
    ci = _mean_ci(per_example, "normal", level, 0, None)
    extras.update(bandwidth=s, **_summary(per_example))
    return MetricResult("parzen", value, higher_is_better=True, ci=ci, n=(len(per_example), len(samples)),
                        extras=extras)


def _check_parzen_common(bandwidth, grid, validation_fraction, chunk_size, level):
    return (_check_bandwidth(bandwidth), _check_grid(grid), _check_fraction(validation_fraction),
            check_int(chunk_size, "chunk_size", low=1, hint="Pass e.g. 1024 (memory ~ 16 chunk_size^2 bytes)."),
            _check_level(level))


def parzen_log_likelihood(test, samples, *, bandwidth="cv", validation=None, grid=None, validation_fraction=0.5,
                          seed=0, chunk_size=1024, level=0.95) -> MetricResult:
    """Parzen-window (Gaussian KDE) log-likelihood of test data under a model's samples.

    The estimator of Breuleux et al. (2011) used for GANs by Goodfellow et al. (2014): a Gaussian
    with isotropic standard deviation ``s`` (the bandwidth) is put on every model sample and the
    test data are scored under that mixture,

        log p(x) = logmeanexp_i( -||x - s_i||^2 / (2 s^2) ) - d log(s sqrt(2 pi)).

    **Not a measure of the model's likelihood**: read the Notes before using the number.

    Parameters
    ----------
    test : array_like of shape (m, d)
        Real test data (held out from the model's training).
    samples : array_like of shape (n, d)
        Samples drawn from the model.
    bandwidth : float or "cv"
        Kernel standard deviation in data units, or ``"cv"``: the bandwidth on ``grid`` that
        maximises the mean log-likelihood of the ``validation`` data.
    validation : array_like of shape (k, d), optional
        Real validation data for ``"cv"`` (disjoint from ``test``). When omitted, ``test`` is split
        by a seeded permutation: ``validation_fraction`` of its rows choose the bandwidth and only
        the remaining rows are scored (``result.n[0]`` says how many).
    grid : array_like, optional
        Candidate bandwidths for ``"cv"``. Default: 26 values log-spaced over
        ``[0.01, 3.16] x scale`` (10 per decade), where ``scale`` is the root mean per-feature
        variance of ``samples``.
    validation_fraction : float
        Share of ``test`` used for validation when ``validation`` is omitted.
    seed : int or numpy.random.Generator
        Seeds the validation split (only used when it happens).
    chunk_size : int
        Rows of test and sample blocks: memory is about ``16 * chunk_size**2`` bytes whatever
        ``m`` and ``n`` are, and the result does not depend on it beyond float64 rounding.
    level : float
        Coverage of the interval.

    Returns
    -------
    MetricResult
        ``metric="parzen"``. ``value``: mean log-density of the scored test rows in nats (higher is
        better). ``ci``: mean +- t quantile x standard error over test rows (``"normal-t"``); the
        standard error is what the GAN papers report after the +-. ``extras``: ``bandwidth``,
        ``bandwidth_method`` (``"cv"`` or ``"fixed"``), ``std``/``sem``/quantiles of the per-row
        log-densities, and for ``"cv"`` the ``grid``, the validation curve ``cv_log_likelihood``,
        ``n_validation`` and where the validation data came from. ``n = (rows scored, n samples)``.

    Raises
    ------
    InputError
        Non-finite values (with the row), a feature-count mismatch, ``bandwidth <= 0``, a bad grid.

    Warns
    -----
    MetricWarning
        When the ``"cv"`` choice sits at either end of the grid.

    Notes
    -----
    Why this estimator is unreliable (Theis, van den Oord & Bethge 2016):

    - In high dimensions it converges extremely slowly: with the 10k samples used in practice the
      estimate on MNIST is far from the model's true log-likelihood, and the error does not even
      rank models consistently.
    - It rewards the wrong things. A model that outputs k-means centroids of the training data, or
      blurry averages, gets a *higher* Parzen estimate than exact samples from the data
      distribution, while its true log-likelihood is much lower (``tests/metrics/test_likelihood.py``
      reproduces this on toy data). Memorising the training set also scores as well as fresh data.
    - Its value is dominated by the bandwidth, which is fitted to the test distribution.

    The interval covers only the spread over test rows; the randomness of the ``n`` model samples
    and of the bandwidth choice are not included.

    Squared distances use ``||x||^2 + ||s||^2 - 2 x.s`` (one matrix product per block, after centring
    on the sample mean, clipped at 0); everything is float64.

    References
    ----------
    Breuleux, Bengio & Vincent, "Quickly generating representative samples from an RBM-derived
    process", Neural Computation 2011. Goodfellow et al., "Generative adversarial nets", NeurIPS
    2014. Theis, van den Oord & Bethge, "A note on the evaluation of generative models", ICLR 2016.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> test, samples = rng.normal(size=(400, 2)), rng.normal(size=(1000, 2))
    >>> r = metrics.parzen_log_likelihood(test, samples, bandwidth=0.3)
    >>> round(r.value, 2), r.extras["bandwidth"]
    (-2.86, 0.3)
    """
    bandwidth, grid, validation_fraction, chunk_size, level = _check_parzen_common(
        bandwidth, grid, validation_fraction, chunk_size, level)
    test = as_matrix(test, "test")
    samples = as_matrix(samples, "samples")
    if validation is not None:
        if bandwidth != "cv":
            raise InputError("`validation` is only used with bandwidth='cv'; got a float bandwidth. Drop `validation`.")
        validation = as_matrix(validation, "validation")
    for name, arr in (("samples", samples), ("validation", validation)):
        if arr is not None and arr.shape[1] != test.shape[1]:
            raise InputError(
                f"`test` and `{name}` must have the same number of features; got test {test.shape} and "
                f"{name} {arr.shape}. Flatten all of them the same way."
            )
    return _parzen(test, samples, bandwidth=bandwidth, validation=validation, grid=grid, seed=seed,
                   validation_fraction=validation_fraction, chunk_size=chunk_size, level=level,
                   names=("test", "samples"))


@metric("parzen", needs="samples", higher_is_better=True, group="likelihood")
def parzen(real, generated, *, bandwidth="cv", grid=None, validation_fraction=0.5, seed=0, chunk_size=1024,
           level=0.95) -> MetricResult:
    """Parzen-window (Gaussian KDE) log-likelihood of real data under generated samples; unreliable.

    Parameters
    ----------
    real : array_like of shape (m, d)
        Real held-out data, in data space (flattened).
    generated : array_like of shape (n, d)
        Model samples; the kernel density is fitted on these.
    bandwidth, grid, validation_fraction, seed, chunk_size, level
        As in :func:`parzen_log_likelihood`.

    Returns
    -------
    MetricResult
        As :func:`parzen_log_likelihood`. With ``bandwidth="cv"`` the bandwidth is chosen as in
        Goodfellow et al. (2014), by the likelihood of *real validation data*: a seeded split puts
        ``validation_fraction`` of the rows of ``real`` in a validation set and only the other rows
        are scored, so ``result.n[0]`` is about half of ``len(real)``.

    Notes
    -----
    See :func:`parzen_log_likelihood` for the formula and why this number should not be read as
    a likelihood.

    Examples
    --------
    >>> import numpy as np, metrics
    >>> rng = np.random.default_rng(0)
    >>> r = metrics.parzen(rng.normal(size=(400, 2)), rng.normal(size=(1000, 2)))
    >>> r.n, r.extras["bandwidth_method"]
    ((200, 1000), 'cv')
    """
    bandwidth, grid, validation_fraction, chunk_size, level = _check_parzen_common(
        bandwidth, grid, validation_fraction, chunk_size, level)
    real, generated = check_pair(real, generated, min_rows=1)
    return _parzen(real, generated, bandwidth=bandwidth, validation=None, grid=grid, seed=seed,
                   validation_fraction=validation_fraction, chunk_size=chunk_size, level=level,
                   names=("real", "generated"))
