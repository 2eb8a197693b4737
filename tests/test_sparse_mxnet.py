"""nd.sparse against real MXNet 1.9.1: one script runs under both libraries (creation,
storage conversion, slicing, sparse dot/add/retain, dot's gradient, Embedding's row_sparse
gradients, lazy SGD/Adam through the Trainer, kvstore row_sparse_pull) and the results must
agree; each library also loads the sparse file the other one saved. Skipped without MXNet."""
import os
import subprocess
import textwrap

import kiln
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")

SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np
    LIB = __import__(LIBNAME)
    nd, sp, autograd, gluon = LIB.nd, LIB.nd.sparse, LIB.autograd, LIB.gluon
    OUT = {}
    def put(key, a):
        if isinstance(a, list):
            for i, x in enumerate(a):
                put(f"{key}{i}", x)
            return
        if isinstance(a, str):
            OUT[key] = np.array(a)
            return
        if hasattr(a, "stype"):
            OUT[key + ".stype"] = np.array(a.stype)
            OUT[key + ".dtype"] = np.array(np.dtype(a.dtype).name)
            if a.stype != "default":
                OUT[key + ".indices"] = a.indices.asnumpy()
                OUT[key + ".data"] = a.data.asnumpy()
                if a.stype == "csr":
                    OUT[key + ".indptr"] = a.indptr.asnumpy()
        OUT[key] = a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)
    rs = np.random.RandomState(0)
    dense = rs.rand(5, 4).astype("f") * (rs.rand(5, 4) < 0.4)
    dense[2] = 0
    c = sp.csr_matrix(dense)
    put("csr_dense", c)
    put("csr_tuple", sp.csr_matrix(([1, 2, 3], [0, 2, 1], [0, 2, 2, 3]), shape=(3, 4)))
    put("csr_f64", sp.csr_matrix((np.array([1.5, 2.0]), [1, 0], [0, 1, 2]), shape=(2, 3)))
    put("csr_zeros", sp.zeros("csr", (3, 2)))
    put("rsp_tuple", sp.row_sparse_array(([[1, 2], [3, 4]], [1, 3]), shape=(5, 2)))
    put("rsp_dense", nd.array(dense).tostype("row_sparse"))
    put("rsp_zeros", sp.zeros("row_sparse", (4, 3), dtype="float64"))
    put("cast_csr", nd.cast_storage(nd.array(dense), "csr"))
    put("back_dense", c.tostype("default"))
    put("slice_rows", c[1:4])
    put("slice_one", c[3])
    put("scaled", c * 2)
    rhs = nd.array(rs.rand(4, 3))
    put("dot", sp.dot(c, rhs))
    put("dot_t", sp.dot(c, nd.array(rs.rand(5, 3)), transpose_a=True))
    r = sp.row_sparse_array((rs.rand(2, 3).astype("f"), [1, 3]), shape=(4, 3))
    put("dot_dense_rsp", sp.dot(nd.array(rs.rand(2, 4)), r))
    r2 = sp.row_sparse_array((rs.rand(2, 3).astype("f"), [0, 3]), shape=(4, 3))
    put("add", sp.elemwise_add(r, r2))
    put("add_op", r + r2)
    put("retain", sp.retain(r, nd.array([2, 3])))
    x = nd.array(rs.rand(4, 2)); x.attach_grad()
    with autograd.record():
        y = sp.dot(c, x)
    y.backward(nd.array(rs.rand(5, 2)))
    put("dot_grad", x.grad)
    # Embedding with row_sparse gradients; a batch whose head gradient is zero keeps its rows
    net = gluon.nn.Embedding(6, 3, sparse_grad=True)
    net.initialize(LIB.init.Constant(0.5))
    with autograd.record():
        loss = (net(nd.array([[1, 4], [4, 0]])) * nd.array(rs.rand(2, 2, 3))).sum()
    loss.backward()
    put("emb_grad", net.weight.grad())
    with autograd.record():
        loss = (net(nd.array([2, 5])) * 0).sum()
    loss.backward()
    put("emb_grad_zero", net.weight.grad())
    # lazy and standard updates through the Trainer, Embedding and Dense in one model
    configs = [("sgd", dict(learning_rate=0.1)),
               ("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01)),
               ("sgd", dict(learning_rate=0.1, momentum=0.9, wd=0.01, lazy_update=False)),
               ("adam", dict(learning_rate=0.05, wd=0.01)),
               ("adam", dict(learning_rate=0.05, lazy_update=False, clip_gradient=0.3))]
    for n, (name, kw) in enumerate(configs):
        model = gluon.nn.HybridSequential()
        model.add(gluon.nn.Embedding(7, 3, sparse_grad=True), gluon.nn.Dense(2))
        model.initialize(LIB.init.Constant(0.3))
        tr = gluon.Trainer(model.collect_params(), name, kw)
        for step, ids in enumerate([[1, 4], [4, 0], [2, 2], [5, 1]]):
            with autograd.record():
                loss = (model(nd.array(ids)) * (step + 1)).sum()
            loss.backward()
            tr.step(2)
        for k, p in enumerate(model.collect_params().values()):
            put(f"train{n}.{k}", p.data())
    # kvstore
    kv = LIB.kv.create("local")
    kv.init("e", nd.array(np.arange(12).reshape(4, 3)).tostype("row_sparse"))
    out = sp.zeros("row_sparse", (4, 3))
    kv.row_sparse_pull("e", out=out, row_ids=nd.array([2, 0, 2]))
    put("kv_pull", out)
    kv.push("e", [sp.row_sparse_array(([[1, 1, 1]], [1]), shape=(4, 3))] * 2)
    outs = [sp.zeros("row_sparse", (4, 3)) for _ in range(2)]
    kv.row_sparse_pull("e", out=outs, row_ids=[nd.array([1]), nd.array([3, 1])])
    put("kv_pull_after_push", outs)
    # files, both ways (MXNet's engine is asynchronous: without waitall its save can read
    # the astype result's storage shape before the copy sets it)
    r64 = r.astype("float64")
    nd.waitall()
    nd.save(os.path.join(FOLDER, LIBNAME + ".nd"),
            {"c": c, "r": r64, "z": sp.zeros("csr", (2, 3)), "d": rhs})
    other = os.path.join(FOLDER, ("kiln" if LIBNAME == "mxnet" else "mxnet") + ".nd")
    if os.path.exists(other):
        for k, v in sorted(nd.load(other).items()):
            put("loaded." + k, v)
""")


def _run_kiln(folder):
    env = {"LIBNAME": "kiln", "FOLDER": folder}
    exec(SCRIPT, env)
    return env["OUT"]


def _run_mxnet(folder):
    src = ("import numpy as np, sys\nLIBNAME, FOLDER = 'mxnet', sys.argv[1]\n"
           + SCRIPT + "\nnp.savez(sys.argv[2], **OUT)\n")
    script = os.path.join(folder, "sparse_mx.py")
    with open(script, "w") as f:
        f.write(src)
    res = os.path.join(folder, "mx.npz")
    r = subprocess.run([MX_PYTHON, script, folder, res], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": ""}, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    with np.load(res) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 interpreter")
def test_sparse_matches_mxnet(tmp_path):
    folder = str(tmp_path)
    _run_kiln(folder)                 # writes kiln.nd for MXNet to load
    theirs = _run_mxnet(folder)       # loads kiln.nd, writes mxnet.nd
    mine = _run_kiln(folder)          # loads mxnet.nd
    assert "loaded.c.stype" in theirs and "loaded.c.stype" in mine
    assert sorted(mine) == sorted(theirs)
    for k in sorted(mine):
        a, b = np.asarray(mine[k]), theirs[k]
        if b.dtype.kind == "U":
            assert str(a) == str(b), k
        else:
            assert a.shape == b.shape, k
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6, err_msg=k)
    with open(os.path.join(folder, "mxnet.nd"), "rb") as f:   # same bytes as MXNet writes
        assert kiln.nd.io.save_tobytes(kiln.nd.load(os.path.join(folder, "mxnet.nd"))) == \
            f.read()
