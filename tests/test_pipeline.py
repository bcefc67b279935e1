"""The simulated slow dataset and the loop that consumes it."""

import itertools
import re
import time

import numpy as np
import pytest
import torch
from conftest import whole

from nnbook import pipeline


def test_slow_batches_yields_every_row_once_in_order():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    data = pipeline.SlowBatches(X, y, batch_size=4, load_seconds=0.0)
    assert len(data) == 3
    xs, ys = zip(*[data[i] for i in range(len(data))], strict=True)
    assert torch.cat(ys).tolist() == list(range(10))
    assert xs[0].dtype == torch.float32 and ys[0].dtype == torch.int64
    with pytest.raises(IndexError, match=r"^batch index must be in \[0, 3\), got 3$"):
        data[3]


class _Stamped(pipeline.SlowBatches):
    """SlowBatches whose items also say when their loading started and ended (system clock)."""

    def __getitem__(self, i):
        start = time.monotonic()
        xb, yb = super().__getitem__(i)
        return xb, yb, torch.tensor([start, time.monotonic()], dtype=torch.float64)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_workers_overlap_the_loading():
    """30 ms per batch, 6 batches: one process waits >= 0.18 s; three workers load at once.

    Overlap is read from when each batch's loading started and ended (CLOCK_MONOTONIC, one
    clock for every process), not from a comparison of wall times that load could upset.
    """
    X, y = np.zeros((24, 2)), np.zeros(24, dtype=int)
    data = pipeline.SlowBatches(X, y, batch_size=4, load_seconds=0.03)
    seen = []
    serial = pipeline.consume(torch.utils.data.DataLoader(data, batch_size=None),
                              lambda xb, yb: seen.append(len(yb)))
    assert seen == [4] * 6
    assert serial >= 0.18
    stamped = _Stamped(X, y, batch_size=4, load_seconds=0.03)
    spans = [s.tolist() for _, _, s in torch.utils.data.DataLoader(stamped, batch_size=None,
                                                                     num_workers=3)]
    assert len(spans) == 6 and all(b - a >= 0.03 for a, b in spans)
    together = [(a, b) for a, b in itertools.combinations(spans, 2)
                if min(a[1], b[1]) > max(a[0], b[0])]
    assert together                                       # two batches loaded at the same time
    serial_spans = [s.tolist() for _, _, s in torch.utils.data.DataLoader(stamped, batch_size=None)]
    assert not [(a, b) for a, b in itertools.combinations(serial_spans, 2)
                if min(a[1], b[1]) > max(a[0], b[0])]     # one process: one after the other


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
    ({"load_seconds": -1.0}, "load_seconds must be"),
])
def test_slow_batches_refuses_bad_arguments(kwargs, message):
    args = {"X": np.zeros((4, 2)), "y": np.zeros(4), "batch_size": 2, "load_seconds": 0.0} | kwargs
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        pipeline.SlowBatches(**args)


def test_slow_batches_refuses_mismatched_rows():
    with pytest.raises(ValueError, match=r"^y must have 4 rows like X, got 3$"):
        pipeline.SlowBatches(np.zeros((4, 2)), np.zeros(3), 2, 0.0)


def test_consume_times_the_sleep():
    t0 = time.perf_counter()
    s = pipeline.consume([(torch.zeros(1), torch.zeros(1))] * 2, lambda xb, yb: time.sleep(0.01))
    assert 0.02 <= s <= time.perf_counter() - t0


@pytest.mark.parametrize("batch_size, message", [
    (2.5, "batch_size must be an int >= 1, got 2.5"),
    (True, "batch_size must be an int >= 1, got True"),
    (-1, "batch_size must be an int >= 1, got -1"),
])
def test_slow_batches_refuses_a_batch_size_that_is_not_a_positive_int(batch_size, message):
    with pytest.raises(ValueError, match=whole(message)):
        pipeline.SlowBatches(np.zeros((4, 2)), np.zeros(4), batch_size, 0.0)


def test_slow_batches_of_one_row():
    X, y = np.arange(6.0).reshape(3, 2), np.array([2, 0, 1])
    data = pipeline.SlowBatches(X, y, batch_size=1, load_seconds=0.0)
    assert len(data) == 3
    xb, yb = data[2]
    assert xb.tolist() == [[4.0, 5.0]] and yb.tolist() == [1]


@pytest.mark.parametrize("y", [np.array([0.0, 1.0, 2.0]), np.array([0, 1, 2], dtype=np.int32)])
def test_slow_batches_labels_are_int64(y):
    data = pipeline.SlowBatches(np.zeros((3, 2), dtype=np.float64), y, batch_size=2,
                                load_seconds=0.0)
    xb, yb = data[0]
    assert xb.dtype == torch.float32 and yb.dtype == torch.int64
    assert yb.tolist() == [0, 1]


class _Batch:
    """A stand-in tensor that records how it is moved and returns a tagged copy."""

    def __init__(self, name):
        self.name, self.calls = name, []

    def to(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return f"{self.name} on {args[0] if args else kwargs.get('device')}"


def test_consume_moves_each_batch_to_the_device_asynchronously():
    """Each tensor is moved by ``.to(device, non_blocking=True)`` before the step sees it."""
    batches = [(_Batch("x0"), _Batch("y0")), (_Batch("x1"), _Batch("y1"))]
    seen = []
    pipeline.consume(batches, lambda xb, yb: seen.append((xb, yb)), device="cpu")
    assert seen == [("x0 on cpu", "y0 on cpu"), ("x1 on cpu", "y1 on cpu")]
    for pair in batches:
        for b in pair:
            assert b.calls == [(("cpu",), {"non_blocking": True})]


def test_consume_passes_real_tensors_to_the_step():
    seen = []
    batch = (torch.ones(2, 3), torch.arange(2))
    pipeline.consume([batch], lambda xb, yb: seen.append((xb, yb)))
    (xb, yb), = seen
    assert torch.equal(xb, batch[0]) and xb.device.type == "cpu"
    assert torch.equal(yb, batch[1]) and yb.device.type == "cpu"
