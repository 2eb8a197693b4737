"""Fuzzing every loader: a mutated valid file loads, or raises ``kiln.FileFormatError``; never
another exception type, and never a large allocation.

A seeded mutator (bit flips, truncation, byte insertion and deletion, length-like fields
overwritten with huge values, protobuf varints made huge) and, for the structured formats, a
mutator that edits the decoded document (symbol JSON nodes and attributes, the states file's
JSON and ``.npy`` headers) run a fixed number of cases per loader. Each case runs under
``tracemalloc``; its peak must stay below ``PEAK_LIMIT`` (the files are a few KB).
"""
import io
import json
import os
import random
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import FileFormatError
from kiln.gluon import SymbolBlock, Trainer, nn

PEAK_LIMIT = 64 << 20
HUGE = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1 << 40, (1 << 63) - 1, 1 << 62, 0xFFFFFFFFFFFFFFFF]


class Mutator:
    """Seeded byte-level mutations of a file's bytes."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def __call__(self, blob):
        b = bytearray(blob)
        for _ in range(self.rng.randint(1, 3)):
            op = self.rng.randrange(7)
            pos = self.rng.randrange(len(b) + 1)
            if op == 0 and b:                        # flip one bit
                b[pos % len(b)] ^= 1 << self.rng.randrange(8)
            elif op == 1:                            # truncate
                del b[pos:]
            elif op == 2:                            # insert random bytes
                b[pos:pos] = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 8)))
            elif op == 3:                            # delete a run
                del b[pos:pos + self.rng.randint(1, 16)]
            elif op == 4:                            # a length-like field made huge
                width = self.rng.choice((4, 8))
                value = self.rng.choice(HUGE) & ((1 << 8 * width) - 1)
                pos -= pos % 4
                b[pos:pos + width] = value.to_bytes(width, "little")
            elif op == 5:                            # a huge protobuf varint
                b[pos:pos + 1] = self.rng.choice((b"\xff\xff\xff\xff\x0f", b"\x80" * 9 + b"\x01",
                                                  b"\xff\xff\xff\xff\xff\xff\xff\x7f"))
            elif b:                                  # an interesting byte
                b[pos % len(b)] = self.rng.choice((0, 0xFF, 0x7F, 0x80, 0x30, 0x39))
        return bytes(b)


def run_cases(load, cases, check_error=None):
    """Run ``load(case)`` for each case; returns the number of cases run. Fails listing the
    cases that raised anything but FileFormatError or allocated more than PEAK_LIMIT."""
    bad = []
    tracemalloc.start()
    try:
        n = 0
        for n, case in enumerate(cases, 1):
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            try:
                load(case)
            except FileFormatError as e:
                if check_error is not None:
                    check_error(e)
            except Exception as e:   # the property under test: no other exception type
                bad.append(f"case {n}: {type(e).__name__}: {str(e)[:200]}")
            peak = tracemalloc.get_traced_memory()[1] - base
            if peak > PEAK_LIMIT:
                bad.append(f"case {n}: peak allocation {peak >> 20} MB")
    finally:
        tracemalloc.stop()
    assert not bad, f"{len(bad)} bad case(s) of {n}:\n" + "\n".join(bad[:10])
    return n


def mutated(blob, count, seed):
    mutate = Mutator(seed)
    return (mutate(blob) for _ in range(count))


# ---- nd.load --------------------------------------------------------------------------------
def _params_file():
    """A dict of dense (float32, int8, 0-d), row_sparse and csr records."""
    from kiln.ndarray.io import save_tobytes
    dense = [save_tobytes([a])[24:-8] for a in (nd.arange(12).reshape((3, 4)),
                                                 nd.ones((5,), dtype="int8"),
                                                 nd.array(np.float32(2.5).reshape(())))]
    # a row_sparse record (storage (2, 2) of dense (6, 2), int64 rows) and a csr record
    rsp = (struct.pack("<Iiiqqiqq", 0xF993FAC9, 1, 2, 2, 2, 2, 6, 2) + struct.pack("<iii", 1, 0, 0)
           + struct.pack("<iiq", 6, 1, 2) + np.arange(4, dtype="<f4").tobytes()
           + np.array([1, 4], "<i8").tobytes())
    csr = (struct.pack("<Iiiqiqq", 0xF993FAC9, 2, 1, 2, 2, 2, 3) + struct.pack("<iii", 1, 0, 0)
           + struct.pack("<iiq", 6, 1, 3) + struct.pack("<iiq", 6, 1, 2)
           + np.array([5, 6], "<f4").tobytes() + np.array([0, 1, 2], "<i8").tobytes()
           + np.array([2, 0], "<i8").tobytes())
    names = b"".join(struct.pack("<Q", len(n)) + n for n in (b"w", b"i", b"s", b"r", b"c"))
    return (struct.pack("<QQQ", 0x112, 0, 5) + b"".join(dense) + rsp + csr
            + struct.pack("<Q", 5) + names)


def test_fuzz_nd_load(tmp_path):
    seed = _params_file()
    assert set(nd.load_frombuffer(seed)) == {"w", "i", "s", "r", "c"}
    n = run_cases(nd.load_frombuffer, mutated(seed, 2200, 1))
    path = tmp_path / "f.params"

    def from_file(blob):
        path.write_bytes(blob)
        return nd.load(str(path))

    n += run_cases(from_file, mutated(seed, 300, 2),
                   check_error=lambda e: e.path == str(path) or pytest.fail(str(e)))
    assert n == 2500


# ---- load_parameters ---------------------------------------------------------------------------
def _net():
    net = nn.HybridSequential()
    net.add(nn.Dense(4, in_units=3), nn.BatchNorm(in_channels=4), nn.Dense(2, in_units=4))
    net.initialize()
    return net


def test_fuzz_load_parameters(tmp_path):
    net = _net()
    path = str(tmp_path / "net.params")
    net.save_parameters(path)
    seed = (tmp_path / "net.params").read_bytes()
    params = list(net.collect_params().values())

    def load(blob):
        (tmp_path / "net.params").write_bytes(blob)
        before = [p.data().asnumpy().copy() for p in params]
        try:
            net.load_parameters(path)
        except FileFormatError:
            for p, b in zip(params, before):   # nothing was written
                np.testing.assert_array_equal(p.data().asnumpy(), b)
            raise
    assert run_cases(load, mutated(seed, 700, 3)) == 700


# ---- SymbolBlock.imports: symbol JSON and params ----------------------------------------------
def _exported(tmp_path):
    net = _net()
    net.hybridize()
    net(nd.ones((2, 3)))
    net.export(str(tmp_path / "model"))
    sym_file, params_file = (str(tmp_path / "model-symbol.json"),
                             str(tmp_path / "model-0000.params"))
    return sym_file, params_file


class JsonMutator:
    """Seeded edits of a decoded symbol JSON document (indices, ops, attributes, keys)."""

    VALUES = [10 ** 9, -1, 0, 1, 2, "", "(", "(3, 3", "None", "relu", None, [], {}, [0, 0],
              [[0, 0, 0]], "FullyConnected", "null", "1e999", "[" * 50, "2" * 5000]

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def __call__(self, text):
        doc = json.loads(text)
        for _ in range(self.rng.randint(1, 3)):
            self._edit(doc)
        return json.dumps(doc)

    # control-flow nodes (``_foreach``, ``_while_loop``, ``_cond``): their location lists,
    # counts and ``subgraphs`` field
    CF_ATTRS = ["in_data_locs", "in_state_locs", "remain_locs", "cond_input_locs",
                "func_input_locs", "func_var_locs", "then_input_locs", "else_input_locs",
                "num_args", "num_outputs", "num_out_data", "max_iterations"]
    LOCS = ["[]", "[0]", "[0, 0]", "[1, 0]", "[99]", "[-1]", "[1e9]", "(0, 1)", "[" * 50,
            "9" * 30, "x", "0", "3", "[0, 1, 2, 3, 4, 5, 6, 7]"]

    def _docs(self, doc):
        """The document and every subgraph document nested in it."""
        found, stack = [], [doc]
        while stack:
            d = stack.pop()
            if not isinstance(d, dict):
                continue
            found.append(d)
            for n in d.get("nodes") if isinstance(d.get("nodes"), list) else ():
                if isinstance(n, dict) and isinstance(n.get("subgraphs"), list):
                    stack += n["subgraphs"]
        return found

    def _edit(self, doc):
        rng = self.rng
        docs = self._docs(doc)
        if len(docs) > 1:   # edit a subgraph as often as the graph holding it
            doc = rng.choice(docs)
        nodes = doc.get("nodes")
        if not isinstance(nodes, list) or not nodes:
            return   # an earlier edit broke the document already
        k = rng.randrange(len(nodes))
        node = nodes[k]
        if not isinstance(node, dict):
            return
        if "subgraphs" in node and rng.random() < 0.5:
            self._edit_control_flow(node)
            return
        what = rng.randrange(7)
        inputs, attrs = node.get("inputs"), node.get("attrs")
        if what == 0 and isinstance(inputs, list) and inputs:   # an input pointing elsewhere
            inputs[rng.randrange(len(inputs))] = [
                rng.choice([k, k + 1, len(nodes) + 3, -2, rng.randrange(len(nodes))]),
                rng.choice([0, 1, 5]), 0]
        elif what == 1:                                # a head pointing elsewhere
            doc["heads"] = [[rng.choice([k, len(nodes), -1]), rng.choice([0, 3]), 0]]
        elif what == 2:                                # another op
            node["op"] = rng.choice(["null", "Activation", "SliceChannel", "Convolution",
                                     "NoSuchOp", "_plus_scalar", "Dropout", 3])
        elif what == 3 and isinstance(attrs, dict) and attrs:   # an attribute value
            attrs[rng.choice(sorted(attrs))] = rng.choice(self.VALUES)
        elif what == 4 and isinstance(attrs, (dict, type(None))):   # an attribute to read
            node["attrs"] = attrs = attrs or {}
            attrs[rng.choice(["num_outputs", "num_hidden", "axis", "__shape__", "kernel",
                              "eps"])] = rng.choice([v for v in self.VALUES if isinstance(v, str)])
        elif what == 5:                                # a missing or mistyped field
            key = rng.choice(["op", "name", "inputs", "attrs"])
            if rng.random() < 0.5:
                node.pop(key, None)
            else:
                node[key] = rng.choice(self.VALUES)
        else:                                          # top-level structure
            key = rng.choice(["nodes", "heads", "arg_nodes", "node_row_ptr"])
            doc[key] = rng.choice([[], None, [k, 10 ** 6], doc.get(key), "x"])


    def _edit_control_flow(self, node):
        rng, subs = self.rng, node.get("subgraphs")
        what = rng.randrange(3)
        if what == 0 and isinstance(node.get("attrs"), dict):   # a location list or count
            node["attrs"][rng.choice(self.CF_ATTRS)] = rng.choice(self.LOCS)
        elif what == 1:                                          # the subgraphs field
            node["subgraphs"] = rng.choice([[], None, "x", [{}], [[]], (subs or [])[:1],
                                            (subs or []) * 2, list(reversed(subs or []))])
        elif isinstance(subs, list) and subs and isinstance(subs[0], dict):  # a subgraph's
            sub = subs[rng.randrange(len(subs))]                            # top level
            if isinstance(sub, dict):
                key = rng.choice(["nodes", "heads", "arg_nodes"])
                sub[key] = rng.choice([[], None, [[0, 0, 0]], [[10 ** 6, 0, 0]], sub.get(key)])


def test_fuzz_symbol_json(tmp_path):
    sym_file, params_file = _exported(tmp_path)
    with open(sym_file, "rb") as f:
        seed = f.read()
    SymbolBlock.imports(sym_file, ["data"], params_file)   # the seed loads
    target = tmp_path / "fuzz-symbol.json"

    def load(blob):
        target.write_bytes(blob)
        SymbolBlock.imports(str(target), ["data"], params_file)

    edit = JsonMutator(4)
    n = run_cases(load, mutated(seed, 300, 5))
    n += run_cases(load, (edit(seed.decode()).encode() for _ in range(600)))
    assert n == 900


@pytest.mark.parametrize("kind", ["foreach", "while_loop", "cond"])
def test_fuzz_symbol_json_control_flow(kind, tmp_path):
    """MXNet 1.9.1's exports with a control-flow node (tests/data): edits reach into the
    subgraphs, their location lists and nesting."""
    base = os.path.join(os.path.dirname(__file__), "data", f"mxnet191_{kind}")
    with open(base + "-symbol.json", "rb") as f:
        seed = f.read()
    names = ["data"] if kind == "cond" else ["data0", "data1"]
    SymbolBlock.imports(base + "-symbol.json", names, base + "-0000.params")   # the seed loads
    target = tmp_path / "fuzz-symbol.json"

    def load(blob):
        target.write_bytes(blob)
        SymbolBlock.imports(str(target), names, base + "-0000.params")

    edit = JsonMutator({"foreach": 11, "while_loop": 12, "cond": 13}[kind])
    n = run_cases(load, mutated(seed, 60, 6))
    n += run_cases(load, (edit(seed.decode()).encode() for _ in range(240)))
    assert n == 300


def test_fuzz_symbolblock_params(tmp_path):
    sym_file, params_file = _exported(tmp_path)
    with open(params_file, "rb") as f:
        seed = f.read()
    target = tmp_path / "fuzz-0000.params"

    def load(blob):
        target.write_bytes(blob)
        SymbolBlock.imports(sym_file, ["data"], str(target))
    assert run_cases(load, mutated(seed, 500, 6)) == 500


# ---- ONNX import --------------------------------------------------------------------------------
def _onnx_seed():
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 2, 3, 3)).astype("f4"), "w"),
             numpy_helper.from_array(np.zeros(4, "f4"), "b"),
             numpy_helper.from_array(np.array([0, -1], np.int64), "shape"),
             numpy_helper.from_array(rng.standard_normal((3, 16)).astype("f4"), "fc_w")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "shape"], ["f"]),
             helper.make_node("Gemm", ["f", "fc_w"], ["g"], transB=1),
             helper.make_node("ReduceMean", ["g"], ["y"], axes=[1], keepdims=1)]
    graph = helper.make_graph(nodes, "fuzz", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 2, 4, 4])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [1, 1])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]
                             ).SerializeToString()


class OnnxMutator:
    """Seeded edits of a decoded ModelProto: tensor dims and data, attributes, node wiring, op
    types, graph inputs and outputs, opsets, and constant-size-changing nodes."""

    OPS = ["Relu", "Expand", "ConstantOfShape", "Tile", "Reshape", "Conv", "Gemm", "Concat",
           "Gather", "Unsqueeze", "Pad", "Slice", "NoSuchOp", "Add", "Constant"]
    INTS = [0, -1, 1, 3, 1 << 20, 1 << 40, (1 << 63) - 1]

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def __call__(self, blob):
        import onnx
        model = onnx.ModelProto()
        model.ParseFromString(blob)
        for _ in range(self.rng.randint(1, 3)):
            self._edit(model)
        return model.SerializeToString()

    def _edit(self, model):
        from onnx import helper, numpy_helper
        rng, g = self.rng, model.graph
        what = rng.randrange(9)
        node = rng.choice(g.node) if len(g.node) else None
        if what == 0 and len(g.initializer):            # a tensor's dims
            t = rng.choice(g.initializer)
            if len(t.dims) and rng.random() < 0.7:
                t.dims[rng.randrange(len(t.dims))] = rng.choice(self.INTS)
            else:
                t.dims.append(rng.choice(self.INTS))
        elif what == 1 and len(g.initializer):          # a tensor's data
            t = rng.choice(g.initializer)
            t.raw_data = t.raw_data[:rng.randrange(len(t.raw_data) + 1)] + \
                bytes(rng.randrange(256) for _ in range(rng.choice((0, 3, 8))))
        elif what == 2 and node is not None and len(node.attribute):   # an attribute
            a = rng.choice(node.attribute)
            if len(a.ints):
                a.ints[rng.randrange(len(a.ints))] = rng.choice(self.INTS)
            else:
                a.i = rng.choice(self.INTS)
        elif what == 3 and node is not None and len(node.input):       # wiring
            names = [o for n in g.node for o in n.output] + ["", "nowhere"]
            node.input[rng.randrange(len(node.input))] = rng.choice(names)
        elif what == 4 and node is not None:            # another op type
            node.op_type = rng.choice(self.OPS)
        elif what == 5:                                 # inputs or outputs removed
            field = g.input if rng.random() < 0.5 else g.output
            if len(field):
                del field[rng.randrange(len(field))]
        elif what == 6:                                 # another opset
            model.opset_import[0].version = rng.choice([1, 7, 13, 17, 18, 10000])
        elif what == 7:                                 # a constant that would grow large
            big = np.array([rng.choice([1 << 12, 1 << 20, 1 << 31]), 1 << 12], np.int64)
            g.initializer.extend([numpy_helper.from_array(np.array([1], np.int64), "one"),
                                  numpy_helper.from_array(big, "big")])
            op = rng.choice(["Expand", "ConstantOfShape", "Tile", "Add", "Concat"])
            ins = {"Expand": ["one", "big"], "ConstantOfShape": ["big"], "Tile": ["one", "big"],
                   "Add": ["one", "big"], "Concat": ["one", "big"]}[op]
            g.node.insert(0, helper.make_node(op, ins, ["grown"], **(
                {"axis": 0} if op == "Concat" else {})))
            if node is not None and len(node.input):
                node.input[0] = "grown"
        elif len(g.input):                              # a graph input's dims
            dims = g.input[0].type.tensor_type.shape.dim
            if len(dims):
                dims[rng.randrange(len(dims))].dim_value = rng.choice(self.INTS[1:])


def test_fuzz_onnx_import():
    from kiln.export.onnx import import_symbol
    seed = _onnx_seed()
    import_symbol(seed)   # the seed loads
    edit = OnnxMutator(10)
    n = run_cases(import_symbol, mutated(seed, 200, 7))
    n += run_cases(import_symbol, (edit(seed) for _ in range(300)))
    assert n == 500


# ---- Trainer.load_states ------------------------------------------------------------------------
def _npz(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _unpack(blob):
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


class StatesMutator:
    """Seeded edits of a states file's members, re-zipped with valid checksums."""

    VALUES = [10 ** 18, -1, 0, 2.5, "x", None, [], {}, {"__nd__": 0}, {"__nd__": 99},
              {"__tuple__": 3}, {"__dict__": [[[], 1]]}, {"__sched__": "FactorScheduler",
                                                         "module": "kiln.optimizer.lr_scheduler",
                                                         "attrs": {"__dict__": []}}]

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.bytes = Mutator(seed + 1)

    def __call__(self, blob):
        members = _unpack(blob)
        name = self.rng.choice(sorted(members))
        if name == "__meta__.npy" and self.rng.random() < 0.7:
            raw = members[name]
            head = raw[:raw.index(b"\n") + 1]
            meta = json.loads(raw[len(head):])
            self._edit(meta)
            text = json.dumps(meta).encode()
            members[name] = _npy_header((len(text),), "|u1") + text
        elif self.rng.random() < 0.5:   # a .npy header declaring another shape or dtype
            data = members[name]
            body = data[data.index(b"\n") + 1:]
            shape = self.rng.choice([(1 << 28,), (-1,), (len(body),), (2, 1 << 40), ()])
            members[name] = _npy_header(shape, self.rng.choice(["<f4", "|u1", "|O", "<i8"])) \
                + body
        else:
            members[name] = self.bytes(members[name])
        return _npz(members)

    def _edit(self, meta):
        rng = self.rng
        target = meta
        path = []
        for _ in range(rng.randint(1, 6)):   # walk down to a random place in the document
            if isinstance(target, dict) and target:
                key = rng.choice(sorted(target))
            elif isinstance(target, list) and target:
                key = rng.randrange(len(target))
            else:
                break
            path.append((target, key))
            target = target[key]
        if path:
            parent, key = path[-1]
            parent[key] = rng.choice(self.VALUES)


def _npy_header(shape, descr):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def _trainer():
    from kiln.lr_scheduler import FactorScheduler
    net = _net()
    trainer = Trainer(net.collect_params(), "adam",
                      {"learning_rate": 0.01, "lr_scheduler": FactorScheduler(step=2)})
    with autograd.record():
        loss = net(nd.ones((2, 3))).sum()
    loss.backward()
    trainer.step(2)
    return net, trainer


def test_fuzz_trainer_load_states(tmp_path):
    net, trainer = _trainer()
    path = str(tmp_path / "t.states")
    trainer.save_states(path)
    seed = (tmp_path / "t.states").read_bytes()

    def load(blob):
        (tmp_path / "t.states").write_bytes(blob)
        before = (trainer._updaters[0].states, trainer.optimizer)
        try:
            trainer.load_states(path)
        except FileFormatError:
            assert (trainer._updaters[0].states, trainer.optimizer) == before   # unchanged
            raise
        with autograd.record():   # what loaded must train
            loss = net(nd.ones((2, 3))).sum()
        loss.backward()
        trainer.step(2)

    edit = StatesMutator(8)
    n = run_cases(load, mutated(seed, 300, 9))
    n += run_cases(load, (edit(seed) for _ in range(300)))
    assert n == 600
