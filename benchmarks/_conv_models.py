"""Whole-model workloads for benchmarks/conv.py: kiln, onnxruntime on kiln's export, PyTorch.

Each factory returns a zero-argument callable running one step (or None when the runtime is
missing). The kiln workloads import only the public API, so the same code also times an older
checkout of kiln (``benchmarks/conv.py --kiln-json``, run with that checkout on PYTHONPATH).
"""
import os
import tempfile

import numpy as np

RESNET_TRAIN = ("ResNet-18 training step (SGD momentum)", (32, 3, 32, 32))
RESNET_INFER = ("ResNet-18 inference", "resnet18_v1", (32, 3, 32, 32))
INFER = [RESNET_INFER, ("MobileNet 1.0 inference", "mobilenet1.0", (1, 3, 224, 224)),
         ("MobileNetV2 1.0 inference", "mobilenetv2_1.0", (1, 3, 224, 224))]


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- kiln ---------------------------------------------------------------------------------------
def kiln_resnet_train():
    import kiln
    from kiln import autograd, gluon, nd
    from kiln.model_zoo import vision
    net = vision.resnet18_v1(classes=1000)
    net.initialize(kiln.init.Xavier())
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": 0.01, "momentum": 0.9})
    shape = RESNET_TRAIN[1]
    x, y = nd.array(_input(shape)), nd.array(np.arange(shape[0]) % 1000)

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(shape[0])
    return step


def kiln_net(name):
    import kiln
    from kiln.model_zoo import vision
    net = vision.get_model(name, classes=1000)
    net.initialize(kiln.init.Xavier())
    net.hybridize()
    return net


def kiln_infer(name, shape):
    from kiln import nd
    net = kiln_net(name)
    x = nd.array(_input(shape))
    return lambda: net(x).asnumpy()


def kiln_workloads():
    """``{label: step}`` for every kiln workload of the model table."""
    res = {RESNET_TRAIN[0]: kiln_resnet_train()}
    for label, name, shape in INFER:
        res[label] = kiln_infer(name, shape)
    return res


# ---- onnxruntime on kiln's own export -----------------------------------------------------------
def ort_infer(name, shape, threads):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    from kiln import nd
    net = kiln_net(name)
    x = _input(shape)
    net(nd.array(x))
    path = os.path.join(tempfile.mkdtemp(), f"{name}.onnx")
    net.export_onnx(path, nd.array(x))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x}
    return lambda: sess.run(None, feed)


# ---- PyTorch ------------------------------------------------------------------------------------
def torch_resnet18():
    """The same ResNet-18 V1 (7x7/2 stem, max pool, BasicBlocks, 1000 classes) in PyTorch, or
    None without torch (benchmarks/models.py uses it too)."""
    try:
        import torch
    except ImportError:
        return None
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            r = x if self.down is None else self.down(x)
            return torch.relu(r + self.body(x))

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
              nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def torch_resnet_train():
    """A training step (SGD momentum) of ``torch_resnet18``, or None without torch."""
    net = torch_resnet18()
    if net is None:
        return None
    import torch
    from torch import nn
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    shape = RESNET_TRAIN[1]
    x = torch.tensor(_input(shape))
    y = torch.tensor(np.arange(shape[0]) % 1000)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()
    return step


def torch_resnet_infer():
    """``torch_resnet18`` inference (eval mode, no autograd) at ``RESNET_INFER``'s shape, or
    None without torch."""
    net = torch_resnet18()
    if net is None:
        return None
    import torch
    net.eval()
    x = torch.tensor(_input(RESNET_INFER[2]))

    def infer():
        with torch.no_grad():
            return net(x).numpy()
    return infer
