import subprocess
import sys

import numpy as np
import pytest
import torch

from nnbook import Backend, to_numpy
from nnbook.backend import as_backend, best_device, check_array, check_rng, namespace


def test_numpy_backend_defaults():
    bk = Backend()
    assert (bk.library, bk.device, bk.dtype) == ("numpy", "cpu", "float64")
    assert bk.asarray([1.5, 2]).dtype == np.float64
    assert bk.asarray(np.array([1, 2])).dtype == np.int64   # labels stay integers


def test_torch_backend_converts_dtype_and_device():
    bk = Backend("torch", "cpu", "float32")
    x = bk.asarray(np.ones((2, 3)))
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.device.type == "cpu"
    assert bk.asarray(np.array([0, 3])).dtype == torch.int64
    np.testing.assert_array_equal(to_numpy(x), np.ones((2, 3)))


def test_best_device_is_found_automatically():
    bk = Backend("torch")
    expected = "cuda" if torch.cuda.is_available() else bk.device
    assert bk.device == expected and bk.device in ("cuda", "mps", "cpu")


def test_namespace_matches_library():
    assert namespace(np.ones(2)).__name__ == "array_api_compat.numpy"
    assert namespace(torch.ones(2)).__name__ == "array_api_compat.torch"


@pytest.mark.parametrize("kwargs, match", [
    (dict(library="jax"), "^library must be 'numpy' or 'torch', got 'jax'$"),
    (dict(dtype="float16"), r"^dtype must be one of \('float32', 'float64'\), got 'float16'$"),
    (dict(library="numpy", device="cuda"), "^device must be None or 'cpu' for NumPy, got 'cuda'$"),
    (dict(library="torch", device="mps"), r"^dtype must be 'float32' on Apple's MPS device \(it has no "
     r"float64\), got 'float64'; use Backend\('torch', 'mps', 'float32'\)$"),
])
def test_backend_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Backend(**kwargs)


def test_refusals_name_the_argument():
    with pytest.raises(TypeError, match="arrays come from different libraries"):
        namespace(np.ones(2), torch.ones(2))
    with pytest.raises(TypeError, match=r"expected a NumPy array or a torch\.Tensor, got list"):
        namespace([1.0])
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator .* got int"):
        check_rng(0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\), got \(4, 2\)"):
        check_array(np.ones((4, 2)), "x", shape=(None, 3))
    with pytest.raises(ValueError, match=r"x must have 2 dimension\(s\), got shape \(4,\)"):
        check_array(np.ones(4), "x", ndim=2)
    with pytest.raises(TypeError, match="x must have a float dtype, got int64"):
        check_array(np.ones(4, dtype=np.int64), "x")
    with pytest.raises(TypeError, match="backend must be a Backend, 'numpy', 'torch' or None, got int"):
        as_backend(3)


def test_numpy_path_runs_without_torch():
    """nnbook imports and trains with NumPy alone: torch, matplotlib and scikit-learn
    are made unimportable (array-api-compat is pure Python and always installed)."""
    code = (
        "import sys\n"
        "for name in ('torch', 'matplotlib', 'sklearn', 'scipy'): sys.modules[name] = None\n"
        "import numpy as np, nnbook as nb\n"
        "rng = np.random.default_rng(0)\n"
        "X, y = nb.data.xor()\n"
        "m = nb.mlp([2, 8, 2], 'tanh', rng=rng)\n"
        "h = nb.fit(m, nb.CrossEntropyLoss(), nb.SGD(m.parameters(), lr=0.5), X, y,"
        " epochs=5, batch_size=4, rng=rng)\n"
        "r = nb.perceptron.perceptron_fit(nb.perceptron.add_bias(X), 2.0 * y - 1, max_epochs=3)\n"
        "assert 'torch' not in [k for k, v in sys.modules.items() if v is not None]\n"
        "print(len(h.loss), r.converged)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["5", "False"]


@pytest.mark.parametrize("library", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_asarray_converts_dtypes(library, dtype):
    bk = Backend(library, "cpu", dtype)
    for x in (np.ones(3, dtype=np.float32), np.ones(3), [1.5, 2.0], torch.ones(3, dtype=torch.float16)):
        a = bk.asarray(x)
        assert str(a.dtype).removeprefix("torch.") == dtype, (x, a.dtype)
        assert type(a) is (np.ndarray if library == "numpy" else torch.Tensor)
    for labels in (np.array([0, 2], dtype=np.int32), [1, 0], torch.tensor([3], dtype=torch.int16)):
        assert str(bk.asarray(labels).dtype).removeprefix("torch.") == "int64"
    forced = bk.asarray(np.array([1.7, 2.2]), dtype=bk.xp.int32)
    assert str(forced.dtype).removeprefix("torch.") == "int32"
    np.testing.assert_array_equal(to_numpy(forced), [1, 2])
    assert bk.float_dtype == getattr(bk.xp, dtype)
    assert str(bk) == f"{library}:cpu:{dtype}"


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_tensors_that_require_grad_are_detached(library):
    t = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    a = Backend(library, "cpu").asarray(t * 3)
    if library == "torch":
        assert not a.requires_grad and a.grad_fn is None
    np.testing.assert_array_equal(to_numpy(a), [3.0, -6.0])
    np.testing.assert_array_equal(to_numpy(t), [1.0, -2.0])
    assert isinstance(to_numpy(t), np.ndarray)
    np.testing.assert_array_equal(to_numpy([1, 2]), [1, 2])


def test_best_device_prefers_cuda_then_mps(monkeypatch):
    """The availability checks are faked: the choice is tested on any machine."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert best_device() == "cuda"
    assert Backend("torch").device == "cuda" and Backend("torch", dtype="float32").device == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert best_device() == "mps"
    assert Backend("torch", dtype="float32").device == "mps"
    with pytest.raises(ValueError, match=r"^dtype must be 'float32' on Apple's MPS device"):
        Backend("torch")                                         # MPS has no float64
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert best_device() == "cpu"
    monkeypatch.delattr(torch.backends, "mps")                   # a PyTorch built without MPS
    assert best_device() == "cpu"


def test_as_backend():
    bk = Backend("torch", "cpu", "float32")
    assert as_backend(bk) is bk
    assert as_backend(None) == Backend()
    assert as_backend("torch") == Backend("torch", best_device())
    assert as_backend("numpy") == Backend("numpy", "cpu", "float64")


def test_whole_messages_of_namespace_and_check_array():
    with pytest.raises(TypeError, match=r"^arrays come from different libraries: array_api_compat\.numpy and "
                                        r"array_api_compat\.torch; move them to one backend first$"):
        namespace(np.ones(2), torch.ones(2))
    with pytest.raises(TypeError, match=r"^namespace\(\) needs at least one array$"):
        namespace()
    with pytest.raises(TypeError, match=r"^x must be a NumPy array or torch\.Tensor, got list$"):
        check_array([1.0], "x")
    with pytest.raises(ValueError, match=r"^w must have shape \(2, N\), got \(2,\)$"):
        check_array(np.ones(2), "w", shape=(2, None))
    assert check_array(np.ones((2, 5)), "w", shape=(2, None)) is namespace(np.ones(1))
    xp = check_array(torch.ones(2, dtype=torch.int64), "y", floating=False)
    assert xp.__name__ == "array_api_compat.torch"


def test_scalar_checks_name_the_kind_of_number_and_keep_closed_bounds():
    from nnbook.backend import check_int, check_real

    with pytest.raises(TypeError, match=r"^n must be an int, got 1\.5 of type float$"):
        check_int(1.5, "n")
    with pytest.raises(ValueError, match=r"^k must be an int >= 3, got 2$"):
        check_int(2, "k", minimum=3)
    assert check_real(1.0, "p", 0, 1) == 1.0                    # [0, 1] holds its end points
    assert check_real(0.0, "p", 0, 1) == 0.0
    with pytest.raises(ValueError, match=r"^p must lie in \[0, 1\), got 1\.0$"):
        check_real(1.0, "p", 0, 1, high_open=True)


def test_library_and_device_of_arrays_and_of_objects_without_a_device():
    from nnbook.backend import device_name, library

    assert library(np.ma.array([1.0])) == "numpy"                # type in numpy.ma.core
    assert library(torch.ones(1)) == "torch"
    assert device_name([1.0, 2.0]) == "cpu"                       # no .device (NumPy < 2 arrays)
    assert device_name(torch.ones(1, device="meta")) == "meta"


def test_same_backend_refusals_say_where_each_array_lives():
    from nnbook.backend import check_same_backend

    with pytest.raises(TypeError, match=r"^y must be a numpy array like x, got a torch array; "
                                        r"put both on one backend with Backend\.asarray$"):
        check_same_backend(torch.ones(2), "y", np.ones(2), "x")
    with pytest.raises(ValueError, match=r"^y must be on the device of x \(meta\), got cpu$"):
        check_same_backend(torch.ones(2), "y", torch.ones(2, device="meta"), "x")
    with pytest.raises(ValueError, match=r"^y must be on the device of x \(cpu\), got meta$"):
        check_same_backend(torch.ones(2, device="meta"), "y", torch.ones(2), "x")
    assert check_same_backend(torch.ones(2, dtype=torch.int64), "y", torch.ones(2), "x") is not None


def test_namespace_is_looked_up_once_per_array_type(monkeypatch):
    import array_api_compat

    import nnbook.backend as nb_backend

    monkeypatch.setattr(nb_backend, "_NAMESPACE_CACHE", {})
    calls = []
    real = array_api_compat.array_namespace

    def counting(*arrays):
        calls.append(type(arrays[0]))
        return real(*arrays)

    monkeypatch.setattr(array_api_compat, "array_namespace", counting)
    first = namespace(np.ones(2))
    assert namespace(np.zeros(3)) is first and calls == [np.ndarray]
    assert dict(nb_backend._NAMESPACE_CACHE) == {np.ndarray: first}
