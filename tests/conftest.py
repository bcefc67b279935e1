"""Shared fixtures: generators, and the backends every parity test runs on."""

import os
import re

import numpy as np
import pytest
import torch

from nnbook import Backend


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "spawns: starts Python processes that run nnbook (seconds each); mutmut's "
        "in-process runs skip it, quality/mutation.py's clean re-run runs it")


# Seconds each of the longest test files (one xdist work unit under --dist loadfile) took in a
# run of make test (three workers, two cores). The units start longest first, so that the short
# ones fill the gaps at the end instead of a long one starting last and running alone; make test
# passes --no-loadscope-reorder, which keeps this order (xdist would otherwise start the files
# with the most tests first). Out-of-date figures only make the order less good.
LONGEST_FIRST = {
    "tests/test_book.py": 170, "tests/test_grade.py": 97, "chapters/09_dropout.ipynb": 48,
    "chapters/10_training_fast.ipynb": 34, "chapters/04_activations.ipynb": 30,
    "chapters/08_newton_quickprop.ipynb": 29, "tests/test_data_parallel.py": 28,
    "chapters/03_convexity.ipynb": 28, "chapters/05_initialization.ipynb": 25,
    "chapters/02_backpropagation.ipynb": 22, "chapters/06_normalization.ipynb": 20,
    "chapters/01_perceptron.ipynb": 19, "chapters/11_troubleshooting.ipynb": 19,
    "tests/test_student.py": 17, "chapters/07_sgd_momentum.ipynb": 16,
    "tests/test_throughput.py": 8, "tests/test_widgets.py": 7,
}


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: -LONGEST_FIRST.get(item.nodeid.split("::")[0], 0))  # stable
    # mutmut sets MUTANT_UNDER_TEST in its runs; it cannot see what a child process runs, and
    # its per-mutant time limit is calibrated on in-process tests
    if "MUTANT_UNDER_TEST" in os.environ:
        skip = pytest.mark.skip(reason="starts processes: left to the clean re-run")
        for item in items:
            if "spawns" in item.keywords:
                item.add_marker(skip)

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


class _Stop(Exception):
    """What the raising probe raises: its message names the case that was reached."""


def probe_messages(check, reference):
    """The messages ``check`` prints for probe answers, case by case, every case reached.

    ``reference`` is the check's own (private) reference. Two kinds of probe answer:

    * ``raised[k]``: the message when the answer agrees with ``reference`` on the
      cases before ``k`` and raises ``_Stop("probe")`` on case ``k`` (so the message
      names case ``k``, its description and its hints);
    * ``perturbed[k]``: one message per entry of case ``k``'s expected result, in
      order (the tuple's values in turn, each array in C order, a number as one
      entry), for the answer that agrees with ``reference`` except that this one
      entry is 1 larger (so the message shows that expected entry and where it is).

    Returns ``(raised, perturbed)``, dicts keyed by the case number (from 1).
    """
    calls = []

    def counting(*args, **kwargs):
        calls.append(None)
        return reference(*args, **kwargs)

    assert check(counting), "the reference must pass its own check"
    n_cases = len(calls)

    def probe(k, answer):
        seen = []

        def student(*args, **kwargs):
            seen.append(None)
            expected = reference(*args, **kwargs)
            return answer(expected) if len(seen) == k else expected
        return student

    def leaves(value):
        """(count, rebuild) where rebuild(j) is ``value`` with entry j increased by 1."""
        if isinstance(value, tuple | list):
            sizes = [leaves(v)[0] for v in value]

            def rebuild(j):
                out = list(value)
                for i, size in enumerate(sizes):
                    if j < size:
                        out[i] = leaves(value[i])[1](j)
                        break
                    j -= size
                return type(value)(out)
            return sum(sizes), rebuild
        if isinstance(value, np.ndarray):
            def bump(j):
                out = np.array(value, dtype=float)
                out.flat[j] += 1
                return out
            return value.size, bump
        return 1, lambda j: value + 1

    def failing(expected):
        raise _Stop("probe")

    raised, perturbed = {}, {}
    for k in range(1, n_cases + 1):
        raised[k] = check(probe(k, failing)).message
        count = {}

        def first(expected, count=count):
            count["n"] = leaves(expected)[0]
            return expected
        check(probe(k, first))
        perturbed[k] = [check(probe(k, lambda e, j=j: leaves(e)[1](j))).message
                        for j in range(count["n"])]
    return raised, perturbed


def raised_message(label, k, n, description, *hints):
    """The message of an exercise check whose answer raised ``_Stop("probe")`` on case ``k``
    of ``n`` (see :func:`probe_messages`): the case's description, then its hints."""
    text = f"✗ {label}, case {k} of {n} ({description}): your function raised _Stop: probe"
    return text + "".join(f"\n  Hint: {h}" for h in hints)


def case_inputs(check, reference):
    """The arguments of every case of an exercise check, as the student's function receives
    them: a list of ``(args, kwargs)``, one per case, in order."""
    seen = []

    def recording(*args, **kwargs):
        seen.append((args, kwargs))
        return reference(*args, **kwargs)

    assert check(recording)
    return seen
