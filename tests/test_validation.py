"""Every bad input gets a clear error from nnbook, before any work; every valid one works.

The refusals are TypeError or ValueError raised by nnbook itself, naming the
argument, what was expected and what was given.
"""

import copy
import math

import numpy as np
import pytest
import torch

import nnbook as nb
from nnbook.backend import check_int, check_real, check_same_backend
from nnbook.layers import check_input


def _params(model):
    return [nb.to_numpy(p.data).copy() for p in model.parameters()]


def _classification(rng, n=12):
    X, y = nb.data.blobs(n, rng=rng)
    model = nb.mlp([2, 4, 2], "tanh", rng=rng)
    return model, X, y


def _regression(rng, n=20, outputs=1):
    X = rng.standard_normal((n, 3))
    y = X @ rng.standard_normal((3, outputs)) + 0.1 * rng.standard_normal((n, outputs))
    model = nb.mlp([3, 5, outputs], "tanh", rng=rng)
    return model, X, y


# --------------------------------------------------------------------------
# The shared validators
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [4, np.int64(4), np.int32(4), np.uint8(4)])
def test_check_int_accepts_every_integer(value):
    out = check_int(value, "batch_size", minimum=1)
    assert out == 4 and type(out) is int


@pytest.mark.parametrize("value, error, match", [
    (0, ValueError, "batch_size must be a positive int, got 0"),
    (np.int64(-2), ValueError, "batch_size must be a positive int, got -2"),
    (4.0, TypeError, "batch_size must be a positive int, got 4.0 of type float"),
    (True, TypeError, "batch_size must be a positive int, got True of type bool"),
    (np.bool_(True), TypeError, "batch_size must be a positive int, got .* of type bool"),
    ("4", TypeError, "batch_size must be a positive int, got '4' of type str"),
    (np.array([4]), TypeError, "batch_size must be a positive int, got array"),
])
def test_check_int_refusals(value, error, match):
    with pytest.raises(error, match=match):
        check_int(value, "batch_size", minimum=1)


def test_check_int_describes_its_bound():
    with pytest.raises(ValueError, match="epochs must be a non-negative int, got -1"):
        check_int(-1, "epochs", minimum=0)
    with pytest.raises(ValueError, match="k must be an int >= 2, got 1"):
        check_int(1, "k", minimum=2)
    assert check_int(-5, "k") == -5


@pytest.mark.parametrize("value", [0.1, np.float32(0.1), np.float64(0.1), 1, np.int64(1)])
def test_check_real_accepts_every_real(value):
    out = check_real(value, "lr", 0, low_open=True)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value, kwargs, error, match", [
    (float("inf"), dict(low=0, low_open=True), ValueError, "lr must be finite, got inf"),
    (np.float32("nan"), dict(low=0, low_open=True), ValueError, "lr must be finite, got nan"),
    (-np.inf, dict(), ValueError, "lr must be finite, got -inf"),
    (0.0, dict(low=0, low_open=True), ValueError, r"lr must be a positive number, got 0\.0"),
    (-1, dict(low=0), ValueError, r"lr must be a non-negative number, got -1\.0"),
    (1.0, dict(low=0, high=1, high_open=True), ValueError, r"lr must lie in \[0, 1\), got 1\.0"),
    (0.0, dict(low=0, high=1, low_open=True), ValueError, r"lr must lie in \(0, 1\], got 0\.0"),
    (5.0, dict(high=2), ValueError, r"lr must lie in \(-inf, 2\], got 5\.0"),
    (0.5, dict(low=1), ValueError, r"lr must lie in \[1, inf\), got 0\.5"),
    ("0.1", dict(), TypeError, "lr must be a real number, got '0.1' of type str"),
    (True, dict(low=0, low_open=True), TypeError, "lr must be a positive number, got True of type bool"),
    (1j, dict(), TypeError, "lr must be a real number, got 1j of type complex"),
    (None, dict(), TypeError, "lr must be a real number, got None of type NoneType"),
])
def test_check_real_refusals(value, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_real(value, "lr", **kwargs)


def test_check_same_backend():
    a, t = np.zeros((3, 2)), torch.zeros(3, 2, dtype=torch.float64)
    assert check_same_backend(np.ones(3), "y", a, "X").__name__ == "array_api_compat.numpy"
    with pytest.raises(TypeError, match="y must be a numpy array like X, got a torch array"):
        check_same_backend(t, "y", a, "X")
    with pytest.raises(TypeError, match="y must be a torch array like X, got a numpy array"):
        check_same_backend(a, "y", t, "X")
    with pytest.raises(TypeError, match=r"y must be a NumPy array or torch\.Tensor, got list"):
        check_same_backend([0, 1, 2], "y", a, "X")
    with pytest.raises(ValueError, match=r"y must be on the device of X \(cpu\), got meta"):
        check_same_backend(torch.zeros(3, 2, dtype=torch.float64, device="meta"), "y", t, "X")
    with pytest.raises(TypeError, match=r"y must have the dtype of X \(float64\), got float32"):
        check_same_backend(a.astype(np.float32), "y", a, "X", dtype=True)
    check_same_backend(a.astype(np.float32), "y", a, "X")      # dtype only when asked


# --------------------------------------------------------------------------
# NumPy scalars are valid hyper-parameters; inf and NaN are not
# --------------------------------------------------------------------------

def test_numpy_scalars_train_exactly_like_python_numbers(rng):
    model, X, y = _classification(rng)
    curves = []
    for epochs, batch_size, lr, mu in [(3, 4, 0.5, 0.9),
                                       (np.int64(3), np.int64(4), np.float64(0.5), np.float64(0.9))]:
        m = copy.deepcopy(model)
        curves.append(nb.fit(m, nb.CrossEntropyLoss(), nb.SGD(m.parameters(), lr=lr, momentum=mu),
                             X, y, epochs=epochs, batch_size=batch_size,
                             rng=np.random.default_rng(0)).loss)
    assert curves[0] == curves[1] and len(curves[0]) == 3


def test_sgd_takes_numpy_floats(rng):
    model = nb.mlp([2, 3, 2], rng=rng)
    opt = nb.SGD(model.parameters(), lr=np.float32(0.1), momentum=np.float32(0.5))
    assert opt.lr == float(np.float32(0.1)) and opt.momentum == 0.5
    assert type(opt.lr) is float and type(opt.momentum) is float


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr=float("inf")), ValueError, "lr must be finite, got inf"),
    (dict(lr=float("nan")), ValueError, "lr must be finite, got nan"),
    (dict(lr=True), TypeError, "lr must be a positive number, got True of type bool"),
    (dict(lr="0.1"), TypeError, "lr must be a positive number, got '0.1' of type str"),
    (dict(lr=0.1, momentum=float("nan")), ValueError, "momentum must be finite, got nan"),
    (dict(lr=0.1, momentum=-0.1), ValueError, r"momentum must lie in \[0, 1\), got -0\.1"),
])
def test_sgd_refuses_bad_hyper_parameters(kwargs, error, match, rng):
    model = nb.mlp([2, 3, 2], rng=rng)
    with pytest.raises(error, match=match):
        nb.SGD(model.parameters(), **kwargs)


@pytest.mark.parametrize("params, match", [
    ([], "got an empty list"),
    (3, "got a int"),
    ([np.zeros(2)], "got an item of type ndarray"),
])
def test_sgd_refuses_what_is_not_parameters(params, match):
    with pytest.raises(TypeError, match=rf"params must be a non-empty list of nnbook Parameters .*{match}"):
        nb.SGD(params, lr=0.1)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epochs=2.0), TypeError, "epochs must be a non-negative int, got 2.0 of type float"),
    (dict(epochs=-1), ValueError, "epochs must be a non-negative int, got -1"),
    (dict(epochs=True), TypeError, "epochs must be a non-negative int, got True of type bool"),
    (dict(batch_size=np.float64(4)), TypeError,
     r"batch_size must be a positive int, got np\.float64\(4\.0\)"),
    (dict(batch_size=np.int64(0)), ValueError, "batch_size must be a positive int, got 0"),
])
def test_fit_refuses_bad_epochs_and_batch_size(kwargs, error, match, rng):
    model, X, y = _classification(rng)
    args = dict(epochs=1, batch_size=4, rng=rng) | kwargs
    with pytest.raises(error, match=match):
        nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1), X, y, **args)


def test_mlp_takes_a_numpy_array_of_sizes(rng):
    a = nb.mlp(np.array([3, 4, 2]), "relu", rng=np.random.default_rng(0))
    b = nb.mlp([3, 4, 2], "relu", rng=np.random.default_rng(0))
    assert [type(layer.in_features) for layer in (a[0], a[2])] == [int, int]
    assert [p.shape for p in a.parameters()] == [(4, 3), (4,), (2, 4), (2,)]
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    assert nb.Linear(np.int64(3), np.int32(2), rng=rng).W.shape == (2, 3)


@pytest.mark.parametrize("sizes, error, match", [
    (3, TypeError, "sizes must be a sequence of layer widths, got 3"),
    ([3, 0, 2], ValueError, r"sizes\[1\] must be a positive int, got 0"),
    ([3, 4.0, 2], TypeError, r"sizes\[1\] must be a positive int, got 4\.0 of type float"),
    (np.array([3.0, 2.0]), TypeError, r"sizes\[0\] must be a positive int, got np\.float64\(3\.0\)"),
    ([3, True], TypeError, r"sizes\[1\] must be a positive int, got True of type bool"),
    ([3], ValueError, r"sizes must list at least 2 layer widths, got \[3\]"),
])
def test_mlp_refuses_bad_sizes(sizes, error, match, rng):
    with pytest.raises(error, match=match):
        nb.mlp(sizes, rng=rng)


def test_linear_refuses_non_integer_widths(rng):
    with pytest.raises(TypeError, match=r"in_features must be a positive int, got 2\.5 of type float"):
        nb.Linear(2.5, 3, rng=rng)
    with pytest.raises(ValueError, match="out_features must be a positive int, got -3"):
        nb.Linear(2, np.int64(-3), rng=rng)


# --------------------------------------------------------------------------
# forward and predict: arrays of the model's library, dtype and device
# --------------------------------------------------------------------------

def test_forward_of_a_numpy_model_refuses_a_tensor(rng):
    model = nb.mlp([2, 3, 2], rng=rng)
    x = torch.zeros(4, 2, dtype=torch.float64)
    for call in (model.forward, model, model[0].forward):
        with pytest.raises(TypeError, match=r"x is a torch array but the model lives on numpy:cpu:float64; "
                                            r"convert it with model\.backend\.asarray\(x\)"):
            call(x)


def test_forward_of_a_torch_model_refuses_numpy_and_other_dtypes(rng):
    model = nb.mlp([2, 3, 2], rng=rng).to("torch", device="cpu")
    with pytest.raises(TypeError, match="x is a numpy array but the model lives on torch:cpu:float64"):
        model.forward(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="x must have the model's dtype float64, got float32"):
        model.forward(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="x is on device meta but the model lives on torch:cpu:float64"):
        model.forward(torch.zeros(4, 2, dtype=torch.float64, device="meta"))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\), got \(4, 3\)"):
        model.forward(torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"x must have a float dtype, got torch\.int64"):
        model.forward(torch.zeros(4, 2, dtype=torch.int64))


def test_forward_refuses_float32_on_a_float64_numpy_model(rng):
    model = nb.mlp([2, 3, 2], rng=rng)
    with pytest.raises(TypeError, match="x must have the model's dtype float64, got float32"):
        model.forward(np.zeros((4, 2), dtype=np.float32))
    model32 = nb.mlp([2, 3, 2], rng=rng, backend=nb.Backend(dtype="float32"))
    assert model32.forward(np.zeros((4, 2), dtype=np.float32)).dtype == np.float32


def test_forward_accepts_a_subclass_of_the_array_type(rng):
    class Tagged(np.ndarray):
        pass

    model = nb.mlp([2, 3, 2], rng=rng)
    x = rng.standard_normal((4, 2))
    np.testing.assert_array_equal(np.asarray(model.forward(x.view(Tagged))), model.forward(x))


def test_predict_refuses_arrays_of_the_other_library(rng):
    model = nb.mlp([2, 3, 2], rng=rng)
    with pytest.raises(TypeError, match="X is a torch array but the model lives on numpy:cpu:float64"):
        nb.predict(model, torch.zeros(4, 2, dtype=torch.float64))
    model.to("torch", device="cpu")
    with pytest.raises(TypeError, match="X is a numpy array but the model lives on torch:cpu:float64"):
        nb.predict(model, np.zeros((4, 2)))
    with pytest.raises(TypeError, match=r"X must be a NumPy array or torch\.Tensor, got list"):
        nb.predict(model, [[0.0, 0.0]])
    with pytest.raises(TypeError, match="model must be an nnbook Module"):
        nb.predict(torch.nn.Linear(2, 2), torch.zeros(4, 2))


def test_predict_names_X_when_its_width_is_wrong(rng):
    model = nb.mlp([2, 3, 2], rng=rng)
    with pytest.raises(ValueError,
                       match=r"X does not fit the model: x must have shape \(N, 2\), got \(4, 5\)"):
        nb.predict(model, np.zeros((4, 5)))
    assert nb.predict(model, np.zeros((0, 2))).shape == (0, 2)      # no rows is a valid batch


def test_check_input_on_a_float32_torch_model(rng):
    model = nb.mlp([2, 3, 2], rng=rng).to("torch", device="cpu", dtype="float32")
    assert check_input(torch.zeros(4, 2), model, "X").__name__ == "array_api_compat.torch"
    with pytest.raises(TypeError, match="X must have the model's dtype float32, got float64"):
        check_input(torch.zeros(4, 2, dtype=torch.float64), model, "X")


# --------------------------------------------------------------------------
# fit: everything is checked before the first step
# --------------------------------------------------------------------------

def _refused_before_training(model, call, error, match):
    before = _params(model)
    epochs_run = []
    with pytest.raises(error, match=match):
        call(lambda epoch, m: epochs_run.append(epoch))
    assert epochs_run == []
    for p, q in zip(before, _params(model), strict=True):
        np.testing.assert_array_equal(p, q)


def test_fit_refuses_y_on_another_backend(rng):
    model, X, y = _classification(rng)
    opt = nb.SGD(model.parameters(), lr=0.1)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), opt, X, torch.as_tensor(y),
                                 epochs=2, batch_size=4, rng=rng, callback=cb),
        TypeError, "y must be a numpy array like X, got a torch array")
    model.to("torch", device="cpu")
    Xt = model.backend.asarray(X)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), opt, Xt, y,
                                 epochs=2, batch_size=4, rng=rng, callback=cb),
        TypeError, "y must be a torch array like X, got a numpy array")


def test_fit_refuses_float32_X_on_a_float64_torch_model(rng):
    model, X, y = _classification(rng)
    model.to("torch", device="cpu")
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                                 torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y),
                                 epochs=2, batch_size=4, rng=rng, callback=cb),
        TypeError, r"X must have the model's dtype float64, got float32; "
                   r"convert it with model\.backend\.asarray\(X\)")


def test_fit_refuses_float_targets_of_another_dtype(rng):
    model, X, y = _regression(rng)
    model.to("torch", device="cpu", dtype="float32")
    Xt = model.backend.asarray(X)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.MSELoss(), nb.SGD(model.parameters(), lr=0.1),
                                 Xt, torch.as_tensor(y), epochs=2, batch_size=4, rng=rng, callback=cb),
        TypeError, r"y does not suit MSELoss: target must have the dtype of output \(float32\), got float64")


def test_fit_refuses_y_as_a_list(rng):
    model, X, y = _classification(rng)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                                 X, y.tolist(), epochs=2, batch_size=4, rng=rng, callback=cb),
        TypeError, r"y must be a NumPy array or torch\.Tensor, got list")


def test_fit_refuses_X_without_rows(rng):
    model, X, y = _classification(rng)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                                 X[:0], y[:0], epochs=2, batch_size=4, rng=rng, callback=cb),
        ValueError, r"X must have at least one row, got shape \(0, 2\)")
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                                 X, y, epochs=2, batch_size=4, rng=rng, callback=cb,
                                 X_val=X[:0], y_val=y[:0]),
        ValueError, r"X_val must have at least one row, got shape \(0, 2\)")


@pytest.mark.parametrize("val, match", [
    ("X", r"y_val must be given with X_val \(a validation set needs both\), got y_val=None"),
    ("y", r"X_val must be given with y_val \(a validation set needs both\), got X_val=None"),
])
def test_fit_wants_both_halves_of_the_validation_set(val, match, rng):
    model, X, y = _classification(rng)
    kw = dict(X_val=X) if val == "X" else dict(y_val=y)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                                 X, y, epochs=2, batch_size=4, rng=rng, callback=cb, **kw),
        ValueError, match)


@pytest.mark.parametrize("X_val, y_val, error, match", [
    (np.zeros((3, 2)), np.zeros(4, dtype=np.int64), ValueError,
     r"y_val must have 3 rows like X_val, got shape \(4,\)"),
    (np.zeros((4, 3)), np.zeros(4, dtype=np.int64), ValueError,
     r"X_val does not fit the model: x must have shape \(N, 2\), got \(4, 3\)"),
    (np.zeros((4, 2)), np.full(4, 7), ValueError,
     r"y_val does not suit CrossEntropyLoss: labels must lie in \[0, 1\] for 2 classes"),
    (torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, dtype=torch.int64), TypeError,
     "X_val is a torch array but the model lives on numpy"),
    (np.zeros((4, 2)), [0, 1, 0, 1], TypeError, r"y_val must be a NumPy array or torch\.Tensor, got list"),
])
def test_fit_checks_the_validation_set_before_training(X_val, y_val, error, match, rng):
    model, X, y = _classification(rng)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                                 X, y, epochs=2, batch_size=4, rng=rng, callback=cb,
                                 X_val=X_val, y_val=y_val),
        error, match)


def test_fit_names_y_when_it_does_not_suit_the_loss(rng):
    model, X, y = _classification(rng)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1),
                                 X, y.astype(np.float64), epochs=2, batch_size=4, rng=rng, callback=cb),
        TypeError, "y does not suit CrossEntropyLoss: labels must be integer class indices")
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.MSELoss(), nb.SGD(model.parameters(), lr=0.1),
                                 X, np.zeros((len(X), 3)), epochs=2, batch_size=4, rng=rng, callback=cb),
        ValueError, r"y does not suit MSELoss: target must have the shape of output \(12, 2\), got \(12, 3\)")


def test_fit_refuses_other_objects_in_place_of_its_parts(rng):
    model, X, y = _classification(rng)
    other = nb.mlp([2, 4, 2], rng=rng)
    opt = nb.SGD(model.parameters(), lr=0.1)
    kw = dict(epochs=1, batch_size=4, rng=rng)
    cases = [
        ((torch.nn.Linear(2, 2), nb.CrossEntropyLoss(), opt), {}, TypeError,
         "model must be an nnbook Module"),
        ((model, torch.nn.CrossEntropyLoss(), opt), {}, TypeError,
         "loss_fn must be an nnbook loss .* got CrossEntropyLoss"),
        ((model, nb.CrossEntropyLoss(), torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)), {},
         TypeError, "optimizer must be an nnbook Optimizer .* got SGD"),
        ((model, nb.CrossEntropyLoss(), nb.SGD(other.parameters(), lr=0.1)), {}, ValueError,
         "optimizer must update this model's parameters"),
        ((model, nb.CrossEntropyLoss(), opt), dict(metric="f1"), ValueError,
         "metric must be 'auto', None or a callable, got 'f1'"),
        ((model, nb.CrossEntropyLoss(), opt), dict(metric=3), TypeError,
         "metric must be 'auto', None or a callable, got int"),
        ((model, nb.CrossEntropyLoss(), opt), dict(callback="print"), TypeError,
         "callback must be callable or None, got str"),
        ((model, nb.CrossEntropyLoss(), opt), dict(rng=0), TypeError, "rng must be a numpy.random.Generator"),
    ]
    for (m, loss, o), extra, error, match in cases:
        with pytest.raises(error, match=match):
            nb.fit(m, loss, o, X, y, **(kw | extra))


def test_fit_trains_with_an_optimizer_over_some_of_the_parameters(rng):
    model, X, y = _classification(rng)
    first = _params(model)
    nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model[2].parameters(), lr=0.5), X, y,
           epochs=2, batch_size=4, rng=rng)
    now = _params(model)
    np.testing.assert_array_equal(first[0], now[0])                 # the frozen first layer
    assert not np.array_equal(first[2], now[2])


# --------------------------------------------------------------------------
# fit: the curves, and accuracy only where it means something
# --------------------------------------------------------------------------

@pytest.mark.parametrize("outputs", [1, 3])
def test_fit_regression_with_validation_records_no_accuracy(outputs, rng):
    model, X, y = _regression(rng, outputs=outputs)
    hist = nb.fit(model, nb.MSELoss(), nb.SGD(model.parameters(), lr=0.05), X[:15], y[:15],
                  epochs=4, batch_size=5, rng=rng, X_val=X[15:], y_val=y[15:])
    assert len(hist.loss) == len(hist.val_loss) == 4
    assert hist.val_acc == [] and hist.val_metric == []
    final = float(nb.MSELoss()(nb.predict(model, X[15:]), y[15:]))
    assert hist.val_loss[-1] == pytest.approx(final, rel=1e-12)


def test_fit_records_the_callers_metric(rng):
    model, X, y = _regression(rng)

    def r2(out, target):
        return 1.0 - float(np.sum((out - target) ** 2) / np.sum((target - target.mean()) ** 2))

    hist = nb.fit(model, nb.MSELoss(), nb.SGD(model.parameters(), lr=0.05), X, y,
                  epochs=3, batch_size=5, rng=rng, X_val=X, y_val=y, metric=r2)
    assert hist.val_acc == [] and len(hist.val_metric) == 3
    assert hist.val_metric[-1] == pytest.approx(r2(nb.predict(model, X), y), rel=1e-12)


def test_fit_refuses_a_metric_that_returns_no_number(rng):
    model, X, y = _regression(rng)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.MSELoss(), nb.SGD(model.parameters(), lr=0.1), X, y,
                                 epochs=2, batch_size=4, rng=rng, X_val=X, y_val=y,
                                 metric=lambda out, t: "good", callback=cb),
        TypeError, "metric must return a number, got str")


def test_fit_refuses_accuracy_on_regression_targets(rng):
    model, X, y = _regression(rng)
    _refused_before_training(
        model, lambda cb: nb.fit(model, nb.MSELoss(), nb.SGD(model.parameters(), lr=0.1), X, y,
                                 epochs=2, batch_size=4, rng=rng, X_val=X, y_val=y,
                                 metric=nb.accuracy, callback=cb),
        ValueError, "target must hold 0/1 labels for binary logits")


def test_fit_metric_none_records_only_the_loss(rng):
    model, X, y = _classification(rng)
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1), X, y,
                  epochs=2, batch_size=4, rng=rng, X_val=X, y_val=y, metric=None)
    assert len(hist.val_loss) == 2 and hist.val_acc == [] and hist.val_metric == []


def test_fit_records_accuracy_for_classification(rng):
    model, X, y = _classification(rng)
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1), X, y,
                  epochs=2, batch_size=4, rng=rng, X_val=X, y_val=y)
    assert hist.val_acc[-1] == nb.accuracy(nb.predict(model, X), y) and hist.val_metric == []
    explicit = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.1), X, y,
                      epochs=2, batch_size=4, rng=rng, X_val=X, y_val=y, metric=nb.accuracy)
    assert len(explicit.val_acc) == 2 and explicit.val_metric == []


def test_fit_records_accuracy_for_binary_logits_but_not_for_soft_targets(rng):
    X, y01 = nb.data.blobs(16, rng=rng)
    t = y01.astype(np.float64)[:, None]
    model = nb.mlp([2, 3, 1], "tanh", rng=rng)
    kw = dict(epochs=2, batch_size=4, rng=rng)
    hist = nb.fit(model, nb.BCEWithLogitsLoss(), nb.SGD(model.parameters(), lr=0.1), X, t,
                  X_val=X, y_val=t, **kw)
    assert len(hist.val_acc) == 2
    assert hist.val_acc[-1] == nb.accuracy(nb.predict(model, X), t)
    soft = 0.1 + 0.8 * t
    hist = nb.fit(model, nb.BCEWithLogitsLoss(), nb.SGD(model.parameters(), lr=0.1), X, soft,
                  X_val=X, y_val=soft, **kw)
    assert len(hist.val_loss) == 2 and hist.val_acc == []


def test_history_loss_is_measured_before_each_step(rng):
    """Full-batch training: loss[0] is the loss at initialisation, loss[e] the loss after e steps."""
    model, X, y = _classification(rng)
    initial = float(nb.CrossEntropyLoss()(nb.predict(model, X), y))
    hist = nb.fit(model, nb.CrossEntropyLoss(), nb.SGD(model.parameters(), lr=0.5), X, y,
                  epochs=3, batch_size=len(X), rng=rng, X_val=X, y_val=y)
    assert hist.loss[0] == pytest.approx(initial, rel=1e-12)
    # val_loss is measured after the epoch's step: one step ahead of loss
    np.testing.assert_allclose(hist.loss[1:], hist.val_loss[:-1], rtol=1e-12)
    assert hist.val_loss[-1] < hist.loss[0]


# --------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------

def test_accuracy_refuses_to_broadcast_binary_logits_against_flat_targets():
    logits, targets = np.array([[2.0], [-1.0], [0.5]]), np.array([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"target must have the shape of output \(3, 1\) "
                                         r"\(0/1 labels for binary logits\), got \(3,\)"):
        nb.accuracy(logits, targets)
    assert nb.accuracy(logits, targets[:, None]) == pytest.approx(2 / 3)
    assert nb.accuracy(logits[:, 0], targets) == pytest.approx(2 / 3)
    assert nb.accuracy(logits, np.array([[1], [0], [0]])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("output, target, error, match", [
    (np.zeros((3, 2)), np.zeros((3, 1), dtype=np.int64), ValueError,
     r"target must have shape \(3,\), got \(3, 1\)"),
    (np.zeros((3, 2)), np.zeros((3, 2)), ValueError, r"target must have shape \(3,\), got \(3, 2\)"),
    (np.zeros((3, 2)), np.zeros(3), TypeError, "target must be integer class indices, got dtype float64"),
    (np.zeros((3, 2)), np.array([0, 1, 2]), ValueError, r"target must lie in \[0, 1\] for 2 classes"),
    (np.zeros((3, 2)), torch.zeros(3, dtype=torch.int64), TypeError,
     "target must be a numpy array like output, got a torch array"),
    (np.zeros((3, 1)), np.array([[1.0], [-1.0], [1.0]]), ValueError,
     r"target must hold 0/1 labels for binary logits, got values in \[-1, 1\]"),
    (np.zeros((3, 1)), np.array([[0.3], [1.0], [0.0]]), ValueError,
     r"target must hold 0/1 labels for binary logits, got values in \[0, 1\]"),
    (np.zeros((0, 2)), np.zeros(0, dtype=np.int64), ValueError,
     r"output must have shape \(N, C\) or \(N,\) with N >= 1, got \(0, 2\)"),
    (np.zeros((2, 2, 2)), np.zeros(2, dtype=np.int64), ValueError,
     r"output must have shape \(N, C\) or \(N,\) with N >= 1, got \(2, 2, 2\)"),
    (np.zeros((3, 2), dtype=np.int64), np.zeros(3, dtype=np.int64), TypeError,
     "output must have a float dtype, got int64"),
    ([[0.0, 1.0]], np.zeros(1, dtype=np.int64), TypeError,
     r"output must be a NumPy array or torch\.Tensor, got list"),
    (np.zeros((3, 2)), [0, 1, 0], TypeError, r"target must be a NumPy array or torch\.Tensor, got list"),
])
def test_accuracy_refusals(output, target, error, match):
    with pytest.raises(error, match=match):
        nb.accuracy(output, target)


def test_accuracy_on_torch(rng):
    logits = rng.standard_normal((20, 3))
    labels = rng.integers(0, 3, 20)
    expected = float(np.mean(np.argmax(logits, axis=1) == labels))
    assert nb.accuracy(torch.as_tensor(logits), torch.as_tensor(labels)) == expected
    assert nb.accuracy(logits, labels) == expected


# --------------------------------------------------------------------------
# Losses: targets on the backend of the output
# --------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [nb.MSELoss(), nb.BCEWithLogitsLoss()])
def test_float_targets_must_match_the_output(loss):
    out = np.zeros((4, 2))
    with pytest.raises(TypeError, match="target must be a numpy array like output, got a torch array"):
        loss(out, torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match="target must be a torch array like output, got a numpy array"):
        loss(torch.zeros(4, 2, dtype=torch.float64), out)
    with pytest.raises(TypeError, match=r"target must have the dtype of output \(float32\), got float64"):
        loss(torch.zeros(4, 2), torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"target must be a NumPy array or torch\.Tensor, got list"):
        loss(out, [[0.0, 0.0]] * 4)
    with pytest.raises(ValueError, match=r"target must be on the device of output \(cpu\), got meta"):
        loss(torch.zeros(4, 2), torch.zeros(4, 2, device="meta"))
    assert float(loss(out, np.zeros((4, 2)))) >= 0.0


def test_labels_must_match_the_logits():
    logits = np.zeros((4, 3))
    ce = nb.CrossEntropyLoss()
    with pytest.raises(TypeError, match="labels must be a numpy array like logits, got a torch array"):
        ce(logits, torch.zeros(4, dtype=torch.int64))
    with pytest.raises(TypeError, match="labels must be a torch array like logits, got a numpy array"):
        ce(torch.as_tensor(logits), np.zeros(4, dtype=np.int64))
    with pytest.raises(TypeError, match=r"labels must be a NumPy array or torch\.Tensor, got list"):
        ce(logits, [0, 1, 2, 0])
    assert float(ce(logits, np.zeros(4, dtype=np.int32))) == pytest.approx(math.log(3))
