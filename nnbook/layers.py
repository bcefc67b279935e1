r"""Layers: each one a forward/backward pair.

Every layer comes twice, following PyTorch's split:

* a pair of functions that do the math, ``*_forward(x, ...) -> (out, cache)`` and
  ``*_backward(dout, cache) -> grads``, written once against the array API so they
  run on NumPy arrays and on PyTorch tensors;
* a class (a :class:`Module`) that owns parameters, their gradients, the cache of
  the last forward pass and the train/eval mode, and calls those functions.

Notation: a batch has ``N`` rows. For a layer ``out = f(x)`` and a scalar loss
``L``, ``dout`` is :math:`\partial L/\partial \text{out}` (same shape as ``out``)
and the backward returns :math:`\partial L/\partial x` (same shape as ``x``) by
the chain rule.
"""

from __future__ import annotations

import itertools

from . import init as _init
from .backend import (
    Backend,
    as_backend,
    check_array,
    check_int,
    check_rng,
    device_name,
    dtype_name,
    library,
    namespace,
    to_numpy,
)

__all__ = [
    "Identity",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Sign",
    "Tanh",
    "linear_backward",
    "linear_forward",
    "mlp",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "sign_backward",
    "sign_forward",
    "tanh_backward",
    "tanh_forward",
]


# --------------------------------------------------------------------------
# The math: forward/backward pairs
# --------------------------------------------------------------------------

def linear_forward(x, W, b):
    r"""Affine map :math:`y = x W^\top + b`.

    Parameters
    ----------
    x : (N, D_in) array
    W : (D_out, D_in) array
    b : (D_out,) array

    Returns
    -------
    out : (N, D_out) array
    cache : tuple ``(x, W)`` for :func:`linear_backward`
    """
    return x @ W.T + b, (x, W)


def linear_backward(dout, cache, input_grad: bool = True):
    r"""Gradients of the affine map.

    .. math::
        \frac{\partial L}{\partial x} = \delta W, \qquad
        \frac{\partial L}{\partial W} = \delta^\top x, \qquad
        \frac{\partial L}{\partial b} = \textstyle\sum_n \delta_n

    with :math:`\delta` = ``dout`` of shape (N, D_out). With ``input_grad=False``
    ``dx`` is not computed (``None``): the first layer of a network needs no
    gradient with respect to the data, and skipping it saves a third of the
    layer's backward cost.

    Returns
    -------
    dx : (N, D_in) or None, dW : (D_out, D_in), db : (D_out,)
    """
    x, W = cache
    xp = namespace(dout)
    dx = dout @ W if input_grad else None
    return dx, dout.T @ x, xp.sum(dout, axis=0)


def sign_forward(z):
    r"""Rosenblatt's threshold unit :math:`\operatorname{sign}(z) \in \{-1, +1\}`.

    We take :math:`\operatorname{sign}(0) = +1`, so the output is always a class.
    """
    xp = namespace(z)
    return xp.where(z >= 0, xp.ones_like(z), -xp.ones_like(z)), z


def sign_backward(dout, cache):
    """The derivative of a step is 0 wherever it exists (everywhere but z = 0).

    So no gradient flows through a sign unit: this is why the perceptron has its
    own learning rule, and why backpropagation needs smooth activations.
    """
    xp = namespace(dout)
    return xp.zeros_like(dout)


def sigmoid_forward(z):
    r"""Logistic sigmoid :math:`\sigma(z) = 1/(1 + e^{-z})`, computed without overflow.

    For :math:`z < 0` it uses the equal form :math:`e^{z}/(1 + e^{z})`, so that
    :math:`e^{-z}` is never evaluated for large negative :math:`z`.
    """
    xp = namespace(z)
    e = xp.exp(-xp.abs(z))                      # in (0, 1]: never overflows
    out = xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out, out


def sigmoid_backward(dout, cache):
    r""":math:`\sigma'(z) = \sigma(z)\,(1 - \sigma(z)) \le 1/4`; the cache is :math:`\sigma(z)`."""
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(z):
    r"""Hyperbolic tangent :math:`\tanh(z) = 2\sigma(2z) - 1`."""
    xp = namespace(z)
    out = xp.tanh(z)
    return out, out


def tanh_backward(dout, cache):
    r""":math:`\tanh'(z) = 1 - \tanh^2(z)`; the cache is :math:`\tanh(z)`."""
    t = cache
    return dout * (1.0 - t * t)


def relu_forward(z):
    r"""Rectified linear unit :math:`\max(z, 0) = z \cdot [z > 0]`.

    The mask :math:`[z > 0]` is kept as 1.0 and 0.0 in ``z``'s dtype: a product of
    two arrays of one dtype is a plain vectorised loop, where multiplying by a
    boolean array converts every element on the way (PyTorch's CPU path takes about
    30 times as long). The values are the same: a negative ``z`` gives -0.0, a NaN
    stays NaN.
    """
    xp = namespace(z)
    mask = xp.astype(z > 0, z.dtype)
    return z * mask, mask


def relu_backward(dout, cache):
    r"""ReLU's derivative is 1 for :math:`z > 0` and 0 for :math:`z < 0`.

    At :math:`z = 0` it is undefined; like PyTorch we use 0 there (a valid
    subgradient). The cache is the mask :math:`[z > 0]`.
    """
    return dout * cache


# --------------------------------------------------------------------------
# Modules: parameters, gradients, cache and mode
# --------------------------------------------------------------------------

class Parameter:
    """A trainable array and its gradient (``None`` until a backward pass)."""

    __slots__ = ("data", "grad", "name")

    def __init__(self, data, name: str = ""):
        self.data = data
        self.grad = None
        self.name = name

    @property
    def shape(self):
        return tuple(self.data.shape)

    def __repr__(self):
        return f"Parameter({self.name!r}, shape={self.shape})"


class Module:
    """Base class: ``forward``, ``backward``, ``parameters``, ``train``/``eval``, ``to``.

    A module keeps from its forward pass what its backward pass needs (its
    cache), so ``backward`` must follow the ``forward`` it differentiates.
    """

    training: bool = True
    backend: Backend = Backend()

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout, input_grad: bool = True):  # pragma: no cover - abstract
        """Gradients: store d loss/d parameter in each ``p.grad`` and return d loss/d input.

        ``input_grad=False`` allows a layer to skip (and return ``None`` for) the
        input gradient when nothing upstream needs it.
        """
        raise NotImplementedError

    def children(self) -> list[tuple[str, Module]]:
        """The modules this one contains, as ``(name, module)`` pairs (none by default)."""
        return []

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs in a fixed order, named as in PyTorch (``"0.W"``).

        A module's own parameters come first, then those of its children,
        prefixed with the child's name.
        """
        own = [(k, v) for k, v in vars(self).items() if isinstance(v, Parameter)]
        return own + [(f"{name}.{k}", p) for name, child in self.children()
                      for k, p in child.named_parameters()]

    def parameters(self) -> list[Parameter]:
        """The trainable parameters, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True):
        """Switch to training mode (matters for dropout and batch norm), children too; returns self."""
        self.training = bool(mode)
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Switch to evaluation mode; returns self."""
        return self.train(False)

    def to(self, backend=None, device=None, dtype=None):
        """Move the parameters to another backend, in place, children too; returns self.

        ``model.to("torch", device="cuda", dtype="float32")`` or
        ``model.to(Backend("torch"))``.
        """
        if isinstance(backend, Backend):
            if device is not None or dtype is not None:
                raise ValueError("give either a Backend or device/dtype, not both")
            bk = backend
        else:
            bk = Backend(backend or "numpy", device, dtype or "float64")
        for p in self.parameters():
            p.data = bk.asarray(to_numpy(p.data))
            p.grad = None
        for m in self._modules():
            m.backend = bk
        return self

    # A piece to use instead of the one the input selects (see :meth:`piece`).
    frozen_piece = None

    def piece(self):
        """Which linear piece the last forward used, for piecewise-linear modules.

        A ReLU is linear on each side of 0; the boolean mask :math:`[z > 0]` of
        its last forward names the piece (the *activation pattern*). Smooth
        modules return ``None``. While ``frozen_piece`` holds such a piece, the
        module's forward uses it whatever its input: the network is then the
        smooth function of its parameters that it is on that piece, which
        :mod:`nnbook.hessian` differentiates.
        """
        return None

    def _modules(self):
        """This module and all the modules below it."""
        yield self
        for _, child in self.children():
            yield from child._modules()

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


class Linear(Module):
    r"""Fully connected layer :math:`y = x W^\top + b`.

    Parameters
    ----------
    in_features, out_features : int
    rng : numpy.random.Generator
        Draws the initial weights (in NumPy, so that every backend starts equal).
    init : callable, optional
        ``init(shape, fan_in, fan_out, rng) -> ndarray`` for the weight; the
        default is :func:`nnbook.init.uniform_fan_in`, PyTorch's default,
        :math:`U(-1/\sqrt{D_\text{in}}, 1/\sqrt{D_\text{in}})` for W and b.
    bias : bool
        Learn a bias ``b`` (D_out,).
    backend : Backend or str, optional
        Where the parameters live (default NumPy float64).

    Shapes: ``x`` (N, D_in) -> (N, D_out); ``W`` (D_out, D_in), ``b`` (D_out,).
    """

    def __init__(self, in_features: int, out_features: int, *, rng, init=None,
                 bias: bool = True, backend=None):
        in_features = check_int(in_features, "in_features", minimum=1)
        out_features = check_int(out_features, "out_features", minimum=1)
        check_rng(rng)
        self.in_features, self.out_features = in_features, out_features
        self.backend = as_backend(backend)
        init = init or _init.uniform_fan_in
        W = init((out_features, in_features), in_features, out_features, rng)
        self.W = Parameter(self.backend.asarray(W), "W")
        if bias:
            b = _init.uniform_fan_in((out_features,), in_features, out_features, rng)
            self.b = Parameter(self.backend.asarray(b), "b")
        else:
            self.b = None
        self._cache = None

    def forward(self, x):
        W = self.W.data
        if (type(x) is not type(W) or x.dtype != W.dtype or x.ndim != 2
                or x.shape[1] != self.in_features
                or getattr(x, "device", None) != getattr(W, "device", None)):
            check_input(x, self, "x", features=self.in_features)   # raises unless a subclass
        b = self.b.data if self.b is not None else 0.0
        out, self._cache = linear_forward(x, self.W.data, b)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError("Linear.backward called before forward")
        dx, self.W.grad, db = linear_backward(dout, self._cache, input_grad)
        if self.b is not None:
            self.b.grad = db
        return dx

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.b is not None}"


class _Activation(Module):
    """An element-wise activation built from a forward/backward pair."""

    _forward = _backward = None  # set by subclasses (as staticmethods)

    def __init__(self):
        self._cache = None

    def forward(self, z):
        out, self._cache = self._forward(z)
        return out

    def backward(self, dout, input_grad: bool = True):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._backward(dout, self._cache)


class Identity(_Activation):
    """The linear activation :math:`g(z) = z` (no non-linearity)."""

    _forward = staticmethod(lambda z: (z, True))
    _backward = staticmethod(lambda dout, cache: dout)


class Sign(_Activation):
    """Threshold unit, see :func:`sign_forward`; its gradient is zero."""

    _forward = staticmethod(sign_forward)
    _backward = staticmethod(sign_backward)


class Sigmoid(_Activation):
    """Logistic sigmoid, see :func:`sigmoid_forward`."""

    _forward = staticmethod(sigmoid_forward)
    _backward = staticmethod(sigmoid_backward)


class Tanh(_Activation):
    """Hyperbolic tangent, see :func:`tanh_forward`."""

    _forward = staticmethod(tanh_forward)
    _backward = staticmethod(tanh_backward)


class ReLU(_Activation):
    """Rectified linear unit, see :func:`relu_forward`."""

    _forward = staticmethod(relu_forward)
    _backward = staticmethod(relu_backward)

    def forward(self, z):
        if self.frozen_piece is None:
            return super().forward(z)
        self._cache = self.frozen_piece
        return z * self._cache

    def piece(self):
        return self._cache                                # the mask [z > 0]


ACTIVATIONS = {"identity": Identity, "sign": Sign, "sigmoid": Sigmoid,
               "tanh": Tanh, "relu": ReLU}
# nnbook.activations adds leaky_relu, prelu, elu, gelu, gelu_tanh and softplus.


class Sequential(Module):
    r"""A chain of modules :math:`f_L \circ \dots \circ f_1`.

    ``forward`` runs the layers in order (each keeps its cache); ``backward``
    runs them in reverse, passing each layer's input gradient to the layer
    before it: the recursive delta rule of backpropagation.
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(
                    f"layer {i} must be an nnbook Module, got {type(layer).__name__}"
                )
        self.layers = list(layers)
        self.backend = layers[0].backend if layers else Backend()

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout, input_grad: bool = True):
        """Backpropagate ``dout`` = d loss/d output through every layer, last to first.

        Each layer turns the gradient with respect to its output into the
        gradient with respect to its input (and fills its parameters' ``grad``).
        ``input_grad=False`` spares the first layer the gradient with respect to
        the data, which training never uses.
        """
        first = self.layers[0] if self.layers else None
        for layer in reversed(self.layers):
            dout = layer.backward(dout, input_grad or layer is not first)
        return dout

    def children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


class Residual(Module):
    r"""A skip connection around ``inner``: :math:`y = x + f(x)`.

    Backpropagation needs nothing new: the identity branch is a unit with
    derivative 1, so the two paths' gradients add up,

    .. math::
        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}
        + \Big(\frac{\partial f}{\partial x}\Big)^{\!\top} \frac{\partial L}{\partial y}.

    ``inner`` must map (N, D) to (N, D).
    """

    def __init__(self, inner: Module):
        if not isinstance(inner, Module):
            raise TypeError(f"inner must be an nnbook Module, got {type(inner).__name__}")
        self.inner = inner
        self.backend = inner.backend

    def forward(self, x):
        out = self.inner.forward(x)
        if tuple(out.shape) != tuple(x.shape):
            raise ValueError(
                f"inner must keep the shape {tuple(x.shape)} of its input, got {tuple(out.shape)}"
            )
        return x + out

    def backward(self, dout, input_grad: bool = True):
        return dout + self.inner.backward(dout)

    def children(self):
        return [("inner", self.inner)]

    def __repr__(self):
        return f"Residual({self.inner!r})"


def mlp(sizes, activation: str = "relu", *, rng, init=None, backend=None,
        norm: str | None = None) -> Sequential:
    """A multilayer perceptron: Linear layers with ``activation`` between them.

    ``mlp([64, 128, 10], "relu", rng=rng)`` is Linear(64, 128), ReLU,
    Linear(128, 10). The last layer has no activation: it returns logits (or
    the regression output), and the loss supplies the output non-linearity.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[D_in, H_1, ..., D_out]``, at least two; Python or NumPy
        integers (a list, a tuple or a 1-D integer array).
    activation : str
        Name of the activation between the Linear layers.
    rng : numpy.random.Generator
        Draws the initial weights.
    init : callable, optional
        Weight initialiser, passed to every :class:`Linear`.
    backend : Backend or str, optional
        Where the parameters live (default NumPy float64).
    norm : {None, "batch", "layer"}
        A :class:`~nnbook.norm.BatchNorm` or :class:`~nnbook.norm.LayerNorm` after
        every hidden Linear layer, before its activation.

    Returns
    -------
    Sequential
        Maps ``x`` (N, D_in) to (N, D_out).

    Raises
    ------
    TypeError
        If ``sizes`` is not a sequence of integers, or ``rng`` is not a Generator.
    ValueError
        If ``sizes`` has fewer than 2 entries or one below 1, or ``activation`` is unknown.
    """
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a sequence of layer widths, got {sizes!r}") from None
    sizes = [check_int(d, f"sizes[{i}]", minimum=1) for i, d in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least 2 layer widths, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    if norm not in (None, "batch", "layer"):
        raise ValueError(f"norm must be None, 'batch' or 'layer', got {norm!r}")
    check_rng(rng)
    layers: list[Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(d_in, d_out, rng=rng, init=init, backend=backend))
        if i < len(sizes) - 2:
            if norm is not None:
                from . import norm as _norm
                make = _norm.BatchNorm if norm == "batch" else _norm.LayerNorm
                layers.append(make(d_out, backend=backend))
            layers.append(ACTIVATIONS[activation]())
    model = Sequential(*layers)
    return model


def check_input(x, model: Module, name: str = "x", features: int | None = None):
    """Validate a batch for ``model``: a 2-D float array of the model's library, dtype and device.

    Parameters
    ----------
    x : (N, D) array
        The batch to check.
    model : Module
        The model it is for; ``model.backend`` says where its parameters live.
    name : str
        Argument name used in the error message.
    features : int, optional
        Required number of columns ``D``.

    Returns
    -------
    The array-API namespace of ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not an array, or not a float array of the model's library and dtype.
    ValueError
        If ``x`` is not 2-D (with ``features`` columns), or lives on another device.
    """
    bk = model.backend
    hint = f"convert it with model.backend.asarray({name})"
    xp = check_array(x, name, floating=False)
    if xp is not bk.xp:
        raise TypeError(f"{name} is a {library(x)} array but the model lives on {bk}; {hint}")
    check_array(x, name, ndim=2 if features is None else None,
                shape=None if features is None else (None, features))
    if dtype_name(x) != bk.dtype:
        raise TypeError(
            f"{name} must have the model's dtype {bk.dtype}, got {dtype_name(x)}; {hint}"
        )
    dev = device_name(x)
    if dev != bk.device and dev.partition(":")[0] != bk.device:
        raise ValueError(f"{name} is on device {dev} but the model lives on {bk}; {hint}")
    return xp
