"""Shared fixtures: generators, and the backends every parity test runs on."""

import numpy as np
import pytest
import torch

from nnbook import Backend

# float64 everywhere in the tests: gradient checks and parity need it.
BACKENDS = [Backend("numpy"), Backend("torch", "cpu")]
if torch.cuda.is_available():
    BACKENDS.append(Backend("torch", "cuda"))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=BACKENDS, ids=str)
def backend(request):
    return request.param


def as_torch(x, requires_grad=False):
    """A float64 CPU leaf tensor from a NumPy array, for the torch oracle."""
    t = torch.tensor(np.asarray(x), dtype=torch.float64)
    return t.requires_grad_(requires_grad)
