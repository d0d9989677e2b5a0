"""Feature extractors: sample sets -> feature vectors, registered like metrics.

An extractor is a class declared with :func:`extractor`; built-in and third-party extractors are
discovered the same way, through the ``genbench.extractors`` entry-point group (a failing plugin is a
warning, not a crash). :func:`get_extractor` builds one by name with keyword-only options.

Every extractor runs in eval mode under ``torch.no_grad``, gives outputs that do not depend on the
batch size, and has a stable :attr:`~Extractor.identifier` (name + weights hash + preprocessing)
that keys the feature cache and is recorded in every result's provenance.

Built-ins: ``identity`` and ``pixels`` (:mod:`.basic`), ``random-cnn`` (:mod:`.random_cnn`),
``digits`` (:mod:`.digits`), ``inception-fid`` (:mod:`.inception`), ``minilm`` (:mod:`.minilm`),
``dinov2-vitl14`` and ``clip-vitl14-336`` (:mod:`.vit`).
"""

from __future__ import annotations

import difflib
import inspect
import warnings
from dataclasses import dataclass

import numpy as np

from metrics.errors import InputError, PluginWarning
from metrics.registry import load_plugins

ENTRY_POINT_GROUP = "genbench.extractors"
#: What an extractor consumes.
INPUTS = ("vectors", "images", "text")


class UnknownExtractorError(InputError):
    """An extractor name is not registered; the message suggests close matches."""


class Extractor:
    """Base class: per-item preparation (worker threads) plus a batched forward pass.

    Subclasses set :attr:`name`, :attr:`inputs` and :attr:`gives_probs`, and implement
    :meth:`prepare` (images / text) and :meth:`forward`.
    """

    #: registry name
    name: str = ""
    #: what it consumes: a subset of :data:`INPUTS`
    inputs: tuple = ()
    #: whether :meth:`forward` returns class probabilities
    gives_probs: bool = False
    #: how images are resized to the input size, stated in notes when sizes are mixed
    resize_rule: str | None = None
    #: whether a torch network runs inside (then :meth:`to` places it on a device, under a numerics policy)
    uses_device: bool = False
    #: where the network runs (a resolved torch device name) and under which numerics policy
    device: str = "cpu"
    numerics: str = "reference"

    @property
    def identifier(self) -> str:
        """Stable identifier: name + weights hash + preprocessing. Keys the cache."""
        return self.name

    @property
    def run_identifier(self) -> str:
        """:attr:`identifier` plus the numerics policy for network extractors: what keys the cache and
        is recorded in results (``reference`` and ``fast`` features differ, so they never share an entry)."""
        return f"{self.identifier};numerics={self.numerics}" if self.uses_device else self.identifier

    def to(self, device: str = "cpu", numerics: str = "reference") -> "Extractor":
        """Run on ``device`` (a resolved torch device name) under ``numerics``; returns ``self``.

        Extractors without a network only record the values. Subclasses with a network override
        :meth:`_place` to move it.
        """
        from ._torch import check_numerics

        self.device, self.numerics = device, check_numerics(numerics)
        if self.uses_device:
            self._place()
        return self

    def _place(self) -> None:
        """Move the network to :attr:`device` under :attr:`numerics` (network extractors)."""

    def for_image_size(self, height: int, width: int) -> "Extractor":
        """The extractor to use for a set whose first image is ``height x width`` (default: self)."""
        return self

    def prepare(self, item) -> np.ndarray:
        """One item (an (H, W, 3) uint8 image, or a string) -> the network's input array.

        Runs in worker threads, so it must not touch shared mutable state.
        """
        return np.asarray(item)

    def forward(self, batch):
        """A stacked batch of prepared items -> ``(features, probs)``; ``probs`` may be None."""
        raise NotImplementedError

    def __call__(self, batch):
        return self.forward(batch)


@dataclass(frozen=True)
class ExtractorSpec:
    """A registered extractor class and what the listing shows about it."""

    name: str
    cls: type
    inputs: tuple
    summary: str
    source: str

    @property
    def options(self) -> tuple[str, ...]:
        params = inspect.signature(self.cls.__init__).parameters.values()
        return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


_REGISTRY: dict[str, ExtractorSpec] = {}
_loaded = False


def extractor(name: str):
    """Register an :class:`Extractor` subclass under ``name``.

    Examples
    --------
    >>> import numpy as np
    >>> @extractor("doubled")
    ... class Doubled(Extractor):
    ...     '''Vectors times two.'''
    ...     inputs = ("vectors",)
    ...     def forward(self, batch):
    ...         return 2 * np.asarray(batch, dtype=np.float64), None
    >>> get_extractor("doubled")(np.ones((1, 2)))[0]
    array([[2., 2.]])
    """

    def decorate(cls):
        cls.name = name
        doc = inspect.getdoc(cls) or ""
        spec = ExtractorSpec(name, cls, tuple(cls.inputs), doc.strip().splitlines()[0] if doc.strip() else "",
                             cls.__module__)
        old = _REGISTRY.get(name)
        if old is not None and (old.source, old.cls.__qualname__) != (spec.source, cls.__qualname__):
            warnings.warn(f"extractor name {name!r} from {spec.source} is already registered by {old.source}; "
                          "keeping the first.", PluginWarning, stacklevel=2)
            return cls
        _REGISTRY[name] = spec
        return cls

    return decorate


def available_extractors() -> dict[str, ExtractorSpec]:
    """All registered extractors, built-in and third-party, sorted by name."""
    global _loaded
    if not _loaded:
        _loaded = True
        load_plugins(ENTRY_POINT_GROUP)
    return dict(sorted(_REGISTRY.items()))


def get_extractor(name: str, **options) -> Extractor:
    """Build the extractor registered as ``name`` with its keyword-only ``options``.

    Raises
    ------
    UnknownExtractorError
        Unknown name, with close matches ("Did you mean ...?") and the available names.
    InputError
        An option the extractor does not take.
    """
    specs = available_extractors()
    if name not in specs:
        close = difflib.get_close_matches(name, list(specs), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownExtractorError(
            f"unknown feature extractor {name!r}.{hint} Available: {', '.join(specs) or '(none)'}."
        )
    spec = specs[name]
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise InputError(
            f"extractor {name!r} takes no option(s) {unknown}; its options are {list(spec.options) or 'none'}."
        )
    return spec.cls(**options)
