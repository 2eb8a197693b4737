"""Every loader raises ``kiln.FileFormatError`` on a bad file, checks declared sizes before it
allocates, and validates structure before it changes anything (regression tests)."""
import struct
import tracemalloc

import numpy as np
import pytest
from kiln import nd
from kiln.base import FileFormatError, MXNetError

MB = 1 << 20


def peak_bytes(fn, *args, **kwargs):
    """(result or raised exception, peak bytes traced by tracemalloc while ``fn`` ran)."""
    tracemalloc.start()
    try:
        try:
            out = fn(*args, **kwargs)
        except Exception as e:   # returned so the caller can check its type
            out = e
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- nd.load ----------------------------------------------------------------------------------
def _params_blob(*records, names=()):
    blob = struct.pack("<QQQ", 0x112, 0, len(records)) + b"".join(records)
    blob += struct.pack("<Q", len(names))
    for n in names:
        blob += struct.pack("<Q", len(n)) + n.encode()
    return blob


def _row_sparse(dense_shape, rows, values):
    """A V2 row_sparse record (float32 values, int64 row ids)."""
    values = np.asarray(values, "<f4")
    sshape = values.shape
    rec = struct.pack(f"<Iii{len(sshape)}q", 0xF993FAC9, 1, len(sshape), *sshape)
    rec += struct.pack(f"<i{len(dense_shape)}q", len(dense_shape), *dense_shape)
    rec += struct.pack("<iii", 1, 0, 0) + struct.pack("<iiq", 6, 1, len(rows))
    return rec + values.tobytes() + np.asarray(rows, "<i8").tobytes()


def test_sparse_record_cannot_allocate_a_huge_dense_array(tmp_path):
    # sparse records load sparse (nd.sparse): only the stored rows are allocated
    path = tmp_path / "tiny.params"
    path.write_bytes(_params_blob(_row_sparse((1 << 28, 1), [], np.zeros((0, 1)))))
    assert path.stat().st_size < 200
    out, peak = peak_bytes(nd.load, str(path))
    assert out[0].stype == "row_sparse" and out[0].shape == (1 << 28, 1), out
    assert peak < 16 * MB
    out, peak = peak_bytes(nd.load_frombuffer, path.read_bytes())
    assert out[0].indices.shape == (0,) and peak < 16 * MB


def test_small_sparse_records_still_load():
    blob = _params_blob(_row_sparse((5, 2), [4], [[1.0, 2.0]]), names=("w",))
    np.testing.assert_array_equal(nd.load_frombuffer(blob)["w"].asnumpy()[4], [1.0, 2.0])


@pytest.mark.parametrize("rows", [[7], [-1]])
def test_sparse_row_index_out_of_range(rows):
    with pytest.raises(FileFormatError, match="row index out of range"):
        nd.load_frombuffer(_params_blob(_row_sparse((5, 2), rows, [[1.0, 2.0]])))


def test_sparse_storage_must_fit_the_shape():
    with pytest.raises(FileFormatError, match="do not fit shape"):
        nd.load_frombuffer(_params_blob(_row_sparse((5, 3), [1], [[1.0, 2.0]])))


def test_csr_indptr_cannot_declare_huge_row_lengths():
    # 1 row, 1 column, indptr [0, 2**40] for 1 stored value: numpy's repeat would allocate 8 TB
    rec = struct.pack("<Iiiqiqq", 0xF993FAC9, 2, 1, 1, 2, 1, 1) + struct.pack("<iii", 1, 0, 0)
    rec += struct.pack("<iiq", 6, 1, 2) + struct.pack("<iiq", 6, 1, 1)
    rec += np.array([5], "<f4").tobytes() + np.array([0, 1 << 40], "<i8").tobytes()
    rec += np.array([0], "<i8").tobytes()
    out, peak = peak_bytes(nd.load_frombuffer, _params_blob(rec))
    assert isinstance(out, FileFormatError) and "indptr" in str(out), out
    assert peak < 16 * MB


def test_huge_dims_are_clear_errors_not_numpy_errors():
    rec = struct.pack("<Iiiqqiii", 0xF993FAC9, 0, 2, 1 << 20, 1 << 20, 1, 0, 0)
    with pytest.raises(FileFormatError, match="truncated"):
        nd.load_frombuffer(_params_blob(rec))
    rec = struct.pack("<Iiiqqiii", 0xF993FAC9, 0, 2, 1 << 32, 1 << 32, 1, 0, 0)   # > int64
    with pytest.raises(FileFormatError, match="too large"):
        nd.load_frombuffer(_params_blob(rec))
    rec = struct.pack("<Iiiqqiii", 0xF993FAC9, 0, 2, 1 << 62, 0, 1, 0, 0)   # zero-size, huge dim
    with pytest.raises(FileFormatError, match="bad dimension"):
        nd.load_frombuffer(_params_blob(rec))
    rec = struct.pack("<Iiiqqqiii", 0xF993FAC9, 0, 3, 0, 1 << 40, 1 << 40, 1, 0, 0)
    with pytest.raises(FileFormatError, match="too large"):   # numpy's 'array is too big'
        nd.load_frombuffer(_params_blob(rec))


def test_ndarray_format_error_is_the_kiln_error_class():
    from kiln.ndarray.io import NDArrayFormatError
    assert issubclass(NDArrayFormatError, FileFormatError)
    with pytest.raises(FileFormatError) as ei:
        nd.load_frombuffer(b"\x00" * 7)
    assert ei.value.path == "<buffer>" and isinstance(ei.value, MXNetError)


# ---- symbol JSON ----------------------------------------------------------------------------
def _graph():
    """x -> FullyConnected(w, b) -> relu, as MXNet 1.x writes it."""
    return {"nodes": [{"op": "null", "name": "x", "inputs": []},
                      {"op": "null", "name": "w", "inputs": []},
                      {"op": "null", "name": "b", "inputs": []},
                      {"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "2"},
                       "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
                      {"op": "Activation", "name": "act", "attrs": {"act_type": "relu"},
                       "inputs": [[3, 0, 0]]}],
            "arg_nodes": [0, 1, 2], "node_row_ptr": [0, 1, 2, 3, 4, 5], "heads": [[4, 0, 0]],
            "attrs": {"mxnet_version": ["int", 10901]}}


def _json_error(doc):
    import json

    from kiln import sym
    with pytest.raises(FileFormatError) as ei:
        sym.load_json(json.dumps(doc))
    return str(ei.value)


def test_valid_graph_json_loads():
    import json

    from kiln import sym
    assert sym.load_json(json.dumps(_graph())).list_inputs() == ["x", "w", "b"]


@pytest.mark.parametrize("ref,match", [([4, 0, 0], "not an earlier node"),      # reads itself
                                       ([9, 0, 0], "not an earlier node"),      # missing node
                                       ([-1, 0, 0], "not an earlier node"),
                                       ([3, 5, 0], "output 5 of node 3"),
                                       ([3], "not \\[node, output, version\\]")])
def test_graph_inputs_must_point_to_earlier_nodes(ref, match):
    doc = _graph()
    doc["nodes"][4]["inputs"] = [ref]
    assert __import__("re").search(match, _json_error(doc))


def test_graph_heads_arg_nodes_and_fields_are_checked():
    doc = _graph()
    doc["heads"] = [[7, 0, 0]]
    assert "head 0" in _json_error(doc)
    doc = _graph()
    doc["arg_nodes"] = [3]
    assert "arg_nodes" in _json_error(doc)
    doc = _graph()
    del doc["nodes"][3]["op"]
    assert "'op' and 'name'" in _json_error(doc)
    doc = _graph()
    doc["nodes"][0]["inputs"] = [[1, 0, 0]]
    assert "variable but has inputs" in _json_error(doc)
    doc = _graph()
    doc["nodes"][3]["op"] = "NoSuchOp"
    assert "NoSuchOp" in _json_error(doc)


@pytest.mark.parametrize("attrs,match", [({"num_hidden": "(2"}, "num_hidden='\\(2'"),
                                         ({"num_hidden": "2", "flatten": "maybe"}, "flatten"),
                                         ({}, "needs attribute")])
def test_graph_attributes_must_parse(attrs, match):
    doc = _graph()
    doc["nodes"][3]["attrs"] = attrs
    assert __import__("re").search(match, _json_error(doc))


def test_graph_node_cannot_declare_a_huge_output_count():
    doc = _graph()
    doc["nodes"][4] = {"op": "SliceChannel", "name": "s", "inputs": [[3, 0, 0]],
                       "attrs": {"num_outputs": str(10 ** 6)}}
    out, peak = peak_bytes(_json_error, doc)
    assert "outputs" in out and peak < 16 * MB


def test_binary_symbol_file_names_the_path(tmp_path):
    from kiln import sym
    from kiln.gluon import SymbolBlock
    path = tmp_path / "net-symbol.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    for load in (lambda: sym.load(str(path)), lambda: SymbolBlock.imports(str(path), ["x"])):
        with pytest.raises(FileFormatError, match="net-symbol.json.*utf-8") as ei:
            load()
        assert ei.value.path == str(path)


# ---- load_parameters ----------------------------------------------------------------------------
def _dense_net():
    from kiln.gluon import nn
    net = nn.HybridSequential()
    net.add(nn.Dense(2, in_units=3), nn.Dense(4, in_units=2))
    net.initialize()
    return net


def test_load_parameters_checks_every_key_before_writing(tmp_path):
    net = _dense_net()
    path = str(tmp_path / "w.params")
    before = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    arrays = {"0.weight": nd.ones((2, 3)), "0.bias": nd.ones((2,)),
              "1.weight": nd.ones((4, 2)), "1.bias": nd.ones((5,))}   # the last key is wrong
    nd.save(path, arrays)
    with pytest.raises(FileFormatError, match="shape incompatible") as ei:
        net.load_parameters(path)
    assert ei.value.path == path and isinstance(ei.value, kiln_parameter_error())
    for k, p in net.collect_params().items():
        np.testing.assert_array_equal(p.data().asnumpy(), before[k])   # nothing written
    with pytest.raises(FileFormatError):
        net.collect_params().load(path)
    for k, p in net.collect_params().items():
        np.testing.assert_array_equal(p.data().asnumpy(), before[k])


def kiln_parameter_error():
    from kiln.gluon.parameter import ParameterError
    return ParameterError


def test_load_parameters_dtype_mismatch_writes_nothing(tmp_path):
    net = _dense_net()
    path = str(tmp_path / "w.params")
    before = net[0].weight.data().asnumpy().copy()
    nd.save(path, {"0.weight": nd.ones((2, 3)), "0.bias": nd.ones((2,)),
                   "1.weight": nd.ones((4, 2), dtype="float64"), "1.bias": nd.ones((4,))})
    with pytest.raises(FileFormatError, match="dtype incompatible"):
        net.load_parameters(path)
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), before)


def test_load_parameters_entry_holding_no_array(tmp_path):
    # MXNet's 'none' array (V2 record with ndim 0) under one key: was an AttributeError
    from kiln.ndarray.io import save_tobytes
    none = struct.pack("<Iii", 0xF993FAC9, 0, 0)
    good = [save_tobytes([a])[24:-8] for a in (nd.ones((2, 3)), nd.ones((2,)),
                                                 nd.ones((4, 2)))]
    path = tmp_path / "none.params"
    path.write_bytes(_params_blob(*good, none, names=("0.weight", "0.bias", "1.weight",
                                                      "1.bias")))
    net = _dense_net()
    with pytest.raises(FileFormatError, match="holds no array"):
        net.load_parameters(str(path))
    with pytest.raises(kiln_parameter_error(), match="holds no array"):
        net.load_dict({"0.weight": None, "0.bias": nd.ones((2,)), "1.weight": nd.ones((4, 2)),
                       "1.bias": nd.ones((4,))})


def test_load_parameters_from_an_unnamed_list_names_the_file(tmp_path):
    path = str(tmp_path / "list.params")
    nd.save(path, [nd.ones((2, 3))])
    with pytest.raises(FileFormatError, match="unnamed list") as ei:
        _dense_net().load_parameters(path)
    assert ei.value.path == path


# ---- Trainer.load_states ------------------------------------------------------------------------
def _trainer(shape=(3,), n=1, dtype="float32", optimizer="sgd"):
    from kiln.gluon import Parameter, Trainer
    params = []
    for k in range(n):
        p = Parameter(f"w{k}", shape=shape, dtype=dtype, init="ones")
        p.initialize()
        params.append(p)
    return Trainer(params, optimizer, {"learning_rate": 0.1, "momentum": 0.9}
                   if optimizer == "sgd" else {"learning_rate": 0.1}), params


def _train_step(trainer, params):
    from kiln import autograd
    with autograd.record():
        loss = sum((p.data() * p.data()).sum() for p in params)
    loss.backward()
    trainer.step(1)


def _saved_states(tmp_path, **kwargs):
    trainer, params = _trainer(**kwargs)
    _train_step(trainer, params)
    path = str(tmp_path / "other.states")
    trainer.save_states(path)
    return path


def _npy(shape, payload, descr="<f4"):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue() + payload


@pytest.mark.parametrize("blob", [b"", b"PK\x03\x04truncated", b"\x80\x04\x95 a pickle",
                                  _npy((2,), b"\0" * 8)], ids=["empty", "zip", "pickle", "npy"])
def test_load_states_corrupt_files_raise_file_format_error(tmp_path, blob):
    path = tmp_path / "bad.states"
    path.write_bytes(blob)
    trainer, _ = _trainer()
    with pytest.raises(FileFormatError) as ei:
        trainer.load_states(str(path))
    assert ei.value.path == str(path) and "allow_pickle" not in str(ei.value)


def test_load_states_truncated_file(tmp_path):
    path = _saved_states(tmp_path)
    blob = (tmp_path / "other.states").read_bytes()
    for cut in (len(blob) // 3, len(blob) - 5):
        (tmp_path / "other.states").write_bytes(blob[:cut])
        with pytest.raises(FileFormatError, match="other.states"):
            _trainer()[0].load_states(path)


def test_load_states_cannot_declare_a_huge_array(tmp_path):
    import io
    import json
    import zipfile
    meta = json.dumps({"format": "kiln-optimizer-states", "version": 1,
                       "states": {"__dict__": [[0, {"__nd__": 0}]]}, "optimizer": None})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("__meta__.npy", _npy((len(meta),), meta.encode(), "|u1"))
        z.writestr("arr_0.npy", _npy((1 << 28,), b"\0" * 16))   # declares 1 GB, holds 16 bytes
    path = tmp_path / "huge.states"
    path.write_bytes(buf.getvalue())
    trainer, _ = _trainer()
    out, peak = peak_bytes(trainer.load_states, str(path))
    assert isinstance(out, FileFormatError) and "needs 1073741824 bytes" in str(out), out
    assert peak < 16 * MB


@pytest.mark.parametrize("other,match", [({"shape": (4,)}, "expected \\(3,\\)"),
                                         ({"n": 2}, "parameter index 1"),
                                         ({"dtype": "float64"}, "float64")])
def test_load_states_of_another_model_is_refused_before_replacing(tmp_path, other, match):
    path = _saved_states(tmp_path, **other)
    trainer, params = _trainer()
    _train_step(trainer, params)
    states_before = trainer._updaters[0].states
    opt_before = trainer.optimizer
    with pytest.raises(FileFormatError, match=match):
        trainer.load_states(path)
    assert trainer._updaters[0].states is states_before and trainer.optimizer is opt_before
    _train_step(trainer, params)   # still trains


def test_load_states_of_the_same_model_still_works(tmp_path):
    path = _saved_states(tmp_path)
    trainer, params = _trainer()
    trainer.load_states(path)
    assert trainer.optimizer.num_update == 1
    _train_step(trainer, params)


@pytest.mark.parametrize("batch_size", [0, -2, 0.0])
def test_step_with_a_batch_size_that_is_not_positive(batch_size):
    trainer, params = _trainer()
    with pytest.raises(ValueError, match="batch_size must be positive") as ei:
        trainer.step(batch_size)
    assert isinstance(ei.value, MXNetError)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        trainer.update(batch_size)


# ---- ONNX import --------------------------------------------------------------------------------
def _onnx_model(nodes, inputs=("x",), inits=(), outputs=("y",), shape=(2, 3)):
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(i, TensorProto.FLOAT, list(shape))
                     for i in inputs],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, list(shape)) for o in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _relu_model():
    from onnx import helper
    return _onnx_model([helper.make_node("Relu", ["x"], ["y"])])


@pytest.mark.parametrize("blob,match", [(b"", "no graph outputs"),
                                        (b"\x08\x07\x12\xff\xff\xff\xff\x0f", "not a readable"),
                                        (b"\xff" * 64, "not a readable")],
                         ids=["empty", "bad-length", "garbage"])
def test_onnx_import_of_empty_or_corrupt_files_names_the_path(tmp_path, blob, match):
    from kiln.export.onnx import import_symbol
    path = tmp_path / "m.onnx"
    path.write_bytes(blob)
    with pytest.raises(FileFormatError, match=match) as ei:
        import_symbol(str(path))
    assert ei.value.path == str(path)


def test_onnx_import_truncated_file_names_the_path(tmp_path):
    from kiln.export.onnx import import_symbol
    from kiln.gluon import SymbolBlock
    blob = _relu_model().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(blob[:len(blob) // 2])
    for load in (import_symbol, SymbolBlock.from_onnx):
        with pytest.raises(FileFormatError) as ei:
            load(str(path))
        assert ei.value.path == str(path)
    sym, _, _ = import_symbol(_relu_model().SerializeToString())   # bytes load too
    assert sym.list_inputs() == ["x"]


def test_onnx_model_without_inputs_imports_its_constants(tmp_path):
    from kiln.export.onnx import import_symbol
    from onnx import helper
    model = _onnx_model([helper.make_node("Relu", ["c"], ["y"])], inputs=(),
                        inits=[("c", -np.ones((2, 3), np.float32))])
    sym, arg, _ = import_symbol(model)   # a graph of parameters only (ONNX allows it)
    assert sym.list_inputs() == ["c"] and arg["c"].shape == (2, 3)
    assert (sym.eval(**arg)[0].asnumpy() == 0).all()


def test_onnx_constant_folding_is_bounded_before_allocating():
    from kiln.export.onnx import import_symbol
    from onnx import helper
    # y = x + float(Expand(1, [4096, 4096])): folding the int64 Expand would make 128 MB
    model = _onnx_model(
        [helper.make_node("Expand", ["one", "big"], ["e"]),
         helper.make_node("Cast", ["e"], ["f"], to=1), helper.make_node("Add", ["x", "f"], ["y"])],
        inits=[("one", np.array([1], np.int64)), ("big", np.array([4096, 4096], np.int64))],
        shape=(4096, 4096))
    out, peak = peak_bytes(import_symbol, model)
    assert isinstance(out, FileFormatError) and "materialize" in str(out), out
    assert peak < 32 * MB


def test_onnx_layer_norm_zero_beta_is_bounded():
    from kiln.export.onnx import import_symbol
    from onnx import helper
    model = _onnx_model([helper.make_node("LayerNormalization", ["x", "s"], ["y"])],
                        inits=[("s", np.ones((1,), np.float32))], shape=(1, 1 << 24))
    out, peak = peak_bytes(import_symbol, model)
    assert isinstance(out, FileFormatError) and "materialize" in str(out), out
    assert peak < 32 * MB


def test_export_never_imports_nn():
    import ast
    import os

    import kiln.export
    folder = os.path.dirname(kiln.export.__file__)
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    target = "." * node.level + (node.module or "")
                    assert not target.startswith(("..nn", "kiln.nn")), (name, target)
    with pytest.raises(AttributeError, match="SymbolBlock.from_onnx"):
        assert kiln.export.onnx.import_model is None   # raises


def test_symbolblock_imports_a_graph_without_the_input_names_the_file(tmp_path):
    import json

    from kiln.gluon import SymbolBlock
    path = tmp_path / "g-symbol.json"
    path.write_text(json.dumps(_graph()))
    with pytest.raises(FileFormatError, match="not variables of the graph") as ei:
        SymbolBlock.imports(str(path), ["data"])
    assert ei.value.path == str(path)


def test_load_checkpoint_of_a_non_checkpoint_names_the_file(tmp_path):
    from kiln.model import load_params
    prefix = str(tmp_path / "net")
    nd.save(prefix + "-0001.params", [nd.ones((2,))])
    with pytest.raises(FileFormatError, match="unnamed list") as ei:
        load_params(prefix, 1)
    assert ei.value.path == prefix + "-0001.params"
    nd.save(prefix + "-0002.params", {"weight": nd.ones((2,))})
    with pytest.raises(FileFormatError, match="no 'arg:'/'aux:' prefix"):
        load_params(prefix, 2)


def test_onnx_static_value_too_large_for_a_shape_is_not_tracked_as_one():
    from kiln.export.onnx import import_symbol
    from onnx import TensorProto, helper, numpy_helper
    # Reshape(x, Concat(Shape(x), 1000 int64 values)): a 'shape' of 1002 axes is no shape
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Concat", ["s", "many"], ["t"], axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        initializer=[numpy_helper.from_array(np.ones(1000, np.int64), "many")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(FileFormatError, match="'s' is used before"):
        import_symbol(model)
