"""Per-kernel cases for benchmarks/conv.py: before (``_conv_baseline``), after (kiln's kernels
called directly with numpy), and PyTorch's kernel where installed.

Each case yields ``(kernel, shape label, before, after, torch or None)`` callables; the results
are checked to agree before anything is timed.
"""
import importlib

import _conv_baseline as old
import numpy as np

# name, (N, C, H), F, kernel, stride, pad, groups
CONV = [
    ("ResNet-18 stem 7x7/2", (32, 3, 32), 64, 7, 2, 3, 1),
    ("ResNet-18 layer1 3x3", (32, 64, 8), 64, 3, 1, 1, 1),
    ("ResNet-18 layer2 3x3/2", (32, 64, 8), 128, 3, 2, 1, 1),
    ("ResNet-18 layer3 3x3", (32, 256, 2), 256, 3, 1, 1, 1),
    ("ResNet-18 layer4 3x3 (1x1 map)", (32, 512, 1), 512, 3, 1, 1, 1),
    ("ResNet-18 downsample 1x1/2", (32, 64, 8), 128, 1, 2, 0, 1),
    ("MobileNet depthwise 3x3, 112x112", (1, 32, 112), 32, 3, 1, 1, 32),
    ("MobileNet depthwise 3x3/2, 112x112", (1, 64, 112), 64, 3, 2, 1, 64),
    ("MobileNet depthwise 3x3, 14x14", (1, 512, 14), 512, 3, 1, 1, 512),
    ("MobileNet pointwise 1x1, 112x112", (1, 32, 112), 64, 1, 1, 0, 1),
    ("MobileNet pointwise 1x1, 14x14", (1, 512, 14), 512, 1, 1, 0, 1),
    ("MobileNetV2 depthwise 3x3, 56x56", (1, 144, 56), 144, 3, 1, 1, 144),
]


def _ops_module(name):
    return importlib.import_module(f"kiln.ndarray.ops.{name}")


def _rng_arrays(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def conv_cases(torch):
    for case in CONV:
        yield from _conv_case(torch, *case)


def _conv_case(torch, name, nch, f, k, s, p, g):
    conv = _ops_module("conv")
    n, c, h = nch
    x, w = _rng_arrays((n, c, h, h), (f, c // g, k, k))
    kw = dict(kernel=(k, k), stride=(s, s), pad=(p, p))
    y = conv._conv_kernel(np, x, w, num_filter=f, num_group=g, no_bias=True, **kw)
    gy = _rng_arrays(y.shape)[0]
    geo = conv.Geom(kw["kernel"], kw["stride"], (), kw["pad"], 4)
    adj = conv._data_adj(geo, x.shape[2:], y.shape[2:])
    shape = f"{n}x{c}x{h}x{h}, {f} filters" + (f", {g} groups" if g > 1 else "")
    new = {
        "forward": lambda: conv._conv_kernel(np, x, w, num_filter=f, num_group=g,
                                             no_bias=True, **kw),
        "data gradient": lambda: conv._deconv_kernel(np, gy, w, adj=adj, num_filter=c,
                                                     num_group=g, **kw),
        "weight gradient": lambda: conv._wgrad_kernel(np, x, gy, num_group=g, **kw)}
    before = {
        "forward": lambda: old.conv(x, w, (s, s), (p, p), g=g),
        "data gradient": lambda: old.conv_dx(gy, w, (s, s), (p, p), x.shape, g=g),
        "weight gradient": lambda: old.conv_dw(x, gy, (k, k), (s, s), (p, p), g=g)}
    tor = _torch_conv(torch, x, w, gy, s, p, g)
    return [(f"conv {part}: {name}", shape, before[part], new[part], tor.get(part))
            for part in ("forward", "data gradient", "weight gradient")]


def _torch_conv(torch, x, w, gy, s, p, g):
    if torch is None:
        return {}
    tx, tw, tg = torch.tensor(x), torch.tensor(w), torch.tensor(gy)
    fn, grad = torch.nn.functional, torch.nn.grad
    return {"forward": lambda: fn.conv2d(tx, tw, stride=s, padding=p, groups=g),
            "data gradient": lambda: grad.conv2d_input(tx.shape, tw, tg, stride=s, padding=p,
                                                       groups=g),
            "weight gradient": lambda: grad.conv2d_weight(tx, tw.shape, tg, stride=s,
                                                          padding=p, groups=g)}


def pool_cases(torch):
    pool = _ops_module("pool")
    x = _rng_arrays((32, 64, 16, 16))[0]
    a = dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))
    y = pool._pool_kernel(np, x, **a)
    gy = _rng_arrays(y.shape)[0]
    shape = "32x64x16x16, 3x3/2 pad 1 (ResNet-18 stem)"
    tor = {}
    if torch is not None:
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.max_pool2d(tx, 3, 2, 1)
        tg = torch.tensor(gy)
        tor = {"fwd": lambda: torch.nn.functional.max_pool2d(tx.detach(), 3, 2, 1),
               "bwd": lambda: torch.autograd.grad(ty, tx, tg, retain_graph=True)}
    yield ("max pool forward", shape, lambda: old.maxpool(x, (3, 3), (2, 2), (1, 1)),
           lambda: pool._pool_kernel(np, x, **a), tor.get("fwd"))
    yield ("max pool backward", shape,
           lambda: old.maxpool_backward(gy, x, (3, 3), (2, 2), (1, 1)),
           lambda: pool._bw_kernel(np, gy, x, **a), tor.get("bwd"))


def bn_cases(torch):
    norm = _ops_module("norm")  # the package's ``norm`` is the reduction op
    for shape in [(32, 64, 16, 16), (32, 256, 2, 2), (32, 512, 1, 1)]:
        c = shape[1]
        x, gy = _rng_arrays(shape, shape)
        gamma, beta = np.ones(c, np.float32), np.zeros(c, np.float32)
        label = "x".join(map(str, shape))

        def fwd(x=x, gamma=gamma, beta=beta, c=c):
            return norm._bn_kernel(np, x, gamma, beta, np.zeros(c, np.float32),
                                   np.ones(c, np.float32), eps=1e-5, fix_gamma=False,
                                   _train=True)
        tor = {}
        if torch is not None:
            tx = torch.tensor(x, requires_grad=True)
            tgam = torch.tensor(gamma, requires_grad=True)
            tb = torch.tensor(beta, requires_grad=True)
            ty = torch.nn.functional.batch_norm(tx, None, None, tgam, tb, training=True)
            tg = torch.tensor(gy)
            tor = {"fwd": lambda tx=tx, tgam=tgam, tb=tb: torch.nn.functional.batch_norm(
                       tx.detach(), None, None, tgam.detach(), tb.detach(), training=True),
                   "bwd": lambda ty=ty, tx=tx, tgam=tgam, tb=tb, tg=tg: torch.autograd.grad(
                       ty, (tx, tgam, tb), tg, retain_graph=True)}
        yield ("BatchNorm train forward", label,
               lambda x=x, gamma=gamma, beta=beta: old.batchnorm_train(x, gamma, beta), fwd,
               tor.get("fwd"))
        yield ("BatchNorm backward", label,
               lambda x=x, gy=gy, gamma=gamma: old.batchnorm_backward(gy, x, gamma),
               lambda x=x, gy=gy, gamma=gamma: norm._bnb_kernel(np, gy, x, gamma, eps=1e-5,
                                                                fix_gamma=False),
               tor.get("bwd"))


def _first(r):
    return r[0] if isinstance(r, (tuple, list)) else r


def check(before, after):
    """The old and new kernels agree (float32 tolerance) before either is timed."""
    a, b = _first(before()), _first(after())
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=2e-3, atol=2e-3)


def all_cases(torch):
    yield from conv_cases(torch)
    yield from pool_cases(torch)
    yield from bn_cases(torch)
