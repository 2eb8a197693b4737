"""ONNX backend conformance of kiln's importer (export/onnx_import*.py).

The ``onnx`` package's backend test cases run through ``SymbolBlock.from_onnx`` (eagerly) and
are compared with the cases' expected outputs with onnx's own rule (same shape, same dtype,
``assert_allclose`` with the case's rtol/atol, NaN equal to NaN). Suites:

* ``node``: the one-operator cases, generated in memory by ``onnx.backend.test.case.node``
  (the installed wheel ships no ``data/node`` folder); ``*_expanded`` cases are the function
  bodies of composite ops.
* ``pytorch-converted``, ``pytorch-operator``, ``simple``: the files under
  ``onnx/backend/test/data``.

Dtype restriction (decided once, for every suite): a case is skipped when an input or an
expected output is not a plain tensor of a numpy dtype kiln holds (bool, int8..int64,
uint8..uint64, float16/32/64): bfloat16, the float8/float4/int4/uint4/int2/uint2 types and
complex have no numpy dtype; strings, sequences, optionals and maps have no kiln NDArray.
Cases that onnxruntime itself fails are skipped too (the goal is measured against it).
Graph inputs that the importer reads as constants (the node suite feeds a Reshape's shape, a
Slice's starts... as inputs) are bound with ``specialize`` before importing.

CI runs a fast subset (the op types of ``FAST_OPS`` and the three file suites);
``KILN_ONNX_CONFORMANCE=all`` runs every case. Cases listed in
``tests/data/onnx_conformance_expected_failures.txt`` must fail and every other case must
pass: a listed case that passes fails the test (strict), so the list only shrinks.

Measure and rewrite the list: ``python tests/test_onnx_conformance.py --write``.
"""
import glob
import importlib
import os
import sys
import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

ort = pytest.importorskip("onnxruntime")

_DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
_LIST = os.path.join(os.path.dirname(__file__), "data",
                     "onnx_conformance_expected_failures.txt")
_FILE_SUITES = ("pytorch-converted", "pytorch-operator", "simple")
_ALL = os.environ.get("KILN_ONNX_CONFORMANCE") == "all"
# the node-suite modules CI runs (onnx/backend/test/case/node/<module>.py): the op types that
# CNNs, transformer encoders and recurrent nets exported by torch.onnx use
FAST_OPS = ("conv", "maxpool", "averagepool", "batch_normalization", "gemm", "matmul", "relu",
            "softmax", "layernormalization", "gelu", "where", "expand", "constantofshape",
            "rangeop", "cumsum", "lstm", "gru", "rnn", "resize", "reshape", "slice",
            "concat", "gather", "transpose", "unsqueeze", "squeeze", "equal",
            "quantizelinear", "dequantizelinear", "qlinearconv", "qlinearmatmul", "if_",
            "loop", "scan", "shape", "erf", "reducemean", "flatten", "globalaveragepool",
            "pad", "dropout")
_NUMPY_TYPES = {t for t in range(1, 17) if t not in (8, 14, 15, 16)}   # not string/complex/bf16


class Case:
    """One conformance case: ``model``, ``inputs`` (list of arrays), ``outputs``, tolerances."""

    def __init__(self, name, model, inputs, outputs, rtol=1e-3, atol=1e-7):
        self.name, self.model = name, model
        # numpy scalars (a quantization scale) are 0-d arrays
        self.inputs = [np.asarray(v) if isinstance(v, np.generic) else v for v in inputs]
        self.outputs = [np.asarray(v) if isinstance(v, np.generic) else v for v in outputs]
        self.rtol, self.atol = rtol, atol

    def __repr__(self):
        return self.name


def _quiet_import(module):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")   # numpy's overflow warnings while building cases
        return importlib.import_module(module)


def node_cases(modules=None):
    """The node suite's cases (all of them, or those of ``modules``), built in memory."""
    from onnx.backend.test.case import node
    if modules is None:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            cases = node.collect_testcases()
    else:
        before = len(node._NodeTestCases)
        for m in modules:
            _quiet_import(f"onnx.backend.test.case.node.{m}")
        cases = node._NodeTestCases[before:]
    return [Case(c.name, c.model, list(c.data_sets[0][0]), list(c.data_sets[0][1]),
                 c.rtol, c.atol) for c in cases]


def file_cases(suite):
    """The cases of one on-disk suite (``model.onnx`` and ``test_data_set_*/*.pb``)."""
    out = []
    for d in sorted(glob.glob(os.path.join(_DATA, suite, "*"))):
        if not os.path.isfile(os.path.join(d, "model.onnx")):
            continue
        model = onnx.load(os.path.join(d, "model.onnx"))
        for k, ds in enumerate(sorted(glob.glob(os.path.join(d, "test_data_set_*")))):
            ins = [_read_pb(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")))]
            outs = [_read_pb(p) for p in sorted(glob.glob(os.path.join(ds, "output_*.pb")))]
            out.append(Case(f"{suite}/{os.path.basename(d)}/{k}", model, ins, outs))
    return out


def _read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def supported(case):
    """None when the case's dtypes are in scope, else why not."""
    g = case.model.graph
    for vi in list(g.input) + list(g.output):
        tt = vi.type
        if not tt.HasField("tensor_type"):
            return f"{vi.name}: not a tensor"
        if tt.tensor_type.elem_type not in _NUMPY_TYPES:
            return f"{vi.name}: element type {tt.tensor_type.elem_type}"
    for v in case.inputs + case.outputs:
        if not isinstance(v, np.ndarray) or v.dtype == object:
            return "a value that is not a numeric array"
    return None


def _feed(case):
    inits = {t.name for t in case.model.graph.initializer}
    names = [vi.name for vi in case.model.graph.input if vi.name not in inits]
    return dict(zip(names, case.inputs))


def run_ort(case):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(case.model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    return sess.run(None, _feed(case))


def run_kiln(case):
    from kiln import nd
    from kiln.export.onnx_import import specialize
    from kiln.nn.symbol_block import SymbolBlock
    feed = _feed(case)
    # graph inputs used as shapes/axes/pads (the node suite gives them as inputs) are bound
    model, _ = specialize(case.model, feed)
    net = SymbolBlock.from_onnx(model)
    args = [nd.array(feed[n], dtype=feed[n].dtype) for n in net._input_names]
    with np.errstate(all="ignore"):   # expected outputs hold inf/nan (log(0), 0/0)
        outs = net(*args)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return [o.asnumpy() for o in outs]


def check(case, got):
    """onnx's backend comparison: count, shape, dtype, closeness (NaN == NaN)."""
    assert len(got) == len(case.outputs), (len(got), len(case.outputs))
    for k, (g, w) in enumerate(zip(got, case.outputs)):
        g = np.asarray(g)
        assert g.shape == w.shape, f"output {k}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"output {k}: dtype {g.dtype} != {w.dtype}"
        if w.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, rtol=case.rtol, atol=case.atol)
        else:
            np.testing.assert_array_equal(g, w)


def outcome(case):
    """``(scope, ort_ok, kiln_error)``: scope is None or why the case is out of scope."""
    why = supported(case)
    if why:
        return why, False, None
    try:
        check(case, run_ort(case))
        ort_ok = True
    except Exception:   # onnxruntime refusing or mis-computing: out of the goal's scope
        ort_ok = False
    try:
        check(case, run_kiln(case))
        err = None
    except Exception as e:   # any failure of kiln's import or run is this case's failure
        err = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None, ort_ok, err


def expected_failures():
    if not os.path.exists(_LIST):
        return set()
    with open(_LIST) as f:
        return {ln.split("#")[0].strip() for ln in f if ln.split("#")[0].strip()}


def _params():
    cases = [c for s in _FILE_SUITES for c in file_cases(s)]
    cases += node_cases(None if _ALL else FAST_OPS)
    return [pytest.param(c, id=c.name) for c in cases]


_XFAIL = expected_failures()


@pytest.mark.parametrize("case", _params())
def test_conformance(case):
    why = supported(case)
    if why:
        pytest.skip(f"out of scope: {why}")
    try:
        check(case, run_ort(case))
    except Exception as e:   # onnxruntime's own failure: not kiln's to match
        pytest.skip(f"onnxruntime fails this case: {type(e).__name__}")
    if case.name in _XFAIL:
        try:
            check(case, run_kiln(case))
        except Exception:   # the expected failure
            return
        pytest.fail(f"{case.name} now passes: remove it from {os.path.basename(_LIST)}")
    check(case, run_kiln(case))


def _measure(write, only=None):
    """Count every case; print the failures by reason; optionally rewrite the list."""
    import collections
    cases = [c for s in _FILE_SUITES for c in file_cases(s)] + node_cases()
    if only:
        cases = [c for c in cases if c.name.startswith(only)]
    stats = collections.Counter()
    fails, reasons = [], collections.Counter()
    for c in cases:
        suite = c.name.split("/")[0] if "/" in c.name else "node"
        scope, ort_ok, err = outcome(c)
        if scope:
            stats[suite, "out of scope"] += 1
            continue
        stats[suite, "in scope"] += 1
        stats[suite, "ort passes"] += ort_ok
        stats[suite, "kiln passes"] += err is None
        stats[suite, "kiln passes where ort passes"] += err is None and ort_ok
        if err is not None and ort_ok:
            fails.append((c.name, err))
            reasons[err[:90]] += 1
    for k in sorted(stats):
        print(k, stats[k])
    for r, n in reasons.most_common(60):
        print(f"{n:4d}  {r}")
    if write:
        with open(_LIST, "w") as f:
            f.write("# ONNX conformance cases kiln's importer fails (onnxruntime passes them);\n"
                    "# written by `python tests/test_onnx_conformance.py --write`; only shrinks\n")
            for name, err in sorted(fails):
                f.write(f"{name}  # {err[:100]}\n")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    _measure("--write" in sys.argv, next((a for a in sys.argv[1:] if a[0] != "-"), None))
