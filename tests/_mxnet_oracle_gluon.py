"""Gluon cases for the MXNet differential battery: layers, losses and one optimizer step."""
import numpy as np

LAYERS = [  # (class, constructor kwargs, input shape)
    ("Dense", {"units": 3}, (2, 4)),
    ("Dense", {"units": 3, "activation": "relu", "use_bias": False}, (2, 2, 3)),
    ("Dense", {"units": 3, "flatten": False, "activation": "tanh"}, (2, 5, 4)),
    ("Conv1D", {"channels": 4, "kernel_size": 3, "strides": 2, "padding": 1}, (2, 3, 7)),
    ("Conv2D", {"channels": 4, "kernel_size": 3}, (1, 3, 6, 6)),
    ("Conv2D", {"channels": 4, "kernel_size": (3, 2), "strides": (2, 1), "padding": (1, 0),
                "dilation": (1, 2), "activation": "sigmoid"}, (1, 2, 7, 7)),
    ("Conv2D", {"channels": 6, "kernel_size": 3, "groups": 2, "use_bias": False}, (1, 4, 5, 5)),
    ("Conv3D", {"channels": 3, "kernel_size": 2, "strides": (1, 2, 1)}, (1, 2, 4, 4, 4)),
    ("Conv1DTranspose", {"channels": 3, "kernel_size": 3, "strides": 2}, (2, 2, 5)),
    ("Conv2DTranspose", {"channels": 3, "kernel_size": 3, "strides": 2, "padding": 1,
                         "output_padding": 1}, (1, 2, 4, 4)),
    ("Conv2DTranspose", {"channels": 4, "kernel_size": 2, "groups": 2, "in_channels": 4},
     (1, 4, 3, 3)),
    ("Conv3DTranspose", {"channels": 2, "kernel_size": 2, "strides": 2}, (1, 2, 2, 3, 2)),
    ("MaxPool1D", {"pool_size": 3, "strides": 2}, (2, 3, 8)),
    ("MaxPool2D", {}, (1, 2, 6, 7)),
    ("MaxPool2D", {"pool_size": 3, "strides": 2, "padding": 1, "ceil_mode": True}, (1, 2, 6, 7)),
    ("MaxPool3D", {"pool_size": 2}, (1, 2, 4, 4, 5)),
    ("AvgPool1D", {"pool_size": 2, "padding": 1}, (2, 3, 7)),
    ("AvgPool2D", {"pool_size": 3, "strides": 2, "padding": 1, "ceil_mode": True},
     (1, 2, 6, 7)),
    ("AvgPool2D", {"pool_size": 3, "strides": 2, "padding": 1, "count_include_pad": False},
     (1, 2, 6, 7)),
    ("AvgPool3D", {"pool_size": 2, "strides": 1}, (1, 2, 3, 3, 4)),
    ("GlobalMaxPool1D", {}, (2, 3, 5)), ("GlobalMaxPool2D", {}, (2, 3, 4, 5)),
    ("GlobalMaxPool3D", {}, (1, 2, 3, 4, 2)), ("GlobalAvgPool1D", {}, (2, 3, 5)),
    ("GlobalAvgPool2D", {}, (2, 3, 4, 5)), ("GlobalAvgPool3D", {}, (1, 2, 3, 4, 2)),
    ("LayerNorm", {}, (2, 3, 4)), ("LayerNorm", {"axis": 1, "epsilon": 1e-3}, (2, 3, 4)),
    ("GroupNorm", {"num_groups": 2}, (2, 4, 3)), ("GroupNorm", {}, (2, 3, 2, 2)),
    ("InstanceNorm", {}, (2, 3, 5)), ("InstanceNorm", {"scale": True, "center": False},
                                      (2, 3, 2, 3)),
    ("Flatten", {}, (2, 3, 4)), ("Dropout", {"rate": 0.5}, (2, 3)),
    ("Activation", {"activation": "softrelu"}, (2, 3)), ("LeakyReLU", {"alpha": 0.2}, (2, 3)),
    ("PReLU", {}, (2, 3)), ("ELU", {"alpha": 0.7}, (2, 5)), ("GELU", {}, (2, 5)),
    ("Swish", {"beta": 1.5}, (2, 5)), ("Dense", {"units": 2, "in_units": 3}, (4, 3)),
    ("ReflectionPad2D", {"padding": 2}, (1, 2, 3, 4)),
]


def add_layers(s):
    for cls, ctor, shape in LAYERS:
        train = cls != "Dropout"  # Dropout: compare the deterministic predict-mode pass
        s.block(f"gluon.nn.{cls}", ctor, s.arr(shape), _train=train)
    for cls, ctor, shape in LAYERS[:8:2] + LAYERS[-6:]:
        s.block(f"gluon.nn.{cls}", ctor, s.arr(shape), _hybridize=True,
                _id=f"hybrid:{cls}({shape})")
    kids = [["gluon.nn.Conv2D", {"channels": 4, "kernel_size": 3, "padding": 1}],
            ["gluon.nn.BatchNorm", {}], ["gluon.nn.Activation", {"activation": "relu"}],
            ["gluon.nn.MaxPool2D", {}], ["gluon.nn.Flatten", {}], ["gluon.nn.Dense", {"units": 3}]]
    for hyb in (False, True):
        s.block("gluon.nn.HybridSequential", {}, s.arr((2, 3, 6, 6)), _children=kids,
                _hybridize=hyb, _id=f"HybridSequential(cnn,hybridize={hyb})")
    s.block("gluon.nn.Sequential", {}, s.arr((2, 5)), _children=[
        ["gluon.nn.Dense", {"units": 4, "activation": "tanh"}], ["gluon.nn.Dropout", {"rate": 0.3}],
        ["gluon.nn.Dense", {"units": 2}]], _train=False)
    s.block("gluon.nn.Dense", {"units": 3, "dtype": "float64"}, s.arr((2, 4), "float64"))
    s.block("gluon.nn.Embedding", {"input_dim": 6, "output_dim": 3},
            s.arr(values=[[0, 5], [2, 2]]), _grad=[])
    for kw, train in (({}, True), ({"momentum": 0.8, "center": False}, True),
                      ({"scale": False, "epsilon": 1e-3}, True), ({"axis": -1}, True),
                      ({"use_global_stats": True}, True)):
        s.block("gluon.nn.BatchNorm", kw, s.arr((2, 3, 2, 4)), _train=train)
    s.block("gluon.nn.BatchNorm", {}, s.arr((4, 3)), _train=True, _hybridize=True,
            _id="hybrid:BatchNorm")
    s.block("gluon.nn.BatchNorm", {"in_channels": 3}, s.arr((2, 3, 4)), _train=False,
            _grad=[])


LOSSES = [  # (class, ctor, [(shape, lo, hi, dtype)...]: pred first)
    ("L1Loss", {}, [((3, 4), -2, 2), ((3, 4), -2, 2)]),
    ("L2Loss", {}, [((3, 4), -2, 2), ((3, 4), -2, 2)]),
    ("L1Loss", {}, [((3, 4), -2, 2), ((3, 4), -2, 2), ((3, 1), 0, 1)]),
    ("L2Loss", {"batch_axis": 1}, [((3, 4), -2, 2), ((3, 4), -2, 2)]),
    ("SoftmaxCELoss", {}, [((3, 5), -2, 2), "sparse3x5", ((3, 1), 0, 1)]),
    ("L2Loss", {"weight": 3.0}, [((3, 2, 2), -2, 2), ((3, 2, 2), -2, 2), ((3, 1, 1), 0, 1)]),
    ("SigmoidBCELoss", {}, [((3, 4), -3, 3), ((3, 4), 0, 1)]),
    ("SigmoidBCELoss", {"from_sigmoid": True}, [((3, 4), 0.1, 0.9), ((3, 4), 0, 1)]),
    ("SigmoidBinaryCrossEntropyLoss", {}, [((3, 4), -3, 3), ((3, 4), 0, 1), ((3, 1), 0, 1)]),
    ("SoftmaxCELoss", {}, [((3, 5), -2, 2), "sparse3x5"]),
    ("SoftmaxCrossEntropyLoss", {"sparse_label": False}, [((3, 5), -2, 2), ((3, 5), 0, 1)]),
    ("SoftmaxCELoss", {"from_logits": True}, [((3, 5), -3, -0.1), "sparse3x5"]),
    ("SoftmaxCELoss", {"axis": 1}, [((2, 4, 3), -2, 2), "sparse2x3of4"]),
    ("KLDivLoss", {}, [((3, 4), -3, -0.1), ((3, 4), 0.05, 1)]),
    ("KLDivLoss", {"from_logits": False, "axis": 1}, [((3, 4), -2, 2), ((3, 4), 0.05, 1)]),
    ("HuberLoss", {"rho": 0.7}, [((3, 4), -2, 2), ((3, 4), -2, 2)]),
    ("HingeLoss", {}, [((3, 4), -2, 2), "signs3x4"]),
    ("HingeLoss", {"margin": 0.5}, [((3, 4), -2, 2), "signs3x4"]),
    ("SquaredHingeLoss", {}, [((3, 4), -2, 2), "signs3x4"]),
    ("LogisticLoss", {}, [((3, 4), -2, 2), "signs3x4"]),
    ("LogisticLoss", {"label_format": "binary"}, [((3, 4), -2, 2), "bits3x4"]),
    ("TripletLoss", {}, [((3, 4), -1, 1), ((3, 4), -1, 1), ((3, 4), -1, 1)]),
    ("TripletLoss", {"margin": 2.0}, [((3, 4), -1, 1), ((3, 4), -1, 1), ((3, 4), -1, 1)]),
    ("PoissonNLLLoss", {}, [((3, 4), -1, 1), ((3, 4), 0, 3)]),
    ("PoissonNLLLoss", {"from_logits": False}, [((3, 4), 0.2, 2), ((3, 4), 0, 3)]),
    ("CosineEmbeddingLoss", {}, [((3, 4), -1, 1), ((3, 4), -1, 1), "signs3"]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, [((3, 4), -1, 1), ((3, 4), -1, 1), "signs3"]),
    ("SDMLLoss", {}, [((3, 4), -1, 1), ((3, 4), -1, 1)]),
]


def _loss_input(s, spec):
    fixed = {"sparse3x5": [0, 4, 2], "sparse2x3of4": [[0, 3, 1], [2, 2, 0]],
             "signs3x4": [[1, -1, 1, 1], [-1, -1, 1, -1], [1, 1, -1, 1]],
             "bits3x4": [[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 1]], "signs3": [1, -1, 1]}
    if isinstance(spec, str):
        return s.arr(values=fixed[spec])
    shape, lo, hi = spec
    return s.arr(shape, lo=lo, hi=hi)


def add_losses(s):
    for cls, ctor, specs in LOSSES:
        ins = [_loss_input(s, sp) for sp in specs]
        s.block(f"gluon.loss.{cls}", ctor, *ins, _grad=[ins[0]["$"]])
    # PoissonNLLLoss(compute_full=True) with a zero target: MXNet 1.9.1 gives NaN (it evaluates
    # target*log(target) at 0); the Stirling term only applies where target > 1, so the right
    # loss is finite. Expected value computed here independently.
    s.block("gluon.loss.PoissonNLLLoss", {"compute_full": True}, s.arr((3, 4), -1, 1),
            s.arr((3, 4), 1.5, 3), _grad=[], _record=False)  # MXNet can't record this one
    pred = s.rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    tgt = np.array([[0, 2, 3], [0, 1, 4]], np.float32)
    stir = np.where(tgt > 1, tgt * np.log(np.where(tgt > 1, tgt, 1)) - tgt
                    + 0.5 * np.log(2 * np.pi * np.where(tgt > 1, tgt, 1)), 0)
    loss = (np.exp(pred) - tgt * pred + stir).mean()
    p = s.arr(values=pred)
    right = s.arr(values=np.array([loss], np.float32))["$"]
    s.block("gluon.loss.PoissonNLLLoss", {"compute_full": True}, p, s.arr(values=tgt),
            _grad=[], _record=False, _expect={"out0": right})
    pred = s.arr((2, 6, 4))  # CTC: (N, T, C) layout, last class blank, labels padded with -1
    s.block("gluon.loss.CTCLoss", {}, pred, s.arr(values=[[0, 1, 1], [2, -1, -1]]),
            _grad=[pred["$"]])
    pred = s.arr((6, 2, 4))
    s.block("gluon.loss.CTCLoss", {"layout": "TNC"}, pred, s.arr(values=[[0, 1], [2, 1]]),
            s.arr(values=[6, 5]), s.arr(values=[2, 1]), _grad=[pred["$"]])


OPTIMIZERS = [
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "clip_gradient": 0.5, "rescale_grad": 2.0}),
    ("nag", {"learning_rate": 0.1, "momentum": 0.9}),
    ("signum", {"learning_rate": 0.01, "momentum": 0.9, "wd": 0.01}),
    ("signum", {"learning_rate": 0.01, "momentum": 0.0, "wd": 0.1}),
    ("adam", {"learning_rate": 0.01}),
    ("adam", {"learning_rate": 0.01, "wd": 0.1, "clip_gradient": 0.3, "beta1": 0.8}),
    ("adamax", {"learning_rate": 0.01, "wd": 0.01}),
    ("nadam", {"learning_rate": 0.01}),
    ("rmsprop", {"learning_rate": 0.01}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "clip_weights": 0.5, "gamma2": 0.8}),
    ("adagrad", {"learning_rate": 0.1, "wd": 0.01}),
    ("adadelta", {"rho": 0.8, "epsilon": 1e-4}),
    ("ftrl", {"learning_rate": 0.1, "lamda1": 0.01, "beta": 0.5}),
    ("ftml", {"learning_rate": 0.01, "wd": 0.01}),
    ("lamb", {"learning_rate": 0.01}),
    ("lamb", {"learning_rate": 0.01, "bias_correction": False, "wd": 0.01,
              "lower_bound": 0.1, "upper_bound": 5.0}),
    ("lars", {"learning_rate": 0.1, "momentum": 0.9, "eta": 0.01, "wd": 0.001}),
    ("dcasgd", {"learning_rate": 0.1, "lamda": 0.1}),  # MXNet's momentum path is broken
    ("ccsgd", {"learning_rate": 0.1, "momentum": 0.9}),
]


def _nag_right(w, grads, lr, mom, wd):
    """NAG with weight decay computed from the weight before the step (MXNet uses after)."""
    w, m = w.astype(np.float64), np.zeros(w.shape)
    for g in grads:
        g = g + wd * w
        m = mom * m + g
        w = w - lr * (g + mom * m)
    return w, -lr * m  # MXNet's and kiln's state hold -lr * momentum


def _nadam_right(w, grads, lr=0.01, b1=0.9, b2=0.999, eps=1e-8, decay=0.004):
    """Nadam with its own momentum schedule per parameter (MXNet shares one across them)."""
    w, m, v, sched = w.astype(np.float64), np.zeros(w.shape), np.zeros(w.shape), 1.0
    for t, g in enumerate(grads, start=1):
        mt = b1 * (1 - 0.5 * 0.96 ** (t * decay))
        mt1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * decay))
        sched *= mt
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        bar = (1 - mt) * g / (1 - sched) + mt1 * m / (1 - sched * mt1)
        w = w - lr * bar / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return w


def add_optimizers(s):
    for name, kw in OPTIMIZERS:
        w = s.arr((3, 4), lo=-1, hi=1)
        steps = [[s.arr((3, 4), lo=-1, hi=1)] for _ in range(3)]
        s.opt(name, kw, [w], steps)
    s.opt("sgld", {"learning_rate": 0.01}, [s.arr((3, 4))], [[s.arr((3, 4))]], _cmp="shape")
    # NAG with wd: MXNet 1.9.1 folds wd in after updating the weight; assert the right update
    w0 = s.rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    gs = [s.rng.uniform(-1, 1, (3, 4)).astype(np.float32) for _ in range(3)]
    right_w, right_m = _nag_right(w0, gs, 0.1, 0.9, 0.1)
    s.opt("nag", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.1}, [s.arr(values=w0)],
          [[s.arr(values=g)] for g in gs], _tol=(1e-4, 1e-5),
          _expect={"w0": s.arr(values=right_w.astype(np.float32))["$"],
                   "state0_0": s.arr(values=right_m.astype(np.float32))["$"]})
    # Nadam on two parameters: each must follow its own schedule (MXNet's is shared)
    ws = [s.rng.uniform(-1, 1, (2, 3)).astype(np.float32) for _ in range(2)]
    gs = [[s.rng.uniform(-1, 1, (2, 3)).astype(np.float32) for _ in range(2)] for _ in range(3)]
    exp = {f"w{i}": s.arr(values=_nadam_right(ws[i], [st[i] for st in gs]).astype(np.float32))[
        "$"] for i in range(2)}
    s.opt("nadam", {"learning_rate": 0.01}, [s.arr(values=w) for w in ws],
          [[s.arr(values=g) for g in st] for st in gs], _expect=exp, _id="opt:nadam-2params")
