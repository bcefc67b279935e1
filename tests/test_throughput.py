"""Timing helpers: the clock waits for the device, the throughputs count the right work."""

import re
import time

import numpy as np
import pytest
import torch

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
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        tp.time_call(lambda: None, **kwargs)


def test_time_call_refuses_a_non_callable():
    with pytest.raises(TypeError, match=r"^fn must be callable, got int$"):
        tp.time_call(3)


def test_synchronize_on_cpu_is_a_no_op():
    assert tp.synchronize("cpu") is None


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
