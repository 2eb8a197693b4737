"""Regenerate the MXNet-written Dropout fixture of tests/test_mxnet_zoo_files.py.

Run with a real MXNet 1.9.1 (``python make_fixture.py`` in this folder). Writes:

* ``net-symbol.json`` / ``net-0000.params``: ``HybridSequential(Dense(64, relu), Dropout(0.5))``
  exported by Gluon (so the graph ends in MXNet's ``Dropout`` node, attributes as Gluon writes
  them), and ``io.npz``: the input ``x`` (16, 5) and MXNet's predict-mode output ``y``.
* ``always-symbol.json``: ``sym.Dropout(data, p=0.25, mode='always', axes=(1,))`` (no
  parameters), MXNet's ``tojson``.
"""
import os

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    mx.random.seed(0)
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Dense(64, in_units=5, activation="relu"), mx.gluon.nn.Dropout(0.5))
    net.initialize(mx.init.Uniform(1.0))
    net.hybridize()
    x = mx.nd.array(np.sin(0.37 * np.arange(16 * 5)).reshape(16, 5) + 0.5)
    y = net(x)
    net.export(os.path.join(HERE, "net"))
    np.savez(os.path.join(HERE, "io.npz"), x=x.asnumpy(), y=y.asnumpy())
    always = mx.sym.Dropout(mx.sym.var("data"), p=0.25, mode="always", axes=(1,))
    with open(os.path.join(HERE, "always-symbol.json"), "w") as f:
        f.write(always.tojson())


if __name__ == "__main__":
    main()
