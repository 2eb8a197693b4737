"""Sweep: every registry op's samples as symbol JSON between kiln and real MXNet 1.9.1.

For each op sample (``kiln.ndarray._registry.OPS``, the inputs/attrs the registry walk uses):
kiln builds it as a Symbol (a variable per array input), writes MXNet symbol JSON, and ONE
subprocess of MXNet's interpreter loads every JSON, binds it with the sample's arrays (``.npy``
files, never pickle), runs forward and saves the outputs. The reverse direction: MXNet loads
the same graph with only the attributes the sample gives (what MXNet's API writes; the rest
are MXNet's defaults) and writes it (``tojson()``); kiln reads that JSON and runs it too, with
kiln's defaults for the rest. Outputs are compared with kiln's eager ones (float32, rtol 1e-4;
random ops: shapes and dtypes only).

Each sample gets one class: ``ok``, ``kiln-only`` (kiln's op name is no MXNet op: no
counterpart), ``mx-refuses`` (MXNet does not load or bind the JSON), ``mx-values`` (values,
shapes or dtypes differ), ``kiln-read`` (kiln fails on, or differs with, MXNet's JSON),
``no-symbol`` (kiln cannot build the sample as a symbol or write it).

Run (not collected by pytest)::

    python tests/compat/mx_json_sweep.py [--ops relu,eye] [--out report.json]

``tests/compat/test_mx_json_oracle.py`` runs it as a test when MXNet is installed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")
NAMES_FILE = os.path.join(ROOT, "tests", "data", "mxnet191_op_names.txt")

# Runs under MXNet's interpreter: argv[1] the case folder. Appends one JSON line per case to
# results.jsonl as it goes, so that a crash loses only the case it happened in.
MX_SCRIPT = r'''
import json, os, sys, traceback
import numpy as np
import mxnet as mx
folder = sys.argv[1]
cases = json.load(open(os.path.join(folder, "cases.json")))
done, starts = set(), {}
res_path = os.path.join(folder, "results.jsonl")
if os.path.exists(res_path):
    for l in open(res_path):
        if l.strip():
            r = json.loads(l)
            if r.get("started"):
                starts[r["id"]] = starts.get(r["id"], 0) + 1
            else:
                done.add(r["id"])
# a case that crashed MXNet is tried once more (a crash can be transient) before it is
# passed over and reported as crashed
done |= {cid for cid, n in starts.items() if n >= 2}
out = open(res_path, "a")
for case in cases:
    cid = case["id"]
    if cid in done:
        continue
    out.write(json.dumps({"id": cid, "started": True}) + "\n"); out.flush()
    res = {"id": cid}
    try:
        sym = mx.sym.load_json(open(os.path.join(folder, cid + ".json")).read())
    except Exception as e:
        res["error"] = "load: " + str(e).strip().splitlines()[0][:300]
        out.write(json.dumps(res) + "\n"); out.flush(); continue
    try:
        arrays = {k: mx.nd.array(np.load(os.path.join(folder, f)),
                                 dtype=np.load(os.path.join(folder, f)).dtype)
                  for k, f in case["inputs"].items()}
        args = {k: arrays[k] for k in sym.list_arguments()}
        aux = {k: arrays[k] for k in sym.list_auxiliary_states()}
        exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
        outs = exe.forward(is_train=False)
        files = []
        for k, o in enumerate(outs):
            f = "%s_mxout%d.npy" % (cid, k)
            np.save(os.path.join(folder, f), o.asnumpy())
            files.append(f)
        res["outputs"] = files
    except Exception as e:
        msg = [l.strip() for l in str(e).strip().splitlines() if l.strip()]
        key = [l for l in msg if "Check failed" in l or "Error" in l] or msg[-1:]
        res["error"] = "run: " + key[0][:400]
    try:   # the sample's own attributes only, as MXNet's API writes a graph: MXNet's defaults
        small = mx.sym.load_json(open(os.path.join(folder, cid + "_min.json")).read())
        with open(os.path.join(folder, cid + "_mx.json"), "w") as f:
            f.write(small.tojson())
        res["mx_json"] = cid + "_mx.json"
    except Exception as e:
        res["tojson_error"] = str(e).strip().splitlines()[0][:300]
    out.write(json.dumps(res) + "\n"); out.flush()
'''


def mxnet_op_names():
    """MXNet 1.9.1's registered op names (tests/data/mxnet191_op_names.txt)."""
    with open(NAMES_FILE) as f:
        return {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}


def _sym_args(sample, dtype=np.float32):
    """``(symbol args, {var name: array})`` for a sample: a variable per array input (float
    arrays cast to ``dtype``), lists of arrays as lists of variables, literals kept."""
    import kiln as mx
    args, arrays = [], {}

    def var_for(a):
        name = f"in{len(arrays)}"
        arrays[name] = a.astype(dtype) if a.dtype.kind == "f" else a.copy()
        arrays[name].flags.writeable = False   # update ops must not write the inputs
        return mx.sym.var(name, shape=a.shape)   # known shapes, as in an exported trace

    for a in sample.inputs:
        if isinstance(a, np.ndarray):
            args.append(var_for(a))
        elif isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
            args.append([var_for(x) for x in a])
        else:
            args.append(a)
    return args, arrays


def _given_attrs_only(text, op, sample):
    """The JSON with the op's node holding only what MXNet's API writes for the sample's
    call: the attributes the sample gives (in MXNet's spelling), ``num_args``, a scalar, a
    creation op's dtype. Read back, the others take the reader's defaults: kiln's defaults
    must mean MXNet's."""
    from kiln.symbol.op_names import export_attrs
    doc = json.loads(text)
    ops = [n for n in doc["nodes"] if n["op"] != "null"]
    if not ops:
        return text
    node = ops[-1]
    full = node.get("attrs", {})
    attrs = dict(sample.attrs)
    for spec, v in zip(op.inputs, sample.inputs):   # a number for an input that means an
        name = spec.lstrip("*").rstrip("?")           # attribute (histogram's bins: bin_cnt)
        if name in op.number_inputs and isinstance(v, (int, float)):
            attrs[op.number_inputs[name]] = v
    given = export_attrs(op, attrs, len(node["inputs"]))
    keep = {k: v for k, v in full.items()
            if k in given or k in ("num_args", "scalar", "act_type")
            or (k == "dtype" and not node["inputs"])}
    node["attrs"] = keep
    return json.dumps(doc)


def _eager(op, arrays_args, sample):
    """kiln's eager outputs of the sample (float32)."""
    from kiln import nd
    args = []
    for a in arrays_args:
        if isinstance(a, np.ndarray):
            args.append(nd.NDArray(a.copy()))
        elif isinstance(a, list) and a and all(isinstance(x, np.ndarray) for x in a):
            args.append([nd.NDArray(x.copy()) for x in a])
        else:
            args.append(a)
    res = op.func(*args, **sample.attrs)
    res = list(res) if isinstance(res, (list, tuple)) else [res]
    return [r.asnumpy() for r in res]


def build_case(op, k, sample):
    """``(case dict, error)``: the sample's JSON, inputs and kiln's eager outputs."""
    import kiln as mx
    from kiln.symbol.mxnet_json import symbol_to_json
    from kiln.symbol.sym_ops import make_sym_function
    sym_args, arrays = _sym_args(sample)
    flat_in = iter(arrays.values())
    eager_args = [next(flat_in) if isinstance(a, np.ndarray) else
                  ([next(flat_in) for _ in a] if isinstance(a, (list, tuple)) and a and all(
                      isinstance(x, np.ndarray) for x in a) else a) for a in sample.inputs]
    case = {"id": f"{op.name}-{k}", "op": op.name, "random": bool(op.random)}
    try:
        # the namespace's function: binary ops take a number there (``_plus_scalar``)
        fn = getattr(mx.sym, op.name, None) or make_sym_function(op)
        sym = fn(*sym_args, **sample.attrs)
        text, consts = symbol_to_json(sym)
    except Exception as e:  # noqa: BLE001 - a sweep classifies every failure
        return case, f"{type(e).__name__}: {e}"[:300]
    case["json"] = text
    case["json_min"] = _given_attrs_only(text, op, sample)
    case["arrays"] = dict(arrays, **{n: np.asarray(v) for n, v in consts.items()})
    try:
        case["eager"] = _eager(op, eager_args, sample)
    except Exception as e:  # noqa: BLE001
        return case, f"eager {type(e).__name__}: {e}"[:300]
    return case, None


def unbound_arguments(case):
    """Arguments of the case's symbol that the sample gives no array for: a sample whose
    positional inputs fill other slots than the symbol's (rnn's sequence_length after a GRU's
    state takes the state_cell slot there, an auto-created variable here)."""
    doc = json.loads(case["json"])
    return sorted(n["name"] for n in doc["nodes"]
                  if n["op"] == "null" and n["name"] not in case["arrays"])


def run_mxnet(cases, folder, python=MX_PYTHON):
    """Run every case in one MXNet process (restarted after a crash, the crashed case tried
    once more, then passed over); returns id -> result dict."""
    manifest = []
    for c in cases:
        with open(os.path.join(folder, c["id"] + ".json"), "w") as f:
            f.write(c["json"])
        with open(os.path.join(folder, c["id"] + "_min.json"), "w") as f:
            f.write(c["json_min"])
        files = {}
        for name, a in c["arrays"].items():
            files[name] = f"{c['id']}_{name}.npy"
            np.save(os.path.join(folder, files[name]), a)
        manifest.append({"id": c["id"], "inputs": files})
    with open(os.path.join(folder, "cases.json"), "w") as f:
        json.dump(manifest, f)
    script = os.path.join(folder, "mx_run.py")
    with open(script, "w") as f:
        f.write(MX_SCRIPT)
    env = dict(os.environ, PYTHONPATH="", MXNET_ENGINE_TYPE="NaiveEngine")
    for _ in range(2 * len(cases) + 1):
        proc = subprocess.run([python, script, folder], capture_output=True, text=True,
                              env=env, timeout=1800, cwd=folder)
        results = _read_results(folder)
        if proc.returncode == 0 or not results:
            break
    return results


def _read_results(folder):
    path = os.path.join(folder, "results.jsonl")
    results = {}
    if os.path.exists(path):
        with open(path) as f:
            lines = f.readlines()
        for line in lines:
            if line.strip():
                r = json.loads(line)
                if r.get("started"):
                    results.setdefault(r["id"], {"id": r["id"], "error": "run: crashed MXNet"})
                else:
                    results[r["id"]] = r
    return results


def _compare(outs, expected, random):
    """A problem string, or None when ``outs`` match ``expected``."""
    if len(outs) < len(expected):
        return f"{len(outs)} outputs, kiln gives {len(expected)}"
    for k, (o, e) in enumerate(zip(outs, expected)):
        if o.shape != e.shape:
            return f"output {k}: shape {o.shape}, kiln {e.shape}"
        if o.dtype != e.dtype:
            return f"output {k}: dtype {o.dtype}, kiln {e.dtype}"
        if random or o.size == 0:
            continue
        if o.dtype.kind in "fc":
            ok = np.allclose(o, e, rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            ok = np.array_equal(o, e)
        if not ok:
            return f"output {k}: values differ (max abs diff " \
                   f"{np.max(np.abs(o.astype(np.float64) - e.astype(np.float64))):.3g})"
    return None


def _kiln_reads(folder, case, res):
    """Problem string or None: kiln loads MXNet's JSON and gives kiln's eager outputs."""
    import kiln as mx
    from kiln.symbol.mxnet_json import json_to_symbol
    try:
        with open(os.path.join(folder, res["mx_json"])) as f:
            sym = json_to_symbol(f.read())
        args = {n: mx.nd.array(a, dtype=a.dtype) for n, a in case["arrays"].items()}
        ex = sym.bind(mx.cpu(), {k: args[k] for k in sym.list_arguments()},
                      aux_states={k: args[k] for k in sym.list_auxiliary_states()},
                      grad_req="null")
        outs = [o.asnumpy() for o in ex.forward(is_train=False)]
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"[:300]
    return _compare(outs, case["eager"], case["random"])


def classify(case, res, folder, names):
    """``(class, detail)`` of one case."""
    if case.get("build_error"):
        return "no-symbol", case["build_error"]
    if unbound_arguments(case):
        return "no-symbol", f"inputs not bound: {unbound_arguments(case)}"
    written = {n["op"] for n in json.loads(case["json"])["nodes"]} - {"null"}
    unknown = sorted(written - names)
    if unknown:
        return "kiln-only", ",".join(unknown)
    if "error" in res:
        return "mx-refuses", res["error"]
    outs = [np.load(os.path.join(folder, f)) for f in res["outputs"]]
    problem = _compare(outs, case["eager"], case["random"])
    if problem:
        return "mx-values", problem
    if "mx_json" not in res and "Required parameter" in res.get("tojson_error", ""):
        # kiln defaults an attribute MXNet requires: kiln writes it, MXNet's API must give it
        return "ok", "kiln defaults what MXNet requires: " + res["tojson_error"]
    if "mx_json" not in res:
        return "kiln-read", res.get("tojson_error", "MXNet wrote no JSON")
    problem = _kiln_reads(folder, case, res)
    return ("kiln-read", problem) if problem else ("ok", "")


def sweep(op_names=None, python=MX_PYTHON):
    """Sweep the registry (or the named ops); returns a list of
    ``{"id", "op", "class", "detail"}``."""
    import kiln  # noqa: F401 - installs the layer hooks
    from kiln.ndarray._registry import OPS
    names = mxnet_op_names()
    cases, report = [], []
    for op in sorted(OPS.values(), key=lambda o: o.name):
        if op_names and op.name not in op_names:
            continue
        for k, sample in enumerate(op.samples):
            case, err = build_case(op, k, sample)
            if err:
                case["build_error"] = err
            cases.append(case)
    with tempfile.TemporaryDirectory() as folder:
        runnable = [c for c in cases if not c.get("build_error") and not unbound_arguments(c)
                    and not ({n["op"] for n in json.loads(c["json"])["nodes"]} - {"null"}
                             - names)]
        results = run_mxnet(runnable, folder, python) if runnable else {}
        for c in cases:
            cls, detail = classify(c, results.get(c["id"], {"error": "run: no result"}),
                                   folder, names)
            report.append({"id": c["id"], "op": c["op"], "class": cls, "detail": detail})
    return report


def summarize(report):
    """Per op: the worst class of its samples; returns {class: [op names]}."""
    order = ["no-symbol", "kiln-only", "mx-refuses", "mx-values", "kiln-read", "ok"]
    worst = {}
    for r in report:
        cur = worst.get(r["op"], "ok")
        worst[r["op"]] = min(cur, r["class"], key=order.index)
    by_class = {}
    for op, cls in sorted(worst.items()):
        by_class.setdefault(cls, []).append(op)
    return by_class


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", help="comma-separated kiln op names (default: all)")
    ap.add_argument("--out", help="write the per-sample report as JSON here")
    a = ap.parse_args(argv)
    report = sweep(set(a.ops.split(",")) if a.ops else None)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)
    for r in report:
        if r["class"] != "ok":
            print(f"{r['class']:11s} {r['id']}: {r['detail']}")
    for cls, ops in summarize(report).items():
        print(f"{cls}: {len(ops)} ops")


if __name__ == "__main__":
    sys.exit(main())
