"""Writes the control-flow fixtures with MXNet 1.9.1 (not run by the tests):

    .mxnet-venv/bin/python tests/data/mxnet191_foreach_gen.py tests/data

Each ``mxnet191_<kind>`` is a hybridized block exported by MXNet (``-symbol.json``,
``-0000.params``) plus ``-io.params`` (``mx.nd.save``: inputs ``in0``..., MXNet's outputs
``out0``..., and the gradients ``grad_in0``..., ``grad:<parameter name>`` of the sum of the
outputs' squares, while_loop's first output cut to its 3 iterations). Kinds: foreach,
while_loop (max_iterations 5, stops after 3), cond.
"""
import os
import sys

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock, nn


class Foreach(HybridBlock):
    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.dense = nn.Dense(3, in_units=2, flatten=False)

    def hybrid_forward(self, F, x, h):
        def body(d, s):
            o = F.tanh(self.dense(d) + s[0])
            return o, [o * 2, s[1] + 1]
        outs, st = F.contrib.foreach(body, x, [h, F.zeros_like(h)])
        return outs, st[0], st[1]


class While(HybridBlock):
    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.dense = nn.Dense(3, in_units=3)

    def hybrid_forward(self, F, x, n):
        def cond(i, s):
            return i < n

        def func(i, s):
            s2 = F.tanh(self.dense(s))
            return s2 * 2, [i + 1, s2]
        outs, (i, s) = F.contrib.while_loop(cond, func, [F.zeros_like(n), x], max_iterations=5)
        return outs, i, s


class Cond(HybridBlock):
    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.dense = nn.Dense(3, in_units=3)

    def hybrid_forward(self, F, x):
        p = F.sum(x) > 0
        return F.contrib.cond(p, lambda: self.dense(x) * 2, lambda: x - 1)


def main(out):
    mx.random.seed(0)
    x3 = mx.nd.array(np.arange(6).reshape(2, 3) / 10 - 0.2)
    cases = [("foreach", Foreach(prefix="fe_"), [mx.nd.random.uniform(shape=(4, 2, 2)),
                                                 mx.nd.ones((2, 3))]),
             ("while_loop", While(prefix="wl_"), [x3, mx.nd.array([3])]),
             ("cond", Cond(prefix="cd_"), [x3])]
    for kind, net, args in cases:
        net.initialize(mx.init.Uniform(0.5))
        net.hybridize()
        outs = net(*args)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        path = os.path.join(out, "mxnet191_" + kind)
        net.export(path)
        # gradients imperatively (MXNet 1.9's hybridized while_loop cannot record)
        net.hybridize(False)
        args = [a.copy() for a in args]
        for a in args:
            a.attach_grad()
        with mx.autograd.record():
            outs_g = net(*args)
            outs_g = outs_g if isinstance(outs_g, (list, tuple)) else [outs_g]
            if kind == "while_loop":   # rows past the last iteration are uninitialised
                outs_g = [outs_g[0][:3]] + list(outs_g[1:])
            loss = mx.nd.add_n(*[(o ** 2).sum() for o in outs_g])
        loss.backward()
        # a second input set for cond takes the other branch
        io = {f"in{k}": a for k, a in enumerate(args)}
        io.update({f"out{k}": o for k, o in enumerate(outs)})
        io.update({f"grad_in{k}": a.grad for k, a in enumerate(args)})
        io.update({"grad:" + name: p.grad() for name, p in net.collect_params().items()})
        if kind == "cond":
            io["in0_neg"] = -x3
            io["out0_neg"] = net(-x3)
        mx.nd.save(path + "-io.params", io)


if __name__ == "__main__":
    main(sys.argv[1])
