"""Data-parallel SGD: shard gradients averaged = the batch gradient; two real gloo processes = one."""

import re
from dataclasses import replace

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


# ---- the training loop of every rank, in this process ------------------------------------------

class ThreadAllReduce:
    """An all-reduce between threads of this process: what ``torch.distributed.all_reduce``
    does between processes (sum in place, every rank gets the same sum). Counts its calls."""

    def __init__(self, k):
        import threading

        self.barrier = threading.Barrier(k, timeout=20)   # a rank that stops never hangs the rest
        self.slots = [None] * k
        self.calls = [0] * k

    def for_rank(self, r):
        def allreduce(t):
            self.calls[r] += 1
            self.slots[r] = t.clone()
            self.barrier.wait()
            total = self.slots[0].clone()
            for s in self.slots[1:]:                     # the same order on every rank
                total += s
            self.barrier.wait()
            t.copy_(total)
        return allreduce


def _ranks_in_threads(cfg, X, y, k):
    from concurrent.futures import ThreadPoolExecutor

    reduce = ThreadAllReduce(k)
    with ThreadPoolExecutor(k) as pool:
        runs = list(pool.map(lambda r: dp._train(cfg, X, y, r, k, reduce.for_rank(r)), range(k)))
    return runs, reduce.calls


@pytest.mark.parametrize("k", [2, 4])
def test_ranks_that_all_reduce_their_gradients_equal_one_process(k):
    """Every rank on its own shard, gradients summed and divided by k: one process's steps."""
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=7, mode="nnbook")
    runs, calls = _ranks_in_threads(cfg, X, y, k)
    single = dp.train_single(cfg, X, y)
    n_params = len(single["params"])
    assert calls == [cfg.steps * n_params + 1] * k         # every gradient, every step; the loss
    for params, losses in runs:
        for a, b in zip(params, runs[0][0], strict=True):
            np.testing.assert_array_equal(a, b)              # identical replicas
        for a, b in zip(params, single["params"], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(losses, single["losses"], rtol=1e-12)   # the global loss


def test_the_loss_curve_is_the_mean_of_the_ranks_shard_losses():
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=5, mode="nnbook")
    runs, _ = _ranks_in_threads(cfg, X, y, 2)
    alone = [dp.train_alone(cfg, X, y, rank=r, world_size=2)["losses"] for r in (0, 1)]
    np.testing.assert_allclose(runs[0][1][0], (alone[0][0] + alone[1][0]) / 2, rtol=1e-12)
    assert not np.isclose(alone[0][0], alone[1][0])       # the shards' losses do differ


def test_without_an_all_reduce_ddp_mode_trains_one_shard_in_this_process():
    """``train_alone`` runs the nnbook loop whatever the configuration's mode."""
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=6)
    got = dp.train_alone(cfg, X, y, rank=1, world_size=2)
    want = dp.train_alone(dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=6, mode="nnbook"),
                          X, y, rank=1, world_size=2)
    assert set(got) == {"params", "losses"} and got["losses"].shape == (6,)
    np.testing.assert_array_equal(got["losses"], want["losses"])


@pytest.mark.parametrize("rank, world_size, error, message", [
    (0, 0, ValueError, r"^world_size must be a positive int, got 0$"),
    (-1, 2, ValueError, r"^rank must be a non-negative int, got -1$"),
    (0, 2.0, TypeError, r"^world_size must be a positive int, got 2\.0 of type float$"),
    (0.0, 2, TypeError, r"^rank must be a non-negative int, got 0\.0 of type float$"),
])
def test_train_alone_refuses_bad_numbers(rank, world_size, error, message):
    X, y = _data()
    with pytest.raises(error, match=message):
        dp.train_alone(dp.DPConfig(batch_size=32), X, y, rank, world_size)


def test_train_alone_accepts_one_rank_of_one():
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=3, mode="nnbook")
    got = dp.train_alone(cfg, X, y, rank=0, world_size=1)
    for a, b in zip(got["params"], dp.train_single(cfg, X, y)["params"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_single_takes_the_whole_set_as_one_batch_but_no_more():
    X, y = _data(n=32)
    cfg = dp.DPConfig(sizes=(8, 4, 3), batch_size=32, steps=2)
    assert dp.train_single(cfg, X, y)["losses"].shape == (2,)
    with pytest.raises(ValueError, match=r"^batch_size must be at most N=32, got 33$"):
        dp.train_single(replace(cfg, batch_size=33), X, y)


@pytest.mark.parametrize("mode", ["ddp", "nnbook"])
def test_float32_runs_in_float32(mode):
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=3, dtype="float32", mode=mode)
    run = dp.train_single(cfg, X, y)
    assert run["losses"].dtype == np.float32
    assert all(p.dtype == np.float32 for p in run["params"])
    ref = dp.train_single(replace(cfg, dtype="float64"), X, y)
    np.testing.assert_allclose(run["losses"], ref["losses"], rtol=1e-5)


def test_batches_are_fresh_permutations_epoch_after_epoch():
    cfg = dp.DPConfig(batch_size=4, steps=9)
    batches = dp._batches(cfg, 13)                    # 3 batches an epoch, one row left over
    assert [len(b) for b in batches] == [4] * 9
    epochs = [np.concatenate(batches[i:i + 3]) for i in (0, 3, 6)]
    for e in epochs:
        assert len(set(e.tolist())) == 12             # no row twice within an epoch
    rng = np.random.default_rng(cfg.seed + 1)
    for e in epochs:
        np.testing.assert_array_equal(e, rng.permutation(13)[:12])


def test_nnbook_and_torch_models_are_relu_mlps_with_equal_weights():
    cfg = dp.DPConfig(sizes=(8, 16, 3))
    net = dp._torch_model(cfg)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(5, 8)))
    model = dp._nnbook_model(cfg)
    np.testing.assert_allclose(model.forward(x).numpy(), net(x).detach().numpy(), rtol=1e-12)
    for a, b in zip(dp._params_numpy(model), dp._params_numpy(net), strict=True):
        np.testing.assert_array_equal(a, b)


def test_ring_allreduce_adds_in_float64_and_counts_in_integers():
    vecs = [np.full(4, 1e8, dtype=np.float32), np.full(4, 1.0, dtype=np.float32)]
    sums, sent = dp.ring_allreduce(vecs)
    assert all(s.dtype == np.float64 for s in sums)
    np.testing.assert_array_equal(sums[0], np.full(4, 100000001.0))   # float32 would lose the 1
    assert sent.dtype == np.int64 and sent.tolist() == [4, 4]


def test_no_steps_leave_the_initial_weights_and_an_empty_loss_curve():
    X, y = _data()
    for dtype in ("float64", "float32"):
        for mode in ("ddp", "nnbook"):
            cfg = dp.DPConfig(sizes=(8, 4, 3), batch_size=32, steps=0, dtype=dtype, mode=mode)
            run = dp.train_single(cfg, X, y)
            assert run["losses"].shape == (0,) and run["losses"].dtype == np.dtype(dtype)
            for a, b in zip(run["params"], dp._params_numpy(dp._nnbook_model(cfg)), strict=True):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, r"^batch_size must be a positive int, got 0$"),
    ({"batch_size": 2.0}, TypeError, r"^batch_size must be a positive int, got 2\.0 of type float$"),
    ({"steps": -1}, ValueError, r"^steps must be a non-negative int, got -1$"),
    ({"steps": 1.0}, TypeError, r"^steps must be a non-negative int, got 1\.0 of type float$"),
])
def test_config_refuses_bad_counts(kwargs, error, message):
    with pytest.raises(error, match=message):
        dp.DPConfig(**kwargs)


def test_config_accepts_the_smallest_counts():
    cfg = dp.DPConfig(batch_size=1, steps=0)
    assert (cfg.batch_size, cfg.steps) == (1, 0)


def test_ddp_mode_wraps_the_model_and_steps_on_its_own_shard(monkeypatch):
    """Rank 0 of 2 in a gloo group of one: DistributedDataParallel wraps the torch.nn model
    (device_ids None on the CPU) and, with nobody to average with, takes the steps of its
    own shard, those of train_alone."""
    import torch.distributed as dist
    from torch.nn import parallel

    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=5)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(dp.free_port()))
    wrapped = []
    real = parallel.DistributedDataParallel
    monkeypatch.setattr(parallel, "DistributedDataParallel",
                        lambda *a, **kw: (wrapped.append((type(a[0]).__name__, kw)), real(*a, **kw))[1])
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        params, losses = dp._train(cfg, X, y, rank=0, world_size=2)
    finally:
        dist.destroy_process_group()
    assert wrapped == [("Sequential", {"device_ids": None})]
    alone = dp.train_alone(cfg, X, y, rank=0, world_size=2)
    for a, b in zip(params, alone["params"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(losses, alone["losses"], rtol=1e-12)


def test_train_distributed_uses_two_processes_by_default(fake_spawn):
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        _save_rank(outdir, rank, 0, [np.zeros(1)], np.zeros(1), 1.0)

    import nnbook.data_parallel as module

    X, y = _data()
    orig, module.worker = module.worker, fake_worker
    try:
        run = dp.train_distributed(dp.DPConfig(sizes=(8, 4, 3), batch_size=32), X, y)
    finally:
        module.worker = orig
    assert fake_spawn.calls[0][2] == 2 and len(run["params"]) == 2


def test_free_port_is_a_tcp_port_the_os_picked():
    import socket

    port = dp.free_port()
    assert 1024 <= port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))
        s.listen()


@pytest.mark.parametrize("mode", ["ddp", "nnbook"])
def test_labels_of_any_integer_type_are_taken(mode):
    X, y = _data()
    cfg = dp.DPConfig(sizes=(8, 4, 3), batch_size=32, steps=2, mode=mode)
    np.testing.assert_array_equal(dp.train_single(cfg, X, y.astype(np.int32))["losses"],
                                  dp.train_single(cfg, X, y)["losses"])


def test_train_distributed_defaults_are_two_processes_and_two_minutes():
    import inspect

    params = inspect.signature(dp.train_distributed).parameters
    assert (params["world_size"].default, params["timeout"].default) == (2, 120.0)

# ---- one worker process's body, run here as a group of one ------------------------------------

def test_worker_trains_saves_and_logs_as_rank_0_of_1(tmp_path, monkeypatch):
    """The spawned body, in this process: a gloo group of one, its files, its log."""
    import datetime
    import os

    import torch.distributed as dist

    X, y = _data()
    cfgs = [dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=4, mode=m, timeout=t)
            for m, t in (("ddp", 7.0), ("nnbook", 11.0))]
    for var in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    groups, reduces = [], []
    real_init, real_reduce = dist.init_process_group, dist.all_reduce
    monkeypatch.setattr(dist, "init_process_group",
                        lambda *a, **kw: (groups.append((a, kw)), real_init(*a, **kw))[1])
    monkeypatch.setattr(dist, "all_reduce",
                        lambda t, *a, **kw: (reduces.append(t.shape), real_reduce(t, *a, **kw))[1])
    threads = torch.get_num_threads()
    saved = os.dup(1), os.dup(2)
    port = dp.free_port()
    try:
        dp.worker(0, 1, port, cfgs, X, y, str(tmp_path))
        os.write(1, b"to stdout\n")                   # still redirected to the log
        os.write(2, b"to stderr\n")
        one_thread = torch.get_num_threads()
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        torch.set_num_threads(threads)
    assert one_thread == 1
    assert (os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"]) == ("127.0.0.1", str(port))
    assert groups == [(("gloo",), {"rank": 0, "world_size": 1,
                                   "timeout": datetime.timedelta(seconds=11)})]
    assert not dist.is_initialized()                  # the group is left at the end
    n_params = 4
    assert reduces == [(4,)] + [p for _ in range(4) for p in
                                [(16, 8), (16,), (3, 16), (3,)]] + [(4,)]
    assert (tmp_path / "rank0.log").read_text() == "to stdout\nto stderr\n"
    assert (tmp_path / "rank0.done").exists()
    for i, cfg in enumerate(cfgs):
        single = dp.train_single(cfg, X, y)
        with np.load(tmp_path / f"rank0_{i}.npz") as z:
            assert sorted(z.files) == ["losses", "p0", "p1", "p2", "p3", "train_seconds"]
            for j in range(n_params):
                np.testing.assert_array_equal(z[f"p{j}"], single["params"][j])
            np.testing.assert_array_equal(z["losses"], single["losses"])
            assert 0 < float(z["train_seconds"]) < 30


# ---- the torchrun entry point, run here as a group of one ---------------------------------------

def _group_of_one(monkeypatch, **env):
    for var, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(dp.free_port()),
                       **env}.items():
        monkeypatch.setenv(var, value)


def _main_line(cfg, device="cpu"):
    split = nb.data.digits(rng=np.random.default_rng(0))
    ref = dp.train_single(cfg, split.X_train, split.y_train)
    checksum = sum(float(np.abs(p).sum()) for p in ref["params"])
    return (f"world size 1 on {device}: loss {ref['losses'][0]:.6f} -> "
            f"{ref['losses'][-1]:.6f}, sum |w| = {checksum:.12f}\n")


def test_entry_point_defaults_are_40_ddp_steps_of_batches_of_64(monkeypatch, capsys):
    import torch.distributed as dist

    _group_of_one(monkeypatch)
    groups = []
    real_init = dist.init_process_group
    monkeypatch.setattr(dist, "init_process_group",
                        lambda *a, **kw: (groups.append((a, kw)), real_init(*a, **kw))[1])
    dp.main([])
    assert capsys.readouterr().out == _main_line(dp.DPConfig(steps=40, batch_size=64))
    import datetime
    assert groups == [(("gloo",), {"timeout": datetime.timedelta(seconds=60)})]
    assert not dist.is_initialized()


def test_entry_point_reads_its_options_and_all_reduces_in_nnbook_mode(monkeypatch, capsys):
    import torch.distributed as dist

    _group_of_one(monkeypatch)
    calls = []
    real_reduce = dist.all_reduce
    monkeypatch.setattr(dist, "all_reduce",
                        lambda t, *a, **kw: (calls.append(None), real_reduce(t, *a, **kw))[1])
    dp.main(["--steps", "3", "--batch-size", "32", "--mode", "nnbook"])
    assert capsys.readouterr().out == _main_line(dp.DPConfig(steps=3, batch_size=32,
                                                             mode="nnbook"))
    assert len(calls) == 3 * 4 + 1                   # four parameters a step, then the loss


def test_entry_point_without_local_variables_is_local_rank_0_of_1(monkeypatch, capsys):
    """Started without torchrun's LOCAL_RANK and LOCAL_WORLD_SIZE: one local process, rank 0."""
    _group_of_one(monkeypatch)
    monkeypatch.delenv("LOCAL_RANK")
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    dp.main(["--steps", "2"])
    assert capsys.readouterr().out == _main_line(dp.DPConfig(steps=2))


def test_entry_point_takes_ddp_by_name(monkeypatch, capsys):
    _group_of_one(monkeypatch)
    dp.main(["--mode", "ddp", "--steps", "2"])
    assert capsys.readouterr().out == _main_line(dp.DPConfig(steps=2))


def test_entry_point_refuses_an_unknown_mode_and_describes_itself(capsys):
    with pytest.raises(SystemExit) as exc:
        dp.main(["--mode", "fsdp"])
    assert exc.value.code == 2
    assert "argument --mode: invalid choice: 'fsdp' (choose from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        dp.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "\n\nData-parallel SGD on the digits (use torchrun).\n\n" in out


def _entry_point_choice(monkeypatch, gpus, available=True, **env):
    """What main does before training, with ``gpus`` faked GPUs: the GPU it takes and the
    process group it asks for (stopped there: no NCCL on this machine)."""
    import torch.distributed as dist

    class Stop(Exception):
        pass

    _group_of_one(monkeypatch, **env)
    for var in ("LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        if var not in env:
            monkeypatch.delenv(var)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    seen = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: seen.append(("set_device", d)))

    def init(*a, **kw):
        seen.append((a, kw))
        raise Stop
    monkeypatch.setattr(dist, "init_process_group", init)
    with pytest.raises(Stop):
        dp.main([])
    return seen


def _nccl():
    import datetime

    return (("nccl",), {"timeout": datetime.timedelta(seconds=60)})


def test_entry_point_takes_the_gpu_of_its_local_rank_under_nccl(monkeypatch):
    """With a GPU for every local process: NCCL, and process LOCAL_RANK takes GPU LOCAL_RANK."""
    seen = _entry_point_choice(monkeypatch, 2, LOCAL_RANK="1", LOCAL_WORLD_SIZE="2")
    assert seen == [("set_device", 1), _nccl()]


def test_entry_point_alone_on_a_one_gpu_node_takes_the_gpu(monkeypatch):
    """Without torchrun's local variables: one local process, rank 0, which takes GPU 0."""
    assert _entry_point_choice(monkeypatch, 1) == [("set_device", 0), _nccl()]


@pytest.mark.parametrize("gpus, available", [(2, False), (1, True), (0, True)])
def test_entry_point_stays_on_the_cpu_without_a_gpu_per_process(monkeypatch, gpus, available):
    seen = _entry_point_choice(monkeypatch, gpus, available, LOCAL_RANK="0", LOCAL_WORLD_SIZE="2")
    assert [a for a, _ in seen] == [("gloo",)]


# ---- train_distributed's own work, with threads for processes ------------------------------------

class FakeSpawn:
    """``torch.multiprocessing.spawn(fn, args, nprocs, join=False)`` with a thread per rank.

    The context it returns behaves like torch's: ``join(timeout)`` is True once every rank is
    done and raises a rank's exception; its ``processes`` can be joined, asked whether they
    are alive and terminated (which sets the event ``stop`` that a blocked rank waits on).
    """

    def __init__(self):
        self.calls, self.errors, self.terminated = [], [], []

    def __call__(self, fn, args=(), nprocs=1, join=True):
        import threading

        self.calls.append((fn, args, nprocs, join))
        self.stop = threading.Event()
        spawn = self

        def run(rank):
            try:
                fn(rank, *args)
            except Exception as exc:              # handed to join, as torch does
                spawn.errors.append(exc)

        class Process:
            def __init__(self, rank):
                self.rank = rank
                self.thread = threading.Thread(target=run, args=(rank,), daemon=True)
                self.thread.start()

            def join(self, timeout=None):
                self.thread.join(timeout)

            def is_alive(self):
                return self.thread.is_alive()

            def terminate(self):
                spawn.terminated.append(self.rank)
                spawn.stop.set()

        class Context:
            def __init__(self):
                self.processes = [Process(r) for r in range(nprocs)]

            def join(self, timeout=None):
                for p in self.processes:
                    p.thread.join(timeout)
                if spawn.errors:
                    raise spawn.errors[0]
                return not any(p.is_alive() for p in self.processes)

        return Context()


@pytest.fixture
def fake_spawn(monkeypatch):
    import torch.multiprocessing as mp

    spawn = FakeSpawn()
    monkeypatch.setattr(mp, "spawn", spawn)
    return spawn


def _save_rank(outdir, rank, i, params, losses, seconds):
    import os

    np.savez(os.path.join(outdir, f"rank{rank}_{i}.npz"), losses=losses, train_seconds=seconds,
             **{f"p{j}": p for j, p in enumerate(params)})


def _done(outdir, rank):
    import os

    open(os.path.join(outdir, f"rank{rank}.done"), "w").close()


def _log(outdir, rank, text):
    import os

    with open(os.path.join(outdir, f"rank{rank}.log"), "w") as f:
        f.write(text)


def test_train_distributed_spawns_its_workers_and_returns_what_one_rank_saved(fake_spawn):
    """world_size = 1: the real worker body, in a thread; the results are train_single's."""
    import os
    from dataclasses import asdict

    X, y = _data()
    cfgs = [dp.DPConfig(sizes=(8, 16, 3), batch_size=32, steps=3, mode=m) for m in ("ddp", "nnbook")]
    saved = os.dup(1), os.dup(2)
    try:
        runs = dp.train_distributed(cfgs, X, y, world_size=1, timeout=60)
        one = dp.train_distributed(cfgs[1], X, y, world_size=1, timeout=60)
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
    (fn, args, nprocs, join), _ = fake_spawn.calls
    assert (fn, nprocs, join) == (dp.worker, 1, False)
    world_size, port, got_cfgs, got_X, got_y, outdir = args
    assert (world_size, got_cfgs) == (1, tuple(cfgs)) and isinstance(port, int)
    np.testing.assert_array_equal(got_X, X)
    np.testing.assert_array_equal(got_y, y)
    assert os.path.basename(outdir).startswith("nnbook-ddp-") and not os.path.exists(outdir)
    assert isinstance(one, dict) and isinstance(runs, list) and len(runs) == 2
    for cfg, run in zip(cfgs, runs, strict=True):
        assert set(run) == {"params", "losses", "seconds", "train_seconds", "config"}
        assert run["config"] == asdict(cfg)
        single = dp.train_single(cfg, X, y)
        (params,) = run["params"]
        for a, b in zip(params, single["params"], strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(run["losses"], single["losses"])
        assert 0 < run["train_seconds"] < run["seconds"] < 60
    assert runs[0]["seconds"] == runs[1]["seconds"]          # one spawn for both
    np.testing.assert_array_equal(one["losses"], runs[1]["losses"])


def _run_with(fake_worker, cfg=None, world_size=2, timeout=30.0):
    """train_distributed with ``fake_worker`` as the body of each (thread) process."""
    import nnbook.data_parallel as module

    X, y = _data()
    orig = module.worker
    module.worker = fake_worker
    try:
        return dp.train_distributed(cfg or dp.DPConfig(sizes=(8, 4, 3), batch_size=32), X, y,
                                    world_size=world_size, timeout=timeout)
    finally:
        module.worker = orig


def test_train_distributed_collects_every_rank_in_order(fake_spawn):
    """params: each rank's, in rank order; losses: rank 0's; train_seconds: the slowest rank's."""
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        for i, _ in enumerate(cfgs):
            _save_rank(outdir, rank, i, [np.full(2, 10.0 * rank + i), np.full(3, -rank)],
                       np.array([rank + 0.5 * i]), 1.0 + rank + 0.25 * i)
        _done(outdir, rank)

    cfg = dp.DPConfig(sizes=(8, 4, 3), batch_size=33)
    runs = _run_with(fake_worker, [cfg, cfg], world_size=3)
    assert fake_spawn.calls[0][2] == 3
    for i, run in enumerate(runs):
        assert [[p.tolist() for p in ps] for ps in run["params"]] == [
            [[10.0 * r + i] * 2, [-r] * 3] for r in range(3)]
        assert run["losses"].tolist() == [0.5 * i]
        assert run["train_seconds"] == 3.0 + 0.25 * i


def test_a_failed_rank_is_reported_with_every_ranks_log_tail(fake_spawn):
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        _log(outdir, rank, "x" * 2500 + "end of rank 0" if rank == 0 else "rank 1 starts")
        if rank == 1:
            raise ValueError("shapes do not match")
        _save_rank(outdir, rank, 0, [np.zeros(1)], np.zeros(1), 1.0)

    with pytest.raises(RuntimeError) as exc:
        _run_with(fake_worker)
    tail0 = ("x" * 2500 + "end of rank 0")[-2000:]
    assert str(exc.value) == ("data-parallel run failed: shapes do not match"
                              f"\n--- rank 0 ---\n{tail0}\n--- rank 1 ---\nrank 1 starts")
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_a_rank_without_a_log_is_reported_without_one(fake_spawn):
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        if rank == 0:
            _log(outdir, rank, "rank 0 log")
            raise OSError("no route")

    with pytest.raises(RuntimeError) as exc:
        _run_with(fake_worker)
    assert str(exc.value) == "data-parallel run failed: no route\n--- rank 0 ---\nrank 0 log"


def test_ranks_that_do_not_finish_in_time_are_terminated_and_reported(fake_spawn):
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        _log(outdir, rank, f"rank {rank} waits")
        if rank == 1:
            fake_spawn.stop.wait(30)              # until terminated

    import time
    start = time.perf_counter()
    with pytest.raises(RuntimeError) as exc:
        _run_with(fake_worker, timeout=0.5)
    assert 0.5 < time.perf_counter() - start < 10
    assert str(exc.value) == ("data-parallel run failed: the 2 processes did not finish in 0.5 s"
                              "\n--- rank 0 ---\nrank 0 waits\n--- rank 1 ---\nrank 1 waits")
    assert fake_spawn.terminated == [1]


def test_a_rank_that_dies_after_every_rank_is_done_costs_nothing(fake_spawn):
    """gloo's teardown has aborted a process at exit: after the done markers, results stand."""
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        _save_rank(outdir, rank, 0, [np.full(2, float(rank))], np.array([7.0]), 2.0)
        _done(outdir, rank)
        if rank == 1:
            raise RuntimeError("terminate called without an active exception")

    run = _run_with(fake_worker)
    assert [p[0].tolist() for p in run["params"]] == [[0.0, 0.0], [1.0, 1.0]]
    assert run["losses"].tolist() == [7.0] and fake_spawn.terminated == []


def test_a_rank_that_dies_before_the_others_are_done_fails_the_run(fake_spawn):
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        _save_rank(outdir, rank, 0, [np.zeros(1)], np.zeros(1), 1.0)
        if rank == 0:
            _done(outdir, rank)                   # rank 1 never marks its results done
        else:
            raise RuntimeError("died")

    with pytest.raises(RuntimeError, match=r"^data-parallel run failed: died$"):
        _run_with(fake_worker)


@pytest.mark.parametrize("cfg, world_size, error, message", [
    ([dp.DPConfig(), "cfg"], 2, TypeError,
     r"^cfg must be a DPConfig or a non-empty sequence of them, got list$"),
    ((), 2, TypeError, r"^cfg must be a DPConfig or a non-empty sequence of them, got tuple$"),
    (dp.DPConfig(batch_size=97), 1, ValueError, r"^cfg.batch_size must be at most N=96, got 97$"),
    (dp.DPConfig(batch_size=32), 0, ValueError, r"^world_size must be a positive int, got 0$"),
])
def test_train_distributed_refuses_bad_arguments_before_starting_anything(cfg, world_size, error,
                                                                          message, fake_spawn):
    X, y = _data()
    with pytest.raises(error, match=message):
        dp.train_distributed(cfg, X, y, world_size=world_size)
    assert fake_spawn.calls == []


def test_train_distributed_takes_the_whole_set_as_one_batch(fake_spawn):
    def fake_worker(rank, world_size, port, cfgs, X, y, outdir):
        _save_rank(outdir, rank, 0, [np.zeros(1)], np.zeros(1), 1.0)

    assert len(_run_with(fake_worker, dp.DPConfig(batch_size=96))["params"]) == 2


# ---- real processes (the clean re-run of quality/mutation.py runs these; mutmut cannot) ----------

@pytest.mark.spawns
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


@pytest.mark.spawns
def test_a_failing_worker_is_reported_not_hung():
    X, y = _data()
    bad = dp.DPConfig(sizes=(5, 4, 3), batch_size=32, steps=2, timeout=10)   # X has 8 columns
    with pytest.raises(RuntimeError, match=r"^data-parallel run failed"):
        dp.train_distributed(bad, X, y, world_size=2, timeout=60)


@pytest.mark.spawns
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
