"""Input validation shared by every metric: validate once at the public entry, return clean arrays.

Messages follow one shape: the argument, the constraint, the actual value, the fix.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import InputError


def as_matrix(x, name: str, *, dtype=np.float64, min_rows: int = 1) -> np.ndarray:
    """Return ``x`` as a finite 2-D array of ``dtype``; 1-D input is read as ``n`` scalar samples.

    Parameters
    ----------
    x : array_like or torch.Tensor
        The input.
    name : str
        How the message names it (``"real"``, ``"generated"``, a file path ...).
    dtype : numpy dtype
        Output dtype.
    min_rows : int
        Fewest rows accepted.
    """
    if hasattr(x, "detach"):  # torch tensors, without importing torch here
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InputError(f"`{name}` could not be read as an array ({exc}). Pass an (n, d) array.") from None
    if np.iscomplexobj(arr):  # a cast to float would silently drop the imaginary part
        raise InputError(
            f"`{name}` is complex (dtype {arr.dtype}); metrics need real-valued features. Pass the real part, "
            "the magnitude, or real and imaginary parts as separate features (np.hstack([x.real, x.imag]))."
        )
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"`{name}` must be numeric; got dtype {arr.dtype}. Pass an (n, d) array of numbers.")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(
            f"`{name}` must be a 2-D (n_samples, n_features) array; got shape {arr.shape}. "
            "Flatten samples first, e.g. `x.reshape(len(x), -1)`."
        )
    if arr.shape[0] < min_rows:
        raise InputError(f"`{name}` needs at least {min_rows} samples; got {arr.shape[0]}.")
    if arr.shape[1] == 0:
        raise InputError(f"`{name}` has zero features (shape {arr.shape}).")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise :class:`InputError` naming the first row holding NaN or inf."""
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = ~np.isfinite(arr.reshape(len(arr), -1) if arr.ndim > 1 else arr)
        row = int(np.flatnonzero(bad.any(axis=1) if bad.ndim > 1 else bad)[0])
        value = arr.reshape(len(arr), -1)[row][bad[row]][0] if arr.ndim > 1 else arr[row]
        raise InputError(
            f"`{name}` contains non-finite values ({value}) first at row {row}. "
            "Remove or fix those samples before scoring."
        )


def check_pair(real, generated, *, dtype=np.float64, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate the two feature sets of a two-sample metric; they must share their dimension."""
    real = as_matrix(real, "real", dtype=dtype, min_rows=min_rows)
    generated = as_matrix(generated, "generated", dtype=dtype, min_rows=min_rows)
    if real.shape[1] != generated.shape[1]:
        raise InputError(
            f"`real` and `generated` must have the same number of features; got real {real.shape} "
            f"and generated {generated.shape}. Extract both with the same feature extractor."
        )
    return real, generated


def check_int(value, name: str, *, low: int | None = None, high: int | None = None, hint: str = "") -> int:
    """Return ``value`` as an int within ``[low, high]``, or raise a message that says the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"`{name}` must be an int; got {value!r}.{(' ' + hint) if hint else ''}")
    if (low is not None and value < low) or (high is not None and value > high):
        rng = f">= {low}" if high is None else (f"<= {high}" if low is None else f"in [{low}, {high}]")
        raise InputError(f"`{name}` must be an int {rng}; got {value}.{(' ' + hint) if hint else ''}")
    return int(value)


def check_choice(value, name: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise listing them."""
    if value not in choices:
        raise InputError(f"`{name}` must be one of {sorted(choices)}; got {value!r}.")
    return value


def check_level(level) -> float:
    """A confidence level in (0, 1), as a float."""
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < float(level) < 1:
        raise InputError(f"`level` must be a float in (0, 1), e.g. 0.95; got {level!r}.")
    return float(level)


def check_seed(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` from an int seed or an existing Generator; never the global RNG."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"`seed` must be a non-negative int or a numpy Generator; got {seed!r}.")
    return np.random.default_rng(int(seed))


def max_abs(x) -> float:
    """Largest magnitude in ``x`` (0.0 when empty), without a temporary copy of it."""
    return max(float(np.max(x)), -float(np.min(x))) if np.size(x) else 0.0


def power_of_two_scale(top: float, safe: float) -> float:
    """1.0 when ``top`` lies in ``[1/safe, safe]`` (or is 0), else the power of two ``s`` with ``top / s`` in [1, 2).

    Dividing by a power of two is exact in binary floating point, so a metric can compute at unit
    scale, where squares and products of the features cannot overflow or underflow, and multiply its
    result back exactly.

    Examples
    --------
    >>> power_of_two_scale(3.0, 2.0**100), power_of_two_scale(1e40, 2.0**100) == 2.0**132
    (1.0, True)
    """
    if top == 0.0 or 1.0 / safe <= top <= safe:
        return 1.0
    return math.ldexp(1.0, math.frexp(top)[1] - 1)
