"""MXNet 1.9 API that MXNet's own unit tests (test_ndarray, test_symbol) use and kiln lacked:
the legacy NDArray functions (``choose_element_0index``, ``fill_element_0index``,
``onehot_encode``), ``batch_take`` as an op (``sym.batch_take`` too), ``nd._internal`` with
``_crop_assign(_scalar)``, and Symbol behaviour (``bool()`` raising
``NotImplementedForSymbol``, ``get_children`` of a multi-output node, pickling,
``infer_shape`` returning ``None``s with a warning when shapes stay unknown, shapes learnt late
in graph order, an unknown operand of ``elemwise_add`` taking the other's shape,
``infer_type_partial``, automatic node names from the active ``NameManager``).

Each case is one line of a small script run under kiln (and, in ``test_matches_mxnet``, under
real MXNet 1.9.1 when its interpreter is present); the expected values were read from MXNet.
"""
import os
import pickle
import sys
import warnings

import kiln as mx
import numpy as np
import pytest
from _oracle_suite import MX_PYTHON, run_script
from kiln.base import NotImplementedForSymbol

SCRIPT = r'''
import importlib, json, pickle, sys, warnings
import numpy as np
mx = importlib.import_module(sys.argv[1])
r = {}
a = mx.nd.array(np.arange(12).reshape(3, 4))
r["choose"] = mx.nd.choose_element_0index(a, mx.nd.array([0, 3, 5])).asnumpy().tolist()
r["fill"] = mx.nd.fill_element_0index(a, mx.nd.array([7, 8, 9]),
                                      mx.nd.array([0, 3, 1])).asnumpy().tolist()
out = mx.nd.zeros((3, 4))
mx.nd.onehot_encode(mx.nd.array([0, 3, 1]), out)
r["onehot"] = out.asnumpy().tolist()
r["batch_take"] = mx.nd.batch_take(mx.nd.array(np.arange(12).reshape(3, 4)),
                                   mx.nd.array([1, 7, -1], dtype='int32')).asnumpy().tolist()
bt = mx.sym.batch_take(mx.sym.var('a'), mx.sym.var('i'))
r["batch_take_shape"] = [list(s) for s in bt.infer_shape(a=(3, 4), i=(3,))[1]]
x = mx.nd.ones((2, 3))
mx.nd._internal._crop_assign_scalar(x, scalar=5, begin=(0, 1), end=(2, 3), out=x)
r["crop_assign_scalar"] = x.asnumpy().tolist()
r["slice_assign_scalar_step"] = mx.nd._internal._slice_assign_scalar(
    mx.nd.zeros((2, 3)), scalar=2, begin=(None, 0), end=(None, 3), step=(-1, 2)).asnumpy().tolist()
d = mx.sym.Variable('data')
r["children"] = mx.sym.SliceChannel(d, num_outputs=3, name='slice').get_children().list_outputs()
net = mx.sym.FullyConnected(mx.sym.Activation(mx.sym.var('x'), act_type='relu'), num_hidden=3,
                            name='fc')
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    r["incomplete"] = [net.infer_shape() == (None, None, None),
                       [type(x.message).__name__ for x in w]]
fc = mx.sym.FullyConnected(mx.sym.var('data'), num_hidden=2, no_bias=True, name='fc')
both = mx.sym.sum(mx.sym.abs(fc.get_internals()['fc_weight'])) + mx.sym.sum(fc)
r["late"] = [[list(s) for s in part] for part in both.infer_shape(data=(5, 13))]
ab = mx.sym.elemwise_add(mx.sym.Variable('a', shape=(2, 3)), mx.sym.Variable('b'))
r["alike"] = [[[list(s) for s in part] for part in ab.infer_shape(**kw)]
              for kw in ({}, {"a": (5, 6)})]
rnn = mx.sym.elemwise_add(mx.sym.FullyConnected(mx.sym.var('data'), num_hidden=4, name='x2h'),
                          mx.sym.FullyConnected(mx.sym.var('prev'), num_hidden=4, name='h2h'))
r["partial_alike"] = [[list(s) for s in part] for part in rnn.infer_shape_partial(data=(3, 5))]
conv = mx.sym.Convolution(mx.sym.var('d'), kernel=(3, 3), num_filter=4, cudnn_tune='fastest')
r["pickle_conv"] = pickle.loads(pickle.dumps(conv)).tojson() == conv.tojson()
with mx.name.NameManager():   # automatic names come from the active NameManager
    v = mx.sym.var('data')
    r["names"] = [v.flatten().name, (v + 1).name, v.transpose().name,
                  mx.sym.FullyConnected(v, num_hidden=2).list_arguments(),
                  mx.sym.flatten(v, name='flatten0').name,
                  v.split(num_outputs=2, axis=1).list_outputs(),   # one grouped Symbol
                  v.broadcast_axes(axis=(0,), size=(2,)).name]     # named after the method
with mx.name.Prefix('net_'):
    r["prefixed"] = [mx.sym.relu(mx.sym.var('x')).name, mx.sym.Convolution(
        mx.sym.var('x'), kernel=(1, 1), num_filter=2).name]
m = mx.sym.FullyConnected(mx.sym.Cast(mx.sym.var('data'), dtype='float16'), num_hidden=4)
r["type_partial"] = [[None if t is None else np.dtype(t).name for t in part]
                     for part in m.infer_type_partial()]
r["type_partial_none"] = [[None if t is None else np.dtype(t).name for t in part]
                          for part in mx.sym.FullyConnected(mx.sym.var('data'),
                                                            num_hidden=4).infer_type_partial()]
print(json.dumps(r))
'''

EXPECTED = {
    "choose": [0.0, 7.0, 11.0],                      # an index past the row is clipped
    "fill": [[7.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 8.0], [8.0, 9.0, 10.0, 11.0]],
    "onehot": [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]],
    "batch_take": [1.0, 7.0, 8.0],                   # indices clipped into the row
    "batch_take_shape": [[3]],
    "crop_assign_scalar": [[1.0, 5.0, 5.0], [1.0, 5.0, 5.0]],
    "slice_assign_scalar_step": [[2.0, 0.0, 2.0], [2.0, 0.0, 2.0]],
    "children": ["data"],                            # the node's inputs once, not per output
    "incomplete": [True, ["UserWarning"]],
    "late": [[[2, 13], [5, 13]], [[1]], []],
    "alike": [[[[2, 3], [2, 3]], [[2, 3]], []], [[[5, 6], [5, 6]], [[5, 6]], []]],
    "partial_alike": [[[3, 5], [4, 5], [4], [], [], []], [[3, 4]], []],
    "pickle_conv": True,
    "names": ["flatten0", "_plusscalar0", "transpose0",
              ["data", "fullyconnected0_weight", "fullyconnected0_bias"], "flatten0",
              ["split0_output0", "split0_output1"], "broadcast_axes0"],
    "prefixed": ["net_relu0", "net_convolution0"],
    "type_partial": [[None, "float16", "float16"], ["float16"], []],
    "type_partial_none": [[None, None, None], [None], []],
}


@pytest.fixture(scope="module")
def kiln_results(tmp_path_factory):
    return run_script(sys.executable, "kiln", SCRIPT, tmp_path_factory.mktemp("legacy_kiln"))


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_kiln_gives_mxnets_values(kiln_results, key):
    assert kiln_results[key] == EXPECTED[key]


def test_matches_mxnet(tmp_path, kiln_results):
    if not os.path.exists(MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter (KILN_MXNET_PYTHON or .mxnet-venv)")
    assert run_script(MX_PYTHON, "mxnet", SCRIPT, tmp_path) == kiln_results


def test_symbol_bool_is_not_implemented_but_traced_values_explain_control_flow():
    with pytest.raises(NotImplementedForSymbol):
        bool(mx.sym.var("x"))

    class Branchy(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return x if x.sum() > 0 else -x

    net = Branchy()
    net.hybridize()
    with pytest.raises(mx.base.MXNetError, match="control flow"):
        net(mx.nd.ones((2,)))


def test_symbol_pickles_through_its_json(tmp_path):
    net = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")
    back = pickle.loads(pickle.dumps([net]))[0]
    assert back.tojson() == net.tojson() and back.list_arguments() == net.list_arguments()


def test_complete_shape_inference_for_kiln_callers_still_names_the_node():
    from kiln.symbol.api import infer_shape_complete
    net = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")
    with pytest.raises(mx.base.MXNetError, match="fc"):
        infer_shape_complete(net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert infer_shape_complete(net, x=(2, 5))[1] == [(2, 3)]


def test_fill_element_0index_keeps_the_dtype_and_other_values():
    lhs = mx.nd.array(np.full((2, 3), np.inf), dtype="float64")
    out = mx.nd.fill_element_0index(lhs, mx.nd.array([1, 2]), mx.nd.array([0, 2]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.asnumpy(), [[1, np.inf, np.inf], [np.inf, np.inf, 2]])


def test_autograd_star_import_gives_get_symbol():
    """MXNet's test_autograd does ``from mxnet.autograd import *`` and calls ``get_symbol``."""
    names = {}
    exec("from kiln.autograd import *", names)   # noqa: S102 - what the star import gives
    assert names["get_symbol"] is mx.autograd.get_symbol
