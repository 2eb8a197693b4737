# ruff: noqa: E501, E702, E731 - a case table run by the MXNet interpreter
"""Quantization cases run in MXNet 1.9.1's interpreter (``python _quant_oracle_probe.py out.pkl``):
each case is ``(op name, inputs, attrs, outputs or "ERR ...")``; tests/test_quantization_ops.py
runs the same calls in kiln and compares. Cases that crash MXNet 1.9.1's CPU build
(``quantize_asym`` segfaults) are left out."""
import pickle
import sys

import mxnet as mx
import numpy as np

c = mx.nd.contrib
rng = np.random.RandomState(0)
cases = []
def A(x, dt=None): return mx.nd.array(x, dtype=dt or x.dtype)
def rec(name, fn, inputs, attrs):
    try:
        out = fn(*[A(i) for i in inputs], **attrs)
        out = [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]
    except Exception as e:
        out = "ERR " + [l for l in str(e).split("\n") if "Check" in l or "Error" in l][:1].__repr__()[:300]
    cases.append((name, inputs, attrs, out))
f32 = lambda *s: (rng.randn(*s) * 2).astype(np.float32)
s = lambda v: np.array([v], np.float32)
x = f32(3, 5)
for ot in ('int8', 'uint8'):
    rec('quantize', c.quantize, [x, s(-3.), s(4.)], dict(out_type=ot))
    rec('quantize', c.quantize, [x, s(-1.), s(1.5)], dict(out_type=ot))
for ot in ('int8', 'uint8', 'auto'):
    rec('quantize_v2', c.quantize_v2, [x], dict(out_type=ot))
    rec('quantize_v2', c.quantize_v2, [np.abs(x)], dict(out_type=ot))
    rec('quantize_v2', c.quantize_v2, [x], dict(out_type=ot, min_calib_range=-1.0, max_calib_range=2.5))
    rec('quantize_v2', c.quantize_v2, [x], dict(out_type=ot, min_calib_range=0.5, max_calib_range=2.5))
q8 = rng.randint(-127, 128, (3, 5)).astype(np.int8)
u8 = rng.randint(0, 256, (3, 5)).astype(np.uint8)
i32 = rng.randint(-2**20, 2**20, (3, 5)).astype(np.int32)
for q in (q8, u8, i32):
    rec('dequantize', c.dequantize, [q, s(-3.), s(4.)], {})
    rec('dequantize', c.dequantize, [q, s(0.5), s(4.)], {})
rec('requantize', c.requantize, [i32, s(-100.), s(100.)], {})
rec('requantize', c.requantize, [i32, s(-100.), s(100.)], dict(min_calib_range=-0.01, max_calib_range=0.02))
for ot in ('uint8', 'auto'):
    rec('requantize', c.requantize, [i32, s(-100.), s(100.)], dict(out_type=ot))
    rec('requantize', c.requantize, [np.abs(i32), s(-100.), s(100.)], dict(out_type=ot, min_calib_range=0.0, max_calib_range=0.02))
d8 = rng.randint(-127, 128, (2, 6)).astype(np.int8)
w8 = rng.randint(-127, 128, (4, 6)).astype(np.int8)
b8 = rng.randint(-127, 128, (4,)).astype(np.int8)
rec('quantized_fully_connected', c.quantized_fully_connected, [d8, w8, b8, s(-2.), s(2.), s(-0.5), s(0.7), s(-1.), s(1.)], dict(num_hidden=4))
rec('quantized_fully_connected', c.quantized_fully_connected, [d8, w8, s(-2.), s(2.), s(-0.5), s(0.7)], dict(num_hidden=4, no_bias=True))
rec('quantized_fully_connected', c.quantized_fully_connected, [np.abs(d8).astype(np.uint8), w8, b8, s(0.), s(2.), s(-0.5), s(0.7), s(-1.), s(1.)], dict(num_hidden=4))
d3 = rng.randint(-127, 128, (2, 3, 6)).astype(np.int8)
rec('quantized_fully_connected', c.quantized_fully_connected, [d3, w8, b8, s(-2.), s(2.), s(-0.5), s(0.7), s(-1.), s(1.)], dict(num_hidden=4, flatten=False))
cd = rng.randint(-127, 128, (1, 3, 5, 5)).astype(np.int8)
cu = rng.randint(0, 256, (1, 4, 5, 5)).astype(np.uint8)
cw = rng.randint(-127, 128, (2, 3, 3, 3)).astype(np.int8)
cw4 = rng.randint(-127, 128, (2, 4, 3, 3)).astype(np.int8)
cb = rng.randint(-127, 128, (2,)).astype(np.int8)
rec('quantized_conv', c.quantized_conv, [cd, cw, cb, s(-2.), s(2.), s(-1.), s(1.), s(-.5), s(.5)], dict(kernel=(3, 3), num_filter=2, pad=(1, 1)))
rec('quantized_conv', c.quantized_conv, [cu, cw4, s(0.), s(3.), s(-1.), s(1.)], dict(kernel=(3, 3), num_filter=2, stride=(2, 2), no_bias=True))
for pt in ('max', 'avg'):
    rec('quantized_pooling', c.quantized_pooling, [cd, s(-2.), s(2.)], dict(kernel=(2, 2), pool_type=pt, stride=(2, 2)))
    rec('quantized_pooling', c.quantized_pooling, [cu, s(0.), s(2.)], dict(kernel=(3, 3), pool_type=pt, pad=(1, 1)))
    rec('quantized_pooling', c.quantized_pooling, [cu, s(0.), s(2.)], dict(kernel=(1, 1), pool_type=pt, global_pool=True))
rec('quantized_act', c.quantized_act, [cd, s(-2.), s(2.)], dict(act_type='relu'))
rec('quantized_act', c.quantized_act, [cu, s(0.), s(2.)], dict(act_type='relu'))
rec('quantized_flatten', c.quantized_flatten, [cd, s(-2.), s(2.)], {})
rec('quantized_concat', lambda *a, **k: c.quantized_concat(*a, **k), [d8, q8[:2], s(-2.), s(-1.), s(2.), s(3.)], dict(num_args=2, dim=1))
rec('quantized_concat', lambda *a, **k: c.quantized_concat(*a, **k), [d8, q8[:2], s(-2.), s(2.), s(-1.), s(3.)], dict(num_args=2, dim=1))
rec('quantized_concat', lambda *a, **k: c.quantized_concat(*a, **k), [np.abs(d8).astype(np.uint8), u8[:2], s(0.), s(2.), s(0.), s(3.)], dict(num_args=2, dim=1))
rec('quantized_elemwise_add', c.quantized_elemwise_add, [d8, w8[:2], s(-2.), s(2.), s(-1.), s(3.)], {})
rec('quantized_elemwise_add', c.quantized_elemwise_add, [d8, w8[:2], s(-2.), s(2.), s(-1.), s(3.)], dict(min_calib_range=-3.0, max_calib_range=4.0))
rec('quantized_elemwise_add', c.quantized_elemwise_add, [np.abs(d8).astype(np.uint8), w8[:2], s(0.), s(2.), s(-1.), s(3.)], {})
rec('quantized_elemwise_mul', c.quantized_elemwise_mul, [d8, w8[:2], s(-2.), s(2.), s(-1.), s(3.)], {})
rec('quantized_elemwise_mul', c.quantized_elemwise_mul, [d8, w8[:2], s(-2.), s(2.), s(-1.), s(3.)], dict(min_calib_range=-3.0, max_calib_range=4.0))
rec('quantized_elemwise_mul', c.quantized_elemwise_mul, [d8, w8[:2], s(-2.), s(2.), s(-1.), s(3.)], dict(enable_float_output=True))
idx = np.array([[0, 3], [2, 1]], np.float32)
ew = rng.randint(-127, 128, (4, 3)).astype(np.int8)
rec('quantized_embedding', c.quantized_embedding, [idx, ew, s(-1.), s(1.)], dict(input_dim=4, output_dim=3))
g = rng.rand(3).astype(np.float32) + .5; bt = rng.randn(3).astype(np.float32); mm = rng.randn(3).astype(np.float32); mv = rng.rand(3).astype(np.float32) + .5
rec('quantized_batch_norm', c.quantized_batch_norm, [cd, g, bt, mm, mv, s(-2.), s(2.)], dict(min_calib_range=-3.0, max_calib_range=3.0))
rec('quantized_batch_norm', c.quantized_batch_norm, [cd, g, bt, mm, mv, s(-2.), s(2.)], dict(min_calib_range=-3.0, max_calib_range=3.0, fix_gamma=False))
rec('quantized_batch_norm', c.quantized_batch_norm, [cd, g, bt, mm, mv, s(-2.), s(2.)], dict(fix_gamma=False))
hist = rng.randint(0, 50, 2001).astype(np.float32); hist[1000] = 500
edges = np.linspace(-3, 3, 2002).astype(np.float32)
rec('calibrate_entropy', c.calibrate_entropy, [hist, edges], dict(num_quantized_bins=255))
rec('calibrate_entropy', c.calibrate_entropy, [hist, edges], dict(num_quantized_bins=127))
pickle.dump(cases, open(sys.argv[1], 'wb'))
# a uint8 convolution with a bias (MXNet's oneDNN conv takes uint8 data only)
rec('quantized_conv', c.quantized_conv, [cu, cw4, cb, s(0.), s(3.), s(-1.), s(1.), s(-.5), s(.5)],
    dict(kernel=(3, 3), num_filter=2, pad=(1, 1)))
pickle.dump(cases, open(sys.argv[1], 'wb'))
