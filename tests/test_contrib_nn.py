"""gluon.contrib.nn (gluon/contrib/nn.py): PixelShuffle1D/2D/3D against an index-formula
reference, every block's outputs and gradients equal before and after hybridize(), ONNX export
against onnxruntime, and real MXNet 1.9.1 (when its interpreter is present)."""
import os

import _mxnet_oracle as oracle
import kiln
import numpy as np
import pytest
from _oracle_suite import suite_tests
from kiln import autograd, gluon, nd
from kiln.gluon.contrib import nn as cnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")
RNG = np.random.default_rng


def _shuffle_ref(x, factors):
    """out[n, c, s1*f1 + i1, ...] = x[n, ((c*f1 + i1)*f2 + i2)..., s1, ...] (MXNet's doc)."""
    n, cf = x.shape[:2]
    spatial = x.shape[2:]
    c = cf // int(np.prod(factors))
    out_shape = (n, c) + tuple(s * f for s, f in zip(spatial, factors))
    idx = np.indices(out_shape)
    channel = idx[1]
    src = [idx[0], None]
    for d, f in enumerate(factors):
        channel = channel * f + idx[2 + d] % f
        src.append(idx[2 + d] // f)
    src[1] = channel
    return x[tuple(src)]


SHUFFLES = [(cnn.PixelShuffle1D, 3, (2, 6, 4)), (cnn.PixelShuffle2D, (2, 3), (2, 12, 3, 2)),
            (cnn.PixelShuffle2D, 2, (1, 8, 2, 3)),
            (cnn.PixelShuffle3D, (2, 1, 3), (1, 12, 2, 3, 2))]


@pytest.mark.parametrize("cls, factor, shape", SHUFFLES)
def test_pixel_shuffle_matches_index_formula(cls, factor, shape):
    x = RNG(0).normal(size=shape)
    ndim = len(shape) - 2
    factors = (factor,) * ndim if isinstance(factor, int) else factor
    np.testing.assert_array_equal(cls(factor)(nd.array(x, dtype="float64")).asnumpy(),
                                  _shuffle_ref(x, factors))


def test_pixel_shuffle_checks_and_repr():
    with pytest.raises(ValueError, match="PixelShuffle2D: factor"):
        cnn.PixelShuffle2D((2, 2, 2))
    with pytest.raises(ValueError, match="PixelShuffle1D: factor"):
        cnn.PixelShuffle1D(0)
    with pytest.raises(ValueError, match=r"PixelShuffle2D\(2, 2\).*\(1, 6, 2, 2\)"):
        cnn.PixelShuffle2D(2)(nd.zeros((1, 6, 2, 2)))
    assert repr(cnn.PixelShuffle1D(2)) == "PixelShuffle1D(2)"
    assert repr(cnn.PixelShuffle3D((1, 2, 3))) == "PixelShuffle3D((1, 2, 3))"


def _concurrent(cls=cnn.HybridConcurrent, axis=-1):
    net = cls(axis=axis)
    net.add(gluon.nn.Dense(3, activation="tanh", flatten=False), cnn.Identity(),
            gluon.nn.Dense(2, flatten=False))
    return net


def _residual_shuffle():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(8, 3, padding=1), cnn.PixelShuffle2D(2))
    return net


# (id, factory, input shape)
BLOCKS = [("shuffle1d", lambda: cnn.PixelShuffle1D(2), (2, 4, 3)),
          ("shuffle2d", lambda: cnn.PixelShuffle2D((2, 3)), (2, 12, 3, 2)),
          ("shuffle3d", lambda: cnn.PixelShuffle3D(2), (1, 16, 2, 1, 2)),
          ("identity", cnn.Identity, (3, 4)),
          ("concurrent", _concurrent, (2, 3, 4)),
          ("concurrent_axis1", lambda: _concurrent(axis=1), (2, 4)),
          ("conv_shuffle", _residual_shuffle, (1, 2, 3, 3)),
          ("syncbn_one_process", lambda: cnn.SyncBatchNorm(num_devices=1), (4, 3, 2))]


def _run(net, x):
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        y = net(x)
        head = nd.array(RNG(3).uniform(0.5, 1.5, size=y.shape), dtype=y.dtype)
        (y * head).sum().backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()
             if p.grad_req != "null"}
    return y.asnumpy(), x.grad.asnumpy(), grads


@pytest.mark.parametrize("name, factory, shape", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_hybridized_equals_eager(name, factory, shape):
    kiln.random.seed(0)
    net = factory()
    net.initialize(kiln.init.Uniform(0.5))
    net.cast("float64")
    x = nd.array(RNG(1).normal(size=shape), dtype="float64")
    eager = _run(net, x)
    net.hybridize()
    hybrid = _run(net, x)
    assert net._cached_op is not None and net._cached_op.entries, "no traced graph ran"
    for a, b in zip(eager[:2], hybrid[:2]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    assert eager[2].keys() == hybrid[2].keys()
    for k in eager[2]:
        np.testing.assert_allclose(hybrid[2][k], eager[2][k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_sync_batchnorm_is_the_kvstore_block():
    from kiln.kvstore.sync_batchnorm import SyncBatchNorm
    assert cnn.SyncBatchNorm is SyncBatchNorm
    assert issubclass(cnn.SyncBatchNorm, gluon.nn.BatchNorm)


def test_concurrent_concatenates_children():
    net = _concurrent(cnn.Concurrent, axis=-1)
    net.initialize()
    x = nd.array(RNG(2).normal(size=(3, 4)))
    want = np.concatenate([child(x).asnumpy() for child in net], axis=-1)
    np.testing.assert_array_equal(net(x).asnumpy(), want)
    assert isinstance(net, gluon.nn.Sequential) and not isinstance(net, gluon.HybridBlock)


ONNX_BLOCKS = [b for b in BLOCKS if b[0] not in ("identity", "syncbn_one_process")]


@pytest.mark.parametrize("name, factory, shape", ONNX_BLOCKS, ids=[b[0] for b in ONNX_BLOCKS])
def test_onnx_export_matches_onnxruntime(name, factory, shape, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    net = factory()
    net.initialize(kiln.init.Uniform(0.5))
    net.hybridize()
    x = RNG(4).normal(size=shape).astype(np.float32)
    want = net(nd.array(x)).asnumpy()
    path = str(tmp_path / "m.onnx")
    net.export_onnx(path, nd.array(x), dynamic_axes={"data": {0: "batch"}}, verify=False)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    np.testing.assert_allclose(sess.run(None, feed)[0], want, rtol=1e-5, atol=1e-5)
    # the batch axis stays dynamic through the Reshape/Transpose lowering
    x2 = np.concatenate([x, x[:1] * 2])
    got = sess.run(None, {sess.get_inputs()[0].name: x2})[0]
    np.testing.assert_allclose(got, net(nd.array(x2)).asnumpy(), rtol=1e-5, atol=1e-5)


# ---- real MXNet 1.9.1 -------------------------------------------------------------------------
def _suite():
    s = oracle.Suite(seed=3)
    for cls, factor, shape in SHUFFLES:
        ctor = {"factor": list(factor) if isinstance(factor, tuple) else factor}
        for hyb in (False, True):
            s.block(f"gluon.contrib.nn.{cls.__name__}", ctor, s.arr(shape), _hybridize=hyb,
                    _id=f"{cls.__name__}({factor},{shape},hybridize={hyb})")
    kids = [["gluon.nn.Dense", {"units": 3, "flatten": False}], ["gluon.contrib.nn.Identity", {}],
            ["gluon.nn.Dense", {"units": 2, "flatten": False}]]
    # one process: SyncBatchNorm is BatchNorm (the 2-rank tests live with kvstore/)
    s.block("gluon.contrib.nn.SyncBatchNorm", {"in_channels": 3, "num_devices": 1},
            s.arr((4, 3, 2)), _id="SyncBatchNorm(one process)")
    for cls in ("HybridConcurrent", "Concurrent"):
        for hyb in (False, True) if cls == "HybridConcurrent" else (False,):
            s.block(f"gluon.contrib.nn.{cls}", {"axis": -1}, s.arr((2, 3, 4)), _children=kids,
                    _hybridize=hyb, _id=f"{cls}(hybridize={hyb})")
    return s


SUITE = _suite()
CASES = {c["id"]: c for c in SUITE.cases}


mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_contrib_nn")
