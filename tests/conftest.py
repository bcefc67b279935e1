"""Shared fixtures: generators, and the backends every parity test runs on."""

import numpy as np
import pytest
import torch

from nnbook import Backend

# float64 everywhere in the tests: gradient checks and parity need it. The backends are
# built by the fixture, not at import, so that a broken Backend fails the tests that use it
# instead of stopping the collection of every test.
BACKENDS = [("numpy", "cpu"), ("torch", "cpu")]
if torch.cuda.is_available():
    BACKENDS.append(("torch", "cuda"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=BACKENDS, ids=lambda lib_dev: f"{lib_dev[0]}:{lib_dev[1]}:float64")
def backend(request):
    return Backend(*request.param)


def as_torch(x, requires_grad=False):
    """A float64 CPU leaf tensor from a NumPy array, for the torch oracle."""
    t = torch.tensor(np.asarray(x), dtype=torch.float64)
    return t.requires_grad_(requires_grad)
