"""The ``param_shapes`` facet: one rule per op for the shapes of its parameters (weight, bias,
gamma, moving statistics...) from its data's shape. The op's ``infer``, the layers' deferred
initialization, ``sym.infer_shape`` and the ONNX importer all read it; here it must make the op
run, match the registry samples, and agree with the layers and with ``sym.infer_shape``."""
import numpy as np
import pytest
from kiln import nd, nn, sym
from kiln.ndarray import _registry
from kiln.ndarray._registry import param_shapes

OPS = _registry.OPS
FACET_OPS = sorted(n for n, op in OPS.items() if op.param_shapes is not None)
PARAMETER_NAMES = {"weight", "bias", "gamma", "beta", "moving_mean", "moving_var"}
# prelu's gamma may also be (1,) or cover axes 0 and 1: its samples use those shapes too;
# _conv_affine_act's scale may be the literal 1 (the weight carries the fold)
OTHER_SHAPES_ALLOWED = {"leaky_relu", "softmax_output", "linear_regression_output",
                        "logistic_regression_output", "mae_regression_output",
                        "_conv_affine_act"}


# inputs named like parameters that are not a layer's learnable parameters: a distribution's
# or a Hawkes process's ``beta``, and the int8 ops' weights (their shapes come from the float
# model they were quantized from)
NOT_LAYER_PARAMETERS = {"_contrib_hawkesll", "_contrib_backward_hawkesll", "sample_gamma",
                        "random_pdf_gamma", "_contrib_quantized_embedding",
                        "_contrib_quantized_batch_norm"}


def _updates_its_weight(name):
    """Optimizer update ops take the weight being updated as their data, not as a parameter."""
    return name.endswith("_update") or "_update_phase" in name


def _input_names(op):
    return [n.lstrip("*").rstrip("?") for n in op.inputs]


def _cases():
    return [(n, k) for n in FACET_OPS for k in range(len(OPS[n].samples))]


def test_every_op_with_parameter_inputs_has_the_facet():
    assert {"convolution", "deconvolution", "fully_connected", "batch_norm", "embedding"} <= set(
        FACET_OPS)
    missing = [n for n, op in OPS.items()
               if PARAMETER_NAMES & set(_input_names(op)) and op.param_shapes is None
               and n not in NOT_LAYER_PARAMETERS and not _updates_its_weight(n)]
    assert not missing, f"ops with parameter inputs but no param_shapes facet: {missing}"


def test_param_shapes_reads_aliases_and_fills_defaults():
    assert param_shapes("Convolution", (8, 3, 32, 32), kernel=(3, 3), num_filter=16) == {
        "weight": (16, 3, 3, 3), "bias": (16,)}
    assert param_shapes("Deconvolution", (1, 4, 5, 5), kernel=(2, 2), num_filter=6,
                        num_group=2) == {"weight": (4, 3, 2, 2)}   # no_bias defaults to True
    assert param_shapes("FullyConnected", (2, 3, 4), num_hidden=5, flatten=False,
                        ignored_key=1) == {"weight": (5, 4), "bias": (5,)}
    assert param_shapes("relu", (2, 3)) == {}


def _run(op, inputs, attrs):
    args = [nd.array(a, dtype=a.dtype) if isinstance(a, np.ndarray) else a for a in inputs]
    out = op.func(*args, **attrs)
    return [o.shape for o in out] if isinstance(out, list) else [out.shape]


@pytest.mark.parametrize("name,k", _cases())
def test_facet_shapes_make_the_op_run(name, k):
    """Parameters of the facet's shapes run the op to the sample's output shapes, and (but for
    ops that accept several layouts) the samples' parameters have exactly those shapes."""
    op, sample = OPS[name], OPS[name].samples[k]
    inputs = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in sample.inputs]
    shapes = param_shapes(op, inputs[0].shape, **sample.attrs)
    if not shapes:  # e.g. LeakyReLU other than prelu: then the sample passes no parameter
        assert all(a is None for a in inputs[1:]), f"{name}: parameters but no facet shapes"
        return
    rng = np.random.RandomState(k)
    mine = list(inputs) + [None] * (len(op.inputs) - len(inputs))
    for i, input_name in enumerate(_input_names(op)):
        # RNN's sequence lengths are data (valid integers), not parameters: the sample's stay
        if input_name in shapes and input_name != "sequence_length":
            mine[i] = rng.uniform(0.5, 1.5, shapes[input_name]).astype(np.float32)
            if name not in OTHER_SHAPES_ALLOWED and i < len(inputs):
                assert inputs[i] is not None and inputs[i].shape == shapes[input_name], (
                    f"{name} {input_name}: sample {getattr(inputs[i], 'shape', None)}, "
                    f"facet {shapes[input_name]}")
    assert _run(op, mine, sample.attrs) == _run(op, inputs, sample.attrs)


@pytest.mark.parametrize("name,k", _cases())
def test_sym_infer_shape_agrees_with_the_facet(name, k):
    op, sample = OPS[name], OPS[name].samples[k]
    data_shape = sample.inputs[0].shape
    out = getattr(sym, name)(sym.var("data"), name="op", **sample.attrs)
    arg_shapes, _, aux_shapes = out.infer_shape(data=data_shape)
    inferred = dict(zip(out.list_arguments() + out.list_auxiliary_states(),
                        arg_shapes + aux_shapes))
    expected = {f"op_{k2}": v for k2, v in param_shapes(op, data_shape, **sample.attrs).items()}
    assert {n: s for n, s in inferred.items() if n != "data"} == expected


# (layer factory, input shape, op, the op's attributes, the op's data shape if not the input's)
LAYERS = {
    "dense": (lambda: nn.Dense(4), (2, 3, 5), "fully_connected", {"num_hidden": 4}, None),
    "dense_no_flatten": (lambda: nn.Dense(4, flatten=False, use_bias=False), (2, 3, 5),
                         "fully_connected", {"num_hidden": 4, "flatten": False,
                                             "no_bias": True}, None),
    "conv1d": (lambda: nn.Conv1D(4, 3), (1, 2, 7), "convolution",
               {"kernel": (3,), "num_filter": 4}, None),
    "conv2d_groups": (lambda: nn.Conv2D(6, (3, 2), groups=2), (1, 4, 5, 5), "convolution",
                      {"kernel": (3, 2), "num_filter": 6, "num_group": 2}, None),
    "conv3d": (lambda: nn.Conv3D(2, 2), (1, 3, 3, 3, 3), "convolution",
               {"kernel": (2, 2, 2), "num_filter": 2}, None),
    "conv2d_transpose": (lambda: nn.Conv2DTranspose(6, 3, groups=3), (1, 3, 4, 4),
                         "deconvolution",
                         {"kernel": (3, 3), "num_filter": 6, "num_group": 3, "no_bias": False},
                         None),
    "batch_norm": (lambda: nn.BatchNorm(), (2, 3, 4), "batch_norm", {}, None),
    "batch_norm_last_axis": (lambda: nn.BatchNorm(axis=-1), (2, 3, 4), "batch_norm",
                             {"axis": -1}, None),
    "layer_norm": (lambda: nn.LayerNorm(), (2, 3, 5), "layer_norm", {}, None),
    "instance_norm_axis2": (lambda: nn.InstanceNorm(axis=2), (2, 3, 4), "instance_norm", {},
                            (2, 4, 3)),
    "group_norm": (lambda: nn.GroupNorm(num_groups=2), (2, 4, 3), "group_norm",
                   {"num_groups": 2}, None),
    "embedding": (lambda: nn.Embedding(10, 4), (2, 3), "embedding",
                  {"input_dim": 10, "output_dim": 4}, None),
}
_LAYER_TO_OP = {"running_mean": "moving_mean", "running_var": "moving_var"}


def _layer_shapes(named):
    """``{op input name: shape}`` from ``{parameter name: shape}``."""
    out = {}
    for name, shape in named.items():
        short = name.rsplit("_", 2)[-2:] if name.endswith(("running_mean", "running_var")) \
            else [name.rsplit("_", 1)[-1]]
        key = "_".join(short)
        out[_LAYER_TO_OP.get(key, key)] = tuple(shape)
    return out


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_layer_deferred_init_agrees_with_the_facet(case):
    make, shape, opname, attrs, op_shape = LAYERS[case]
    layer = make()
    layer.initialize()
    x = nd.array(np.arange(np.prod(shape)).reshape(shape) % 5)
    layer(x)
    got = _layer_shapes({n: p.shape for n, p in layer.collect_params().items()})
    assert got == param_shapes(opname, op_shape or shape, **attrs)


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_layer_symbol_infer_shape_agrees_with_the_facet(case):
    make, shape, opname, attrs, op_shape = LAYERS[case]
    out = make()(sym.var("data"))
    arg_shapes, _, aux_shapes = out.infer_shape(data=shape)
    named = dict(zip(out.list_arguments() + out.list_auxiliary_states(), arg_shapes + aux_shapes))
    named.pop("data")
    assert _layer_shapes(named) == param_shapes(opname, op_shape or shape, **attrs)


def test_channel_last_layer_stores_the_facet_weight_transposed():
    layer = nn.Conv2D(4, (3, 2), layout="NHWC", in_channels=2)
    want = param_shapes("convolution", (1, 2, 6, 6), kernel=(3, 2), num_filter=4)["weight"]
    assert layer.weight.shape == (want[0],) + want[2:] + (want[1],)


def test_onnx_import_sizes_a_missing_layer_norm_beta_from_the_facet():
    """ONNX LayerNormalization without B: the importer makes a zero beta of the facet's shape."""
    from kiln.export.onnx_import import import_model
    from onnx import TensorProto, helper, numpy_helper
    scale = np.linspace(0.5, 1.5, 5).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("LayerNormalization", ["x", "scale"], ["y"], epsilon=1e-5)], "ln",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 5])],
        [numpy_helper.from_array(scale, "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    out, args, _ = import_model(model)
    x = np.random.RandomState(0).randn(2, 3, 5).astype(np.float32)
    y = out.eval(x=nd.array(x), **args)[0].asnumpy()
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5) * scale, rtol=1e-5, atol=1e-5)
