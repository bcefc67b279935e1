"""Helpers shared by the tests of the exercise checks (``tests/test_exercises_*.py``)."""


def placeholder(*args, **kwargs):
    """What a student's function is before it is answered."""
    raise NotImplementedError()


def verdict(check, fn, capsys):
    """Run ``check(fn)``; the printed verdict must be the result's message. Returns both."""
    result = check(fn)
    out = capsys.readouterr().out
    assert out.strip() == result.message
    return result, result.message
