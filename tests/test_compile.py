"""Compiled-graph details: buffer ownership under static_alloc, what the forward saves for the
backward, and the simplifications that remove work."""
import numpy as np
import pytest
from kiln import autograd, gluon, nd


class Lambda(gluon.HybridBlock):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)


VIEW_TAILS = {
    "reshape": lambda x: nd.reshape(nd.relu(x), (-1,)),
    "transpose": lambda x: nd.transpose(nd.relu(x)),
    "slice": lambda x: nd.slice_axis(nd.relu(x), axis=1, begin=0, end=2),
    "size-1 mean": lambda x: nd.mean(nd.expand_dims(nd.relu(x), 2), axis=2),
}


@pytest.mark.parametrize("tail", sorted(VIEW_TAILS))
def test_static_alloc_outputs_are_not_overwritten_by_the_next_call(tail):
    block = Lambda(VIEW_TAILS[tail])
    block.hybridize(static_alloc=True)
    a, b = nd.array(np.arange(6.0).reshape(2, 3)), nd.array(-np.ones((2, 3)))
    first = block(a)
    expected = first.asnumpy().copy()
    block(b)
    np.testing.assert_array_equal(first.asnumpy(), expected)


def test_saved_values_survive_a_second_recorded_call():
    block = Lambda(lambda x: nd.reshape(nd.exp(x * 2), (-1,)) * 3)
    block.hybridize(static_alloc=True)
    a = nd.array([[0.1, 0.2], [0.3, 0.4]])
    b = nd.array([[5.0, 6.0], [7.0, 8.0]])
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        ya = block(a)
        block(b)
    ya.backward()
    np.testing.assert_allclose(a.grad.asnumpy(), 6 * np.exp(2 * a.asnumpy()), rtol=1e-6)


def _mlp():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8, activation="relu", in_units=4),
            gluon.nn.Dense(3, activation="sigmoid", in_units=8))
    net.initialize()
    return net


def test_activation_masks_are_computed_in_the_backward_not_saved():
    net = _mlp()
    net.hybridize()
    x = nd.ones((2, 4))
    x.attach_grad()
    with autograd.record():
        y = net(x)
    y.backward()
    entry = list(net._cached_op.entries.values())[-1]
    (train,) = entry.train.values()
    # the two activations' outputs (needed by the weight gradients) and nothing else
    assert train.saved_count == 2
    # (relu's mask: ndarray/ops/_xp.relu_backward, emitted as _relu_bwd)
    assert "_relu_bwd" not in train.forward.source and "_relu_bwd" in train.backward.source


@pytest.mark.parametrize("relu,expected", [
    # MXNet 1.9.1: Activation's mask gives NaN gradient 0, relu's sign passes NaN through
    (lambda v: nd.Activation(v, act_type="relu"), [0, 0, 0, 1, 1]),
    (lambda v: nd.relu(v), [np.nan, 0, 0, 1, 1])], ids=["Activation", "relu"])
def test_relu_gradient_at_nan_eager_and_hybridized(relu, expected):
    x = nd.array([np.nan, -1.0, 0.0, 2.0, np.inf])
    for hybrid in (False, True):
        block = Lambda(relu)
        if hybrid:
            block.hybridize()
        x.attach_grad()
        with autograd.record():
            y = block(x)
        y.backward()
        np.testing.assert_array_equal(x.grad.asnumpy(), expected)


def test_size_one_reductions_become_reshapes():
    block = Lambda(lambda x: nd.sum(nd.expand_dims(x, 1), axis=1)
                   + nd.max(nd.expand_dims(x, 0), axis=0, keepdims=True)[0])
    block.hybridize()
    x = nd.array(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(block(x).asnumpy(), 2 * x.asnumpy())
    graph = block.print_graph()
    assert " sum(" not in graph and " max(" not in graph


@pytest.mark.parametrize("kwargs", [{}, {"axis": 1}, {"from_logits": True}])
def test_softmax_cross_entropy_is_fused_in_the_compiled_graph(kwargs):
    rng = np.random.default_rng(0)
    pred = nd.array(rng.normal(size=(5, 4)))
    label = nd.array([0, 3, 1, 2, 3])
    grads = []
    for hybrid in (False, True):
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss(**kwargs)
        if hybrid:
            loss_fn.hybridize()
        pred.attach_grad()
        with autograd.record():
            loss = loss_fn(pred, label)
        loss.backward()
        grads.append((loss.asnumpy(), pred.grad.asnumpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-6, atol=1e-7)
    fused = "_log_softmax_pick" in loss_fn.generated_code()
    assert fused == (not kwargs.get("from_logits"))  # from_logits has no log_softmax to fuse


@pytest.mark.parametrize("static_alloc", [False, True])
def test_register_op_hook_reports_every_op_output(static_alloc):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(3, in_units=4), gluon.nn.Activation("relu"))
    net.initialize()
    net.hybridize(static_alloc=static_alloc)
    seen = []
    net.register_op_hook(lambda name, op, arr: seen.append((name, op, arr.asnumpy().copy())))
    x = nd.array(np.arange(8.0).reshape(2, 4) - 3)
    out = net(x)
    assert [(n.endswith("_output"), op) for n, op, _ in seen] == [
        (True, "FullyConnected"), (True, "Activation")]
    np.testing.assert_allclose(seen[-1][2], out.asnumpy())
    seen.clear()
    net.register_op_hook(lambda name, op, arr: seen.append((name, op)), monitor_all=True)
    net.hybridize(static_alloc=static_alloc)  # the hook stays installed
    with autograd.record():
        net(x)
    assert [op for _, op in seen] == ["FullyConnected"] * 4 + ["Activation"] * 2
    assert seen[0][0].endswith("_data") and seen[1][0].endswith("_weight")


def _hook_names(block, monitor_all=False):
    names = []
    block.register_op_hook(lambda name, op, arr: names.append((name, op)), monitor_all)
    block(nd.ones((2, 3, 4)))
    return names


def test_op_hook_names_are_mxnet_names_from_the_first_call():
    # the expected lists are what MXNet 1.9.1 reports for the same code (test_gluon's
    # test_op_hook_output_names), first calls with deferred shapes included
    model = gluon.nn.HybridSequential(prefix="dense_")
    with model.name_scope():
        model.add(gluon.nn.Dense(2))
    model.initialize()
    model.hybridize()
    assert _hook_names(model) == [("dense_dense0_fwd_output", "FullyConnected")]
    model = gluon.nn.HybridSequential(prefix="relu_")
    with model.name_scope():
        model.add(gluon.nn.Activation("relu"))
    model.initialize()
    model.hybridize()
    assert _hook_names(model) == [("relu_relu0_fwd_output", "Activation")]
    model = gluon.nn.HybridSequential("pool_")
    with model.name_scope():
        model.add(gluon.nn.AvgPool1D())
    model.initialize()
    model.hybridize()
    assert _hook_names(model, True) == [("pool_pool0_fwd_data", "Pooling"),
                                        ("pool_pool0_fwd_output", "Pooling")]
    expected = [("dense_dense0_fwd_data", "FullyConnected"),
                ("dense_dense0_fwd_weight", "FullyConnected"),
                ("dense_dense0_fwd_bias", "FullyConnected"),
                ("dense_dense0_fwd_output", "FullyConnected"),
                ("dense_relu0_fwd_input0", "Activation"), ("dense_relu0_fwd_output", "Activation")]
    model = gluon.nn.HybridSequential("dense_")
    with model.name_scope():
        model.add(gluon.nn.Dense(2))
        model.add(gluon.nn.Activation("relu"))
    model.initialize()
    model.hybridize()
    assert _hook_names(model, True) == expected
    model.hybridize(static_alloc=True)
    assert _hook_names(model, True) == expected


def test_identical_creation_ops_fold_into_one_constant():
    block = Lambda(lambda x: nd.dot(nd.dot(x, nd.ones((3, 3))), nd.ones((3, 3))))
    block.hybridize()
    x = nd.array(np.eye(3))
    np.testing.assert_allclose(block(x).asnumpy(), np.full((3, 3), 3.0))
    source = list(block._cached_op.entries.values())[-1].forward.source
    consts = {w for w in source.replace(")", " ").replace(",", " ").split() if w.startswith("c")}
    assert len(consts) == 1, source      # one (3, 3) ones array, used by both products


def test_out_mask_writes_results_into_the_callers_buffers():
    """codegen's out_mask (gradients straight into .grad buffers): results computed in the
    buffer (an op with an out= form), copied into it (a kernel op, an input, an entry listed
    twice), and unmasked results returned as before."""
    from kiln import sym
    from kiln.symbol.codegen import compile_graph
    a, b = sym.var("a"), sym.var("b")
    prod = sym.dot(a, b)                     # fastpath with out=: built in the buffer
    soft = sym.softmax(a)                    # a kernel call: copied
    targets = [e._entry() for e in (prod, soft, prod, a, sym.sum(a, axis=0))]
    args = [a._entry(), b._entry()]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    graph = targets
    _infer(graph, {"a": x, "b": y})
    plain = compile_graph(args, graph)
    mask = (True, True, True, True, False)
    into = compile_graph(args, graph, out_mask=mask)
    want = plain(np, x, y)
    bufs = [np.full(w.shape, np.nan) for w, m in zip(want, mask) if m]
    got = into(np, x, y, *bufs)
    for k, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, err_msg=str(k))
    assert all(g is b for g, b in zip(got, bufs))  # masked results are the buffers
    assert "o0[...] =" in into.source and "o1[...] =" in into.source
    assert got[0] is not got[2] and got[3] is not x  # an input is copied, never aliased


def test_chain_backward_computes_gradients_in_the_grad_buffers():
    """A hybridized step writes each 'write' gradient into the parameter's existing .grad
    array (no new array per step, as MXNet writes into its gradient buffers)."""
    net = _mlp()
    net.hybridize(static_alloc=True)
    loss_fn = gluon.loss.L2Loss()
    loss_fn.hybridize()
    x, y = nd.ones((2, 4)), nd.zeros((2, 3))
    buffers = None
    for _ in range(3):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        now = [p.grad()._data for p in net.collect_params().values()]
        if buffers is not None:
            assert all(a is b for a, b in zip(now, buffers))
        buffers = now
    entry = list(net._cached_op.entries.values())[-1]
    (train,) = entry.train.values()
    (variant,) = train._into.values()
    assert "out=o" in variant.source


def test_embedding_gradient_is_scattered_into_its_grad_buffer():
    """A kernel with the out_arg facet (Embedding's weight gradient) writes the .grad buffer
    itself: no gradient-sized temporary, no copy; the gradient equals the eager one."""
    grads = []
    for hybrid in (False, True):
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Embedding(7, 3), gluon.nn.Dense(2, flatten=False, in_units=3))
        net.initialize()
        for p in net.collect_params().values():
            p.set_data(nd.array(np.random.default_rng(p.shape[0]).uniform(-1, 1, p.shape)))
        if hybrid:
            net.hybridize()
        x = nd.array([[1, 3, 3], [6, 0, 1]])
        for _ in range(2):
            with autograd.record():
                y = net(x)
            y.backward(nd.array(np.arange(12.0).reshape(2, 3, 2)))
        grads.append(net[0].weight.grad().asnumpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)
    assert (grads[1][[2, 4, 5]] == 0).all() and (grads[1][[0, 1, 3, 6]] != 0).all()
    entry = list(net._cached_op.entries.values())[-1]
    (train,) = entry.train.values()
    (variant,) = train._into.values()
    line = next(s for s in variant.source.splitlines() if "_embedding_weight_grad" in s)
    assert "out=o0" in line and "o0[...]" not in variant.source


@pytest.mark.parametrize("conv", [dict(kernel_size=3, padding=1), dict(kernel_size=1),
                                  dict(kernel_size=3, padding=1, groups=2),
                                  dict(kernel_size=3, padding=2, strides=2)], ids=str)
def test_conv_weight_gradient_is_computed_in_its_grad_buffer(conv):
    """_conv_weight_grad has the out_arg facet: the compiled backward's GEMM writes the
    weight's .grad (no weight-sized temporary, no copy), equal to the eager gradient; the
    1x1 per-sample route and grouped products too."""
    grads = []
    for hybrid in (False, True):
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Conv2D(4, in_channels=2, use_bias=False, **conv),
                gluon.nn.Activation("relu"), gluon.nn.Conv2D(2, 3, in_channels=4))
        net.initialize()
        for p in net.collect_params().values():
            p.set_data(nd.array(np.random.default_rng(p.shape[0]).uniform(-1, 1, p.shape)))
        if hybrid:
            net.hybridize()
        x = nd.array(np.random.default_rng(1).normal(size=(3, 2, 6, 6)))
        for _ in range(2):
            with autograd.record():
                y = net(x)
            y.backward(nd.ones_like(y))
        grads.append([p.grad().asnumpy() for p in net.collect_params().values()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    entry = list(net._cached_op.entries.values())[-1]
    (train,) = entry.train.values()
    (variant,) = train._into.values()
    lines = [s for s in variant.source.splitlines() if "_conv_weight_grad" in s]
    assert len(lines) == 2 and all("out=o" in s for s in lines), variant.source
    assert "o0[...]" not in variant.source


def _infer(targets, values):
    """Give the nodes of a small symbol graph their avals (as tracing does)."""
    from kiln.ndarray._registry import Aval
    from kiln.symbol.graph import topo_order
    for n in topo_order(targets):
        if n.kind == "var":
            v = values[n.name]
            n.avals = (Aval(v.shape, v.dtype),)


def test_a_pass_that_changes_nothing_keeps_every_node():
    """rewrite compares inputs by node and output index: a no-op pass returns the very same
    nodes (it once copied every node below the inputs in every pass, so optimize could never
    tell that a pass changed nothing)."""
    from kiln import sym
    from kiln.symbol import passes
    from kiln.symbol.graph import topo_order
    x = sym.var("x", shape=(2, 3))
    out = sym.relu(sym.exp(x) * 2.0 + sym.tanh(x))
    targets = [out._entry()]
    again = passes.rewrite(targets, lambda node, inputs: None)
    assert [n for n in topo_order(again)] == [n for n in topo_order(targets)]
    assert all(a is b for a, b in zip(topo_order(again), topo_order(targets)))
    optimized = passes.optimize(targets, np)
    assert passes.optimize(optimized, np)[0][0] is optimized[0][0]


def test_disjoint_stacks_of_gradients_add_into_one_stack():
    """The two self-attention products each give their shared interleaved projection a
    gradient that fills some parts (stack(gq, gk, 0), stack(0, 0, gv)): the compiled backward
    stacks the three parts once instead of writing both with zeros and adding them; the
    gradients equal eager ones."""
    from kiln import sym
    from kiln.symbol import passes
    from kiln.symbol.graph import topo_order

    class SelfAttention(gluon.HybridBlock):
        def hybrid_forward(self, F, qkv):
            att = F.softmax(F.contrib.interleaved_matmul_selfatt_qk(qkv, heads=2))
            return F.contrib.interleaved_matmul_selfatt_valatt(qkv, att, heads=2)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 3, 2 * 3 * 4))
    head = rng.normal(size=(5, 3, 2 * 4))
    grads = []
    for hybrid in (False, True):
        net = SelfAttention()
        if hybrid:
            net.hybridize()
        qkv = nd.array(x, dtype="float64")
        qkv.attach_grad()
        with autograd.record():
            y = net(qkv)
        y.backward(nd.array(head, dtype="float64"))
        grads.append(qkv.grad.asnumpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)
    entry = list(net._cached_op.entries.values())[-1]
    (train,) = entry.train.values()
    assert train.backward.source.count("stack") == 1

    a, b, c = (sym.var(n, shape=(2, 3)) for n in "abc")
    d = sym.var("d", shape=(3, 2))
    lhs = sym.reshape(sym.stack(a, sym.transpose(sym.zeros_like(d)), c, axis=1), shape=(2, 9))
    rhs = sym.reshape(sym.stack(sym.zeros_like(a), b, sym.zeros_like(c), axis=1),
                      shape=(2, 9))
    both = sym.reshape(sym.stack(a, b, sym.zeros_like(c), axis=1), shape=(2, 9))
    for out, stacks in ((lhs + rhs, 1), (lhs + both, 2)):   # c in both: kept as it was
        names = [n.op.name for n in topo_order(passes.optimize([out._entry()], np))
                 if n.kind == "op"]
        assert names.count("stack") == stacks and ("add" in names) == (stacks == 2)


def test_large_relu_backward_in_row_blocks_equals_one_pass():
    """relu's gradient over large arrays runs as row blocks on the cores: the same numbers,
    into a new array, into the gradient's own buffer, and (a strided ``out``) in one pass."""
    from kiln.ndarray.ops import _xp
    rng = np.random.default_rng(9)
    g = rng.normal(size=(1024, 2100)).astype(np.float32)
    y = np.maximum(rng.normal(size=g.shape), 0).astype(np.float32)
    want = g * (y > 0)
    np.testing.assert_array_equal(_xp.relu_backward(np, g, y), want)
    inplace = g.copy()
    assert _xp.relu_backward(np, inplace, y, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, want)
    strided = np.zeros((1024, 4200), np.float32)[:, ::2]
    _xp.relu_backward(np, g, y, out=strided)
    np.testing.assert_array_equal(strided, want)


def test_large_binary_ops_in_row_blocks_equal_one_pass():
    """add/subtract/multiply over large float arrays run as row blocks on the cores (in
    compiled graphs): the same numbers as one ufunc pass, with broadcasting, scalars and
    in-place outputs; other dtypes and mixed dtypes take the plain ufunc."""
    from kiln.ndarray.ops import _xp
    rng = np.random.default_rng(10)
    a = rng.normal(size=(64, 96, 384)).astype(np.float32)
    cases = [rng.normal(size=a.shape).astype(np.float32),
             rng.normal(size=(64, 96, 1)).astype(np.float32),
             rng.normal(size=(1, 96, 384)).astype(np.float32),
             rng.normal(size=(384,)).astype(np.float32), 0.5, 3]
    for ufunc in (np.add, np.subtract, np.multiply):
        for b in cases:
            want = ufunc(a, b)
            got = _xp.binary_rows(np, ufunc, a, b)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(_xp.binary_rows(np, ufunc, b, a), ufunc(b, a))
            inplace = a.copy()
            assert _xp.binary_rows(np, ufunc, inplace, b, out=inplace) is inplace
            np.testing.assert_array_equal(inplace, want)
    mixed = _xp.binary_rows(np, np.add, a, a.astype(np.float64))
    assert mixed.dtype == np.float64
    np.testing.assert_array_equal(mixed, a + a.astype(np.float64))

    class Mul(gluon.HybridBlock):
        def hybrid_forward(self, F, x, y):
            return x * y - y + x
    net = Mul()
    net.hybridize()
    x, y = nd.array(a), nd.array(cases[1])
    np.testing.assert_array_equal(net(x, y).asnumpy(), a * cases[1] - cases[1] + a)
    entry = list(net._cached_op.entries.values())[-1]
    assert "_rows(xp, xp.multiply" in entry._forward.source


@pytest.mark.parametrize("axis", [0, 1, 3, -1, -2])
def test_large_stack_in_row_blocks_equals_numpy(axis):
    """stack of large arrays along an inner axis is written a block of rows per core: the
    same array as numpy's stack, eager and hybridized."""
    rng = np.random.default_rng(13)
    xs = [rng.normal(size=(32, 16, 8, 256)).astype(np.float32) for _ in range(3)]
    want = np.stack(xs, axis=axis)
    np.testing.assert_array_equal(nd.stack(*[nd.array(x) for x in xs], axis=axis).asnumpy(),
                                  want)
    net = Lambda(lambda a, b, c: nd.stack(a, b, c, axis=axis))
    net.hybridize()
    np.testing.assert_array_equal(net(*[nd.array(x) for x in xs]).asnumpy(), want)


@pytest.mark.parametrize("axes", [None, (1, 2, 0, 3), (2, 0, 1, 3), (0, 2, 1, 3)])
def test_large_transpose_in_row_blocks_equals_numpy(axes):
    """A large transpose's copy is written a block of rows per core: numpy's array."""
    x = np.random.default_rng(14).normal(size=(32, 16, 8, 512)).astype(np.float32)
    got = nd.transpose(nd.array(x), axes=axes).asnumpy()
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, np.transpose(x, axes))


def test_large_relu_in_row_blocks_equals_maximum():
    """relu over large arrays runs as row blocks on the cores: bit for bit maximum(x, 0),
    NaN and signed zeros included, into a new array or in place."""
    from kiln.ndarray.ops import _xp
    x = np.random.default_rng(15).normal(size=(512, 4500)).astype(np.float32)
    x[0, :5] = [np.nan, -0.0, 0.0, np.inf, -np.inf]
    want = np.maximum(x, 0)
    got = _xp.relu(np, x)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    inplace = x.copy()
    assert _xp.relu(np, inplace, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, want)
