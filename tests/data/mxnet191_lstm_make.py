"""Writes the mxnet191_lstm* fixtures with real MXNet 1.9.1 (run with its interpreter):

    .mxnet-venv/bin/python tests/data/mxnet191_lstm_make.py

* mxnet191_lstm_op.npz: ``nd.RNN`` cases (each mode, bidirectional, 2 layers, sequence
  lengths, projection, state clipping): inputs, outputs and gradients under random heads.
* mxnet191_lstm.params / mxnet191_lstm_io.npz: a 2-layer bidirectional ``gluon.rnn.LSTM``'s
  ``save_parameters`` file, an input and its outputs.
* mxnet191_lstm_export-symbol.json / -0000.params: the same layer hybridized and exported.
"""
import json
import os

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
G = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


def nparams(mode, C, H, L, D, P):
    g, r, n = G[mode], P or H, 0
    for layer in range(L):
        ni = C if layer == 0 else D * r
        n += D * (g * H * ni + g * H * r + (P * H if P else 0) + 2 * g * H)
    return n


CASES = [dict(mode=m, L=L, D=D) for m in G for (L, D) in ((1, 1), (2, 2))]
CASES += [dict(mode="lstm", L=2, D=2, seq=True), dict(mode="gru", L=1, D=2, seq=True),
          dict(mode="rnn_tanh", L=2, D=1, seq=True), dict(mode="lstm", L=2, D=2, P=2),
          dict(mode="lstm", L=1, D=1, clip=(-0.2, 0.25))]


def op_cases():
    rs = np.random.RandomState(0)
    T, N, C, H = 4, 3, 3, 3
    out = {}
    for k, c in enumerate(CASES):
        mode, L, D, P = c["mode"], c["L"], c["D"], c.get("P", 0)
        R = P or H
        arrs = {"data": rs.uniform(-1, 1, (T, N, C)),
                "params": rs.uniform(-0.7, 0.7, nparams(mode, C, H, L, D, P)),
                "state": rs.uniform(-1, 1, (L * D, N, R))}
        if mode == "lstm":
            arrs["cell"] = rs.uniform(-1, 1, (L * D, N, H))
        kw = dict(mode=mode, state_size=H, num_layers=L, bidirectional=D == 2,
                  state_outputs=True)
        if P:
            kw["projection_size"] = P
        if "clip" in c:
            kw["lstm_state_clip_min"], kw["lstm_state_clip_max"] = c["clip"]
            arrs["data"] *= 3
        xs = {n: mx.nd.array(v) for n, v in arrs.items()}
        ins = [xs["data"], xs["params"], xs["state"]] + ([xs["cell"]] if mode == "lstm" else [])
        if c.get("seq"):
            lens = np.array([2.0, 4.0, 1.0])
            arrs["seq"] = lens
            ins.append(mx.nd.array(lens))
            kw["use_sequence_length"] = True
        train = not P  # MXNet 1.9.1 has no LSTM-with-projection training on the CPU
        for x in xs.values():
            x.attach_grad()
        if train:
            with mx.autograd.record():
                res = mx.nd.RNN(*ins, **kw)
        else:
            res = mx.nd.RNN(*ins, **kw)
        heads = [mx.nd.array(rs.uniform(0.5, 1.5, r.shape)) for r in res]
        if train:
            mx.autograd.backward(list(res), heads)
        for n, v in arrs.items():
            out[f"{k}/in:{n}"] = v
        for j, (r, h) in enumerate(zip(res, heads)):
            out[f"{k}/out{j}"] = r.asnumpy()
            out[f"{k}/head{j}"] = h.asnumpy()
        for n, x in xs.items():
            if train:
                out[f"{k}/grad:{n}"] = x.grad.asnumpy()
    np.savez_compressed(os.path.join(HERE, "mxnet191_lstm_op.npz"),
                        cases=np.array(json.dumps(CASES)), **out)


def layer_files():
    mx.random.seed(1)
    net = mx.gluon.rnn.LSTM(4, num_layers=2, bidirectional=True, input_size=3)
    net.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(np.random.RandomState(1).uniform(-1, 1, (5, 2, 3)))
    y = net(x)
    y2, (h, c) = net(x, net.begin_state(2))
    net.save_parameters(os.path.join(HERE, "mxnet191_lstm.params"))
    np.savez(os.path.join(HERE, "mxnet191_lstm_io.npz"), x=x.asnumpy(), y=y.asnumpy(),
             h=h.asnumpy(), c=c.asnumpy())
    net.hybridize()
    net(x)
    net.export(os.path.join(HERE, "mxnet191_lstm_export"))


op_cases()
layer_files()
