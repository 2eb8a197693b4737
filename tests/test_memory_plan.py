"""The memory/schedule plan of compiled graphs (symbol/memory_plan.py), checked as data: order,
liveness, in-place reuse, persistent static_alloc buffers and how results are returned."""
import numpy as np
from kiln import sym
from kiln.symbol.codegen import compile_graph
from kiln.symbol.memory_plan import Lit, plan_graph


def _x(shape=(2, 3)):
    return sym.var("x", shape=shape)


def _entries(*symbols):
    return [s._entry() for s in symbols]


def _step(plan, op_name):
    steps = [s for s in plan.steps if s.node.kind == "op" and s.node.op.name == op_name]
    assert len(steps) == 1, [s.node.op.name for s in plan.steps]
    return steps[0]


def _reads(step):
    return [v for v in step.ins if isinstance(v, str)]


def _check_liveness(plan):
    """Every dead temporary is defined before, read at its step and never after; every
    temporary that is no result dies exactly once."""
    defined, died = set(), []
    results = {v for _, v in plan.returns}
    for k, step in enumerate(plan.steps):
        for v in step.dead:
            assert v in defined and v in _reads(step), (v, k)
            assert all(v not in _reads(later) for later in plan.steps[k + 1:]), v
        died += step.dead
        defined.update(o for o in step.outs if o.startswith("t"))
    assert sorted(died) == sorted(defined - results)


def test_temporaries_die_at_their_last_use():
    x = _x()
    a = sym.exp(x)
    b = sym.tanh(a)
    out = b * a + sym.relu(b)       # a's last use is the product, b's the relu
    plan = plan_graph(_entries(x), _entries(out))
    _check_liveness(plan)
    assert plan.order[0].op.name == "exp"
    assert _step(plan, "multiply").dead == [_step(plan, "exp").outs[0]]
    assert _step(plan, "tanh").dead == []


def test_an_input_is_overwritten_only_at_its_last_use():
    x = _x()
    a = sym.exp(x)
    b = sym.tanh(a)                 # a is still read by the product: no in-place
    out = b * a                     # b dies here: the product is built in b's buffer
    plan = plan_graph(_entries(x), _entries(out))
    assert _step(plan, "tanh").dest is None
    mul = _step(plan, "multiply")
    assert mul.dest == ("inplace", _step(plan, "tanh").outs[0])
    assert mul.dest[1] in mul.dead
    assert _step(plan, "exp").dest is None     # x is the caller's array: never overwritten


def test_results_and_their_views_are_never_overwritten():
    x = _x()
    e = sym.exp(x)
    view = sym.reshape(e, shape=(6,))          # a view of a result
    out = sym.tanh(view)                       # the view dies here, but it is not fresh
    plan = plan_graph(_entries(x), _entries(e, out))
    assert _step(plan, "reshape").dest is None
    assert _step(plan, "tanh").dest is None
    assert all(_step(plan, "exp").outs[0] not in s.dead for s in plan.steps)
    _check_liveness(plan)
    assert [how for how, _ in plan.returns] == ["owned", "owned"]


def test_mismatched_shapes_are_not_reused():
    x, w = _x((4, 3)), sym.var("w", shape=(3, 3))
    a = sym.exp(x)
    out = sym.dot(a, w)                        # a dies, but dot reads while it writes
    plan = plan_graph(_entries(x, w), _entries(sym.sum(out, axis=1)))
    assert _step(plan, "dot").dest is None
    assert _step(plan, "sum").dest is None


def test_static_alloc_keeps_intermediates_in_persistent_buffers():
    x = _x()
    a = sym.exp(x)
    b = sym.tanh(a)
    soft = sym.softmax(b)                      # a kernel reading a static buffer
    plan = plan_graph(_entries(x), _entries(soft, a, a * 2.0), static_alloc=True)
    exp, tanh = _step(plan, "exp"), _step(plan, "tanh")
    assert exp.dest is None                    # a is a result: it never lives in a buffer
    assert tanh.dest == ("static", f"_buf{tanh.node.id}")
    assert set(plan.buffers) == {tanh.dest[1]}
    aval = plan.buffers[tanh.dest[1]]
    assert tuple(aval.shape) == (2, 3) and np.dtype(aval.dtype) == np.float32
    assert tanh.outs[0] in plan.static and _step(plan, "softmax").outs[0] in plan.static
    assert [how for how, _ in plan.returns] == ["check", "owned", "owned"]  # softmax: a view?
    mul = _step(plan, "multiply")
    assert isinstance(mul.ins[1], Lit) and mul.ins[1].value == 2.0
    assert plan_graph(_entries(x), _entries(soft)).buffers == {}


def test_static_result_is_not_built_in_a_dying_static_buffer():
    x = _x()
    a = sym.exp(x)
    out = sym.tanh(sym.tanh(a))
    plan = plan_graph(_entries(x), _entries(out), static_alloc=True)
    inner, outer = [s for s in plan.steps if s.node.kind == "op" and s.node.op.name == "tanh"]
    assert inner.dest == ("inplace", _step(plan, "exp").outs[0])  # into a's static buffer
    assert outer.dest is None                  # the result must own its memory
    assert plan.returns == [("owned", outer.outs[0])]


def test_arguments_returned_are_copied_and_caller_buffers_are_written():
    x, w = _x((4, 3)), sym.var("w", shape=(3, 2))
    prod = sym.dot(x, w)
    plan = plan_graph(_entries(x, w), _entries(prod, x), out_mask=(True, False))
    assert _step(plan, "dot").dest == ("caller", "o0")
    assert plan.copies == [] and plan.returns == [("caller", "o0"), ("copy", "a0")]


def test_backward_order_computes_the_last_target_first():
    x, y = _x(), sym.var("y", shape=(2, 3))
    first, last = sym.exp(x), sym.tanh(y)
    plan = plan_graph(_entries(x, y), _entries(first, last), last_target_first=True)
    assert [n.op.name for n in plan.order] == ["tanh", "exp"]
    plan = plan_graph(_entries(x, y), _entries(first, last))
    assert [n.op.name for n in plan.order] == ["exp", "tanh"]


def test_the_emitted_function_follows_the_plan():
    x = _x()
    a = sym.exp(x)
    out = sym.tanh(a) * a
    compiled = compile_graph(_entries(x), _entries(out))
    plan = plan_graph(_entries(x), _entries(out))
    for step in plan.steps:
        if step.dead:
            assert f"del {', '.join(step.dead)}" in compiled.source
    v = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
    np.testing.assert_allclose(compiled(np, v)[0], np.tanh(np.exp(v)) * np.exp(v), rtol=1e-6)


def _static_aliases(plan):
    """Per step: the buffer each static variable lives in (recomputed from the plan alone)."""
    from kiln.symbol import fastpath
    buf_of = {}
    for step in plan.steps:
        if step.node.kind != "op":
            continue
        if step.dest is not None and step.dest[0] == "static":
            buf_of[step.outs[0]] = {step.dest[1]}
        elif step.dest is not None and step.dest[0] == "inplace":
            buf_of[step.outs[0]] = set(buf_of.get(step.dest[1], ()))
        elif step.fast is None or step.node.op.name in fastpath.VIEWS:
            viewed = set().union(*(buf_of.get(v, set()) for v in _reads(step)))
            for o in step.outs:
                buf_of[o] = set(viewed)
    return buf_of


def test_static_buffers_are_shared_only_between_disjoint_lifetimes():
    x = _x((4, 5))
    a = sym.exp(x)
    b = sym.tanh(a)
    c = sym.sin(b) + a                     # a lives across b and c
    d = sym.cos(sym.reshape(c, (5, 4)))    # a view of c's buffer, then another shape
    e = sym.exp(sym.sigmoid(sym.reshape(d, (4, 5)))) * b
    out = sym.softmax(e) + sym.sum(e, axis=1, keepdims=True)
    plan = plan_graph(_entries(x), _entries(out), static_alloc=True)
    _check_liveness(plan)
    writes = [s for s in plan.steps if s.dest is not None and s.dest[0] == "static"]
    assert len(plan.buffers) < len(writes), "no buffer was reused"
    buf_of = _static_aliases(plan)
    live = {}
    for k, step in enumerate(plan.steps):
        if step.dest is not None and step.dest[0] == "static":
            readers = [v for v, b in buf_of.items() if step.dest[1] in b and v in live]
            later = {v for s in plan.steps[k:] for v in _reads(s)}
            assert not (set(readers) & later), (step.node.name, readers)
        for o in step.outs:
            live[o] = k
        for v in step.dead:
            live.pop(v, None)
    static = compile_graph(_entries(x), _entries(out), static_xp=np)
    plain = compile_graph(_entries(x), _entries(out))
    for seed in range(2):  # the second call runs over the buffers the first left behind
        xs = np.random.default_rng(seed).standard_normal((4, 5)).astype(np.float32)
        np.testing.assert_array_equal(static(np, xs)[0], plain(np, xs)[0])


def test_peak_temporaries_replays_the_plan():
    x = _x((4, 5))                          # float32: 80 bytes per (4, 5) array
    a = sym.exp(x)                          # new: 80
    b = sym.tanh(a)                         # into a's buffer (a dies here): still 80
    out = sym.sum(b * sym.sin(b), axis=1)   # sin: +80, the product into sin's: 160; sum +16
    plan = plan_graph(_entries(x), _entries(out))
    assert plan.peak_temporaries == 160
    assert plan.static_bytes == 0
    static = plan_graph(_entries(x), _entries(out), static_alloc=True)
    assert static.static_bytes == 80 * len(static.buffers) and static.buffers
    compiled = compile_graph(_entries(x), _entries(out))
    assert compiled.peak_temporaries == 160


def test_block_reports_each_compiled_functions_memory():
    from kiln import autograd, gluon, nd
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(4))
    net.initialize()
    x = nd.ones((8, 10))
    net(x)
    net.hybridize(static_alloc=True)
    net(x)
    with autograd.record():
        y = net(x)
    y.backward()
    report = dict((name, (peak, static)) for name, peak, static in net.memory_plan())
    assert set(report) == {"forward", "forward_train", "backward"}
    assert report["forward"][0] + report["forward"][1] >= 8 * 16 * 4  # the hidden layer
    assert all(peak >= 0 and static >= 0 for peak, static in report.values())


def test_results_are_copied_only_when_they_view_a_persistent_buffer():
    from kiln.symbol.codegen import _owner_check
    buf = np.zeros((4, 6), np.float32)
    own = _owner_check({id(buf)})
    fresh = np.ones((4, 6), np.float32)
    for a in (fresh, fresh.reshape(24), fresh.T, fresh[1:3]):
        assert own(a) is a                      # the caller may keep it: nobody reuses it
    for a in (buf, buf.reshape(24), buf[1:], buf.reshape(2, 12).T):
        got = own(a)
        assert got is not a and not np.shares_memory(got, buf)
        np.testing.assert_array_equal(got, a)
