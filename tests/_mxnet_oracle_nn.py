"""Neural-network operator and NDArray-method cases for the MXNet differential battery."""
import numpy as np
from _mxnet_oracle import head
from _mxnet_oracle_ops import ELL, SLICE, TUP

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def add_activations(s):
    for act, kw in (("leaky", {"slope": 0.1}), ("elu", {"slope": 0.5}), ("gelu", {}),
                    ("leaky", {})):
        s.op("nd.LeakyReLU", s.arr((2, 5)), act_type=act, **kw, _grad=True)
    # MXNet 1.9.1's SELU backward is wrong for x < 0: expect d/dx = scale * alpha * exp(x)
    x = s.rng.uniform(-2, 2, (2, 5)).astype(np.float32)
    g = head(x.shape) * np.where(x > 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(x))
    ref = s.arr(values=x)
    s.op("nd.LeakyReLU", ref, act_type="selu", _grad=True,
         _expect={f"grad:{ref['$']}": s.arr(values=g.astype(np.float32))["$"]})
    s.op("nd.LeakyReLU", s.arr((2, 3, 4)), s.arr((3,), lo=0.1, hi=0.5), act_type="prelu",
         _grad=True)
    # rrelu in predict mode: slope (lower+upper)/2. MXNet 1.9.1's backward returns the output
    # itself for x < 0 instead of slope * head (not in MXNET-NOTES yet): expect the right one
    x = s.rng.uniform(-2, 2, (2, 5)).astype(np.float32)
    ref = s.arr(values=x)
    right = head(x.shape) * np.where(x > 0, 1, 0.2).astype(np.float32)
    s.op("nd.LeakyReLU", ref, act_type="rrelu", lower_bound=0.1, upper_bound=0.3,
         _train=False, _grad=True, _nhead=1, _expect={f"grad:{ref['$']}": s.arr(
             values=right)["$"]})
    for kw in ({}, {"axis": 0}, {"temperature": 2.0}, {"dtype": "float64"}):
        for name in ("softmax", "log_softmax", "softmin"):
            s.op(f"nd.{name}", s.arr((3, 4)), **kw, _grad=True)
    for name in ("softmax",):  # MXNet 1.9's log_softmax takes no length
        x = s.arr((2, 4))
        s.op(f"nd.{name}", x, s.arr(values=[2, 4], dtype="int32"), use_length=True,
             _grad=[x["$"]])
    s.op("nd.softmax", s.arr((3, 4), "float64"), axis=0, _grad=True)
    s.op("nd.Dropout", s.arr((3, 4)), p=0.5, _train=False, _grad=True)
    s.op("nd.Dropout", s.arr((30, 40)), p=0.5, _train=True, _cmp="shape")


def add_dense_conv(s):
    for kw, shapes in (({"num_hidden": 3}, ((2, 4), (3, 4), (3,))),
                       ({"num_hidden": 3, "no_bias": True}, ((2, 4), (3, 4))),
                       ({"num_hidden": 3}, ((2, 2, 3), (3, 6), (3,))),
                       ({"num_hidden": 3, "flatten": False}, ((2, 5, 4), (3, 4), (3,)))):
        for name in ("FullyConnected",):
            s.op(f"nd.{name}", *[s.arr(sh) for sh in shapes], **kw, _grad=True)
    convs = [  # data, weight, attrs
        ((2, 3, 7), (4, 3, 3), {"kernel": (3,), "stride": (2,), "pad": (1,)}),
        ((1, 3, 6, 6), (4, 3, 3, 3), {"kernel": (3, 3)}),
        ((1, 3, 7, 6), (4, 3, 3, 2), {"kernel": (3, 2), "stride": (2, 1), "pad": (1, 0)}),
        ((1, 2, 7, 7), (2, 2, 3, 3), {"kernel": (3, 3), "dilate": (2, 2), "pad": (2, 1)}),
        ((1, 4, 5, 5), (6, 2, 3, 3), {"kernel": (3, 3), "num_group": 2, "pad": (1, 1)}),
        ((1, 4, 5, 5), (4, 1, 3, 3), {"kernel": (3, 3), "num_group": 4}),
        ((1, 2, 4, 4, 4), (3, 2, 2, 2, 2), {"kernel": (2, 2, 2), "stride": (2, 1, 1)}),
    ]
    for data, weight, kw in convs:
        nf = weight[0]
        s.op("nd.Convolution", s.arr(data), s.arr(weight), s.arr((nf,)), num_filter=nf, **kw,
             _grad=True)
    s.op("nd.Convolution", s.arr((1, 3, 5, 5)), s.arr((2, 3, 3, 3)), num_filter=2,
         kernel=(3, 3), no_bias=True, _grad=True)
    s.op("nd.Convolution", s.arr((1, 2, 5, 5), "float64"), s.arr((2, 2, 3, 3), "float64"),
         num_filter=2, kernel=(3, 3), no_bias=True, _grad=True)
    deconvs = [
        ((1, 3, 4, 4), (3, 2, 3, 3), {"kernel": (3, 3)}),
        ((1, 3, 4, 4), (3, 2, 3, 3), {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1)}),
        ((1, 3, 4, 4), (3, 2, 3, 3), {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                                      "adj": (1, 1)}),
        ((1, 2, 3, 3), (2, 2, 3, 3), {"kernel": (3, 3), "stride": (2, 2),
                                      "target_shape": (6, 7)}),
        ((1, 4, 3, 3), (4, 1, 3, 3), {"kernel": (3, 3), "num_group": 2, "stride": (1, 2)}),
        ((2, 2, 5), (2, 3, 3), {"kernel": (3,), "dilate": (2,)}),
    ]
    for data, weight, kw in deconvs:
        nf = weight[1] * kw.get("num_group", 1)
        # oneDNN in MXNet 1.9.1 cannot build these two: take MXNet's native kernels instead
        env = "nodnn" if "target_shape" in kw or "dilate" in kw else ""
        s.op("nd.Deconvolution", s.arr(data), s.arr(weight), num_filter=nf, **kw, _grad=True,
             _env=env)
    # stride and dilation together: oneDNN refuses and MXNet's native kernel is wrong (it
    # scatters taps to odd positions); expect the definition: out[s*i + d*k] += x[i] * w[k]
    x = s.rng.uniform(-1, 1, (1, 2, 4)).astype(np.float32)
    w = s.rng.uniform(-1, 1, (2, 3, 3)).astype(np.float32)
    out = np.zeros((1, 3, (4 - 1) * 2 + 2 * (3 - 1) + 1), np.float32)
    for i in range(4):
        for k in range(3):
            out[0, :, 2 * i + 2 * k] += x[0, :, i] @ w[:, :, k]
    s.op("nd.Deconvolution", s.arr(values=x), s.arr(values=w), num_filter=3, kernel=(3,),
         stride=(2,), dilate=(2,), _env="nodnn", _expect={"out0": s.arr(values=out)["$"]})
    s.op("nd.Deconvolution", s.arr((1, 2, 3, 3)), s.arr((2, 3, 2, 2)), s.arr((3,)),
         num_filter=3, kernel=(2, 2), no_bias=False, _grad=True)


def add_pooling(s):
    pools = [
        {"kernel": (3, 3), "stride": (2, 2), "pool_type": "max"},
        {"kernel": (3, 3), "stride": (2, 2), "pool_type": "max", "pooling_convention": "full"},
        {"kernel": (3, 3), "stride": (1, 1), "pad": (1, 1), "pool_type": "max"},
        {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg",
         "pooling_convention": "full"},
        {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg",
         "pooling_convention": "full", "count_include_pad": False},
        {"kernel": (2, 2), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg",
         "count_include_pad": False},
        {"kernel": (2, 3), "pool_type": "sum"},
        {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp", "p_value": 2},
        {"kernel": (1, 1), "pool_type": "max", "global_pool": True},
        {"kernel": (1, 1), "pool_type": "avg", "global_pool": True},
    ]
    for kw in pools:
        s.op("nd.Pooling", s.arr((2, 2, 5, 6)), **kw, _grad=True)
    s.op("nd.Pooling", s.arr((2, 3, 7)), kernel=(2,), stride=(2,), pool_type="max", _grad=True)
    s.op("nd.Pooling", s.arr((2, 3, 7)), kernel=(3,), pool_type="avg", pad=(1,), _grad=True)
    s.op("nd.Pooling", s.arr((1, 2, 4, 4, 5)), kernel=(2, 2, 2), stride=(2, 2, 2),
         pool_type="avg", _grad=True)
    s.op("nd.Pooling", s.arr((1, 2, 4, 4, 5)), kernel=(1, 1, 1), global_pool=True,
         pool_type="max", _grad=True)
    s.op("nd.Pooling", s.arr((1, 2, 5, 5), "float64"), kernel=(2, 2), pool_type="max",
         _grad=True)


def add_maxpool_predict(s):
    """Max pooling gradient recorded in predict mode: MXNet 1.9.1 (oneDNN) routes it to the
    wrong positions (MXNET-NOTES); kiln must send each head value to its window's maximum."""
    x = s.rng.uniform(-2, 2, (1, 2, 4, 6)).astype(np.float32)
    h = head((1, 2, 2, 3))
    win = x.reshape(1, 2, 2, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 2, 3, 4)
    arg = win.argmax(-1)
    dx = np.zeros((1, 2, 2, 3, 4), np.float32)
    np.put_along_axis(dx, arg[..., None], h[..., None], axis=-1)
    dx = dx.reshape(1, 2, 2, 3, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)
    ref = s.arr(values=x)
    s.op("nd.Pooling", ref, kernel=(2, 2), stride=(2, 2), pool_type="max", _train=False,
         _grad=True, _expect={f"grad:{ref['$']}": s.arr(values=dx)["$"]})
    ref = s.arr(values=x)
    s.block("gluon.nn.MaxPool2D", {}, ref, _train=False,
            _expect={f"grad:{ref['$']}": s.arr(values=dx)["$"]})


def _bn_predict_grads(s, x, gamma, beta, mm, mv, eps, fix_gamma):
    """The right input gradients of BatchNorm run with its moving statistics (axis 1)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    g = np.ones_like(gamma) if fix_gamma else gamma
    inv = 1 / np.sqrt(mv.astype(np.float64) + eps)
    h = head(x.shape).astype(np.float64)
    dx = h * (g * inv).reshape(shape)
    red = (0,) + tuple(range(2, x.ndim))
    dgamma = (h * (x - mm.reshape(shape)) * inv.reshape(shape)).sum(red)
    if fix_gamma:
        dgamma = np.zeros_like(dgamma)
    return {"dx": dx, "dgamma": dgamma, "dbeta": h.sum(red)}


def add_norms(s):
    for kw in ({}, {"fix_gamma": False}, {"fix_gamma": False, "momentum": 0.8, "eps": 1e-4},
               {"use_global_stats": True, "fix_gamma": False}, {"axis": -1, "fix_gamma": False},
               {"fix_gamma": False, "output_mean_var": True}):
        c = 4 if kw.get("axis") == -1 else 3
        args = [s.arr((2, 3, 2, 4)), s.arr((c,), lo=0.5, hi=1.5), s.arr((c,)), s.arr((c,)),
                s.arr((c,), lo=0.5, hi=2)]
        # heads on the first output only: MXNet ignores gradients sent into mean/var outputs
        s.op("nd.BatchNorm", *args, **kw, _grad=[a["$"] for a in args[:3]],
             _post=[args[3]["$"], args[4]["$"]], _train=True, _nhead=1)
    for fix in (True, False):  # predict mode: MXNet's backward wrongly uses batch statistics
        vals = [s.rng.uniform(-2, 2, (2, 3, 4)), s.rng.uniform(0.5, 1.5, 3),
                s.rng.uniform(-1, 1, 3), s.rng.uniform(-1, 1, 3), s.rng.uniform(0.5, 2, 3)]
        vals = [v.astype(np.float32) for v in vals]
        args = [s.arr(values=v) for v in vals]
        right = _bn_predict_grads(s, *vals, eps=1e-3, fix_gamma=fix)
        exp = {f"grad:{args[0]['$']}": s.arr(values=right["dx"])["$"],
               f"grad:{args[1]['$']}": s.arr(values=right["dgamma"])["$"],
               f"grad:{args[2]['$']}": s.arr(values=right["dbeta"])["$"]}
        s.op("nd.BatchNorm", *args, fix_gamma=fix, _grad=[a["$"] for a in args[:3]],
             _post=[args[3]["$"], args[4]["$"]], _train=False, _expect=exp)
    for kw in ({}, {"axis": 1}, {"axis": -1, "eps": 1e-3}):
        c = 3 if kw.get("axis") == 1 else 4
        s.op("nd.LayerNorm", s.arr((2, 3, 4)), s.arr((c,), 0.5, 1.5), s.arr((c,)), **kw,
             _grad=True)
    s.op("nd.LayerNorm", s.arr((2, 4)), s.arr((4,)), s.arr((4,)), output_mean_var=True,
         _grad=True, _nhead=1)
    for ng in (1, 2, 4):
        s.op("nd.GroupNorm", s.arr((2, 4, 3)), s.arr((ng,), 0.5, 1.5), s.arr((ng,)),
             num_groups=ng, _grad=True)
    s.op("nd.GroupNorm", s.arr((2, 4, 2, 3)), s.arr((2,)), s.arr((2,)), num_groups=2,
         eps=1e-3, _grad=True)
    for shape in ((2, 3, 5), (2, 3, 2, 3)):
        s.op("nd.InstanceNorm", s.arr(shape), s.arr((3,), 0.5, 1.5), s.arr((3,)), _grad=True)
    s.op("nd.InstanceNorm", s.arr((2, 3, 4)), s.arr((3,)), s.arr((3,)), eps=0.1, _grad=True)
    for mode in ("instance", "channel", "spatial"):
        s.op("nd.L2Normalization", s.arr((2, 3, 4)), mode=mode, _grad=True)
    s.op("nd.L2Normalization", s.arr((2, 3)), eps=0.5, _grad=True)


def add_ctc(s):
    data = s.arr((5, 2, 4))
    s.op("nd.CTCLoss", data, s.arr(values=[[1, 2], [3, 0]]), _grad=[data["$"]])
    data = s.arr((5, 2, 4))
    s.op("nd.CTCLoss", data, s.arr(values=[[0, 1], [2, -1]]), blank_label="last",
         _grad=[data["$"]])
    data = s.arr((6, 2, 4))
    s.op("nd.CTCLoss", data, s.arr(values=[[1, 1, 2], [2, 3, 3]]), s.arr(values=[6, 4]),
         s.arr(values=[3, 2]), use_data_lengths=True, use_label_lengths=True,
         _grad=[data["$"]])
    for name in ("ctc_loss", "CTCLoss"):
        data = s.arr((4, 1, 3))
        s.op(f"nd.contrib.{name}", data, s.arr(values=[[1, 2]]), _grad=[data["$"]])


def add_ndarray(s):
    """NDArray operators, methods, properties and indexing."""
    for op in ("__add__", "__sub__", "__mul__", "__truediv__", "__pow__", "__mod__",
               "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        lo = 0.5 if op in ("__truediv__", "__pow__", "__mod__") else -2
        s.op(f".{op}", s.arr((2, 3), lo=lo), s.arr((2, 3), lo=lo),
             _grad=op < "__e" or op in ("__mul__", "__sub__", "__pow__", "__truediv__"))
        s.op(f".{op}", s.arr((2, 3), lo=lo), s.arr((1, 3), lo=lo))
        s.op(f".{op}", s.arr((2, 3), lo=lo), 1.5)
        s.op(f".{op}", s.arr((2, 3), "int32", 1, 7), 2)
    for op in ("__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__", "__rmod__"):
        s.op(f".{op}", s.arr((2, 3), lo=0.5), 2.5, _grad=True)
    for op in ("__neg__", "__abs__"):
        s.op(f".{op}", s.arr((2, 3)), _grad=True)
    for op in ("__iadd__", "__isub__", "__imul__", "__itruediv__"):
        s.op(f".{op}", s.arr((2, 3), lo=0.5), s.arr((2, 3), lo=0.5))
        s.op(f".{op}", s.arr((2, 3), lo=0.5), 2.0)
    s.op(".__mod__", s.arr(values=[-5.5, -3, 3, 5.5]), 2.0)
    s.op(".__mod__", s.arr(values=[-5, -3, 3, 5], dtype="int32"), 3)
    s.op(".__truediv__", s.arr(values=[-5, 3, 7], dtype="int32"), 2)
    for dt in ("float64", "int32", "float16", "uint8", "int64"):
        s.op(".astype", s.arr((2, 3), lo=0, hi=5), dt)
    s.op(".astype", s.arr((2, 3)), "float64", _grad=True)
    for args in ([(3, 8)], [3, -1], [(0, -1)], [(-3, 2)], [(-4, 2, -1, -2)]):
        s.op(".reshape", s.arr((6, 2, 2)), *args, _grad=True)
    s.op(".reshape", s.arr((6, 4)), shape=(2, -1))
    for attr in (".T", ".shape", ".size", ".ndim"):
        s.op(attr, s.arr((2, 3)))
    s.op(".T", s.arr((2, 3, 4)), _grad=True)
    for meth, kw in ((".argmax", {"axis": 1}), (".argmin", {}), (".sum", {"axis": 0}),
                     (".mean", {"axis": (0, 1), "keepdims": True}), (".max", {}),
                     (".min", {"axis": -1}), (".prod", {"axis": 1}), (".norm", {}),
                     (".flatten", {}), (".expand_dims", {"axis": 1}), (".transpose", {}),
                     (".swapaxes", {"dim1": 0, "dim2": 1}), (".flip", {"axis": 0}),
                     (".tile", {"reps": (2, 1)}), (".repeat", {"repeats": 2, "axis": 0}),
                     (".clip", {"a_min": -1, "a_max": 1}), (".exp", {}), (".abs", {}),
                     (".softmax", {}), (".log_softmax", {"axis": 0}), (".sign", {}),
                     (".slice_axis", {"axis": 1, "begin": 0, "end": 2}),
                     (".topk", {"k": 2}), (".sort", {}), (".argsort", {}),
                     (".split", {"num_outputs": 3, "axis": 1}), (".copy", {}),
                     (".zeros_like", {}), (".ones_like", {}), (".square", {}),
                     (".broadcast_to", {"shape": (2, 2, 3)}), (".relu", {}),
                     (".sigmoid", {}), (".tanh", {}), (".round", {}), (".floor", {}),
                     (".nansum", {}), (".diag", {}), (".one_hot", {"depth": 3})):
        s.op(meth, s.arr((2, 3)), **kw,
             _grad=meth not in (".argmax", ".argmin", ".argsort", ".topk", ".one_hot", ".sort",
                                ".zeros_like", ".ones_like", ".copy"))
    s.op(".squeeze", s.arr((2, 1, 3)), _grad=True)
    s.op(".transpose", s.arr((2, 3, 4)), axes=(2, 0, 1), _grad=True)
    s.op(".take", s.arr((4, 3)), s.arr(values=[2, 0]))
    s.op(".pick", s.arr((4, 3)), s.arr(values=[2, 0, 1, 1]), axis=1)
    s.op(".broadcast_like", s.arr((1, 3)), s.arr((2, 3)))
    s.op(".reshape_like", s.arr((2, 3)), s.arr((3, 2)))
    s.op(".asscalar", s.arr((1,)))
    keys = [2, -1, SLICE(1, None), SLICE(None, None, 2), SLICE(None, None, -1),
            TUP(1, 2), TUP(SLICE(None), 1), TUP(ELL, 0), TUP(None, 1), TUP(1, SLICE(0, 3, 2)),
            TUP(-1, ELL), SLICE(-3, -1), TUP(SLICE(None), None, SLICE(1, 3))]
    for k in keys:
        s.op(".__getitem__", s.arr((4, 3, 5)), k, _grad=True)
    idx_sets = [s.arr(values=[0, 2, 3]), s.arr(values=[[1, 0], [3, 3]], dtype="int32"),
                [0, 2], TUP([0, 1], [2, 0]), TUP(SLICE(None), [1, 0]),
                TUP(s.arr(values=[1, 0], dtype="int32"), SLICE(None), s.arr(values=[4, 2]))]
    for k in idx_sets:
        s.op(".__getitem__", s.arr((4, 3, 5)), k, _grad=True)
    for key, val in ((1, 5.0), (SLICE(0, 2), 0.0), (TUP(1, SLICE(None, 2)), -1.0), (ELL, 3.0)):
        x = s.arr((3, 4))
        s.op(".__setitem__", x, key, val, _post=[x["$"]])
    x = s.arr((3, 4))
    s.op(".__setitem__", x, SLICE(1, 3), s.arr((2, 4)), _post=[x["$"]])
    x = s.arr((3, 4))
    s.op(".__setitem__", x, TUP(SLICE(None), 0), s.arr((3,)), _post=[x["$"]])
    x = s.arr((3, 4))
    s.op(".__setitem__", x, s.arr(values=[0, 2], dtype="int32"), 7.0, _post=[x["$"]])
