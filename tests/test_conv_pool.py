"""Convolution, deconvolution and pooling against naive loop references written here.

The references loop over output (or input) positions one by one, so they share nothing with the
im2col kernels. Gradients are checked against central finite differences in float64.
"""
import math

import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import MXNetError
from kiln.ndarray._registry import Aval, get

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.uniform(-1, 1, size=shape)


# ---- naive references -------------------------------------------------------------------------
def naive_conv(x, w, b, stride, pad, dilate, groups):
    n, c = x.shape[:2]
    f, cg = w.shape[:2]
    k = w.shape[2:]
    nsp = len(k)
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out = [(xp.shape[2 + i] - dilate[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nsp)]
    y = np.zeros((n, f) + tuple(out))
    fg = f // groups
    for o in np.ndindex(*out):
        for fi in range(f):
            grp = fi // fg
            win = xp[(slice(None), slice(grp * cg, (grp + 1) * cg)) + tuple(
                slice(o[i] * stride[i], o[i] * stride[i] + dilate[i] * (k[i] - 1) + 1,
                      dilate[i]) for i in range(nsp))]
            y[(slice(None), fi) + o] = (win * w[fi]).reshape(n, -1).sum(1)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nsp)
    return y


def naive_deconv(x, w, stride, pad, dilate, adj, groups):
    """Scatter each input pixel times the kernel, then crop ``pad`` from both sides (+adj)."""
    n, cin = x.shape[:2]
    fg = w.shape[1]
    k = w.shape[2:]
    nsp = len(k)
    sp = x.shape[2:]
    full = [stride[i] * (sp[i] - 1) + dilate[i] * (k[i] - 1) + 1 for i in range(nsp)]
    out = [full[i] - 2 * pad[i] + adj[i] for i in range(nsp)]
    big = np.zeros((n, fg * groups) + tuple(max(full[i], pad[i] + out[i]) for i in range(nsp)))
    cg = cin // groups
    for idx in np.ndindex(*sp):
        for ci in range(cin):
            grp = ci // cg
            sl = tuple(slice(idx[i] * stride[i], idx[i] * stride[i] + dilate[i] * (k[i] - 1) + 1,
                             dilate[i]) for i in range(nsp))
            v = x[(slice(None), ci) + idx].reshape((n, 1) + (1,) * nsp)
            big[(slice(None), slice(grp * fg, (grp + 1) * fg)) + sl] += v * w[ci][None]
    return big[(Ellipsis,) + tuple(slice(pad[i], pad[i] + out[i]) for i in range(nsp))]


def naive_pool(x, kernel, stride, pad, pool_type, convention="valid", cip=True, p=2):
    nsp = len(kernel)
    sp = x.shape[2:]
    rnd = math.ceil if convention == "full" else math.floor
    out = [int(rnd((sp[i] + 2 * pad[i] - kernel[i]) / stride[i])) + 1 for i in range(nsp)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for o in np.ndindex(*out):
        lo = [o[i] * stride[i] - pad[i] for i in range(nsp)]
        hi = [min(lo[i] + kernel[i], sp[i] + pad[i]) for i in range(nsp)]
        real = tuple(slice(max(lo[i], 0), min(hi[i], sp[i])) for i in range(nsp))
        win = x[(Ellipsis,) + real].reshape(x.shape[:2] + (-1,))
        if pool_type == "max":
            v = win.max(-1)
        elif pool_type == "sum":
            v = win.sum(-1)
        elif pool_type == "lp":
            v = (win ** p).sum(-1) ** (1.0 / p)
        else:
            cnt = math.prod(hi[i] - lo[i] for i in range(nsp)) if cip else win.shape[-1]
            v = win.sum(-1) / cnt
        y[(Ellipsis,) + o] = v
    return y


# ---- forward ------------------------------------------------------------------------------
CONV_CASES = [
    dict(x=(2, 3, 9), w=(4, 3, 3), stride=(2,), pad=(1,), dilate=(1,), groups=1),
    dict(x=(2, 3, 7, 6), w=(4, 3, 3, 3), stride=(1, 1), pad=(1, 1), dilate=(1, 1), groups=1),
    dict(x=(2, 4, 8, 7), w=(6, 2, 3, 2), stride=(2, 3), pad=(1, 0), dilate=(1, 2), groups=2),
    dict(x=(1, 6, 6, 6), w=(6, 1, 3, 3), stride=(2, 2), pad=(2, 1), dilate=(2, 2), groups=6),
    dict(x=(2, 2, 5, 4, 6), w=(3, 2, 2, 3, 2), stride=(2, 1, 2), pad=(1, 1, 0),
         dilate=(1, 1, 2), groups=1),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"{len(c['x']) - 2}d-g{c['groups']}")
def test_convolution_matches_naive(case):
    x, w, b = rand(*case["x"]), rand(*case["w"]), rand(case["w"][0])
    k = case["w"][2:]
    y = nd.Convolution(nd.array(x), nd.array(w), nd.array(b), kernel=k, stride=case["stride"],
                       pad=case["pad"], dilate=case["dilate"], num_filter=case["w"][0],
                       num_group=case["groups"])
    ref = naive_conv(x, w, b, case["stride"], case["pad"], case["dilate"], case["groups"])
    assert y.shape == ref.shape and y.dtype == np.float32
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-4, atol=1e-5)
    op = get("convolution")
    av = op.infer(Aval(case["x"], np.dtype("float32")), Aval(case["w"], np.dtype("float32")),
                  None, kernel=k, stride=case["stride"], pad=case["pad"],
                  dilate=case["dilate"], num_filter=case["w"][0], num_group=case["groups"])
    assert av.shape == ref.shape


def test_convolution_no_bias_and_defaults():
    x, w = rand(1, 2, 5, 5), rand(3, 2, 3, 3)
    y = nd.convolution(nd.array(x), nd.array(w), kernel=(3, 3), num_filter=3, no_bias=True)
    ref = naive_conv(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-4, atol=1e-5)
    # cudnn/workspace knobs are accepted and ignored
    y2 = nd.Convolution(nd.array(x), nd.array(w), kernel=(3, 3), num_filter=3, no_bias=True,
                        workspace=512, cudnn_tune="fastest", cudnn_off=True, name="c")
    np.testing.assert_allclose(y2.asnumpy(), y.asnumpy())


DECONV_CASES = [
    dict(x=(2, 3, 4, 4), w=(3, 2, 3, 3), stride=(2, 2), pad=(1, 1), dilate=(1, 1), adj=(1, 1),
         groups=1),
    dict(x=(2, 4, 3, 5), w=(4, 3, 2, 3), stride=(3, 1), pad=(0, 1), dilate=(1, 2), adj=(2, 0),
         groups=2),
    dict(x=(1, 2, 6), w=(2, 3, 4), stride=(2,), pad=(1,), dilate=(1,), adj=(0,), groups=1),
    dict(x=(1, 2, 2, 3, 2), w=(2, 2, 2, 2, 3), stride=(2, 2, 1), pad=(0, 1, 1),
         dilate=(1, 1, 1), adj=(1, 0, 0), groups=1),
]


@pytest.mark.parametrize("case", DECONV_CASES, ids=lambda c: f"{len(c['x']) - 2}d")
def test_deconvolution_matches_naive(case):
    x, w = rand(*case["x"]), rand(*case["w"])
    nf = case["w"][1] * case["groups"]
    y = nd.Deconvolution(nd.array(x), nd.array(w), kernel=case["w"][2:], stride=case["stride"],
                         pad=case["pad"], dilate=case["dilate"], adj=case["adj"],
                         num_filter=nf, num_group=case["groups"])
    ref = naive_deconv(x, w, case["stride"], case["pad"], case["dilate"], case["adj"],
                       case["groups"])
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-4, atol=1e-5)


def test_deconvolution_target_shape_drops_first_row():
    # MXNet: a 7x7 full output cropped to (6, 7) gives pad 1, adj 1 in that axis
    x, w = rand(1, 2, 3, 3), rand(2, 1, 3, 3)
    y = nd.Deconvolution(nd.array(x), nd.array(w), kernel=(3, 3), stride=(2, 2),
                         target_shape=(6, 7), num_filter=1)
    full = naive_deconv(x, w, (2, 2), (0, 0), (1, 1), (0, 0), 1)
    assert full.shape[2:] == (7, 7) and y.shape == (1, 1, 6, 7)
    np.testing.assert_allclose(y.asnumpy(), full[:, :, 1:, :], rtol=1e-4, atol=1e-5)


def test_deconvolution_defaults_to_no_bias():
    x, w, b = rand(1, 2, 3, 3), rand(2, 2, 2, 2), np.ones(2)
    y = nd.Deconvolution(nd.array(x), nd.array(w), nd.array(b), kernel=(2, 2), num_filter=2)
    ref = naive_deconv(x, w, (1, 1), (0, 0), (1, 1), (0, 0), 1)
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-4, atol=1e-5)
    yb = nd.Deconvolution(nd.array(x), nd.array(w), nd.array(b), kernel=(2, 2), num_filter=2,
                          no_bias=False)
    np.testing.assert_allclose(yb.asnumpy(), ref + 1, rtol=1e-4, atol=1e-5)


POOL_CASES = [
    dict(x=(2, 3, 7, 7), kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max"),
    dict(x=(2, 3, 6, 6), kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max",
         convention="full"),
    dict(x=(2, 3, 6, 6), kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
         convention="full"),
    dict(x=(2, 3, 6, 6), kernel=(3, 2), stride=(2, 2), pad=(1, 1), pool_type="avg",
         convention="full", cip=False),
    dict(x=(2, 3, 7, 7), kernel=(2, 2), stride=(2, 2), pad=(0, 0), pool_type="avg"),
    dict(x=(2, 2, 9), kernel=(3,), stride=(2,), pad=(1,), pool_type="sum"),
    dict(x=(1, 2, 4, 5, 4), kernel=(2, 2, 2), stride=(2, 2, 1), pad=(0, 0, 0),
         pool_type="max", convention="full"),
    dict(x=(2, 2, 5, 5), kernel=(2, 2), stride=(1, 1), pad=(0, 0), pool_type="lp"),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{c['pool_type']}-"
                         f"{c.get('convention', 'valid')}-{len(c['x']) - 2}d")
def test_pooling_matches_naive(case):
    x = rand(*case["x"])
    if case["pool_type"] == "lp":
        x = np.abs(x) + 0.1
    conv = case.get("convention", "valid")
    cip = case.get("cip", True)
    y = nd.Pooling(nd.array(x), kernel=case["kernel"], stride=case["stride"], pad=case["pad"],
                   pool_type=case["pool_type"], pooling_convention=conv,
                   count_include_pad=cip, p_value=2)
    ref = naive_pool(x, case["kernel"], case["stride"], case["pad"], case["pool_type"], conv,
                     cip)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=1e-4, atol=1e-5)


def test_avg_full_divides_by_window_clipped_to_padded_input():
    x = np.ones((1, 1, 6, 6))
    y = nd.Pooling(nd.array(x), kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                   pooling_convention="full").asnumpy()
    # last window starts at 5 and is clipped to 6 + 1 = 7: 2 of its 3 rows count
    assert y.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(y[0, 0, 0, 0], 4 / 9)
    np.testing.assert_allclose(y[0, 0, 3, 3], 1 / 4)
    np.testing.assert_allclose(y[0, 0, 1, 1], 1.0)


@pytest.mark.parametrize("pool_type", ["max", "avg", "sum", "lp"])
def test_global_pooling(pool_type):
    x = np.abs(rand(2, 3, 4, 5)) + 0.1
    y = nd.Pooling(nd.array(x), pool_type=pool_type, global_pool=True, kernel=(2, 2))
    flat = x.reshape(2, 3, -1)
    ref = {"max": flat.max(-1), "avg": flat.mean(-1), "sum": flat.sum(-1),
           "lp": np.sqrt((flat ** 2).sum(-1))}[pool_type]
    assert y.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(y.asnumpy()[..., 0, 0], ref, rtol=1e-5)


def test_pooling_default_stride_is_one():
    x = rand(1, 1, 4, 4)
    y = nd.Pooling(nd.array(x), kernel=(2, 2), pool_type="max")
    assert y.shape == (1, 1, 3, 3)


def test_bad_layout_raises():
    with pytest.raises(MXNetError):
        nd.Convolution(nd.array(rand(1, 2, 4, 4)), nd.array(rand(2, 2, 3, 3)), kernel=(3, 3),
                       num_filter=2, no_bias=True, layout="NHWC")


# ---- backward vs finite differences ----------------------------------------------------------
def _check_grads(fn, arrays, eps=1e-6, rtol=1e-5, atol=1e-7):
    xs = [nd.array(a, dtype="float64") for a in arrays]
    for v in xs:
        v.attach_grad()
    with autograd.record():
        y = fn(*xs)
    wts = RNG.uniform(0.5, 1.5, size=y.shape)
    y.backward(nd.array(wts, dtype="float64"))

    def loss(vals):
        return float((fn(*[nd.array(v, dtype="float64") for v in vals]).asnumpy() * wts).sum())

    for k, v in enumerate(xs):
        num = np.zeros(arrays[k].shape)
        for idx in np.ndindex(*arrays[k].shape):
            vals = [a.copy() for a in arrays]
            vals[k][idx] += eps
            fp = loss(vals)
            vals[k][idx] -= 2 * eps
            num[idx] = (fp - loss(vals)) / (2 * eps)
        np.testing.assert_allclose(v.grad.asnumpy(), num, rtol=rtol, atol=atol)


def test_convolution_backward_finite_differences():
    _check_grads(lambda x, w, b: nd.Convolution(x, w, b, kernel=(3, 3), stride=(2, 2),
                                                pad=(1, 1), num_filter=4, num_group=2),
                 [rand(2, 4, 5, 4), rand(4, 2, 3, 3), rand(4)])


def test_deconvolution_backward_finite_differences():
    _check_grads(lambda x, w: nd.Deconvolution(x, w, kernel=(3, 3), stride=(2, 2),
                                               target_shape=(6, 7), num_filter=2),
                 [rand(2, 2, 3, 3), rand(2, 2, 3, 3)])


@pytest.mark.parametrize("kw", [dict(pool_type="max", kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
                                dict(pool_type="avg", kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                     pooling_convention="full"),
                                dict(pool_type="lp", p_value=3, kernel=(2, 2))])
def test_pooling_backward_finite_differences(kw):
    x = RNG.permutation(np.linspace(0.2, 1.5, 36)).reshape(1, 1, 6, 6)  # no ties
    _check_grads(lambda a: nd.Pooling(a, **kw), [np.concatenate([x, x[:, :, ::-1]], 1)])


def _weight_grad_energy(xv, wv, record_x=False):
    """sum((d sum(conv)/d w)^2) and, when asked, its gradient w.r.t. x (second order)."""
    x, w = nd.array(xv, dtype="float64"), nd.array(wv, dtype="float64")
    w.attach_grad()
    if record_x:
        x.attach_grad()
    with autograd.record():
        y = nd.Convolution(x, w, kernel=(3, 3), stride=(2, 1), pad=(1, 1), num_filter=2,
                           no_bias=True)
        (gw,) = autograd.grad([y], [w], create_graph=True, retain_graph=True)
        z = (gw * gw).sum()
    if record_x:
        z.backward()
        return x.grad.asnumpy()
    return float(z.asnumpy().sum())


def test_second_order_through_convolution():
    xv, wv = rand(1, 2, 4, 3), rand(2, 2, 3, 3)
    got = _weight_grad_energy(xv, wv, record_x=True)
    num = np.zeros_like(xv)
    for idx in np.ndindex(*xv.shape):
        a, b = xv.copy(), xv.copy()
        a[idx] += 1e-6
        b[idx] -= 1e-6
        num[idx] = (_weight_grad_energy(a, wv) - _weight_grad_energy(b, wv)) / 2e-6
    np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-6)


def test_graph_backward_matches_eager():
    import kiln
    import kiln.symbol as sym
    args = {"data": rand(2, 3, 5, 5), "c_weight": rand(4, 3, 3, 3), "c_bias": rand(4),
            "d_weight": rand(4, 2, 3, 3)}

    def net(F, x, cw, cb, dw):
        h = F.Convolution(x, cw, cb, kernel=(3, 3), num_filter=4, pad=(1, 1), stride=(2, 2),
                          name="c") if F is nd else F.Convolution(
            x, kernel=(3, 3), num_filter=4, pad=(1, 1), stride=(2, 2), name="c")
        h = F.Pooling(h, kernel=(2, 2), stride=(1, 1), pool_type="max")
        kw = dict(kernel=(3, 3), stride=(2, 2), num_filter=2, target_shape=(5, 5), name="d")
        h = F.Deconvolution(h, dw, **kw) if F is nd else F.Deconvolution(h, **kw)
        return F.Pooling(h, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                         pooling_convention="full")

    y = net(sym, sym.var("data"), None, None, None)
    grads = {k: nd.zeros(v.shape) for k, v in args.items()}
    ex = y.bind(kiln.cpu(), {k: nd.array(v) for k, v in args.items()}, args_grad=grads)
    out = ex.forward(is_train=True)[0]
    ex.backward(nd.ones(out.shape))
    eager = {k: nd.array(v) for k, v in args.items()}
    for v in eager.values():
        v.attach_grad()
    with autograd.record():
        h = net(nd, eager["data"], eager["c_weight"], eager["c_bias"], eager["d_weight"])
    h.backward(nd.ones(h.shape))
    np.testing.assert_allclose(out.asnumpy(), h.asnumpy(), rtol=1e-5, atol=1e-6)
    for k in args:
        np.testing.assert_allclose(ex.grad_dict[k].asnumpy(), eager[k].grad.asnumpy(),
                                   rtol=1e-5, atol=1e-6)


# ---- optional cross-check against PyTorch --------------------------------------------------------
def test_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w, b = rand(2, 4, 9, 8), rand(6, 2, 3, 3), rand(6)
    y = nd.Convolution(nd.array(x), nd.array(w), nd.array(b), kernel=(3, 3), stride=(2, 1),
                       pad=(1, 2), dilate=(1, 2), num_filter=6, num_group=2).asnumpy()
    t = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=(2, 1),
                 padding=(1, 2), dilation=(1, 2), groups=2).numpy()
    np.testing.assert_allclose(y, t, rtol=1e-4, atol=1e-5)
    wt = rand(4, 3, 3, 3)
    y = nd.Deconvolution(nd.array(x), nd.array(wt), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                         adj=(1, 0), num_filter=3).asnumpy()
    t = F.conv_transpose2d(torch.tensor(x), torch.tensor(wt), stride=2, padding=1,
                           output_padding=(1, 0)).numpy()
    np.testing.assert_allclose(y, t, rtol=1e-4, atol=1e-5)
    y = nd.Pooling(nd.array(x), kernel=(3, 3), stride=(2, 2), pad=(1, 1)).asnumpy()
    t = F.max_pool2d(torch.tensor(x), 3, 2, 1).numpy()
    np.testing.assert_allclose(y, t, rtol=1e-6)
