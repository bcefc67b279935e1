"""The machinery of every exercise check: ``compare``'s messages and diagnoses, ``run_check``'s
verdicts, counts and copies, and the JSON log that the grader reads."""

import json
import re

import numpy as np
import pytest

from nnbook.exercises import feedback
from nnbook.exercises.feedback import Case, CheckResult, compare, float_array, run_check


def _mismatch(got, expected, **kwargs):
    """The message ``compare`` raises, or None when the values match."""
    try:
        compare(got, expected, **kwargs)
    except feedback._Mismatch as err:
        return str(err)
    return None


def _ident(*args, **kwargs):
    return args[0]


# ---- compare: tolerances -----------------------------------------------------------------------

@pytest.mark.parametrize("got, expected, matches", [
    (1.0 + 0.5e-6, 1.0, True),          # within rtol |e| + atol = 1e-6 + 1e-9
    (1.0 + 2e-6, 1.0, False),           # beyond it
    (0.5e-9, 0.0, True),                # within atol = 1e-9 at 0
    (5e-9, 0.0, False),                 # beyond it (NumPy's own default atol, 1e-8, would pass)
    (np.array([1.0 + 0.5e-6]), np.array([1.0]), True),
    (np.array([1.0 + 2e-6]), np.array([1.0]), False),
    (np.array([0.5e-9]), np.array([0.0]), True),
    (np.array([5e-9]), np.array([0.0]), False),
])
def test_compare_default_tolerances_are_rtol_1e6_and_atol_1e9(got, expected, matches):
    assert (_mismatch(got, expected) is None) is matches


@pytest.mark.parametrize("kwargs, got, expected, matches", [
    ({"rtol": 1e-2}, 1.001, 1.0, True),            # NumPy's default rtol 1e-5 would refuse it
    ({"rtol": 1e-2}, 1.02, 1.0, False),
    ({"atol": 0.1}, 0.05, 0.0, True),              # NumPy's default atol 1e-8 would refuse it
    ({"atol": 0.1}, 0.2, 0.0, False),
    ({"rtol": 1e-2}, (1.001,), (1.0,), True),      # a tuple's values get the same tolerances
    ({"rtol": 1e-2}, (1.02,), (1.0,), False),
    ({"atol": 0.1}, [np.array([0.05])], [np.array([0.0])], True),
    ({"atol": 0.1}, [np.array([0.2])], [np.array([0.0])], False),
    ({"atol": 0.1}, np.array([0.05, 1.0]), np.array([0.0, 1.0]), True),
    ({"rtol": 0.0, "atol": 1e-12}, np.array([1e-11]), np.array([0.0]), False),
])
def test_compare_uses_the_tolerances_it_is_given(kwargs, got, expected, matches):
    assert (_mismatch(got, expected, **kwargs) is None) is matches


def test_nan_where_nan_is_expected_matches():
    assert _mismatch(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) is None
    assert _mismatch(np.array([0.0, 1.0]), np.array([np.nan, 1.0])) == (
        "the result has wrong values.\n"
        "  First wrong entry at index (0,): expected nan, received 0.")


def test_boolean_arrays_are_compared_as_values():
    assert _mismatch(np.array([True, False]), np.array([True, False])) is None
    assert _mismatch(np.array([True, True]), np.array([True, False])) == (
        "the result has wrong values.\n"
        "  First wrong entry at index (1,): expected 0, received 1.")


# ---- compare: the messages, whole --------------------------------------------------------------

@pytest.mark.parametrize("got, expected, kwargs, message", [
    ([1.0], (1.0, 2.0), {}, "the result should hold 2 values, received 1."),
    (np.array([1.0, 2.0]), (1.0, 2.0), {}, "the result should be a tuple of 2 values, "
     "received ndarray."),
    ((1.0, 3.0), (1.0, 2.0), {}, "value 1 of the result is wrong: expected 2, received 3."),
    ((1.0, (2.0, 4.0)), (1.0, (2.0, 3.0)), {"name": "the pair"},
     "value 1 of value 1 of the pair is wrong: expected 3, received 4."),
    ("x", 1.0, {}, "the result should be a number, received str."),
    ("b", "a", {}, "the result is wrong: expected 'a', received 'b'."),
    (False, True, {}, "the result is wrong: expected True, received False."),
    (-2.0, 2.0, {}, "the result is wrong: expected 2, received -2.\n"
     "  Every entry has the opposite sign of the expected one: look for a flipped sign."),
    (1.0, np.array([1.0]), {}, "the result should be an array of shape (1,), received float."),
    (np.array(["a", "b"]), np.array([1.0, 2.0]), {},
     "the result should hold numbers, received dtype <U1."),
    (np.zeros((3, 2)), np.zeros((2, 3)), {}, "the result has shape (3, 2), expected (2, 3).\n"
     "  The shape is transposed: check the order of a matrix product or a missing .T."),
    (np.zeros((4, 3, 2)), np.zeros((2, 3, 4)), {}, "the result has shape (4, 3, 2), expected "
     "(2, 3, 4).\n  It has the right number of entries: check a reshape, or keepdims in a "
     "reduction."),
    (np.zeros((3, 3)), np.zeros((2, 3)), {}, "the result has shape (3, 3), expected (2, 3)."),
    (np.zeros((6,)), np.zeros((2, 3)), {}, "the result has shape (6,), expected (2, 3).\n"
     "  It has the right number of entries: check a reshape, or keepdims in a reduction."),
    (np.array([1.0, 2.5, 3.0]), np.array([1.0, 2.0, 3.0]), {},
     "the result has wrong values.\n  First wrong entry at index (1,): expected 2, "
     "received 2.5."),
    (np.array([1.0 + 3e-6]), np.array([1.0]), {},
     "the result has wrong values.\n  First wrong entry at index (0,): expected 1, "
     "received 1.000003."),
    (np.array([1.0 + 3e-8]), np.array([1.0]), {"rtol": 0.0},
     "the result has wrong values.\n  First wrong entry at index (0,): expected 1, "
     "received 1.00000003."),
])
def test_compare_messages(got, expected, kwargs, message):
    assert _mismatch(got, expected, **kwargs) == message


# ---- compare: the diagnoses --------------------------------------------------------------------

SIGN = "\n  Every entry has the opposite sign of the expected one: look for a flipped sign."


def _factor(r):
    return (f"\n  Every entry is {r} times the expected one: look for a missing or extra constant "
            "factor (a sum in place of a mean, a missing 1/N or 1/2, a learning rate).")


def _values(index, e, g, n_bad, n):
    text = (f"the result has wrong values.\n  First wrong entry at index {index}: expected {e}, "
            f"received {g}.")
    return text + (f" ({n_bad} of {n} entries differ.)" if n_bad > 1 else "")


@pytest.mark.parametrize("got, expected, kwargs, message", [
    # Every expected entry is 1: still a flipped sign, not "-1 times".
    (-np.ones(2), np.ones(2), {}, _values((0,), 1, -1, 2, 2) + SIGN),
    # A flipped sign, up to the given rtol (1e-3; NumPy's default 1e-5 would miss it).
    (-np.array([1.0, 2.0]) * (1 + 1e-4), np.array([1.0, 2.0]), {"rtol": 1e-3},
     _values((0,), 1, "-1.0001", 2, 2) + SIGN),
    # Off by 5e-6 relative: neither a flipped sign nor a factor at rtol 1e-6.
    (np.array([-1.0 - 5e-6, -2.0]), np.array([1.0, 2.0]), {},
     _values((0,), 1, "-1.00001", 2, 2)),
    # A flipped sign up to the given atol (0.1) where 0 is expected.
    (np.array([0.05, -1.0]), np.array([0.0, 1.0]), {"atol": 0.1},
     _values((1,), 1, -1, 1, 2) + SIGN),
    # At the default atol 1e-9, 5e-9 where 0 is expected is no flipped sign; one nonzero
    # entry is not enough for a factor.
    (np.array([5e-9, -1.0]), np.array([0.0, 1.0]), {}, _values((0,), 0, "5e-09", 2, 2)),
    # A factor of 2, up to the given atol where 0 is expected.
    (np.array([0.05, 2.0, 4.0]), np.array([0.0, 1.0, 2.0]), {"atol": 0.1},
     _values((1,), 1, 2, 2, 3) + _factor(2)),
    (np.array([5e-9, 2.0, 4.0]), np.array([0.0, 1.0, 2.0]), {},
     _values((0,), 0, "5e-09", 3, 3)),
    # The factor must fit every entry within max(rtol, 1e-6): 5e-6 relative is too much.
    (np.array([2.0, 4.0, 8.0 * (1 + 5e-6)]), np.array([1.0, 2.0, 4.0]), {},
     _values((0,), 1, 2, 3, 3)),
    (np.array([2.0, 4.0, 8.0 * (1 + 5e-7)]), np.array([1.0, 2.0, 4.0]), {},
     _values((0,), 1, 2, 3, 3) + _factor(2)),
    # An expected entry of exactly atol counts as zero: one nonzero entry, no factor.
    (np.array([2.0, 8.0]), np.array([1.0, 4.0]), {"atol": 1.0}, _values((1,), 4, 8, 1, 2)),
    (np.array([2.0, 8.0, 4.0]), np.array([1.0, 4.0, 2.0]), {"atol": 1.0},
     _values((1,), 4, 8, 2, 3) + _factor(2)),
    # A single number: no factor (one number is always a multiple of another), but a sign.
    (6.0, 3.0, {}, "the result is wrong: expected 3, received 6."),
    (-3.0, 3.0, {}, "the result is wrong: expected 3, received -3." + SIGN),
    (0.5, 2.0, {}, "the result is wrong: expected 2, received 0.5."),
    (np.array([0.5, 1.5]), np.array([2.0, 6.0]), {}, _values((0,), 2, 0.5, 2, 2) + _factor(0.25)),
])
def test_compare_diagnoses(got, expected, kwargs, message):
    assert _mismatch(got, expected, **kwargs) == message


@pytest.mark.parametrize("got, expected, diagnosis", [
    (np.array(["a", "b"]), np.array([1.0, 2.0]), ""),      # text is never diagnosed
    (np.array([1.0, 2.0]), np.array(["a", "b"]), ""),
    (np.array([-1, -2]), np.array([1, 2]), SIGN[3:]),       # integers are numbers too
    (np.array([-1.0, -2.0]), np.array([1, 2]), SIGN[3:]),
    (np.array([-1, -2]), np.array([1.0, 2.0]), SIGN[3:]),
    (np.array([2, 4]), np.array([1, 2]), _factor(2)[3:]),
])
def test_diagnose_numbers_only(got, expected, diagnosis):
    assert feedback._diagnose(got, expected, 1e-6, 1e-9) == diagnosis


# ---- float_array -------------------------------------------------------------------------------

@pytest.mark.parametrize("x", [np.array([1, 2]), np.array([1.0, 2.0], dtype=np.float32),
                               np.array([True, False])])
def test_float_array_is_float64(x):
    out = float_array(x, "the step")
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, np.asarray(x, dtype=np.float64))


def test_float_array_accepts_a_tensor():
    torch = pytest.importorskip("torch")
    out = float_array(torch.tensor([1.5, 2.0], dtype=torch.float32), "the step")
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.5, 2.0])


def test_float_array_refuses_a_list():
    with pytest.raises(AssertionError, match=r"^the step should be an array, received list\.$"):
        float_array([1.0], "the step")


# ---- run_check: verdicts and counts ------------------------------------------------------------

CASES3 = [Case("one", (np.array([1.0]),)), Case("two", (np.array([2.0]),), hint="the edge."),
          Case("three", (np.array([3.0]),))]


def _on_case(k, action):
    """A student's function that answers like the identity, except on call ``k``."""
    calls = []

    def student(a):
        calls.append(None)
        return action(a) if len(calls) == k else a
    return student


def _raise_not_implemented(a):
    raise NotImplementedError()


def _raise_value_error(a):
    raise ValueError("bad")


@pytest.mark.parametrize("total", [1, 2, 3])
def test_the_verdict_of_a_pass(total, capsys):
    result = run_check("ex-demo", _ident, _ident, CASES3[:total])
    verdict = ("✓ ex-demo: the 1 case passes." if total == 1
               else f"✓ ex-demo: all {total} cases pass.")
    assert isinstance(result, CheckResult) and bool(result) is True
    assert (result.exercise, result.passed, result.message) == ("ex-demo", True, verdict)
    assert (result.cases_passed, result.cases_total) == (total, total)
    assert capsys.readouterr().out == verdict + "\n"


@pytest.mark.parametrize("action, message", [
    (_raise_not_implemented, "✗ ex-demo: not answered yet. Replace `raise NotImplementedError()` "
     "with your code, then run this cell again."),
    (_raise_value_error, "✗ ex-demo, case 2 of 3 (two): your function raised ValueError: bad\n"
     "  Hint: the edge.\n  Hint: think of x."),
    (lambda a: -a, "✗ ex-demo, case 2 of 3 (two): the result has wrong values.\n"
     "  First wrong entry at index (0,): expected 2, received -2.\n"
     "  Every entry has the opposite sign of the expected one: look for a flipped sign.\n"
     "  Hint: the edge.\n  Hint: think of x."),
    (lambda a: float(a[0]), "✗ ex-demo, case 2 of 3 (two): the result should be an array of "
     "shape (1,), received float.\n  Hint: the edge.\n  Hint: think of x."),
], ids=["not-answered", "raised", "values", "type"])
def test_a_failure_on_case_2_counts_one_case_passed(action, message, capsys):
    result = run_check("ex-demo", _on_case(2, action), _ident, CASES3, hint="think of x.")
    assert (result.exercise, result.passed, result.message) == ("ex-demo", False, message)
    assert (result.cases_passed, result.cases_total) == (1, 3)
    assert bool(result) is False
    assert capsys.readouterr().out == message + "\n"


@pytest.mark.parametrize("k", [1, 3])
def test_the_count_of_cases_passed_before_a_failure(k, capsys):
    for action in (_raise_not_implemented, _raise_value_error, lambda a: a + 1):
        result = run_check("ex-demo", _on_case(k, action), _ident, CASES3)
        assert (result.exercise, result.cases_passed, result.cases_total) == ("ex-demo", k - 1, 3)
    capsys.readouterr()


def test_a_case_without_hints_adds_none():
    result = run_check("ex-demo", _on_case(1, _raise_value_error), _ident, CASES3)
    assert result.message == "✗ ex-demo, case 1 of 3 (one): your function raised ValueError: bad"


@pytest.mark.parametrize("student", [None, 3.0, np.array([1.0])],
                         ids=["None", "float", "ndarray"])
def test_a_called_function_in_place_of_the_function(student, capsys):
    result = run_check("ex-demo", student, _ident, CASES3)
    message = ("✗ ex-demo: pass your function itself (without calling it), received "
               f"{type(student).__name__}.")
    assert (result.exercise, result.passed, result.message) == ("ex-demo", False, message)
    assert (result.cases_passed, result.cases_total) == (0, 3)
    assert capsys.readouterr().out == message + "\n"


# ---- run_check: tolerances and comparisons of one's own -----------------------------------------

@pytest.mark.parametrize("kwargs, offset, passes", [
    ({}, 2e-6, False),                          # the defaults: rtol 1e-6, atol 1e-9
    ({}, 0.5e-6, True),
    ({"rtol": 1e-2}, 1e-3, True),               # compare's own default rtol would refuse it
    ({"rtol": 1e-2}, 2e-2, False),
    ({"atol": 0.1, "rtol": 0.0}, 0.05, True),   # compare's own default atol would refuse it
    ({"atol": 0.1, "rtol": 0.0}, 0.2, False),
])
def test_run_check_passes_its_tolerances_on(kwargs, offset, passes, capsys):
    cases = [Case("one", (np.array([1.0]),))]
    result = run_check("ex-demo", lambda a: a + offset, _ident, cases, **kwargs)
    assert result.passed is passes
    capsys.readouterr()


def test_a_comparison_of_ones_own():
    def close_in_sum(got, expected):
        if abs(float(np.sum(got)) - float(np.sum(expected))) >= 0.5:
            raise AssertionError("The sums differ.")

    cases = [Case("one", (np.array([1.0, 2.0]),))]
    assert run_check("ex-demo", lambda a: a[::-1], _ident, cases, compare_fn=close_in_sum)
    result = run_check("ex-demo", lambda a: a + 1, _ident, cases, compare_fn=close_in_sum)
    assert result.message == "✗ ex-demo, case 1 of 1 (one): the sums differ."

    def silent(got, expected):
        if not np.array_equal(got, expected):
            raise AssertionError()

    result = run_check("ex-demo", lambda a: a + 1, _ident, cases, compare_fn=silent, hint="h.")
    assert result.message == "✗ ex-demo, case 1 of 1 (one).\n  Hint: h."
    assert (result.cases_passed, result.cases_total) == (0, 1)


# ---- run_check: each function gets its own copy -------------------------------------------------

def test_each_function_gets_its_own_copy_of_the_arguments(capsys):
    a, b = np.array([1.0, 2.0]), np.array([10.0])
    cases = [Case("in place", (a,), {"b": b})]
    seen = []

    def reference(a, b):
        seen.append(("reference", a.tolist(), b.tolist()))
        a += 100.0
        b += 100.0
        return a + b

    def student(a, b):
        seen.append(("student", a.tolist(), b.tolist()))
        a *= -1.0
        b *= -1.0
        return -(a + b) + 200.0

    assert run_check("ex-demo", student, reference, cases)
    assert seen == [("reference", [1.0, 2.0], [10.0]), ("student", [1.0, 2.0], [10.0])]
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [10.0]
    capsys.readouterr()


# ---- the log the grader reads ------------------------------------------------------------------

def test_every_verdict_is_appended_to_the_log(tmp_path, monkeypatch, capsys):
    log = tmp_path / "checks.jsonl"
    log.write_text('{"earlier": 1}\n', encoding="utf-8")
    monkeypatch.setenv("NNBOOK_CHECK_LOG", str(log))
    run_check("ex-one", _ident, _ident, CASES3[:1])
    run_check("ex-two", _on_case(2, _raise_value_error), _ident, CASES3)
    run_check("ex-three", None, _ident, CASES3)
    text = log.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 4
    lines = text.splitlines()
    assert lines[0] == '{"earlier": 1}'
    assert [json.loads(line) for line in lines[1:]] == [
        {"exercise": "ex-one", "passed": True, "message": "✓ ex-one: the 1 case passes."},
        {"exercise": "ex-two", "passed": False,
         "message": "✗ ex-two, case 2 of 3 (two): your function raised ValueError: bad\n"
                    "  Hint: the edge."},
        {"exercise": "ex-three", "passed": False,
         "message": "✗ ex-three: pass your function itself (without calling it), received "
                    "NoneType."},
    ]
    # One JSON object per line, its keys in this order.
    assert re.fullmatch(r'\{"exercise": "ex-one", "passed": true, "message": ".*"\}', lines[1])
    capsys.readouterr()


def test_no_log_without_the_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NNBOOK_CHECK_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert run_check("ex-one", _ident, _ident, CASES3[:1])
    assert list(tmp_path.iterdir()) == []
    capsys.readouterr()


@pytest.mark.parametrize("got, expected, shown", [
    # equal to 6 digits: both shown with 12, so that the reader sees where they differ
    (2.302585324, 2.302585093, "expected 2.302585093, received 2.302585324."),
    (3.0000001, 3, "expected 3, received 3.0000001."),
    (np.float32(0.1), 0.1 + 1e-7, "expected 0.1000001, received 0.10000000149."),
    # different at 6 digits: 6 digits are enough
    (2.31, 2.302585093, "expected 2.30259, received 2.31."),
])
def test_a_near_miss_of_a_number_shows_the_digits_that_differ(got, expected, shown):
    with pytest.raises(feedback._Mismatch) as exc:
        compare(got, expected, rtol=1e-9, atol=1e-12)
    assert str(exc.value) == f"the result is wrong: {shown}"
