"""MXNet symbol JSON for control-flow nodes (``_foreach``, ``_while_loop``, ``_cond``).

kiln reads the files MXNet 1.9.1 exports (fixtures in tests/data, written by
``tests/data/mxnet191_foreach_gen.py``), its own exports round-trip, corrupt subgraphs raise
``FileFormatError``, and, when an MXNet 1.9.1 interpreter is present (see
tests/test_mxnet_interop.py), MXNet loads kiln's exports and computes the same outputs.
"""
import copy
import json
import os
import subprocess
import textwrap

import kiln as kl
import numpy as np
import pytest
from _control_flow_blocks import make_blocks
from kiln import nd
from kiln.base import ExportError, FileFormatError
from kiln.gluon import HybridBlock, SymbolBlock, nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(
    os.path.dirname(HERE), ".mxnet-venv", "bin", "python")
ITERATIONS = 3   # the while_loop fixtures stop after 3 of their 5 iterations


Foreach, While, Cond = make_blocks(HybridBlock, nn)


class Nested(HybridBlock):
    """A foreach inside a foreach, with a graph constant in the inner body and a state that
    passes through unchanged (a subgraph head that is an input)."""

    def hybrid_forward(self, F, x, s):
        bias = nd.array([0.5, -1.0])

        def inner(e, t):
            return e * t + bias, t + e

        def outer(d, st):
            o, t = F.contrib.foreach(inner, d, st[0])
            return o * 2, [t, st[1]]
        outs, st = F.contrib.foreach(outer, x, [s, s * 3])
        return outs, st[0], st[1]


def _x3():
    return nd.array(np.arange(6).reshape(2, 3) / 10 - 0.2)


def _cases():
    rng = np.random.RandomState(0)
    return [("foreach", Foreach(prefix="fe_"), [nd.array(rng.uniform(size=(4, 2, 2))),
                                                nd.ones((2, 3))]),
            ("while_loop", While(prefix="wl_"), [_x3(), nd.array([3])]),
            ("cond", Cond(prefix="cd_"), [_x3()]),
            ("cond_else", Cond(prefix="cd_"), [-_x3()]),
            ("nested", Nested(prefix="ne_"), [nd.array(rng.uniform(size=(3, 4, 2))),
                                              nd.array([1.0, 2.0])])]


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _ops(doc):
    """Op names, MXNet's same-shape and broadcast spellings read alike (``elemwise_add``,
    ``_lesser``, ``broadcast_lesser``: a loaded graph has no shapes to tell them apart, and
    MXNet accepts either)."""
    return [n["op"].replace("elemwise_", "").replace("broadcast_", "").lstrip("_")
            for n in doc["nodes"]]


def _names(n):
    return ["data"] if n == 1 else [f"data{k}" for k in range(n)]


def _outs(res):
    return [o.asnumpy() for o in (res if isinstance(res, (list, tuple)) else [res])]


def _close(got, ref, while_rows=False):
    assert len(got) == len(ref)
    for k, (g, r) in enumerate(zip(got, ref)):
        if while_rows and k == 0:   # MXNet leaves rows past the last iteration uninitialised
            g, r = g[:ITERATIONS], r[:ITERATIONS]
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["foreach", "while_loop", "cond"])
@pytest.mark.parametrize("hybrid", [False, True])
def test_kiln_loads_mxnet_export(kind, hybrid):
    base = os.path.join(DATA, f"mxnet191_{kind}")
    io = nd.load(base + "-io.params")
    n_in = len([k for k in io if k.startswith("in") and not k.endswith("_neg")])
    net = SymbolBlock.imports(base + "-symbol.json", _names(n_in), base + "-0000.params")
    if hybrid:
        net.hybridize()
    got = _outs(net(*[io[f"in{k}"] for k in range(n_in)]))
    ref = [io[f"out{k}"].asnumpy() for k in range(len(got))]
    _close(got, ref, while_rows=kind == "while_loop")
    if kind == "cond":   # the other branch
        _close(_outs(net(io["in0_neg"])), [io["out0_neg"].asnumpy()])


@pytest.mark.parametrize("kind", ["foreach", "while_loop", "cond"])
@pytest.mark.parametrize("hybrid", [False, True])
def test_gradients_through_loaded_subgraphs(kind, hybrid):
    """Training an imported graph: the loaded subgraphs are differentiated (specialized to the
    inputs' shapes), giving MXNet's gradients of the sum of the outputs' squares."""
    base = os.path.join(DATA, f"mxnet191_{kind}")
    io = nd.load(base + "-io.params")
    n_in = len([k for k in io if k.startswith("grad_in")])
    net = SymbolBlock.imports(base + "-symbol.json", _names(n_in), base + "-0000.params")
    if hybrid:
        net.hybridize()
    args = [io[f"in{k}"].copy() for k in range(n_in)]
    for a in args:
        a.attach_grad()
    with kl.autograd.record():
        outs = net(*args)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        if kind == "while_loop":
            outs[0] = outs[0][:ITERATIONS]
        loss = sum((o ** 2).sum() for o in outs)
    loss.backward()
    for k, a in enumerate(args):
        np.testing.assert_allclose(a.grad.asnumpy(), io[f"grad_in{k}"].asnumpy(), rtol=1e-4,
                                   atol=1e-5)
    params = {p.name: p for p in net.collect_params().values()}
    grads = {k[len("grad:"):]: v for k, v in io.items() if k.startswith("grad:")}
    assert grads and set(grads) <= set(params)
    for name, g in grads.items():
        np.testing.assert_allclose(params[name].grad().asnumpy(), g.asnumpy(), rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("kind", ["foreach", "while_loop", "cond"])
def test_mxnet_export_converts_to_onnx(kind, tmp_path):
    """MXNet's file -> kiln -> ONNX: the loaded subgraphs, shaped by the trace, lower to
    Scan/Loop/If and onnxruntime gives MXNet's outputs."""
    ort = pytest.importorskip("onnxruntime")
    base = os.path.join(DATA, f"mxnet191_{kind}")
    io = nd.load(base + "-io.params")
    n_in = len([k for k in io if k.startswith("grad_in")])
    args = [io[f"in{k}"] for k in range(n_in)]
    net = SymbolBlock.imports(base + "-symbol.json", _names(n_in), base + "-0000.params")
    net.hybridize()
    net(*args)
    path = str(tmp_path / f"{kind}.onnx")
    net.export_onnx(path, *args)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {i.name: a.asnumpy() for i, a in zip(sess.get_inputs(), args)}
    got = sess.run(None, feed)
    _close(got, [io[f"out{k}"].asnumpy() for k in range(len(got))],
           while_rows=kind == "while_loop")


@pytest.mark.parametrize("kind", ["foreach", "while_loop", "cond"])
def test_mxnet_json_round_trips_through_kiln(kind):
    """sym.load_json then tojson writes MXNet's node again: same op, locations and subgraph
    ops (names of subgraph inputs may differ)."""
    doc = _fixture_doc(kind)
    again = json.loads(kl.sym.load_json(json.dumps(doc)).tojson())
    mine, theirs = _cf_node(again), _cf_node(doc)
    assert mine["op"] == theirs["op"]
    assert mine["attrs"] == theirs["attrs"]
    assert list(map(_ops, mine["subgraphs"])) == list(map(_ops, theirs["subgraphs"]))


def _export(net, args, tmp_path, name):
    net.initialize(kl.init.Uniform(0.5))
    net.hybridize()
    ref = _outs(net(*args))
    path = str(tmp_path / name)
    net.export(path)
    return path, ref


@pytest.mark.parametrize("case", range(5))
def test_kiln_export_round_trip(case, tmp_path):
    name, net, args = _cases()[case]
    path, ref = _export(net, args, tmp_path, name)
    doc = _read_json(path + "-symbol.json")
    assert any("subgraphs" in n for n in doc["nodes"])
    back = SymbolBlock.imports(path + "-symbol.json", _names(len(args)), path + "-0000.params")
    _close(_outs(back(*args)), ref)
    back.hybridize()
    _close(_outs(back(*args)), ref)
    # and the imported graph writes the same document again
    again = SymbolBlock.imports(path + "-symbol.json", _names(len(args)), path + "-0000.params")
    again.hybridize()
    again(*args)
    again.export(str(tmp_path / "again"))
    doc2 = _read_json(str(tmp_path / "again") + "-symbol.json")
    assert _ops(doc2) == _ops(doc)


def test_nested_constant_is_lifted(tmp_path):
    name, net, args = _cases()[4]
    path, _ = _export(net, args, tmp_path, name)
    doc = _read_json(path + "-symbol.json")
    outer = [n for n in doc["nodes"] if n["op"] == "_foreach"][0]
    inner = [n for n in outer["subgraphs"][0]["nodes"] if n["op"] == "_foreach"][0]
    names = [doc["nodes"][i]["name"] for i, _, _ in outer["inputs"]]
    assert "_const0" in names                       # a variable of the top graph ...
    assert "_const0" in nd.load(path + "-0000.params") or \
        "arg:_const0" in nd.load(path + "-0000.params")  # ... whose value is a parameter
    head_nodes = {h[0] for h in inner["subgraphs"][0]["heads"]}
    assert all(inner["subgraphs"][0]["nodes"][k]["op"] != "null" for k in head_nodes)


def test_unused_loop_input_raises_export_error(tmp_path):
    class Ignores(HybridBlock):
        def hybrid_forward(self, F, x, h):
            return F.contrib.foreach(lambda d, s: (s[0] + 1, [s[0] * 2]), x, [h])

    net = Ignores(prefix="ig_")
    net.hybridize()
    net(nd.ones((3, 2)), nd.ones((2,)))
    with pytest.raises(ExportError, match="_foreach node .*data array 0 is not used"):
        net.export(str(tmp_path / "ig"))
    assert not os.path.exists(str(tmp_path / "ig-symbol.json"))


# ---- corrupt files ------------------------------------------------------------------------------
def _fixture_doc(kind):
    return _read_json(os.path.join(DATA, f"mxnet191_{kind}-symbol.json"))


def _cf_node(doc):
    return next(n for n in doc["nodes"] if "subgraphs" in n)


def _set(path, value):
    def edit(doc):
        obj = _cf_node(doc)
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
    return edit


CORRUPT = [
    ("foreach", _set(("attrs", "in_data_locs"), "[7]"), "name each subgraph input once"),
    ("foreach", _set(("attrs", "remain_locs"), "[1, 1]"), "name each subgraph input once"),
    ("foreach", _set(("attrs", "in_state_locs"), "[3, x]"), "not a list of non-negative"),
    ("foreach", _set(("attrs", "in_state_locs"), "[3, \u00b2]"), "not a list of non-negative"),
    ("foreach", _set(("attrs", "remain_locs"), "[" + "9" * 5000 + "]"), "not a list of non-neg"),
    ("foreach", _set(("attrs", "num_outputs"), "\u0663"), "must be a non-negative integer"),
    ("foreach", _set(("attrs", "num_out_data"), "2"), "do not fit"),
    ("foreach", _set(("attrs", "num_args"), "9"), "num_args=9"),
    ("foreach", _set(("subgraphs",), []), "needs a 'subgraphs' list"),
    ("foreach", _set(("subgraphs",), "x"), "needs a 'subgraphs' list"),
    ("foreach", _set(("subgraphs", 0, "heads"), [[40, 0, 0]]), "not an earlier node"),
    ("foreach", _set(("subgraphs", 0, "heads"), []), "no heads"),
    ("foreach", _set(("subgraphs", 0, "nodes", 3, "inputs"), [[5, 0, 0]]), "not an earlier"),
    ("foreach", _set(("subgraphs", 0, "nodes", 3, "op"), "NoSuchOp"), "NoSuchOp"),
    ("foreach", _set(("subgraphs", 0, "nodes"), None), "'nodes' and 'heads' lists"),
    ("foreach", _set(("inputs",), [[0, 0, 0]]), "inputs"),
    ("while_loop", _set(("attrs", "func_var_locs"), "[9, 0]"), "do not exist"),
    ("while_loop", _set(("attrs", "func_var_locs"), "[0, 0]"), "distinct"),
    ("while_loop", _set(("attrs", "cond_input_locs"), "[0]"), "one node input per"),
    ("while_loop", _set(("attrs", "func_input_locs"), "[2, 3, 4, 12]"), "does not exist"),
    ("while_loop", _set(("attrs", "max_iterations"), "-1"), "max_iterations"),
    ("while_loop", _set(("attrs", "max_iterations"), "4294967296"), "not an int32"),
    ("while_loop", _set(("subgraphs", 0, "heads"), [[0, 0, 0], [1, 0, 0]]), "one head"),
    ("cond", _set(("attrs", "then_input_locs"), "[1, 2]"), "one existing node input"),
    ("cond", _set(("attrs", "else_input_locs"), "[8]"), "one existing node input"),
    ("cond", _set(("attrs", "num_outputs"), "2"), "num_outputs=2"),
    ("cond", _set(("subgraphs", 2, "heads"), [[0, 0, 0], [0, 0, 0]]), "same number"),
]


@pytest.mark.parametrize("k", range(len(CORRUPT)))
def test_corrupt_subgraph_raises(k, tmp_path):
    kind, edit, message = CORRUPT[k]
    doc = _fixture_doc(kind)
    edit(doc)
    target = tmp_path / "bad-symbol.json"
    target.write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match=message) as info:
        kl.sym.load(str(target))
    assert "bad-symbol.json" in str(info.value)
    assert repr(_cf_node(doc)["name"]) in str(info.value)   # the node is named


def test_nesting_depth_is_bounded(tmp_path):
    doc = _fixture_doc("foreach")
    node = _cf_node(doc)
    for _ in range(40):   # each level: a foreach whose body is the previous level's node
        inner = copy.deepcopy(node)
        inner["inputs"] = [[k, 0, 0] for k in range(5)]
        node["subgraphs"] = [{"nodes": [{"op": "null", "name": f"v{k}", "inputs": []}
                                        for k in range(5)] + [inner],
                              "arg_nodes": list(range(5)), "heads": [[5, k, 0] for k in range(3)]}]
    target = tmp_path / "deep-symbol.json"
    target.write_text(json.dumps(doc))
    with pytest.raises(FileFormatError, match="nested deeper than"):
        kl.sym.load(str(target))


# ---- MXNet 1.9.1 loads kiln's exports ----------------------------------------------------------
@pytest.mark.skipif(not os.path.exists(MX_PYTHON), reason="no MXNet 1.9.1 interpreter")
def test_mxnet_loads_kiln_export(tmp_path):
    expected = {}
    for name, net, args in _cases():
        path, ref = _export(net, args, tmp_path, name)
        nd.save(path + "-io.params", {**{f"in{k}": a for k, a in enumerate(args)},
                                      **{f"out{k}": nd.array(r) for k, r in enumerate(ref)}})
        expected[name] = len(args)
    code = f"""
        import warnings; warnings.simplefilter("ignore")
        import mxnet as mx, numpy as np
        for name, n_in in {sorted(expected.items())!r}:
            io = mx.nd.load(name + "-io.params")
            ins = ["data"] if n_in == 1 else ["data%d" % k for k in range(n_in)]
            net = mx.gluon.SymbolBlock.imports(name + "-symbol.json", ins, name + "-0000.params")
            outs = net(*[io["in%d" % k] for k in range(n_in)])
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            for k, o in enumerate(outs):
                o, r = o.asnumpy(), io["out%d" % k].asnumpy()
                if name == "while_loop" and k == 0:
                    o, r = o[:{ITERATIONS}], r[:{ITERATIONS}]
                np.testing.assert_allclose(o, r, rtol=1e-5, atol=1e-6)
            print(name, len(outs))
    """
    proc = subprocess.run([MX_PYTHON, "-c", textwrap.dedent(code)], cwd=tmp_path, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(proc.stdout.split()[::2]) == sorted(expected)
