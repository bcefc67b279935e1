"""Timing helpers: the clock waits for the device, the throughputs count the right work."""

import time

import numpy as np
import pytest
import torch
from conftest import whole

from nnbook import throughput as tp


def test_time_call_returns_one_time_per_repeat_and_divides_by_number():
    calls = []
    times = tp.time_call(lambda: calls.append(time.sleep(0.002)), repeats=3, warmup=2, number=2)
    assert times.shape == (3,)
    assert len(calls) == 2 + 3 * 2
    assert np.all(times >= 0.0019)           # per call, not per repeat of two calls
    assert np.all(times < 0.5)


def test_cpu_clock_does_not_count_sleeping():
    wall = tp.time_call(lambda: time.sleep(0.01), repeats=2, warmup=0, clock="wall")
    cpu = tp.time_call(lambda: time.sleep(0.01), repeats=2, warmup=0, clock="cpu")
    assert np.all(wall >= 0.0099)
    assert np.all(cpu < 0.005)


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, "repeats must be an int >= 1, got 0"),
    ({"warmup": -1}, "warmup must be an int >= 0, got -1"),
    ({"number": 1.5}, "number must be an int >= 1, got 1.5"),
    ({"clock": "gpu"}, "clock must be 'wall' or 'cpu', got 'gpu'"),
    ({"device": "tpu"}, "device must be 'cpu', 'cuda', 'cuda:k' or 'mps', got 'tpu'"),
])
def test_time_call_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=whole(message)):
        tp.time_call(lambda: None, **kwargs)


def test_time_call_refuses_a_non_callable():
    with pytest.raises(TypeError, match=r"^fn must be callable, got int$"):
        tp.time_call(3)


def test_synchronize_on_cpu_is_a_no_op():
    assert tp.synchronize("cpu") is None


def test_synchronize_defaults_to_the_cpu_and_accepts_an_index():
    assert tp.synchronize() is None
    assert tp.synchronize("cpu:0") is None
    assert tp.synchronize(torch.device("cpu")) is None


@pytest.mark.parametrize("device, module", [("cuda", "cuda"), ("cuda:1", "cuda"),
                                            (torch.device("cuda", 0), "cuda"),
                                            ("mps", "mps"), ("mps:0", "mps")])
def test_synchronize_waits_on_the_named_accelerator(device, module, monkeypatch):
    """CUDA gets the device itself (which GPU to wait for); MPS has a single device."""
    calls = []
    monkeypatch.setattr(getattr(torch, module), "synchronize",
                        lambda *args: calls.append(args))
    assert tp.synchronize(device) is None
    assert calls == ([(device,)] if module == "cuda" else [()])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_synchronize_waits_for_cuda():   # pragma: no cover - GPU only
    a = torch.randn(2048, 2048, device="cuda")
    t = tp.time_call(lambda: a @ a, device="cuda", repeats=3)
    assert np.all(t > 0)


@pytest.mark.parametrize("mode", ["float32", "tf32", "bfloat16"])
def test_matmul_tflops_counts_2n3(mode, monkeypatch):
    """With the clock fixed at 1 ms per call, an n = 100 product is 2e6 / 1e-3 = 2e9 FLOP/s."""
    monkeypatch.setattr(tp, "time_call", lambda fn, **kw: (fn(), np.full(kw["repeats"], 1e-3))[1])
    assert tp.matmul_tflops(100, mode, repeats=3) == pytest.approx(2e-3)
    assert torch.backends.cuda.matmul.allow_tf32 is False     # restored afterwards


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_matmul_tflops_passes_the_clock(clock, monkeypatch):
    seen = {}

    def fake(fn, **kw):
        seen.update(kw)
        return np.full(kw["repeats"], 1e-3)

    monkeypatch.setattr(tp, "time_call", fake)
    tp.matmul_tflops(10, repeats=2, clock=clock)
    assert seen["clock"] == clock


def test_matmul_tflops_refuses_bad_arguments():
    with pytest.raises(ValueError,
                       match=r"^mode must be one of \('float32', 'tf32', 'bfloat16'\), got 'fp8'$"):
        tp.matmul_tflops(8, "fp8")
    with pytest.raises(ValueError, match=r"^n must be an int >= 1, got 0$"):
        tp.matmul_tflops(0)
    with pytest.raises(ValueError, match=r"^clock must be 'wall' or 'cpu', got 'gpu'$"):
        tp.matmul_tflops(8, repeats=1, clock="gpu")


def test_train_throughput_trains_and_counts_samples(monkeypatch):
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    before = net.weight.detach().clone()
    monkeypatch.setattr(tp, "time_call",
                        lambda fn, **kw: (fn(), np.full(kw["repeats"], 0.5))[1])
    rate = tp.train_throughput(net, X, y, 8, steps=3, repeats=2)
    assert rate == pytest.approx(8 * 3 / 0.5)
    assert not torch.equal(before, net.weight)


def test_train_throughput_runs_under_bfloat16_autocast():
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    assert tp.train_throughput(net, X, y, 16, steps=1, autocast=torch.bfloat16, repeats=1) > 0


def test_train_throughput_refuses_a_batch_larger_than_the_data():
    X, y = torch.randn(4, 2), torch.zeros(4, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"^X must have at least batch_size=8 rows, got 4$"):
        tp.train_throughput(torch.nn.Linear(2, 2), X, y, 8)


def test_stored_measurement_reads_the_benchmark_file_or_none(tmp_path, monkeypatch):
    data = tp.stored_measurement("cuda")
    assert data is None or {"device_name", "matmul", "throughput"} <= set(data)
    assert tp.stored_measurement("nosuchdevice") is None
    with pytest.raises(ValueError, match=r"^device must be a name like 'cuda', got '\.\./x'$"):
        tp.stored_measurement("../x")


class _FakeClock:
    """A clock that advances one second per call of ``tick``."""

    def __init__(self):
        self.now = 0.0
        self.calls = 0

    def tick(self):
        self.now += 1.0
        self.calls += 1

    def __call__(self):
        return self.now


@pytest.mark.parametrize("clock, attr", [("wall", "perf_counter"), ("cpu", "process_time")])
def test_time_call_returns_seconds_per_call(clock, attr, monkeypatch):
    """Four calls of one (fake) second each in a timing: 1.0 s per call, not 4.0 or 0.25."""
    fake = _FakeClock()
    monkeypatch.setattr(time, attr, fake)
    times = tp.time_call(fake.tick, repeats=2, warmup=3, number=4, clock=clock)
    np.testing.assert_array_equal(times, [1.0, 1.0])
    assert fake.calls == 3 + 2 * 4


def test_time_call_defaults_five_timings_of_one_call_after_one_warmup():
    calls = []
    times = tp.time_call(lambda: calls.append(1))
    assert times.shape == (5,) and times.dtype == np.float64
    assert len(calls) == 1 + 5 * 1


def _recording_time_call(seen, value=0.5):
    def fake(fn, **kw):
        seen.update(kw)
        seen["fn"] = fn
        seen["allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
        fn()
        return np.full(kw["repeats"], value)
    return fake


def test_matmul_tflops_defaults(monkeypatch):
    seen = {}
    monkeypatch.setattr(tp, "time_call", _recording_time_call(seen))
    tp.matmul_tflops(6)
    assert {k: seen[k] for k in ("device", "repeats", "warmup", "number", "clock")} == {
        "device": "cpu", "repeats": 5, "warmup": 1, "number": 1, "clock": "wall"}


def test_matmul_tflops_passes_its_arguments_to_the_clock(monkeypatch):
    seen = {}
    monkeypatch.setattr(tp, "time_call", _recording_time_call(seen))
    tp.matmul_tflops(6, device="meta", repeats=2, number=3, clock="cpu")
    assert {k: seen[k] for k in ("device", "repeats", "warmup", "number", "clock")} == {
        "device": "meta", "repeats": 2, "warmup": 1, "number": 3, "clock": "cpu"}
    out = seen["fn"]()
    assert out.device.type == "meta" and out.shape == (6, 6)
    operands = [c.cell_contents for c in seen["fn"].__closure__]   # a and b of a @ b
    assert len(operands) == 2 and all(m.device.type == "meta" for m in operands)


@pytest.mark.parametrize("mode, dtype", [("float32", torch.float32), ("tf32", torch.float32),
                                         ("bfloat16", torch.bfloat16)])
def test_matmul_tflops_times_the_seeded_product(mode, dtype, monkeypatch):
    """The timed call is a @ b, two n x n normal matrices drawn from a generator seeded 0."""
    seen = {}
    monkeypatch.setattr(tp, "time_call", _recording_time_call(seen))
    tp.matmul_tflops(7, mode)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(7, 7, generator=gen).to(dtype)
    b = torch.randn(7, 7, generator=gen).to(dtype)
    out = seen["fn"]()
    assert out.dtype == dtype and out.shape == (7, 7)
    assert torch.equal(out, a @ b)
    assert seen["allow_tf32"] is (mode == "tf32")
    assert torch.backends.cuda.matmul.allow_tf32 is False

    seen.clear()
    tp.matmul_tflops(7, mode, seed=3)
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(7, 7, generator=gen).to(dtype)
    b = torch.randn(7, 7, generator=gen).to(dtype)
    assert torch.equal(seen["fn"](), a @ b)


def test_matmul_tflops_is_in_units_of_1e12(monkeypatch):
    """2 * 100**3 operations in 0.5 s: 4e6 FLOP/s = 4e-6 TFLOP/s, to the last digits."""
    monkeypatch.setattr(tp, "time_call", _recording_time_call({}, value=0.5))
    assert tp.matmul_tflops(100, repeats=3) == pytest.approx(4e-6, rel=1e-14, abs=0)


def test_train_throughput_defaults(monkeypatch):
    """Defaults: 10 steps per timing, 3 timings after one warm-up, the wall clock, the CPU."""
    seen = {}
    monkeypatch.setattr(tp, "time_call", _recording_time_call(seen))
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    assert tp.train_throughput(net, X, y, 8) == pytest.approx(8 * 10 / 0.5, rel=1e-14)
    assert {k: seen[k] for k in ("device", "repeats", "warmup", "clock")} == {
        "device": "cpu", "repeats": 3, "warmup": 1, "clock": "wall"}


def test_train_throughput_passes_its_arguments_to_the_clock(monkeypatch):
    seen = {}
    monkeypatch.setattr(tp, "time_call", _recording_time_call(seen))
    net = torch.nn.Linear(4, 3)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    tp.train_throughput(net, X, y, 1, steps=2, device="cpu:0", repeats=2, clock="cpu")
    assert {k: seen[k] for k in ("device", "repeats", "warmup", "clock")} == {
        "device": "cpu:0", "repeats": 2, "warmup": 1, "clock": "cpu"}


def test_train_throughput_step_is_plain_sgd_with_lr_001(monkeypatch):
    """One step with the default lr: w <- w - 0.01 * grad of the mean cross-entropy."""
    monkeypatch.setattr(tp, "time_call",
                        lambda fn, **kw: (fn(), np.full(kw["repeats"], 1.0))[1])
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    ref = torch.nn.Linear(4, 3)
    ref.load_state_dict(net.state_dict())
    torch.nn.functional.cross_entropy(ref(X[:8]), y[:8]).backward()
    expected = ref.weight.detach() - 0.01 * ref.weight.grad
    tp.train_throughput(net, X, y, 8, steps=1)
    torch.testing.assert_close(net.weight.detach(), expected, rtol=1e-6, atol=1e-7)


def test_train_throughput_leaves_a_callers_gradient_tensor_alone(monkeypatch):
    """Gradients are reset to None, not zeroed in place: a tensor held in .grad is not touched."""
    monkeypatch.setattr(tp, "time_call",
                        lambda fn, **kw: (fn(), np.full(kw["repeats"], 1.0))[1])
    net = torch.nn.Linear(4, 3)
    held = torch.full_like(net.weight, 7.0)
    net.weight.grad = held
    X, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    tp.train_throughput(net, X, y, 8, steps=1, repeats=1)
    assert torch.all(held == 7.0)
    assert net.weight.grad is not held


class _DtypeProbe(torch.nn.Module):
    """A linear layer that records the dtype its forward computes in."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)
        self.seen = set()

    def forward(self, x):
        out = self.lin(x)
        self.seen.add(out.dtype)
        return out


@pytest.mark.parametrize("autocast, computed", [(None, torch.float32),
                                                (torch.bfloat16, torch.bfloat16),
                                                (torch.float16, torch.float16)])
def test_train_throughput_forward_runs_in_the_autocast_dtype(autocast, computed):
    import warnings

    net = _DtypeProbe()
    X, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "autocast disabled" warning either
        assert tp.train_throughput(net, X, y, 4, steps=1, autocast=autocast, repeats=1) > 0
    assert net.seen == {computed}


def test_train_throughput_accepts_an_indexed_cpu_device():
    net = _DtypeProbe()
    X, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    assert tp.train_throughput(net, X, y, 4, steps=1, autocast=torch.bfloat16,
                               device="cpu:0", repeats=1) > 0
    assert net.seen == {torch.bfloat16}


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
    ({"batch_size": 2.0}, "batch_size must be an int >= 1, got 2.0"),
    ({"batch_size": 4, "steps": 0}, "steps must be an int >= 1, got 0"),
    ({"batch_size": 4, "steps": True}, "steps must be an int >= 1, got True"),
])
def test_train_throughput_refuses_bad_counts(kwargs, message):
    X, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    with pytest.raises(ValueError, match=whole(message)):
        tp.train_throughput(torch.nn.Linear(4, 3), X, y, **kwargs)


def test_train_throughput_with_a_batch_of_one(monkeypatch):
    monkeypatch.setattr(tp, "time_call",
                        lambda fn, **kw: (fn(), np.full(kw["repeats"], 0.25))[1])
    X, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    assert tp.train_throughput(torch.nn.Linear(4, 3), X, y, 1, steps=2) == 1 * 2 / 0.25


def test_stored_measurement_reads_the_repository_benchmarks_folder(tmp_path, monkeypatch):
    """The file is <repository>/benchmarks/gpu/training_fast_<device>.json; default device cuda."""
    import json

    (tmp_path / "nnbook").mkdir()
    (tmp_path / "benchmarks" / "gpu").mkdir(parents=True)
    (tmp_path / "benchmarks" / "gpu" / "training_fast_cuda.json").write_text(
        json.dumps({"device_name": "fake", "value": 1}))
    (tmp_path / "benchmarks" / "gpu" / "training_fast_mps.json").write_text(
        json.dumps({"device_name": "other"}))
    monkeypatch.setattr(tp, "__file__", str(tmp_path / "nnbook" / "throughput.py"))
    assert tp.stored_measurement() == {"device_name": "fake", "value": 1}
    assert tp.stored_measurement("mps") == {"device_name": "other"}
    assert tp.stored_measurement("xpu") is None



def test_benchmark_script_runs_quick_on_the_cpu(tmp_path):
    """benchmarks/gpu_training_fast.py --quick writes a complete JSON (a few seconds)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_training_fast.py"
    subprocess.run([sys.executable, str(script), "--device", "cpu", "--quick", "--out", str(tmp_path)],
                   check=True, capture_output=True, timeout=240)
    data = json.loads((tmp_path / "training_fast_cpu.json").read_text())
    assert data["matmul"]["sizes"] == [511, 512]
    assert data["matmul_more"]["sizes"] == [504, 508, 520]
    assert all(len(r["seconds_all"]) == 2 for r in data["dataloader"]["runs"])
    for key in ("throughput", "mixed_precision", "dataloader", "channels_last", "matmul",
                "matmul_more"):
        assert "error" not in data[key], data[key]
    assert len(data["throughput"]["float32"]) == len(data["throughput"]["batch_sizes"])
