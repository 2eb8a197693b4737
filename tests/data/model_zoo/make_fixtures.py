"""Regenerate the MXNet-written fixtures of tests/test_model_zoo.py.

Run with a real MXNet 1.9.1 (``python make_fixtures.py`` in this folder): writes each tiny
model's ``save_parameters`` file and its predict-mode outputs (``mxnet_outputs.npz``) for the
deterministic input ``sin(0.37 * arange(n))`` of shape (2, 3, s, s).
"""
import os

import mxnet as mx
import numpy as np
from mxnet.gluon.model_zoo import vision as V

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = {
    "resnetv1_bottleneck": (lambda: V.ResNetV1(V.BottleneckV1, [1, 1], [8, 16, 32], classes=3),
                            32),
    "resnetv2_basic": (lambda: V.ResNetV2(V.BasicBlockV2, [1, 1], [8, 8, 16], classes=3), 32),
    "densenet_tiny": (lambda: V.DenseNet(8, 4, [1, 1], classes=3), 112),
}


def main():
    rs = np.random.RandomState(0)
    outputs = {}
    for name, (build, s) in NETS.items():
        net = build()
        net.initialize(mx.init.Xavier())
        x = mx.nd.array(np.sin(np.arange(2 * 3 * s * s) * 0.37).reshape(2, 3, s, s))
        net(x)
        for k, p in net._collect_params_with_prefix().items():  # non-trivial BN statistics
            if k.endswith("running_mean"):
                p.set_data(mx.nd.array(rs.uniform(-0.1, 0.1, p.shape)))
            if k.endswith("running_var"):
                p.set_data(mx.nd.array(rs.uniform(0.5, 1.5, p.shape)))
        net.save_parameters(os.path.join(HERE, f"{name}.params"))
        outputs[name + "_y"] = net(x).asnumpy()
    np.savez_compressed(os.path.join(HERE, "mxnet_outputs.npz"), **outputs)


if __name__ == "__main__":
    main()
