"""kvstore 'local'/'device' in one process: the same calls in real MXNet 1.9.1 (when its
interpreter is present) and in kiln; numpy references for the rest; bucketing; errors."""
import os
import subprocess
import sys

import kiln
import numpy as np
import pytest
from kiln import kvstore as kvs
from kiln.kvstore.comm import bucket_plan

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")

# Runs with ``mx`` = mxnet or kiln and fills ``seen`` (name -> numpy array); numpy 1.23-safe.
SCENARIO = r'''
def run(mx, np, seen, typ):
    ctxs = [mx.cpu(i) for i in range(4)]
    o = mx.nd.zeros((2, 3))
    kv = mx.kv.create(typ)
    seen["meta"] = np.array([kv.rank, kv.num_workers, int(kv.is_capable("optimizer"))])
    kv.init(3, mx.nd.ones((2, 3)) * 2)
    kv.pull(3, out=o); seen["init"] = o.asnumpy()
    kv.push(3, mx.nd.ones((2, 3)) * 8); kv.pull(3, out=o); seen["push1"] = o.asnumpy()
    kv.push(3, [mx.nd.array(np.arange(6).reshape(2, 3) * (i + 1), ctx=c)
                for i, c in enumerate(ctxs)])
    outs = [mx.nd.zeros((2, 3), ctx=c) for c in ctxs[:2]]
    kv.pull(3, out=outs); seen["push4"] = np.stack([x.asnumpy() for x in outs])
    kv.init([5, 7], [mx.nd.ones((2, 3)), mx.nd.ones((2, 3)) * 3])
    kv.pushpull([5, 7], [mx.nd.ones((2, 3)) * 4, [mx.nd.ones((2, 3), ctx=c) for c in ctxs[:2]]],
                out=[mx.nd.zeros((2, 3)), outs])
    kv.pull([5, 7], out=[o, outs[0]])
    seen["multi5"], seen["multi7"] = o.asnumpy(), outs[0].asnumpy()
    v = mx.nd.ones((2, 3)) * 6
    kv.pushpull(3, v); seen["inplace"] = v.asnumpy()
    def upd(key, inp, stored):
        stored += inp * 2
    kv._set_updater(upd)
    kv.push(3, [mx.nd.ones((2, 3)), mx.nd.ones((2, 3))]); kv.pull(3, out=o)
    seen["updater"] = o.asnumpy()
    kv2 = mx.kv.create(typ)
    kv2.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=0.01))
    kv2.init(["w", "b"], [mx.nd.array(np.linspace(-1, 1, 6).reshape(2, 3)), mx.nd.ones(4)])
    for step in range(3):
        kv2.push(["w", "b"], [[mx.nd.ones((2, 3)) * (step + 1), mx.nd.ones((2, 3))],
                              mx.nd.arange(4) * 0.5])
    kv2.pull("w", out=o); seen["sgd_w"] = o.asnumpy()
    ob = mx.nd.zeros(4); kv2.pull("b", out=ob); seen["sgd_b"] = ob.asnumpy()
    kv2.save_optimizer_states(PATH, dump_optimizer=True)
    kv2.push("w", mx.nd.ones((2, 3))); kv2.pull("w", out=o); seen["after_save"] = o.asnumpy()
    kv3 = mx.kv.create(typ)
    kv3.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=0.01))
    kv3.init("w", mx.nd.array(seen["sgd_w"]))
    kv3.load_optimizer_states(PATH)
    kv3.push("w", mx.nd.ones((2, 3))); kv3.pull("w", out=o); seen["after_load"] = o.asnumpy()
    outs = [mx.nd.zeros(3, ctx=c) for c in ctxs[:3]]
    kv3.broadcast("c", mx.nd.arange(3) + 5, out=outs)
    seen["broadcast"] = np.stack([x.asnumpy() for x in outs])
    for name, call in [("dup_init", lambda: kv3.init("c", mx.nd.ones(3))),
                       ("no_key", lambda: kv3.pull("zz", out=mx.nd.zeros(3))),
                       ("mixed", lambda: kv.init("s", mx.nd.ones(3)))]:
        try:
            call(); mx.nd.waitall()
            seen["err_" + name] = np.array(0)
        except Exception:
            seen["err_" + name] = np.array(1)
    # Trainer over two devices through the store, both update_on_kvstore settings
    rng = np.random.RandomState(0)
    w0, x, y = rng.randn(4, 5), rng.randn(8, 5), rng.randn(8, 4)
    for on_kv in (None, False):
        net = mx.gluon.nn.Dense(4, in_units=5, use_bias=False)
        net.initialize(ctx=ctxs[:2])
        net.weight.set_data(mx.nd.array(w0))
        tr = mx.gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1,
                              "momentum": 0.9}, kvstore=typ, update_on_kvstore=on_kv)
        for _ in range(3):
            xs = mx.gluon.utils.split_and_load(mx.nd.array(x), ctxs[:2])
            ys = mx.gluon.utils.split_and_load(mx.nd.array(y), ctxs[:2])
            with mx.autograd.record():
                losses = [((net(a) - b) ** 2).sum() for a, b in zip(xs, ys)]
            for l in losses:
                l.backward()
            tr.step(8)
        seen["trainer_%s" % on_kv] = net.weight.data(ctxs[1]).asnumpy()
        seen["trainer_%s_on" % on_kv] = np.array(int(bool(tr._update_on_kvstore)))
'''

ORACLE = r'''
import sys, numpy as np, mxnet as mx
exec(open(sys.argv[1]).read())
for typ in ("local", "device"):
    seen = {}
    PATH = sys.argv[2] + typ + ".states"
    run(mx, np, seen, typ)
    np.savez(sys.argv[2] + typ, **seen)
'''


def _kiln_run(typ, tmp_path):
    seen = {}
    namespace = {"PATH": str(tmp_path / f"kiln-{typ}.states")}
    exec(SCENARIO, namespace)
    namespace["run"](kiln, np, seen, typ)
    return seen


def test_same_as_mxnet(tmp_path):
    """SCENARIO in MXNet 1.9.1 (one interpreter start for both types) and in kiln."""
    if not os.path.exists(MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter (KILN_MXNET_PYTHON or .mxnet-venv)")
    script = tmp_path / "scenario.py"
    script.write_text(SCENARIO)
    res = subprocess.run([MX_PYTHON, "-c", ORACLE, str(script), str(tmp_path / "mx-")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    for typ in ("local", "device"):
        with np.load(tmp_path / f"mx-{typ}.npz") as f:
            want = {k: f[k] for k in f.files}
        got = _kiln_run(typ, tmp_path)
        assert sorted(got) == sorted(want)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{typ}: {k}")


def test_push_pull_numpy_reference():
    kv = kvs.create("device")
    assert (kv.type, kv.rank, kv.num_workers) == ("device", 0, 1)
    rng = np.random.RandomState(1)
    vals = [rng.randn(3, 2).astype(np.float32) for _ in range(3)]
    kv.init("g", kiln.nd.zeros((3, 2)))
    kv.push("g", [kiln.nd.array(v, ctx=kiln.cpu(i)) for i, v in enumerate(vals)])
    outs = [kiln.nd.zeros((3, 2), ctx=kiln.cpu(i)) for i in range(2)]
    kv.pull("g", out=outs)
    for o in outs:
        np.testing.assert_allclose(o.asnumpy(), vals[0] + vals[1] + vals[2], rtol=1e-6)
        assert o.context in (kiln.cpu(0), kiln.cpu(1))
    assert outs[1].context == kiln.cpu(1)


def test_optimizer_on_store_equals_updater():
    w0, g = np.linspace(-1, 1, 5).astype(np.float32), np.arange(5, dtype=np.float32)
    kv = kvs.create("local")
    kv.set_optimizer(kiln.optimizer.Adam(learning_rate=0.01))
    kv.init(0, kiln.nd.array(w0))
    ref_w = kiln.nd.array(w0)
    ref = kiln.optimizer.get_updater(kiln.optimizer.Adam(learning_rate=0.01))
    for _ in range(3):
        kv.push(0, [kiln.nd.array(g / 2), kiln.nd.array(g / 2)])
        ref(0, kiln.nd.array(g), ref_w)
    out = kiln.nd.zeros(5)
    kv.pull(0, out=out)
    np.testing.assert_allclose(out.asnumpy(), ref_w.asnumpy(), rtol=1e-6)


def test_errors_are_clear():
    kv = kvs.create("local")
    kv.init(1, kiln.nd.zeros((2, 2)))
    with pytest.raises(kvs.KVStoreError, match=r"shape \(2, 2\).*\(3,\)"):
        kv.push(1, kiln.nd.ones(3))
    with pytest.raises(kvs.KVStoreError, match="doesn't exist"):
        kv.pull(2, out=kiln.nd.zeros(2))
    with pytest.raises(kvs.KVStoreError, match="do not mix"):
        kv.init("x", kiln.nd.zeros(2))
    with pytest.raises(kvs.KVStoreError, match="2 keys need a list of 2"):
        kv.push([1, 1], kiln.nd.ones((2, 2)))
    with pytest.raises(kvs.KVStoreError, match="unknown type 'dist_async'"):
        kvs.create("dist_async")
    with pytest.raises(kvs.KVStoreError, match="set_optimizer first"):
        kv.save_optimizer_states("never-written.states")
    with pytest.raises(kvs.KVStoreError, match="not supported"):
        kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    kv.set_gradient_compression({"type": "none"})


def test_registered_store_and_aliases():
    assert kiln.kv is kvs and kiln.kvstore.create is kvs.create

    @kvs.KVStoreBase.register
    class MyTestStore(kvs.KVStore):
        pass
    try:
        assert isinstance(kvs.create("myteststore"), MyTestStore)
    finally:
        del kvs.KVStoreBase.kv_registry["myteststore"]


@pytest.mark.parametrize("sizes,limit", [([3, 3, 10, 1], 40), ([100], 8), ([1] * 7, 12)])
def test_bucket_plan_keeps_order_and_limit(sizes, limit):
    arrays = [np.zeros(s, np.float32) for s in sizes]
    buckets = bucket_plan(arrays, limit)
    assert [i for b in buckets for i in b] == list(range(len(sizes)))
    for b in buckets:
        assert len(b) == 1 or sum(arrays[i].nbytes for i in b) <= limit
    # greedy: no two neighbouring buckets could have been one
    for a, b in zip(buckets, buckets[1:]):
        assert sum(arrays[i].nbytes for i in a + b) > limit


def test_bucket_plan_splits_dtypes():
    arrays = [np.zeros(2, np.float32), np.zeros(2, np.float64), np.zeros(2, np.float64)]
    assert bucket_plan(arrays, 1 << 20) == [[0], [1, 2]]


def test_dist_store_without_mpi4py_says_what_to_install(monkeypatch):
    from kiln.kvstore import comm
    if comm._WORLD:
        pytest.skip("MPI already started in this process")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    with pytest.raises(kvs.KVStoreError, match="pip install 'kiln\\[distributed\\]'"):
        kvs.create("dist_sync")
