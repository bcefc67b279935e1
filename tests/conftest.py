"""Shared fixtures: generators, and the backends every parity test runs on."""

import re

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


def bad_data_cases():
    """Data that the training tools refuse, with the whole message: (X, y, error, message)
    for a 5-input network with 3 classes under CrossEntropyLoss (diagnostics, lr_finder)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    return [
        ([[1.0] * 5] * 6, y, TypeError, "X must be a NumPy array or torch.Tensor, got list"),
        (X[:0], y, ValueError, "X must have at least one row, got shape (0, 5)"),
        (X, y[:5], ValueError, "y must have 6 rows like X, got shape (5,)"),
        (X, torch.as_tensor(y), TypeError,
         "y must be a numpy array like X, got a torch array; "
         "put both on one backend with Backend.asarray"),
        (X, y + 3, ValueError, "y does not suit CrossEntropyLoss: labels must lie in [0, 2] "
                               "for 3 classes, got values in [3, 5]"),
        (X[:, :4], y, ValueError, "X does not fit the model: x must have shape (N, 5), "
                                  "got (6, 4)"),
    ]


def whole(message):
    """A pattern that matches exactly ``message`` (an error message asserted whole)."""
    return "^" + re.escape(message) + "$"


def raises_whole(exc, message, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` raises ``exc`` with exactly ``message``."""
    with pytest.raises(exc, match=whole(message)):
        fn(*args, **kwargs)
