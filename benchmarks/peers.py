"""Import peer packages (torch-fidelity, torchmetrics, clean-fid ...) for cross-checks and benchmarks.

Several peers import torchvision at import time, and the registry's torchvision is a CUDA build that
cannot load next to the CPU torch used here. When the real torchvision is missing or broken, we put
an inert stand-in module tree in ``sys.modules`` first: enough for the peers' *numerical* functions
(FID from statistics, KID from features, precision/recall ...) to import. Their image networks are
never used through the stand-in. Test and benchmark code only; the product never imports this. Tests find it because pyproject's
pytest `pythonpath` holds benchmarks/; benchmark scripts find it beside themselves.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types


class _Inert(types.ModuleType):
    """A module whose every attribute is another inert module, callable and subclassable."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        full = f"{self.__name__}.{name}"
        if full not in sys.modules:
            sys.modules[full] = _Inert(full)
            sys.modules[full].__path__ = []
        return sys.modules[full]

    def __call__(self, *args, **kwargs):
        return self

    def __mro_entries__(self, bases):
        return (object,)


class _InertFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _Inert(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def _ensure_torchvision() -> None:
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.meta_path.insert(0, _InertFinder())


def import_peer(name: str):
    """Import peer module ``name`` (e.g. ``"torch_fidelity.metric_kid"``) or raise ImportError."""
    _ensure_torchvision()
    return importlib.import_module(name)


def peer_or_skip(name: str):
    """``import_peer`` for tests: skip the test when the peer is not installed."""
    import pytest

    try:
        return import_peer(name)
    except ImportError as exc:
        pytest.skip(f"peer package {name} not importable: {exc}")
