"""kiln's MXNet symbol JSON, checked without MXNet against what MXNet 1.9.1 accepts.

Every registry op's samples are built as Symbols and written (as tests/compat/mx_json_sweep.py
does; tests/compat/test_mx_json_oracle.py runs them in real MXNet):

* each written op name is one of MXNet 1.9.1's registered operators
  (tests/data/mxnet191_op_names.txt), or the op is in ``KILN_ONLY`` (docs/compat.md lists
  them: MXNet 1.9.1 has no counterpart);
* no written attribute is the string ``"None"`` (MXNet types nearly all parameters as bool,
  int or shape and refuses it; an attribute left at kiln's None default is omitted), and a
  variadic op writes ``num_args`` as its input count (its data inputs, for quantized_concat);
* the JSON reads back into kiln with the same outputs.
"""
import json

import numpy as np
import pytest
from kiln import nd
from kiln import symbol as sym
from kiln.ndarray._registry import OPS
from kiln.symbol.mxnet_json import json_to_symbol, symbol_to_json

from . import mx_json_sweep as sweep

# kiln ops MXNet 1.9.1 has no operator for (measured 2026-12-07 with mx_json_sweep.py):
# gradient and fused helpers of kiln's own graphs, and ops MXNet 1.x lacks
KILN_ONLY = {
    "_backward_adaptive_avg_pooling_2d", "_backward_bilinear_resize_2d",
    "_backward_bilinear_sampler", "_backward_correlation", "_backward_deformable_convolution",
    "_backward_deformable_psroi_pooling", "_backward_grid_generator", "_backward_ps_roi_pooling",
    "_backward_roi_align", "_backward_roi_pooling", "_backward_rroi_align",
    "_batch_norm_backward", "_bn_fold", "_box_nms_index", "_broadcast_reduced", "_conv_affine_act",
    "_conv_chain", "_conv_weight_grad", "_ctc_loss_grad", "_custom", "_custom_backward", "_digamma",
    "_embedding_weight_grad", "_getitem_backward", "_linalg_cofactor", "_log_softmax_pick",
    "_log_softmax_pick_backward", "_pooling_backward", "_pooling_gather", "_put_along_axis",
    "_relu_backward", "_rnn_backward", "_softmax_output_backward", "_sum_wide", "dropout_mask",
    "empty", "gelu", "getitem", "log_sigmoid", "logsumexp", "mish", "sum_to", "swish", "to_device",
}
# MXNet parameters typed optional (dmlc::optional), where "None" is a value MXNet reads: kiln
# writes it when a sample passes None over a non-None default
MXNET_OPTIONAL = {("topk", "axis"), ("sort", "axis"), ("argsort", "axis"), ("slice_axis", "end")}
# Activation act_types MXNet 1.9.1 refuses ({'relu', 'sigmoid', 'softrelu', 'softsign', 'tanh'})
KILN_ONLY_ACT_TYPES = {"log_sigmoid", "mish"}

_CASES = [pytest.param(op, k, s, id=f"{op.name}-{k}")
          for op in sorted(OPS.values(), key=lambda o: o.name) for k, s in enumerate(op.samples)]


def _written(op, k, sample):
    case, err = sweep.build_case(op, k, sample)
    if err:
        pytest.skip(f"not buildable as a symbol: {err}")
    return case, json.loads(case["json"])


def _op_nodes(doc):
    return [n for n in doc["nodes"] if n["op"] != "null"]


@pytest.mark.parametrize("op,k,sample", _CASES)
def test_written_json_is_mxnet_shaped(op, k, sample):
    """Op names MXNet 1.9.1 knows (unless kiln-only), no "None" attribute, num_args given."""
    _, doc = _written(op, k, sample)
    names = sweep.mxnet_op_names()
    for node in _op_nodes(doc):
        attrs = node.get("attrs", {})
        if op.name not in KILN_ONLY:
            assert node["op"] in names, f"{op.name} writes {node['op']!r}, no MXNet 1.9.1 op"
        bad = sorted(k for k, v in attrs.items()
                     if v == "None" and (op.name, k) not in MXNET_OPTIONAL)
        assert not bad, f"{node['op']} writes None for {bad}"
        if "num_args" in attrs:
            assert 1 <= int(attrs["num_args"]) <= len(node["inputs"])


def test_kiln_only_list_is_current():
    """Every listed kiln-only op exists and really writes a name MXNet 1.9.1 lacks."""
    names = sweep.mxnet_op_names()
    for name in sorted(KILN_ONLY):
        op = OPS[name]
        written = set()
        for k, s in enumerate(op.samples):
            case, err = sweep.build_case(op, k, s)
            if not err:
                written |= {n["op"] for n in _op_nodes(json.loads(case["json"]))}
        assert not written or written - names, f"{name} is writable for MXNet now: {written}"


@pytest.mark.parametrize("op,k,sample", [
    c for c in _CASES if not c.values[0].random and c.values[0].name not in KILN_ONLY
    and c.values[0].name != "reset_arrays"])   # no outputs: a graph without heads
def test_written_json_reads_back(op, k, sample):
    """kiln reads its own MXNet JSON back and gives its eager outputs (kiln-only ops aside:
    some hold attributes no JSON literal spells, getitem's slices)."""
    case, _ = _written(op, k, sample)
    if "eager" not in case or sweep.unbound_arguments(case):
        pytest.skip("no eager result, or the sample's inputs are not the symbol's arguments")
    got = json_to_symbol(case["json"])
    args = {n: nd.array(a, dtype=a.dtype) for n, a in case["arrays"].items()}
    ex = got.bind(None, {n: args[n] for n in got.list_arguments()},
                  aux_states={n: args[n] for n in got.list_auxiliary_states()}, grad_req="null")
    outs = [o.asnumpy() for o in ex.forward(is_train=False)]
    for o, e in zip(outs, case["eager"]):
        np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make,op_name,attrs", [
    (lambda: sym.arange(3), "_arange", {"start": "3", "dtype": "float32"}),
    (lambda: sym.eye(2), "_eye", {"N": "2"}),
    (lambda: sym.zeros((0, 4)), "_zeros", {"dtype": "float32"}),
    (lambda: sym.full((2,), 3.0), "_full", {"value": "3.0"}),
    (lambda: sym.concat(sym.var("a"), sym.var("b"), dim=0), "Concat", {"num_args": "2"}),
    (lambda: sym.khatri_rao(sym.var("a"), sym.var("b")), "khatri_rao", {"num_args": "2"}),
    (lambda: sym.split_v2(sym.var("a"), 3), "_split_v2", {"sections": "3", "indices": "()"}),
    (lambda: sym.split_v2(sym.var("a"), (1, 3)), "_split_v2", {"indices": "(0, 1, 3)"}),
    (lambda: sym.elu(sym.var("a"), alpha=0.5), "LeakyReLU", {"act_type": "elu", "slope": "0.5"}),
    (lambda: sym.softrelu(sym.var("a")), "Activation", {"act_type": "softrelu"}),
    (lambda: sym.transpose(sym.var("a")), "transpose", {}),
    (lambda: sym.transpose(sym.var("a", shape=(2, 3, 4)), axes=(-1, 0, 1)), "transpose",
     {"axes": "(2, 0, 1)"}),
    (lambda: sym.flip(sym.var("a", shape=(2, 3)), axis=-1), "flip", {"axis": "1"}),
])
def test_spot_checks(make, op_name, attrs):
    """The three bugs of the 2026-12-07 spot check and the sweep's other fixes, by example."""
    text, _ = symbol_to_json(make())
    node = _op_nodes(json.loads(text))[-1]
    assert node["op"] == op_name
    for k, v in attrs.items():
        assert node.get("attrs", {}).get(k) == v, (k, node.get("attrs"))
    if not attrs:   # transpose(a): axes left at its None default is not written
        assert "axes" not in node.get("attrs", {})


def test_split_v2_reads_mxnet_form():
    """MXNet's ``_split_v2`` (indices after 0, or sections) reads as kiln's split_v2."""
    for attrs, n_out in (({"indices": "(0, 1, 3)", "sections": "0", "axis": "1"}, 3),
                         ({"indices": "()", "sections": "2", "axis": "1"}, 2)):
        doc = {"nodes": [{"op": "null", "name": "a", "inputs": []},
                         {"op": "_split_v2", "name": "s", "attrs": attrs,
                          "inputs": [[0, 0, 0]]}],
               "arg_nodes": [0], "heads": [[1, k, 0] for k in range(n_out)]}
        got = json_to_symbol(json.dumps(doc))
        x = np.arange(12, dtype=np.float32).reshape(2, 6)
        outs = got.bind(None, {"a": nd.array(x)}).forward()
        ref = np.split(x, [1, 3] if n_out == 3 else 2, axis=1)
        for o, e in zip(outs, ref):
            np.testing.assert_array_equal(o.asnumpy(), e)
