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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _control_flow_blocks import make_blocks  # noqa: E402  (tests/, shared with kiln's test)

Foreach, While, Cond = make_blocks(HybridBlock, nn)


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
