r"""The machinery behind every exercise check: run a student's function, explain what is wrong.

A check runs the student's function on a list of :class:`Case` inputs (edge cases
included) and compares each result with nnbook's reference, structure first
(type, shape), values second. The first disagreement becomes one specific,
kind message: which input, what was expected and what came back, the first wrong
entry, and a diagnosis where the error has a recognisable shape (a flipped sign,
a transposed result, a constant factor such as a sum in place of a mean). A
check never prints the reference's code or its full output.

Each check function (``check_<name>`` in the chapter modules of
:mod:`nnbook.exercises`) prints its verdict and returns a :class:`CheckResult`,
which is truthy when every case passes. When the environment variable
``NNBOOK_CHECK_LOG`` names a file, every verdict is also appended to it as one
JSON line: that is how :mod:`nnbook.grade` collects results from a kernel.

Examples
--------
>>> import numpy as np
>>> cases = [Case("a 2 x 2 matrix", (np.array([[1.0, 2.0], [3.0, 4.0]]),))]
>>> _ = run_check("ex-demo", lambda a: a.sum(axis=0), lambda a: a.sum(axis=0), cases)
✓ ex-demo: the 1 case passes.
>>> result = run_check("ex-demo", lambda a: -a.sum(axis=0), lambda a: a.sum(axis=0), cases)
✗ ex-demo, case 1 of 1 (a 2 x 2 matrix): the result has wrong values.
  First wrong entry at index (0,): expected 4, received -4. (2 of 2 entries differ.)
  Every entry has the opposite sign of the expected one: look for a flipped sign.
>>> bool(result)
False
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..backend import to_numpy

__all__ = ["Case", "CheckResult", "compare", "float_array", "run_check"]

LOG_ENV = "NNBOOK_CHECK_LOG"


@dataclass(frozen=True)
class Case:
    """One input of a check: a description a student can picture, and the arguments.

    ``hint`` is added to the message when this case fails (say which edge it probes).
    """

    description: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    hint: str = ""


@dataclass
class CheckResult:
    """The verdict of one check: ``passed`` and the message that was printed."""

    exercise: str
    passed: bool
    message: str
    cases_passed: int = 0
    cases_total: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self):
        # The message is already printed; a result left as a cell's last value shows nothing more.
        pass


class _Mismatch(Exception):
    """Raised by :func:`compare` with the message that explains the difference."""


def _fmt(x) -> str:
    if isinstance(x, float | np.floating):
        return f"{float(x):.6g}"
    return repr(x)


def _fmt_pair(expected, received) -> tuple[str, str]:
    """Both numbers with enough digits to tell them apart (6 significant, up to 12)."""
    e, r = _fmt(expected), _fmt(received)
    if e == r:
        e, r = f"{float(expected):.12g}", f"{float(received):.12g}"
    return e, r


def _as_array(x):
    """NumPy view of an array-like result, or None for non-arrays (scalars stay scalars)."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("torch"):
        return to_numpy(x)
    return None


def float_array(x, what: str) -> np.ndarray:
    """``x`` (a NumPy array or torch tensor) as a float64 NumPy array, for a comparison
    of one's own; anything else fails the check with a message naming ``what``.
    """
    arr = _as_array(x)
    if arr is None:
        raise AssertionError(f"{what} should be an array, received {type(x).__name__}.")
    return arr.astype(float)


def _diagnose(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """A sentence naming a recognisable error, or ''."""
    if not (np.issubdtype(got.dtype, np.number) and np.issubdtype(expected.dtype, np.number)):
        return ""
    got, expected = got.astype(float), expected.astype(float)
    if np.any(expected != 0) and np.allclose(got, -expected, rtol=rtol, atol=atol):
        return "Every entry has the opposite sign of the expected one: look for a flipped sign."
    nz = np.abs(expected) > atol
    if np.count_nonzero(nz) > 1:  # one number is always some multiple of another
        ratios = got[nz] / expected[nz]
        r = float(np.median(ratios))
        if np.isfinite(r) and r != 0 and not np.isclose(r, 1.0) and np.allclose(
                got, r * expected, rtol=max(rtol, 1e-6), atol=atol):
            return (f"Every entry is {r:.4g} times the expected one: look for a missing or extra "
                    "constant factor (a sum in place of a mean, a missing 1/N or 1/2, a learning rate).")
    return ""


def compare(got, expected, *, rtol: float = 1e-6, atol: float = 1e-9, name: str = "the result"):
    """Raise an explanatory ``_Mismatch`` unless ``got`` matches ``expected``.

    Tuples and lists are compared element by element (their lengths first);
    arrays (NumPy or torch) by shape, then values with ``numpy.allclose``; other
    values by equality (floats with the same tolerances).
    """
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list):
            raise _Mismatch(f"{name} should be a {type(expected).__name__} of {len(expected)} "
                            f"values, received {type(got).__name__}.")
        if len(got) != len(expected):
            raise _Mismatch(f"{name} should hold {len(expected)} values, received {len(got)}.")
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            compare(g, e, rtol=rtol, atol=atol, name=f"value {i} of {name}")
        return
    exp_arr = _as_array(expected)
    if exp_arr is None:
        if isinstance(expected, bool | np.bool_) or not isinstance(expected, int | float | np.number):
            if got != expected:
                raise _Mismatch(f"{name} is wrong: expected {_fmt(expected)}, received {_fmt(got)}.")
            return
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise _Mismatch(f"{name} should be a number, received {type(got).__name__}.") from None
        if not np.isclose(value, float(expected), rtol=rtol, atol=atol):
            e_txt, g_txt = _fmt_pair(expected, value)
            msg = f"{name} is wrong: expected {e_txt}, received {g_txt}."
            hint = _diagnose(np.array([value]), np.array([float(expected)]), rtol, atol)
            raise _Mismatch(msg + (f"\n  {hint}" if hint else ""))
        return
    got_arr = _as_array(got)
    if got_arr is None:
        raise _Mismatch(f"{name} should be an array of shape {exp_arr.shape}, "
                        f"received {type(got).__name__}.")
    if got_arr.shape != exp_arr.shape:
        msg = f"{name} has shape {got_arr.shape}, expected {exp_arr.shape}."
        if got_arr.ndim == exp_arr.ndim == 2 and got_arr.shape == exp_arr.shape[::-1]:
            msg += "\n  The shape is transposed: check the order of a matrix product or a missing .T."
        elif got_arr.size == exp_arr.size:
            msg += "\n  It has the right number of entries: check a reshape, or keepdims in a reduction."
        raise _Mismatch(msg)
    if not np.issubdtype(got_arr.dtype, np.number) and got_arr.dtype != np.bool_:
        raise _Mismatch(f"{name} should hold numbers, received dtype {got_arr.dtype}.")
    g, e = got_arr.astype(float), exp_arr.astype(float)
    bad = ~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        e_txt, g_txt = _fmt_pair(e[idx], g[idx])
        msg = (f"{name} has wrong values.\n  First wrong entry at index {idx}: "
               f"expected {e_txt}, received {g_txt}.")
        if bad.sum() > 1:
            msg += f" ({int(bad.sum())} of {bad.size} entries differ.)"
        hint = _diagnose(g, e, rtol, atol)
        raise _Mismatch(msg + (f"\n  {hint}" if hint else ""))


def _log(result: CheckResult):
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": result.exercise, "passed": result.passed,
                                "message": result.message}) + "\n")


def _finish(exercise: str, passed: bool, message: str, done: int, total: int) -> CheckResult:
    print(message)
    result = CheckResult(exercise, passed, message, done, total)
    _log(result)
    return result


def run_check(exercise: str, student: Callable, reference: Callable, cases: Sequence[Case], *,
              rtol: float = 1e-6, atol: float = 1e-9, compare_fn: Callable | None = None,
              hint: str = "") -> CheckResult:
    """Run ``student`` and ``reference`` on every case; report the first disagreement.

    Each function gets its own deep copy of the arguments, so a student's
    function that modifies its input cannot change what the reference sees.

    Parameters
    ----------
    exercise : str
        The exercise's label, as in the chapter (``"ex-perceptron-update"``).
    student, reference : callable
        The student's function and nnbook's reference, with the same signature.
    cases : sequence of Case
    rtol, atol : float
        Tolerances of the value comparison.
    compare_fn : callable, optional
        ``compare_fn(got, expected)`` raising ``AssertionError`` with a message,
        for results that need their own comparison; :func:`compare` by default.
    hint : str
        Added to every failure message (one idea the student may have missed).

    Returns
    -------
    CheckResult
    """
    if not callable(student):
        return _finish(exercise, False, f"✗ {exercise}: pass your function itself "
                       f"(without calling it), received {type(student).__name__}.", 0, len(cases))
    total = len(cases)
    for k, case in enumerate(cases, start=1):
        where = f"{exercise}, case {k} of {total} ({case.description})"
        expected = reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        try:
            got = student(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except NotImplementedError:
            return _finish(exercise, False, f"✗ {exercise}: not answered yet. Replace "
                           "`raise NotImplementedError()` with your code, then run this cell again.",
                           k - 1, total)
        except Exception as err:  # the student's error is the feedback
            msg = f"✗ {where}: your function raised {type(err).__name__}: {err}"
            return _finish(exercise, False, _with_hints(msg, case.hint, hint), k - 1, total)
        try:
            if compare_fn is None:
                compare(got, expected, rtol=rtol, atol=atol)
            else:
                try:
                    compare_fn(got, expected)
                except AssertionError as err:
                    raise _Mismatch(str(err)) from None
        except _Mismatch as err:
            text = str(err)
            msg = f"✗ {where}: {text[0].lower()}{text[1:]}" if text else f"✗ {where}."
            return _finish(exercise, False, _with_hints(msg, case.hint, hint), k - 1, total)
    return _finish(exercise, True, (f"✓ {exercise}: all {total} cases pass." if total > 1
                   else f"✓ {exercise}: the 1 case passes."), total, total)


def _with_hints(msg: str, *hints: str) -> str:
    for h in hints:
        if h:
            msg += f"\n  Hint: {h}"
    return msg

