"""Data-parallel SGD: shard gradients averaged = the batch gradient; two real gloo processes = one."""

import re

import numpy as np
import pytest
import torch
from conftest import whole

import nnbook as nb
from nnbook import data_parallel as dp


def _data(n=96, d=8, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, c, n)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 8])
def test_averaged_shard_gradients_equal_the_batch_gradient(backend, k):
    X, y = _data(n=48)
    model = nb.mlp([8, 16, 3], rng=np.random.default_rng(1)).to(backend)
    bk = model.backend
    Xb, yb = bk.asarray(X), bk.asarray(y)
    loss = nb.CrossEntropyLoss()
    loss.forward(model.forward(Xb), yb)
    model.backward(loss.backward(), input_grad=False)
    full = [nb.to_numpy(p.grad).copy() for p in model.parameters()]
    avg = dp.allreduce_mean(dp.local_gradients(model, loss, Xb, yb, k))
    for a, f in zip(avg, full, strict=True):
        np.testing.assert_allclose(nb.to_numpy(a), f, rtol=1e-12, atol=1e-15)


def test_local_gradients_match_torch_autograd_per_shard():
    X, y = _data(n=12)
    model = nb.mlp([8, 5, 3], rng=np.random.default_rng(2))
    grads = dp.local_gradients(model, nb.CrossEntropyLoss(), X, y, 3)
    params = [torch.tensor(p.data, requires_grad=True) for p in model.parameters()]
    for w, (Xk, yk) in enumerate(dp.shard_batch(X, y, 3)):
        h = torch.relu(torch.from_numpy(Xk) @ params[0].T + params[1])
        out = h @ params[2].T + params[3]
        g = torch.autograd.grad(torch.nn.functional.cross_entropy(out, torch.from_numpy(yk)), params)
        for mine, theirs in zip(grads[w], g, strict=True):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-15)


def test_shard_batch_cuts_contiguous_equal_shards():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    shards = dp.shard_batch(X, y, 3)
    assert [s[1].tolist() for s in shards] == [[0, 1], [2, 3], [4, 5]]
    np.testing.assert_array_equal(np.concatenate([s[0] for s in shards]), X)


@pytest.mark.parametrize("args, message", [
    ((np.zeros((6, 2)), np.zeros(6), 4), "k must divide the batch size N=6 (equal shards), got k=4"),
    ((np.zeros((6, 2)), np.zeros(5), 2), "y must have 6 rows like X, got 5"),
    ((np.zeros((6, 2)), np.zeros(6), 0), "k must be"),
])
def test_shard_batch_refuses_bad_input(args, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        dp.shard_batch(*args)


def test_allreduce_mean_refuses_mismatched_workers():
    with pytest.raises(ValueError,
                       match=r"^grads must hold at least one worker's gradients, got an empty list$"):
        dp.allreduce_mean([])
    with pytest.raises(ValueError, match=r"^grads\[1\] must hold 2 arrays like grads\[0\], got 1$"):
        dp.allreduce_mean([[np.zeros(2), np.zeros(3)], [np.zeros(2)]])
    with pytest.raises(ValueError,
                       match=re.escape("grads[1][0] must have shape (2,) like grads[0][0], got (3,)")):
        dp.allreduce_mean([[np.zeros(2)], [np.zeros(3)]])


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_ring_allreduce_sums_and_sends_2_k_minus_1_over_k(k):
    rng = np.random.default_rng(k)
    vecs = [rng.normal(size=4 * k) for _ in range(k)]
    sums, sent = dp.ring_allreduce(vecs)
    for s in sums:
        np.testing.assert_allclose(s, np.sum(vecs, axis=0), rtol=1e-12, atol=1e-12)
    assert sent.tolist() == [2 * (k - 1) * 4] * k      # 2 (K-1)/K of n = 4K numbers


def test_ring_allreduce_refuses_bad_input():
    with pytest.raises(ValueError, match=r"^the length n=5 must be a multiple of K=2 \(equal chunks\)$"):
        dp.ring_allreduce([np.zeros(5), np.zeros(5)])
    with pytest.raises(ValueError, match=r"^vectors must all be 1-D of length 4 like vectors\[0\]"):
        dp.ring_allreduce([np.zeros(4), np.zeros(6)])
    with pytest.raises(ValueError, match=r"^vectors must hold at least one worker's vector"):
        dp.ring_allreduce([])


def test_single_process_ddp_mode_equals_torch_optim_sgd():
    """The written-out momentum step is torch.optim.SGD's, on the same batches."""
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=7, lr=0.1, momentum=0.9)
    mine = dp.train_single(cfg, X, y)
    net = dp._torch_model(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for idx in dp._batches(cfg, X.shape[0]):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(Xt[idx]), yt[idx]).backward()
        opt.step()
    for a, p in zip(mine["params"], net.parameters(), strict=True):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_single_process_nnbook_and_torch_nn_agree():
    X, y = _data()
    runs = [dp.train_single(dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=9, mode=m), X, y)
            for m in ("ddp", "nnbook")]
    for a, b in zip(runs[0]["params"], runs[1]["params"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(runs[0]["losses"], runs[1]["losses"], rtol=1e-10)


def test_two_gloo_processes_equal_one_process_on_the_combined_batch():
    """The real thing: two processes, gloo on 127.0.0.1, DDP and a hand-written all-reduce."""
    X, y = _data()
    cfgs = [dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=12, mode=m, timeout=20)
            for m in ("ddp", "nnbook")]
    runs = dp.train_distributed(cfgs, X, y, world_size=2, timeout=90)
    for cfg, run in zip(cfgs, runs, strict=True):
        rank0, rank1 = run["params"]
        for a, b in zip(rank0, rank1, strict=True):
            np.testing.assert_array_equal(a, b)              # bit-identical replicas
        single = dp.train_single(cfg, X, y)
        for a, b in zip(rank0, single["params"], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(run["losses"], single["losses"], rtol=1e-12)
        assert 0 < run["train_seconds"] < run["seconds"] < 90


def test_without_the_allreduce_the_ranks_diverge_and_differ_from_one_process():
    """Each rank really trains on its own shard: without the all-reduce it drifts away.

    (Ranks equal to each other and to one process would also hold if every rank
    trained on the whole batch; this is the counter-case that rules it out.)
    """
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=12, mode="nnbook")
    single = dp.train_single(cfg, X, y)["params"]
    alone = [dp.train_alone(cfg, X, y, rank=r, world_size=2)["params"] for r in (0, 1)]

    def rel(a, b):
        return max(np.abs(p - q).max() / np.abs(q).max() for p, q in zip(a, b, strict=True))

    assert rel(alone[0], alone[1]) > 1e-3
    assert rel(alone[0], single) > 1e-3 and rel(alone[1], single) > 1e-3


@pytest.mark.parametrize("rank, world_size, batch, message", [
    (2, 2, 32, r"^rank must be below world_size=2, got 2$"),
    (0, 3, 32, r"^batch_size must be a multiple of world_size=3, got 32$"),
])
def test_train_alone_refuses_bad_ranks(rank, world_size, batch, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        dp.train_alone(dp.DPConfig(batch_size=batch), X, y, rank, world_size)


def test_a_failing_worker_is_reported_not_hung():
    X, y = _data()
    bad = dp.DPConfig(sizes=(5, 4, 3), batch_size=32, steps=2, timeout=10)   # X has 8 columns
    with pytest.raises(RuntimeError, match=r"^data-parallel run failed"):
        dp.train_distributed(bad, X, y, world_size=2, timeout=60)


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "fsdp"}, "mode must be 'ddp' or 'nnbook', got 'fsdp'"),
    ({"dtype": "float16"}, "dtype must be 'float64' or 'float32', got 'float16'"),
])
def test_config_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=whole(message)):
        dp.DPConfig(**kwargs)


def test_train_distributed_refuses_a_batch_that_does_not_split():
    X, y = _data()
    with pytest.raises(ValueError, match=r"^cfg.batch_size must be a multiple of world_size=2, got 33$"):
        dp.train_distributed(dp.DPConfig(sizes=(8, 4, 3), batch_size=33), X, y)
    with pytest.raises(TypeError, match=r"^cfg must be a DPConfig or a non-empty sequence of them"):
        dp.train_distributed([], X, y)


def test_free_port_is_bindable():
    import socket

    port = dp.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_torchrun_entry_point_equals_one_process():
    """`torchrun --standalone --nproc_per_node=2 -m nnbook.data_parallel`: the launcher's way."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node=2", "-m", "nnbook.data_parallel", "--steps", "6",
                          "--mode", "nnbook"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    split = nb.data.digits(rng=np.random.default_rng(0))
    ref = dp.train_single(dp.DPConfig(steps=6, mode="nnbook"), split.X_train, split.y_train)
    checksum = sum(float(np.abs(p).sum()) for p in ref["params"])
    if torch.cuda.device_count() >= 2:       # NCCL, one GPU per process: other rounding
        assert "world size 2 on cuda: loss" in out
        return
    # gloo on the CPU, also with one GPU (two processes cannot share it under NCCL)
    assert (f"world size 2 on cpu: loss {ref['losses'][0]:.6f} -> {ref['losses'][-1]:.6f}, "
            f"sum |w| = {checksum:.12f}") in out


def test_entry_point_uses_gloo_on_the_cpu_when_gpus_are_fewer_than_processes(monkeypatch, capsys):
    """Two processes on a one-GPU node cannot both hold that GPU under NCCL: gloo, CPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    for var, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(dp.free_port())}.items():
        monkeypatch.setenv(var, value)
    dp.main(["--steps", "2", "--mode", "nnbook"])
    assert re.match(r"^world size 1 on cpu: loss \d\.\d{6} -> \d\.\d{6}, sum \|w\| = ",
                    capsys.readouterr().out)
