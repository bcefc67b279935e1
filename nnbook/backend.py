"""Array namespaces, devices and dtypes: one algorithm, two array libraries.

Every algorithm in nnbook is written once against the Python array API standard
and receives its namespace ``xp`` from its inputs. NumPy is the reference (CPU,
float64 by default); PyTorch runs the same code on CUDA, MPS or the CPU.

PyTorch is imported only when a torch backend is asked for, so that the NumPy
path works with NumPy alone installed.

Randomness is always explicit: functions that draw take a
``numpy.random.Generator`` called ``rng``. Parameters are drawn in NumPy and then
moved, so that a model built from one seed is the same on every backend.

Examples
--------
>>> import numpy as np
>>> from nnbook.backend import Backend
>>> bk = Backend("numpy")
>>> bk.asarray([1.5, 2.0]).dtype
dtype('float64')
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Backend",
    "best_device",
    "check_array",
    "check_int",
    "check_real",
    "check_rng",
    "check_same_backend",
    "namespace",
    "to_numpy",
]

_NAMESPACE_CACHE: dict[type, Any] = {}
_FLOAT_DTYPES = ("float32", "float64")


def namespace(*arrays):
    """Return the array-API namespace ``xp`` shared by ``arrays``.

    A thin cache over :func:`array_api_compat.array_namespace`, keyed by the
    array type: it is called in every forward and backward, so it must cost
    nanoseconds, not microseconds.

    Raises
    ------
    TypeError
        If an argument is not an array, or the arrays come from different
        libraries.
    """
    xp = None
    for a in arrays:
        t = type(a)
        ns = _NAMESPACE_CACHE.get(t)
        if ns is None:
            from array_api_compat import array_namespace

            try:
                ns = array_namespace(a)
            except TypeError:
                raise TypeError(
                    f"expected a NumPy array or a torch.Tensor, got {t.__name__}"
                ) from None
            _NAMESPACE_CACHE[t] = ns
        if xp is None:
            xp = ns
        elif ns is not xp:
            raise TypeError(
                "arrays come from different libraries: "
                f"{xp.__name__} and {ns.__name__}; move them to one backend first"
            )
    if xp is None:
        raise TypeError("namespace() needs at least one array")
    return xp


def best_device() -> str:
    """The fastest PyTorch device available here: ``"cuda"``, ``"mps"`` or ``"cpu"``."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


@dataclass(frozen=True)
class Backend:
    """Where arrays live: a library, a device and a float dtype.

    Parameters
    ----------
    library : {"numpy", "torch"}
        ``"numpy"`` is the reference implementation; ``"torch"`` imports PyTorch.
    device : str or None
        Only for ``"torch"``: ``"cuda"``, ``"mps"``, ``"cpu"`` or ``None`` for the
        best available (:func:`best_device`). NumPy arrays live on the CPU.
    dtype : {"float64", "float32"}
        Float dtype of the parameters and data. float64 for gradient checks and
        parity tests; float32 for speed.
    """

    library: str = "numpy"
    device: str | None = None
    dtype: str = "float64"

    def __post_init__(self):
        if self.library not in ("numpy", "torch"):
            raise ValueError(
                f"library must be 'numpy' or 'torch', got {self.library!r}"
            )
        if self.dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"dtype must be one of {_FLOAT_DTYPES}, got {self.dtype!r}"
            )
        if self.library == "numpy":
            if self.device not in (None, "cpu"):
                raise ValueError(
                    f"device must be None or 'cpu' for NumPy, got {self.device!r}"
                )
            object.__setattr__(self, "device", "cpu")
        elif self.device is None:
            object.__setattr__(self, "device", best_device())
        if self.device == "mps" and self.dtype == "float64":
            raise ValueError(
                "dtype must be 'float32' on Apple's MPS device (it has no float64), "
                "got 'float64'; use Backend('torch', 'mps', 'float32')"
            )

    @property
    def xp(self):
        """The array-API namespace of this backend."""
        if self.library == "numpy":
            import array_api_compat.numpy as xp
        else:
            import array_api_compat.torch as xp
        return xp

    @property
    def float_dtype(self):
        """The float dtype object of this backend's library."""
        return getattr(self.xp, self.dtype)

    def asarray(self, x, dtype=None):
        """Convert ``x`` (array, tensor or nested list) to this backend, copying only if needed.

        Floating inputs take the backend's float dtype; anything else (class
        labels) becomes int64. ``dtype`` overrides both.
        """
        if self.library == "torch":
            import torch

            t = x.detach() if isinstance(x, torch.Tensor) else torch.from_numpy(
                np.ascontiguousarray(np.asarray(x)))
            if dtype is None:
                dtype = self.float_dtype if t.is_floating_point() else torch.int64
            return t.to(device=self.device, dtype=dtype)
        x = to_numpy(x)
        if dtype is None:
            dtype = self.dtype if np.issubdtype(x.dtype, np.floating) else np.int64
        return np.asarray(x, dtype=dtype)

    def __str__(self):
        return f"{self.library}:{self.device}:{self.dtype}"


def to_numpy(x) -> np.ndarray:
    """Return ``x`` as a NumPy array (a torch tensor is detached and moved to the CPU)."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def as_backend(backend) -> Backend:
    """Accept a :class:`Backend`, a library name (``"numpy"``, ``"torch"``) or ``None``."""
    if backend is None:
        return Backend()
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        return Backend(backend)
    raise TypeError(
        f"backend must be a Backend, 'numpy', 'torch' or None, got {type(backend).__name__}"
    )


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Refuse anything but a ``numpy.random.Generator`` (no hidden global seeds)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator "
            f"(e.g. numpy.random.default_rng(0)), got {type(rng).__name__}"
        )
    return rng


def check_array(x, name: str, ndim: int | None = None, shape=None, floating: bool = True):
    """Validate an array at a public entry point and return its namespace.

    Parameters
    ----------
    x : array
        The array to check.
    name : str
        Argument name used in the error message.
    ndim : int, optional
        Required number of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any size.
    floating : bool
        Require a real floating dtype.

    Raises
    ------
    TypeError
        If ``x`` is not an array, or not floating when ``floating`` is set.
    ValueError
        If the number of dimensions or the shape is wrong.
    """
    try:
        xp = namespace(x)
    except TypeError:
        raise TypeError(
            f"{name} must be a NumPy array or torch.Tensor, got {type(x).__name__}"
        ) from None
    if ndim is not None and x.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimension(s), got shape {tuple(x.shape)}"
        )
    if shape is not None:
        ok = len(shape) == x.ndim and all(
            s is None or s == d for s, d in zip(shape, x.shape, strict=True)
        )
        if not ok:
            dims = ["N" if s is None else str(s) for s in shape]
            want = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"   # as Python prints it
            raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    if floating and not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"{name} must have a float dtype, got {x.dtype}")
    return xp


# --------------------------------------------------------------------------
# Scalar arguments (hyper-parameters)
# --------------------------------------------------------------------------

def check_int(value, name: str, minimum: int | None = None) -> int:
    """Accept an integer (Python or NumPy, not a bool) of at least ``minimum``; return it as an ``int``.

    Parameters
    ----------
    value : numbers.Integral
        The argument to check; ``numpy.int64(4)`` is as good as ``4``.
    name : str
        Argument name used in the error message.
    minimum : int, optional
        Smallest allowed value.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not an integer (a float, a string, a bool, an array...).
    ValueError
        If ``value`` is below ``minimum``.

    Examples
    --------
    >>> import numpy as np
    >>> check_int(np.int64(4), "batch_size", minimum=1)
    4
    >>> check_int(0, "batch_size", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive int, got 0
    """
    want = {None: "an int", 0: "a non-negative int", 1: "a positive int"}.get(
        minimum, f"an int >= {minimum}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {want}, got {value!r} of type {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {want}, got {int(value)}")
    return int(value)


def check_real(value, name: str, low: float | None = None, high: float | None = None, *,
               low_open: bool = False, high_open: bool = False) -> float:
    """Accept a finite real number (Python or NumPy, not a bool) in an interval; return it as a ``float``.

    Parameters
    ----------
    value : numbers.Real
        The argument to check; ``numpy.float32(0.1)`` is as good as ``0.1``.
    name : str
        Argument name used in the error message.
    low, high : float, optional
        Bounds of the interval (none by default).
    low_open, high_open : bool
        Exclude the bound itself: ``low=0, low_open=True`` asks for a positive number.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is infinite, NaN or outside the interval.

    Examples
    --------
    >>> check_real(0.9, "momentum", 0, 1, high_open=True)
    0.9
    >>> check_real(float("inf"), "lr", 0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be finite, got inf
    """
    if low == 0 and high is None:
        want = "be a positive number" if low_open else "be a non-negative number"
    elif low is None and high is None:
        want = "be a real number"
    else:
        left = "(-inf" if low is None else f"{'(' if low_open else '['}{low:g}"
        right = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
        want = f"lie in {left}, {right}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must {want}, got {value!r} of type {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if below or above:
        raise ValueError(f"{name} must {want}, got {v!r}")
    return v


# --------------------------------------------------------------------------
# Arrays that must live together
# --------------------------------------------------------------------------

def library(x) -> str:
    """The array library of ``x``: ``"numpy"`` or ``"torch"`` (torch is not imported)."""
    return type(x).__module__.partition(".")[0]


def device_name(x) -> str:
    """Where ``x`` lives, as a string: ``"cpu"`` for NumPy, ``"cuda:0"``, ``"cpu"``... for torch."""
    return str(getattr(x, "device", "cpu"))


def dtype_name(x) -> str:
    """The dtype of ``x`` without the library's prefix: ``"float32"``, ``"int64"``..."""
    return str(x.dtype).removeprefix("torch.")


def check_same_backend(x, name: str, like, like_name: str, dtype: bool = False):
    """Refuse ``x`` unless it is an array of the same library and device as ``like`` (and dtype).

    Arrays from two libraries, or on two devices, would otherwise fail deep inside
    NumPy or PyTorch, or be silently converted by one of them.

    Parameters
    ----------
    x : array
        The array to check.
    name : str
        Argument name used in the error message.
    like : array
        The array ``x`` must go with (already validated).
    like_name : str
        Its name in the error message.
    dtype : bool
        Also require the dtype of ``like`` (float targets of float outputs).

    Returns
    -------
    The array-API namespace of both.

    Raises
    ------
    TypeError
        If ``x`` is not an array, or comes from another library or has another dtype.
    ValueError
        If ``x`` lives on another device.
    """
    xp = check_array(x, name, floating=False)
    if library(x) != library(like):
        raise TypeError(
            f"{name} must be a {library(like)} array like {like_name}, got a {library(x)} array; "
            "put both on one backend with Backend.asarray"
        )
    if device_name(x) != device_name(like):
        raise ValueError(
            f"{name} must be on the device of {like_name} ({device_name(like)}), "
            f"got {device_name(x)}"
        )
    if dtype and x.dtype != like.dtype:
        raise TypeError(
            f"{name} must have the dtype of {like_name} ({dtype_name(like)}), got {dtype_name(x)}"
        )
    return xp
