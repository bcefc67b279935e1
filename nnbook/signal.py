r"""Signal propagation at initialisation: how a deep network treats its inputs and gradients.

For a chain of blocks :math:`z_l = a_{l-1} W_l^\top` (+ bias), :math:`a_l = g(z_l)`,
with :math:`a_0 = x`, two questions decide whether it can be trained:

* **forward**: does the spread of :math:`z_l` stay about constant with depth, or
  shrink to zero, or blow up?
* **backward**: does the error signal :math:`\delta_l = \partial L/\partial z_l`
  keep its size on the way down?

:func:`signal_stats` measures both in one forward and one backward pass of
nnbook's own layers, on any backend. :func:`input_output_jacobian` and
:func:`jacobian_singular_values` give the finer picture (Saxe et al., 2014;
Pennington et al., 2017): the Jacobian :math:`J = \partial a_L/\partial x` maps a
small change of the input to a change of the output, and a network is
*dynamically isometric* when all singular values of :math:`J` are close to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import as_backend, check_array, check_rng, to_numpy
from .layers import ACTIVATIONS, Linear, Module, Sequential

__all__ = [
    "SignalStats",
    "deep_mlp",
    "input_output_jacobian",
    "jacobian_singular_values",
    "signal_stats",
    "spectrum_measures",
]


def deep_mlp(width: int, depth: int, activation: str = "tanh", init=None, *, rng,
             d_in: int | None = None, backend=None) -> Sequential:
    r"""A deep, bias-free MLP of ``depth`` blocks Linear(width) then ``activation``.

    The object of signal-propagation studies: every block is
    :math:`a_l = g(a_{l-1} W_l^\top)`, the last one included, so all ``depth``
    layers are alike. There are no biases, so that nothing but the weights sets
    the scale of the signal.

    Parameters
    ----------
    width, depth : int
        Units per layer, and number of Linear + activation blocks.
    activation : str
        One of ``nnbook.layers.ACTIVATIONS`` (``"identity"`` for a linear network).
    init : callable
        ``init(shape, fan_in, fan_out, rng)``, see :mod:`nnbook.init`; PyTorch's
        default :func:`nnbook.init.uniform_fan_in` if ``None``.
    rng : numpy.random.Generator
    d_in : int, optional
        Input width (default ``width``).
    backend : Backend or str, optional

    Returns
    -------
    Sequential of 2 * depth modules.
    """
    for name, v in (("width", width), ("depth", depth)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    check_rng(rng)
    backend = as_backend(backend)
    layers: list[Module] = []
    for i in range(depth):
        fan_in = width if (i > 0 or d_in is None) else d_in
        layers += [Linear(fan_in, width, rng=rng, init=init, bias=False, backend=backend),
                   ACTIVATIONS[activation]()]
    return Sequential(*layers)


@dataclass
class SignalStats:
    r"""Per-layer statistics of one forward and one backward pass; each field has shape (L,).

    Attributes
    ----------
    preact_std : standard deviation of the pre-activations :math:`z_l`
    act_std : standard deviation of the activations :math:`a_l = g(z_l)`
    act_rms : root mean square :math:`\sqrt{E[a_l^2]}` (what the next layer's variance needs)
    grad_std : standard deviation of the error signal :math:`\delta_l = \partial L/\partial z_l`
    weight_grad_std : standard deviation of :math:`\partial L/\partial W_l`

    Each statistic pools the batch and the units of a layer. Layer ``l`` of the
    arrays is block ``l + 1`` of the network.
    """

    preact_std: np.ndarray
    act_std: np.ndarray
    act_rms: np.ndarray
    grad_std: np.ndarray
    weight_grad_std: np.ndarray

    @property
    def depth(self) -> int:
        return len(self.preact_std)


def _blocks(model) -> list[tuple[Linear, Module | None]]:
    """Split a Sequential into (Linear, activation or None) blocks."""
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be an nnbook Sequential, got {type(model).__name__}")
    blocks, layers, i = [], list(model.layers), 0
    while i < len(layers):
        if not isinstance(layers[i], Linear):
            raise ValueError(
                f"model must alternate Linear layers and activations, "
                f"got {type(layers[i]).__name__} at position {i}"
            )
        act = None
        if i + 1 < len(layers) and not isinstance(layers[i + 1], Linear):
            act = layers[i + 1]
        blocks.append((layers[i], act))
        i += 2 if act is not None else 1
    if not blocks:
        raise ValueError("model must hold at least one Linear layer, got an empty Sequential")
    return blocks


def signal_stats(model, X, *, dout=None, rng=None) -> SignalStats:
    r"""Measure the forward signal and the backward gradient at every layer of ``model``.

    The forward pass computes :math:`z_l` and :math:`a_l` for every block; the
    backward pass starts from ``dout`` :math:`= \partial L/\partial a_L` (by
    default a standard normal matrix drawn from ``rng``: the loss of a random
    linear read-out, :math:`L = \sum_{n,k} a_{L,nk}\,\text{dout}_{nk}`) and runs
    nnbook's own backward of every layer. Under the usual independence
    assumptions,

    .. math::
        \operatorname{Var}(z_l) = \text{fan\_in}\operatorname{Var}(w)\,E[a_{l-1}^2], \qquad
        \operatorname{Var}(\delta_{l-1}) = \text{fan\_out}\operatorname{Var}(w)\,
            E[g'(z_{l-1})^2]\operatorname{Var}(\delta_l),

    which the statistics returned here let you check layer by layer.

    Parameters
    ----------
    model : Sequential
        Linear layers, each optionally followed by an activation (as
        :func:`deep_mlp` or :func:`nnbook.layers.mlp` build them).
    X : (N, D_in) array on the model's backend
    dout : (N, D_out) array, optional
        The gradient fed to the last layer; give this or ``rng``.
    rng : numpy.random.Generator, optional
        Draws a standard normal ``dout`` when none is given.

    Returns
    -------
    SignalStats (NumPy arrays of length L, the number of Linear layers)

    Raises
    ------
    TypeError, ValueError
        For a model that is not a chain of Linear and activation blocks, an input
        of the wrong shape or backend, or neither ``dout`` nor ``rng``.
    """
    from .layers import check_input

    blocks = _blocks(model)
    check_input(X, model, "X")
    xp = model.backend.xp
    pre, act = [], []
    a = X
    for lin, g in blocks:                              # forward: keep every z and a
        z = lin.forward(a)
        a = g.forward(z) if g is not None else z
        pre.append(xp.std(z))
        act.append((xp.std(a), xp.sqrt(xp.mean(a * a))))
    if dout is None:
        if rng is None:
            raise ValueError("give dout (the gradient at the output) or rng to draw it")
        check_rng(rng)
        dout = model.backend.asarray(rng.standard_normal(tuple(a.shape)))
    else:
        check_array(dout, "dout", shape=tuple(a.shape))
    grads, wgrads = [], []
    for lin, g in reversed(blocks):                    # backward: delta of every layer
        delta = g.backward(dout) if g is not None else dout
        grads.append(xp.std(delta))
        dout = lin.backward(delta)
        wgrads.append(xp.std(lin.W.grad))

    def arr(values):
        return np.array([float(to_numpy(v)) for v in values])

    return SignalStats(preact_std=arr(pre), act_std=arr(s for s, _ in act),
                       act_rms=arr(r for _, r in act), grad_std=arr(grads[::-1]),
                       weight_grad_std=arr(wgrads[::-1]))


def input_output_jacobian(model, X):
    r"""The Jacobian :math:`J(x) = \partial\,\text{model}(x)/\partial x` at every row of ``X``.

    All rows at once, by one backward pass: each point is repeated
    :math:`D_\text{out}` times and the backward pass starts from the identity,
    so that row :math:`k` of the input gradient of copy :math:`k` is
    :math:`e_k^\top J = \partial\,\text{out}_k/\partial x` (reverse mode gives
    the Jacobian one row per output).

    Parameters
    ----------
    model : Module
        Any nnbook module whose rows do not interact (no batch statistics).
    X : (K, D_in) array on the model's backend

    Returns
    -------
    J : (K, D_out, D_in) array, on the same backend
    """
    from .layers import check_input

    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnbook Module, got {type(model).__name__}")
    xp = check_input(X, model, "X")
    K, D_in = X.shape
    D_out = model.forward(X[:1]).shape[1]
    rep = xp.reshape(xp.broadcast_to(X[:, None, :], (K, D_out, D_in)), (K * D_out, D_in))
    model.forward(rep)
    eye = xp.eye(D_out, dtype=X.dtype, device=getattr(X, "device", None))
    seed = xp.reshape(xp.broadcast_to(eye[None, :, :], (K, D_out, D_out)), (K * D_out, D_out))
    dx = model.backward(seed, input_grad=True)
    return xp.reshape(dx, (K, D_out, D_in))


def jacobian_singular_values(model, X) -> np.ndarray:
    r"""Singular values of the input-output Jacobian at every row of ``X``, largest first.

    For a linear network :math:`J = W_L \cdots W_1`; for a non-linear one
    :math:`J = D_L W_L \cdots D_1 W_1` with :math:`D_l = \operatorname{diag}(g'(z_l))`.
    Their spread is what *dynamical isometry* asks to be small: all singular
    values near 1 (Saxe et al., 2014; Pennington et al., 2017).

    Returns
    -------
    (K, min(D_out, D_in)) NumPy array
    """
    J = input_output_jacobian(model, X)
    xp = model.backend.xp
    return to_numpy(xp.linalg.svdvals(J))


def spectrum_measures(sv, *, rtol: float = 1e-13) -> dict:
    r"""What float64 can say about the spread of singular values, one row per Jacobian.

    A product of 50 random matrices has singular values far below what float64
    resolves: an SVD returns about :math:`\varepsilon\, s_{\max}` (round-off) for
    them, and exact zeros (a ReLU network's rank deficit) come out the same way.
    So the values below ``rtol`` times the largest of their row are counted as
    *unresolved* rather than trusted.

    Parameters
    ----------
    sv : (K, n) or (n,) array
        Singular values, one row per Jacobian (as returned by
        :func:`jacobian_singular_values`).
    rtol : float
        Relative resolution; 1e-13 is a few hundred times float64's epsilon.

    Returns
    -------
    dict with
        ``"spread"``: :math:`q_{90}/q_{10}` of all values, or ``inf`` when
        :math:`q_{10}` is unresolved (then the spread is only known to exceed
        ``1/rtol``);
        ``"unresolved"``: the fraction of values below ``rtol`` times their row's
        largest;
        ``"normalised_variance"``: :math:`\operatorname{Var}(s^2)/E[s^2]^2`, the
        moment-based measure of Pennington et al. (2017), averaged over the rows
        (0 for an isometry; dominated by the largest values, so float64 computes
        it accurately).
    """
    sv = np.atleast_2d(np.asarray(sv, dtype=float))
    if sv.ndim != 2 or sv.shape[1] == 0:
        raise ValueError(f"sv must have shape (K, n) or (n,) with n >= 1, got {sv.shape}")
    if np.any(sv < 0):
        raise ValueError("sv must be non-negative singular values, got a negative entry")
    floor = rtol * sv.max(axis=1, keepdims=True)
    unresolved = float(np.mean(sv < floor))
    q10, q90 = np.quantile(sv, [0.1, 0.9])
    resolved_q10 = np.quantile(np.where(sv < floor, 0.0, sv), 0.1)
    spread = float(q90 / q10) if resolved_q10 > 0 else float("inf")
    s2 = sv ** 2
    nv = float(np.mean(s2.var(axis=1) / s2.mean(axis=1) ** 2))
    return {"spread": spread, "unresolved": unresolved, "normalised_variance": nv}
