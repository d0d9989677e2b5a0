"""Fixtures shared by several test files of the harness."""

import pytest


@pytest.fixture(scope="session")
def mixture_quick(tmp_path_factory):
    """The ``mixture`` demo suite at reduced size, run once: (output directory, summary)."""
    from genbench.demo import mixture

    out = tmp_path_factory.mktemp("mixture")
    return out, mixture.run(out, quick=True)
