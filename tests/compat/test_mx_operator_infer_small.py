"""Small MXNet 1.9 behaviours: a CustomOpProp whose infer_shape/infer_type answer
``(in, out)`` without the aux list (MXNet takes both forms), contrib.index_array of a 0-d
input (an empty last axis), and a bilinear UpSampling's weight shape learnt from its data
(MXNet's backward shape inference)."""
import kiln as mx
import numpy as np


class _Twice(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * 2)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * 2)


@mx.operator.register("kiln_test_twice_two_tuple")
class _TwiceProp(mx.operator.CustomOpProp):
    def list_arguments(self):
        return ["data"]

    def list_outputs(self):
        return ["output"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]]          # no aux list

    def infer_type(self, in_type):
        return in_type, [in_type[0]]

    def create_operator(self, ctx, shapes, dtypes):
        return _Twice()


def test_custom_prop_answering_two_lists():
    x = mx.nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Custom(x, op_type="kiln_test_twice_two_tuple")
    y.backward()
    assert y.asnumpy().tolist() == [2, 4, 6]
    assert x.grad.asnumpy().tolist() == [2, 2, 2]


def test_index_array_of_a_scalar_is_empty():
    with mx.np_shape():
        out = mx.nd.contrib.index_array(mx.nd.ones(()))
    assert out.shape == (0,) and out.dtype == np.int64


def test_bilinear_upsampling_weight_shape_is_inferred():
    for scale, k in ((2, 4), (3, 5)):
        up = mx.sym.UpSampling(mx.sym.var("data"), mx.sym.var("weight"), scale=scale,
                               sample_type="bilinear", num_filter=3, num_args=2)
        args, outs, _ = up.infer_shape(data=(2, 3, 4, 4))
        assert args == [(2, 3, 4, 4), (3, 1, k, k)]
        assert outs == [(2, 3, 4 * scale, 4 * scale)]
