"""The checklist's measurements: real values, NumPy/PyTorch parity, torch oracles, bad inputs."""


import numpy as np
import pytest
import torch
from conftest import as_torch, bad_data_cases, whole

from nnbook import CrossEntropyLoss, MSELoss, ReLU, Sequential, Softmax, Tanh, mlp, to_numpy
from nnbook.diagnostics import (
    chance_loss,
    initial_loss,
    layer_report,
    neighbour_label_agreement,
    overfit_batch,
    split_overlap,
)
from nnbook.layers import Linear

# ---------------------------------------------------------------- chance loss


def test_chance_loss_is_ln_c_for_balanced_classes(backend):
    y = backend.asarray(np.repeat(np.arange(10), 3))
    assert chance_loss(y) == pytest.approx(np.log(10), rel=1e-14)


def test_chance_loss_is_the_entropy_and_ignores_absent_classes():
    y = np.array([0] * 6 + [1] * 3 + [2])
    expected = -(0.6 * np.log(0.6) + 0.3 * np.log(0.3) + 0.1 * np.log(0.1))
    assert chance_loss(y, 3) == pytest.approx(expected, rel=1e-14)
    assert chance_loss(y, 7) == pytest.approx(expected, rel=1e-14)
    assert chance_loss(np.zeros(4, np.int64)) == 0.0


def test_chance_loss_is_the_loss_of_the_best_constant_logits():
    """torch's cross_entropy of logits log(pi) (the optimum) equals the entropy."""
    y = np.array([0, 0, 0, 1, 2, 2, 3, 3, 3, 3])
    pi = np.bincount(y) / len(y)
    logits = torch.log(as_torch(pi)).expand(len(y), -1)
    assert chance_loss(y) == pytest.approx(
        torch.nn.functional.cross_entropy(logits, torch.as_tensor(y)).item(), rel=1e-12)


@pytest.mark.parametrize("y, kwargs, cls, message", [
    (np.zeros((2, 2), np.int64), {}, ValueError, "y must have shape (N,) with N >= 1, got (2, 2)"),
    (np.zeros(0, np.int64), {}, ValueError, "y must have shape (N,) with N >= 1, got (0,)"),
    (np.zeros(3), {}, TypeError, "y must hold integer class labels, got dtype float64"),
    (np.array([0, -1]), {}, ValueError, "y must hold labels >= 0, got -1"),
    (np.array([0, 3]), {"num_classes": 3}, ValueError,
     "y must hold labels < num_classes = 3, got 3"),
])
def test_chance_loss_refuses_bad_labels(y, kwargs, cls, message):
    with pytest.raises(cls, match=whole(message)):
        chance_loss(y, **kwargs)


# ---------------------------------------------------------------- initial loss


def test_initial_loss_matches_torch_and_keeps_the_mode(backend):
    rng = np.random.default_rng(0)
    model = mlp([4, 6, 3], rng=rng, backend=backend)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    W1, b1, W2, b2 = (to_numpy(p.data) for p in model.parameters())
    h = torch.relu(as_torch(X) @ as_torch(W1).T + as_torch(b1))
    expected = torch.nn.functional.cross_entropy(h @ as_torch(W2).T + as_torch(b2),
                                                 torch.as_tensor(y)).item()
    model.train()
    got = initial_loss(model, CrossEntropyLoss(), backend.asarray(X), backend.asarray(y))
    assert got == pytest.approx(expected, rel=1e-12)
    assert model.training


def test_initial_loss_refuses_targets_that_do_not_suit_the_loss():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"^y does not suit CrossEntropyLoss: "):
        initial_loss(mlp([4, 3], rng=rng), CrossEntropyLoss(), np.zeros((2, 4)),
                     np.array([0, 5]))


# ---------------------------------------------------------------- overfitting one batch


def test_overfit_batch_reaches_zero_and_matches_torch(backend):
    rng = np.random.default_rng(1)
    model = mlp([5, 16, 3], rng=rng, backend=backend)
    W1, b1, W2, b2 = (as_torch(to_numpy(p.data), requires_grad=True) for p in model.parameters())
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    losses = overfit_batch(model, CrossEntropyLoss(), backend.asarray(X), backend.asarray(y),
                           steps=150, lr=0.5, momentum=0.9)
    opt = torch.optim.SGD([W1, b1, W2, b2], lr=0.5, momentum=0.9)
    expected = []
    for _ in range(150):
        opt.zero_grad()
        out = torch.relu(as_torch(X) @ W1.T + b1) @ W2.T + b2
        loss = torch.nn.functional.cross_entropy(out, torch.as_tensor(y))
        loss.backward()
        opt.step()
        expected.append(loss.item())
    assert losses.shape == (150,)
    np.testing.assert_allclose(losses, expected, rtol=1e-8, atol=1e-12)
    assert losses[-1] < 1e-3


def test_overfit_batch_stops_at_the_floor_of_a_softmax_too_many():
    rng = np.random.default_rng(2)
    model = Sequential(*mlp([5, 16, 4], rng=rng).layers, Softmax())
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 4, 6)
    losses = overfit_batch(model, CrossEntropyLoss(), X, y, steps=300, lr=0.5)
    floor = np.log(np.e + 3) - 1
    assert np.all(losses > floor)
    assert losses[-1] < floor + 0.05


def test_overfit_batch_refuses_bad_steps():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"^steps must be a positive int, got 0$"):
        overfit_batch(mlp([4, 3], rng=rng), CrossEntropyLoss(), np.zeros((2, 4)),
                      np.array([0, 1]), steps=0)


# ---------------------------------------------------------------- labels and splits


def test_neighbour_label_agreement_real_and_shuffled(backend):
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((4, 6)) * 10
    y = np.repeat(np.arange(4), 25)
    X = centres[y] + rng.standard_normal((100, 6))
    assert neighbour_label_agreement(backend.asarray(X), backend.asarray(y)) == 1.0
    y_bad = y[rng.permutation(100)]
    nearest = np.argmin(np.where(np.eye(100, dtype=bool), np.inf,
                                 ((X[:, None] - X[None]) ** 2).sum(-1)), axis=1)
    expected = np.mean(y_bad[nearest] == y_bad)
    assert neighbour_label_agreement(backend.asarray(X), backend.asarray(y_bad)) == expected
    assert expected < 0.5


def test_neighbour_label_agreement_by_hand():
    X = np.array([[0.0], [0.1], [5.0], [5.2], [9.0]])
    y = np.array([0, 0, 1, 0, 0])
    # nearest: 1, 0, 3, 2, 3  -> agree, agree, no, no, yes
    assert neighbour_label_agreement(X, y) == pytest.approx(3 / 5)


def test_split_overlap_counts_validation_rows(backend):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((10, 3))
    V = np.concatenate([A[[2, 5, 5]], rng.standard_normal((5, 3))])
    assert split_overlap(backend.asarray(A), backend.asarray(V)) == pytest.approx(3 / 8)
    assert split_overlap(backend.asarray(A), backend.asarray(V + 1e-4)) == 0.0
    # V + 1e-4 is at Euclidean distance sqrt(3) * 1e-4 = 1.7e-4 from its source rows
    assert split_overlap(backend.asarray(A), backend.asarray(V + 1e-4), atol=2e-4) == \
        pytest.approx(3 / 8)
    assert split_overlap(backend.asarray(A), backend.asarray(V + 1e-4), atol=1.5e-4) == 0.0


@pytest.mark.parametrize("call, cls, message", [
    (lambda: neighbour_label_agreement(np.zeros((1, 2)), np.zeros(1, np.int64)), ValueError,
     "X must have at least 2 rows, got shape (1, 2)"),
    (lambda: neighbour_label_agreement(np.zeros((3, 2)), np.zeros(2, np.int64)), ValueError,
     "y must have 3 entries like X, got shape (2,)"),
    (lambda: split_overlap(np.zeros((3, 2)), np.zeros((2, 3))), ValueError,
     "X_val must have 2 columns like X_train, got shape (2, 3)"),
    (lambda: split_overlap(np.zeros((3, 2)), np.zeros((0, 2))), ValueError,
     "X_train and X_val must have at least one row each, got shapes (3, 2) and (0, 2)"),
    (lambda: split_overlap(np.zeros((3, 2)), np.zeros((1, 2)), atol=-1.0), ValueError,
     "atol must be a non-negative number, got -1.0"),
])
def test_label_and_split_checks_refuse_bad_inputs(call, cls, message):
    with pytest.raises(cls, match=whole(message)):
        call()


# ---------------------------------------------------------------- per-layer report


def test_layer_report_matches_autograd(backend):
    rng = np.random.default_rng(5)
    model = mlp([5, 7, 6, 3], rng=rng, backend=backend)
    X, y = rng.standard_normal((9, 5)), rng.integers(0, 3, 9)
    rep = layer_report(model, CrossEntropyLoss(), backend.asarray(X), backend.asarray(y))
    Ws = [as_torch(to_numpy(m.W.data), requires_grad=True) for m in model.layers[::2]]
    bs = [as_torch(to_numpy(m.b.data)) for m in model.layers[::2]]
    a, zs, acts = as_torch(X), [], []
    for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        z = a @ W.T + b
        z.retain_grad()
        a = torch.relu(z) if i < 2 else z
        zs.append(z)
        acts.append(a)
    torch.nn.functional.cross_entropy(a, torch.as_tensor(y)).backward()
    np.testing.assert_allclose(rep.act_std, [t.detach().std(correction=0).item() for t in acts],
                               rtol=1e-12)
    np.testing.assert_allclose(rep.grad_std, [z.grad.std(correction=0).item() for z in zs],
                               rtol=1e-12)
    np.testing.assert_allclose(rep.update_ratio, [(W.grad.norm() / W.detach().norm()).item()
                                                  for W in Ws], rtol=1e-12)
    dead = [(acts[i] <= 0).all(dim=0).double().mean().item() for i in range(2)]
    np.testing.assert_allclose(rep.dead_fraction[:2], dead)
    assert np.isnan(rep.dead_fraction[2])


def test_layer_report_sees_dead_units_and_prints_a_table():
    rng = np.random.default_rng(6)
    model = mlp([4, 5, 5, 2], rng=rng)
    model.layers[2].b.data[...] = -100.0                    # the second hidden layer is dead
    rep = layer_report(model, CrossEntropyLoss(), rng.standard_normal((8, 4)),
                       rng.integers(0, 2, 8))
    assert rep.dead_fraction[1] == 1.0
    assert rep.update_ratio[0] == 0.0 and rep.grad_std[0] == 0.0
    lines = rep.table().splitlines()
    assert lines[0] == "layer   act std   dead  grad std  |dW|/|W|"
    assert lines[2].split()[:3] == ["2", "0", "1.00"]
    assert lines[3].split()[2] == "-"


def test_layer_report_with_tanh_has_no_dead_fraction():
    rng = np.random.default_rng(7)
    model = Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 1, rng=rng))
    rep = layer_report(model, MSELoss(), rng.standard_normal((5, 3)), rng.standard_normal((5, 1)))
    assert np.all(np.isnan(rep.dead_fraction))


def test_layer_report_refuses_a_model_that_is_not_sequential():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"^model must be an nnbook Sequential, got Linear$"):
        layer_report(Linear(2, 2, rng=rng), MSELoss(), np.zeros((1, 2)), np.zeros((1, 2)))


# ---------------------------------------------------------------- arguments refused, by name


@pytest.mark.parametrize("num_classes, cls, message", [
    (0, ValueError, "num_classes must be a positive int, got 0"),
    (2.0, TypeError, "num_classes must be a positive int, got 2.0 of type float"),
])
def test_chance_loss_refuses_a_bad_num_classes(num_classes, cls, message):
    with pytest.raises(cls, match=whole(message)):
        chance_loss(np.array([0, 1]), num_classes)



@pytest.mark.parametrize("fn", [initial_loss, overfit_batch, layer_report])
@pytest.mark.parametrize("X, y, cls, message", bad_data_cases())
def test_model_checks_refuse_data_naming_x_and_y(fn, X, y, cls, message):
    model = mlp([5, 8, 3], rng=np.random.default_rng(1))
    with pytest.raises(cls, match=whole(message)):
        fn(model, CrossEntropyLoss(), X, y)


@pytest.mark.parametrize("call, cls, message", [
    (lambda: neighbour_label_agreement([[1.0], [2.0]], np.array([0, 1])), TypeError,
     "X must be a NumPy array or torch.Tensor, got list"),
    (lambda: neighbour_label_agreement(np.zeros(3), np.array([0, 1, 0])), ValueError,
     "X must have 2 dimension(s), got shape (3,)"),
    (lambda: neighbour_label_agreement(np.zeros((3, 2)), torch.zeros(3, dtype=torch.int64)),
     TypeError, "y must be a numpy array like X, got a torch array; "
                "put both on one backend with Backend.asarray"),
    (lambda: split_overlap([[1.0]], np.zeros((1, 1))), TypeError,
     "X_train must be a NumPy array or torch.Tensor, got list"),
    (lambda: split_overlap(np.zeros(2), np.zeros((1, 1))), ValueError,
     "X_train must have 2 dimension(s), got shape (2,)"),
    (lambda: split_overlap(np.zeros((1, 1)), [[1.0]]), TypeError,
     "X_val must be a NumPy array or torch.Tensor, got list"),
    (lambda: split_overlap(np.zeros((1, 1)), np.zeros(2)), ValueError,
     "X_val must have 2 dimension(s), got shape (2,)"),
    (lambda: split_overlap(np.zeros((1, 1)), torch.zeros(1, 1, dtype=torch.float64)), TypeError,
     "X_val must be a numpy array like X_train, got a torch array; "
     "put both on one backend with Backend.asarray"),
    (lambda: split_overlap(np.zeros((0, 2)), np.zeros((1, 2))), ValueError,
     "X_train and X_val must have at least one row each, got shapes (0, 2) and (1, 2)"),
])
def test_label_and_split_checks_name_their_arguments(call, cls, message):
    with pytest.raises(cls, match=whole(message)):
        call()


# ---------------------------------------------------------------- defaults and edge cases


def test_overfit_batch_defaults_are_200_steps_at_rate_0_1_with_momentum_0_9():
    X, y = np.random.default_rng(8).standard_normal((4, 3)), np.array([0, 1, 2, 1])
    default = overfit_batch(mlp([3, 5, 3], rng=np.random.default_rng(9)), CrossEntropyLoss(),
                            X, y)
    explicit = overfit_batch(mlp([3, 5, 3], rng=np.random.default_rng(9)), CrossEntropyLoss(),
                             X, y, steps=200, lr=0.1, momentum=0.9)
    assert default.shape == (200,)
    np.testing.assert_array_equal(default, explicit)


def test_overfit_batch_skips_the_gradient_of_the_data():
    rng = np.random.default_rng(10)
    model = mlp([3, 4, 2], rng=rng)
    flags, backward = [], model.backward

    def spy(dout, **kwargs):
        flags.append(kwargs.get("input_grad", True))     # True: Sequential's default
        return backward(dout, **kwargs)

    model.backward = spy
    overfit_batch(model, CrossEntropyLoss(), rng.standard_normal((3, 3)), np.array([0, 1, 0]),
                  steps=3)
    assert [f is False for f in flags] == [True] * 3


def test_neighbour_label_agreement_on_two_points():
    X = np.array([[0.0], [1.0]])
    assert neighbour_label_agreement(X, np.array([0, 0])) == 1.0
    assert neighbour_label_agreement(X, np.array([0, 1])) == 0.0


def test_split_overlap_edge_cases():
    # a single training row
    assert split_overlap(np.array([[1.0, 2.0]]), np.array([[1.0, 2.0], [0.0, 0.0]])) == 0.5
    # atol = 1: a row at distance 0.5 counts, one at distance 2 does not
    A = np.array([[0.0, 0.0], [10.0, 10.0]])
    V = np.array([[0.3, 0.4], [12.0, 10.0]])
    assert split_overlap(A, V, atol=1.0) == 0.5
    # a distance of exactly atol counts: (3, 4) is at distance 5 from the origin
    assert split_overlap(np.zeros((1, 2)), np.array([[3.0, 4.0]]), atol=5.0) == 1.0
    assert split_overlap(np.zeros((1, 2)), np.array([[3.0, 4.0]]), atol=4.999) == 0.0


def test_layer_report_counts_dead_units_of_a_final_relu():
    rng = np.random.default_rng(11)
    model = Sequential(Linear(3, 4, rng=rng), ReLU(), Linear(4, 2, rng=rng), ReLU())
    model.layers[2].b.data[...] = [-100.0, 100.0]            # the first output unit is dead
    rep = layer_report(model, MSELoss(), rng.standard_normal((5, 3)), np.zeros((5, 2)))
    assert rep.dead_fraction.shape == (2,)
    assert rep.dead_fraction[1] == 0.5
