"""Differential-testing harness: run the same calls in real MXNet 1.9.1 and in kiln.

A *case* is a JSON-able dict; its arrays live in one ``.npz`` and are referenced by key
(``{"$": key}``). The same executor (:func:`run_case`) runs in both interpreters: in MXNet's
(``python _mxnet_oracle.py cases.json inputs.npz out.npz``, one subprocess for every case) and
in-process with ``lib=kiln``. This file therefore imports neither library at module level and
must run under numpy 1.23 as well as numpy 2.

Case kinds (field ``kind``):

* ``op``: ``fn`` is a dotted path below the library (``nd.sum``) or ``.name`` for a method or
  attribute of the first argument (``.reshape``, ``.T``, ``.__getitem__``). ``args``/``kwargs``
  may hold array references, ``{"slice": [a, b, c]}``, ``{"tuple": [...]}``, ``{"ellipsis": 1}``.
  ``grad``: argument keys to differentiate (under ``autograd.record(train_mode=train)``, head
  gradients from a fixed ``RandomState``); ``post``: argument keys whose values are saved after
  the call (in-place updates such as BatchNorm's moving statistics).
* ``block``: ``cls`` (``gluon.nn.Dense``) built with ``ctor``, initialized, run once in predict
  mode (deferred shapes), then called on ``args`` while recording; saves outputs, input and
  parameter gradients and the parameters after the call. kiln receives MXNet's parameter values
  (``set_data``) so both compute with the same weights.
* ``opt``: ``optimizer.create(name, **kw)`` and its updater applied to weights ``w`` (a list,
  one index each) with one gradient per step; saves weights and flattened states.

Results: ``{case_id}/out{i}``, ``/grad:{key}``, ``/post:{key}``, ``/param{i}``, ``/pgrad{i}``,
``/state{i}_{j}``, ``/w{i}`` and ``/error`` (the exception text).
"""
import json
import sys
import traceback

import numpy as np


def _resolve(lib, path):
    obj = lib
    for part in path.split("."):
        if not hasattr(obj, part) and obj is getattr(lib, "nd", None):
            for sub in ("_internal", "contrib"):  # MXNet keeps _plus & co. in nd._internal
                if hasattr(getattr(obj, sub, None), part):
                    obj = getattr(obj, sub)
                    break
        obj = getattr(obj, part)
    return obj


def _decode(lib, v, arrays, made):
    """Turn JSON markers into arrays, slices, tuples; ``made`` collects the NDArrays built."""
    if isinstance(v, dict):
        if "$" in v:
            key = v["$"]
            if key not in made:
                a = arrays[key]
                made[key] = lib.nd.array(a, dtype=a.dtype)
            return made[key]
        if "np" in v:  # a raw numpy array (e.g. an index array)
            return arrays[v["np"]]
        if "slice" in v:
            return slice(*v["slice"])
        if "tuple" in v:
            return tuple(_decode(lib, x, arrays, made) for x in v["tuple"])
        if "ellipsis" in v:
            return Ellipsis
        return {k: _decode(lib, x, arrays, made) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode(lib, x, arrays, made) for x in v]
    return v


def _to_np(v):
    if hasattr(v, "asnumpy"):
        return v.asnumpy()
    return np.asarray(v)


def _outputs(res):
    if isinstance(res, (list, tuple)) and res and hasattr(res[0], "asnumpy"):
        return list(res)
    return [res]


def head(shape, i=0, dtype=np.float32):
    """The fixed head gradient of output ``i`` (the same in both interpreters)."""
    rs = np.random.RandomState(100 + i)
    return rs.uniform(-1, 1, size=shape).astype(dtype)


def _heads(lib, outs):
    heads = []
    for i, o in enumerate(outs):
        h = head(o.shape, i, np.dtype(o.dtype))
        heads.append(lib.nd.array(h, dtype=h.dtype))
    return heads


def _backward(lib, outs, nhead=None):
    diff = [o for o in outs[:nhead] if np.dtype(o.dtype).kind == "f"]
    lib.autograd.backward(diff, _heads(lib, diff))


def _run_op(lib, case, arrays, save):
    made = {}
    args = _decode(lib, case.get("args", []), arrays, made)
    kwargs = _decode(lib, case.get("kwargs", {}), arrays, made)
    grads = case.get("grad", [])
    for key in grads:
        made[key].attach_grad()
    fn = case["fn"]
    if fn.startswith("."):
        def call():  # the attribute is read inside record(): ``.T`` is an op
            target = getattr(args[0], fn[1:])
            return target(*args[1:], **kwargs) if callable(target) else target
    else:
        f = _resolve(lib, fn)
        call = lambda: f(*args, **kwargs)  # noqa: E731
    if grads:
        with lib.autograd.record(train_mode=case.get("train", True)):
            outs = _outputs(call())
        _backward(lib, outs, case.get("nhead"))
    elif "train" in case:
        with lib.autograd.record(train_mode=case["train"]):
            outs = _outputs(call())
    else:
        outs = _outputs(call())
    for i, o in enumerate(outs):
        if o is not None:  # __setitem__ returns None: its effect is read through ``post``
            save(f"out{i}", _to_np(o))
    for key in grads:
        save(f"grad:{key}", made[key].grad.asnumpy())
    for key in case.get("post", []):
        save(f"post:{key}", made[key].asnumpy())


def _suffix(name, prefix):
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


def _build_block(lib, case, arrays, made):
    ctor = _decode(lib, case.get("ctor", {}), arrays, made)
    blk = _resolve(lib, case["cls"])(**ctor)
    for cls, kw in case.get("children", []):  # a Sequential / HybridSequential container
        blk.add(_resolve(lib, cls)(**kw))
    blk.initialize()
    args = _decode(lib, case.get("args", []), arrays, made)
    with lib.autograd.predict_mode():
        blk(*args)  # settles deferred parameter shapes; predict mode leaves BN stats alone
    return blk, args


def _match(params, ref):
    """kiln side: order ``params`` like MXNet's (matched by name suffix, else by position)."""
    names = [str(ref[k]) for k in sorted((k for k in ref if k.startswith("pname")),
                                         key=lambda k: int(k[5:]))]
    out = []
    for i, want in enumerate(names):
        hit = [p for n, p in params if n == want or n.endswith(("_" + want, "." + want))]
        out.append(hit[0] if len(hit) == 1 else (params[i][1] if i < len(params) else None))
    return out


def _run_block(lib, case, arrays, save, ref=None):
    made = {}
    blk, args = _build_block(lib, case, arrays, made)
    params = list(blk.collect_params().items())
    if ref is None:  # MXNet: record parameters with their names less the block prefix
        prefix = getattr(blk, "prefix", "")
        ordered = [p for _, p in params]
        for i, (name, p) in enumerate(params):
            save(f"param{i}", p.data().asnumpy())
            save(f"pname{i}", np.array(_suffix(name, prefix)))
    else:  # kiln: take MXNet's parameter values
        ordered = _match(params, ref)
        if len(params) != len(ordered):
            save("nparams", np.array(len(params)))
        for i, p in enumerate(ordered):
            if p is not None:
                p.set_data(lib.nd.array(ref[f"param{i}"], dtype=ref[f"param{i}"].dtype))
    for i, p in enumerate(ordered):
        if p is not None:
            save(f"pshape{i}", np.array(p.shape))
    if case.get("hybridize") and ref is not None:
        blk.hybridize()
    grads = case.get("grad", [])
    for key in grads:
        made[key].attach_grad()
    if case.get("record", True):
        with lib.autograd.record(train_mode=case.get("train", True)):
            outs = _outputs(blk(*args))
        _backward(lib, outs)
    else:
        outs = _outputs(blk(*args))
    for i, o in enumerate(outs):
        save(f"out{i}", _to_np(o))
    for key in grads:
        save(f"grad:{key}", made[key].grad.asnumpy())
    for i, p in enumerate(ordered):
        if p is not None:
            save(f"post{i}", p.data().asnumpy())
            if p.grad_req != "null" and case.get("record", True):
                save(f"pgrad{i}", p.grad().asnumpy())


def _flatten_state(state):
    if state is None:
        return []
    if isinstance(state, (list, tuple)):
        return [x for s in state for x in _flatten_state(s)]
    if hasattr(state, "asnumpy"):
        return [state.asnumpy()]
    return [np.asarray(state, dtype=np.float64)]


def _run_opt(lib, case, arrays, save):
    opt = lib.optimizer.create(case["name"], **case.get("kw", {}))
    upd = lib.optimizer.get_updater(opt)
    ws = [lib.nd.array(arrays[k], dtype=arrays[k].dtype) for k in case["w"]]
    for step in case["g"]:  # one list of gradient keys (one per weight) per step
        for i, (w, gk) in enumerate(zip(ws, step)):
            upd(i, lib.nd.array(arrays[gk], dtype=arrays[gk].dtype), w)
    for i, w in enumerate(ws):
        save(f"w{i}", w.asnumpy())
        for j, s in enumerate(_flatten_state(upd.states.get(i))):
            save(f"state{i}_{j}", s)


def run_case(lib, case, arrays, ref=None):
    """Run one case with ``lib`` (mxnet or kiln); return ``{name: ndarray}`` (or ``error``)."""
    out = {}

    def save(name, value):
        out[name] = value

    lib.random.seed(0)
    try:
        if case["kind"] == "op":
            _run_op(lib, case, arrays, save)
        elif case["kind"] == "block":
            _run_block(lib, case, arrays, save, ref)
        elif case["kind"] == "opt":
            _run_opt(lib, case, arrays, save)
        else:
            raise ValueError(case["kind"])
    except Exception as e:  # noqa: BLE001 - every failure is a result to compare
        out = {"error": np.array(f"{type(e).__name__}: {str(e)[:400]}")}
        try:  # MXNet's engine keeps an async failure and re-raises it in later calls
            lib.nd.waitall()
        except Exception:  # noqa: BLE001, S110
            pass
        if ref is None and "--trace" in sys.argv:
            traceback.print_exc()
    return out


_TOL = {"float16": (1e-2, 1e-2), "float32": (1e-4, 1e-5), "float64": (1e-6, 1e-9)}


class Suite:
    """Collects cases and their input arrays. Options of a case start with ``_``."""

    def __init__(self, seed=0):
        self.cases, self.arrays, self._seen = [], {}, {}
        self.rng = np.random.default_rng(seed)

    def arr(self, shape=None, dtype="float32", lo=-2.0, hi=2.0, values=None, raw=False):
        """Add an input array (uniform in [lo, hi) or ``values``); return its reference."""
        if not isinstance(dtype, str):  # arr(shape, lo, hi)
            dtype, lo, hi = "float32", dtype, lo
        key = f"a{len(self.arrays)}"
        if values is not None:
            a = np.asarray(values, dtype=dtype)
        elif np.dtype(dtype).kind in "iu":
            a = self.rng.integers(int(lo), int(hi), size=shape).astype(dtype)
        else:
            a = self.rng.uniform(lo, hi, size=shape).astype(dtype)
        self.arrays[key] = a
        return {"np": key} if raw else {"$": key}

    def _id(self, label):
        label = "".join(label.split())
        n = self._seen.get(label, 0)
        self._seen[label] = n + 1
        return label if n == 0 else f"{label}#{n}"

    def _add(self, case, label, opts):
        case["id"] = self._id(opts.pop("_id", None) or label)
        for k, v in opts.items():
            case[k[1:]] = v
        self.cases.append(case)
        return case

    def op(self, fn, *args, **kwargs):
        """Add an ``op`` case; ``_grad=True`` differentiates every float array argument."""
        opts = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("_")}
        if opts.get("_grad") is False:
            opts["_grad"] = []
        if opts.get("_grad") is True:
            opts["_grad"] = [a["$"] for a in _refs(args) + _refs(list(kwargs.values()))
                             if self.arrays[a["$"]].dtype.kind == "f"]
        shapes = ",".join("x".join(map(str, self.arrays[a["$"]].shape)) or "()"
                          for a in _refs(args))
        attrs = ",".join(f"{k}={_short(v)}" for k, v in kwargs.items())
        label = f"{fn.split('.')[-1]}({shapes}{';' if attrs else ''}{attrs})"
        return self._add({"kind": "op", "fn": fn, "args": list(args), "kwargs": kwargs},
                         label, opts)

    def block(self, cls, ctor, *args, **opts):
        """Add a gluon ``block`` case (``cls`` below the library, e.g. ``gluon.nn.Dense``)."""
        grad = opts.pop("_grad", True)
        if grad is True:
            grad = [a["$"] for a in _refs(args) if self.arrays[a["$"]].dtype.kind == "f"]
        opts["_grad"] = grad
        label = f"{cls.split('.')[-1]}({','.join(f'{k}={_short(v)}' for k, v in ctor.items())})"
        return self._add({"kind": "block", "cls": cls, "ctor": ctor, "args": list(args)},
                         label, opts)

    def opt(self, name, kw, w, steps, **opts):
        """Add an optimizer case: weights ``w`` (refs), ``steps`` lists of gradient refs."""
        label = f"opt:{name}({','.join(f'{k}={_short(v)}' for k, v in kw.items())})"
        return self._add({"kind": "opt", "name": name, "kw": kw, "w": [x["$"] for x in w],
                          "g": [[g["$"] for g in step] for step in steps]}, label, opts)


def _refs(v):
    if isinstance(v, dict) and "$" in v:
        return [v]
    if isinstance(v, (list, tuple)):
        return [r for x in v for r in _refs(x)]
    if isinstance(v, dict):
        return [r for x in v.values() for r in _refs(x)]
    return []


def _short(v):
    if isinstance(v, dict) and "$" in v:
        return "arr"
    if isinstance(v, dict) and "slice" in v:
        return ":".join("" if x is None else str(x) for x in v["slice"])
    if isinstance(v, dict) and "tuple" in v:
        return "(" + ",".join(_short(x) for x in v["tuple"]) + ")"
    if isinstance(v, dict) and "ellipsis" in v:
        return "..."
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_short(x) for x in v) + "]"
    return str(v)


def run_mxnet_batch(mx_python, cases, arrays, workdir):
    """Run every case in MXNet subprocesses; return ``{case_id: {name: ndarray}}``.

    Cases marked ``env="nodnn"`` run in a second process with oneDNN disabled (MXNet 1.9.1's
    oneDNN cannot build some primitives, e.g. dilated deconvolution, that its native kernels
    handle). A case that crashes the process gets an ``error`` entry.
    """
    import os

    groups = {}
    for c in cases:
        groups.setdefault(c.get("env", ""), []).append(c)
    results = {c["id"]: {} for c in cases}
    np.savez(os.path.join(str(workdir), "inputs.npz"), **arrays)
    for env, group in groups.items():
        extra = {"MXNET_STORAGE_FALLBACK_LOG_VERBOSE": "0"}
        if env == "nodnn":
            extra["MXNET_MKLDNN_ENABLED"] = "0"
        results.update(_run_group(mx_python, group, workdir, env or "default", extra))
    return results


def _run_group(mx_python, cases, workdir, tag, extra_env, attempts=6):
    import os
    import subprocess

    workdir = str(workdir)
    paths = {n: os.path.join(workdir, f"{tag}-{n}") for n in
             ("cases.json", "out.npz", "progress.txt", "skip.txt")}
    paths["inputs.npz"] = os.path.join(workdir, "inputs.npz")
    _write(paths["cases.json"], json.dumps(cases))
    env = dict(os.environ, **extra_env)
    crashed = {}
    for _ in range(attempts):
        _write(paths["skip.txt"], "\n".join(crashed))
        proc = subprocess.run([mx_python, os.path.abspath(__file__), paths["cases.json"],
                               paths["inputs.npz"], paths["out.npz"], paths["progress.txt"],
                               paths["skip.txt"]], cwd=workdir, capture_output=True, text=True,
                              timeout=600, env=env)
        if proc.returncode == 0:
            break
        started = _read(paths["progress.txt"]).split()
        if not started:
            raise RuntimeError(f"MXNet batch failed to start:\n{proc.stderr[-3000:]}")
        crashed[started[-1]] = proc.stderr[-300:]
    else:
        raise RuntimeError(f"MXNet batch keeps crashing: {list(crashed)}")
    results = {c["id"]: {} for c in cases}
    with np.load(paths["out.npz"]) as z:
        for k in z.files:
            cid, name = k.split("|", 1)
            results[cid][name] = z[k]
    for cid, err in crashed.items():
        results[cid] = {"error": np.array("crashed MXNet: " + err)}
    return results


_COMPARED = ("out", "grad:", "post", "w", "state", "pgrad")


def compare(case, mx_res, kl_res, arrays):
    """Return the list of differences between MXNet's and kiln's results for one case.

    ``case["expect"]`` maps a result name to an input-array key holding the right answer
    where MXNet 1.9.1 is known to be wrong; kiln is compared with that instead.
    """
    expect = case.get("expect", {})
    if "error" in kl_res:
        return [f"kiln raised {kl_res['error']}"]
    probs = []
    for name, ref in sorted(mx_res.items()):
        if name.startswith("pshape"):
            got = kl_res.get(name)
            if got is None or tuple(got) != tuple(ref):
                probs.append(f"{name}: parameter shape MXNet {tuple(ref)} kiln "
                             f"{None if got is None else tuple(got)}")
            continue
        if not name.startswith(_COMPARED):
            continue
        if name not in kl_res:
            probs.append(f"{name}: missing in kiln (MXNet shape {ref.shape})")
            continue
        if name in expect:
            ref = arrays[expect[name]]
        probs += _diff(name, ref, kl_res[name], case)
    if "nparams" in kl_res:
        probs.append(f"kiln has {int(kl_res['nparams'])} parameters, MXNet a different count")
    for name in kl_res:
        if name.startswith(("out", "state")) and name not in mx_res:
            probs.append(f"{name}: extra output in kiln (shape {kl_res[name].shape})")
    return probs


def _diff(name, ref, got, case):
    if ref.shape != got.shape:
        return [f"{name}: shape MXNet {ref.shape} kiln {got.shape}"]
    if ref.dtype != got.dtype and not name.startswith("state"):
        return [f"{name}: dtype MXNet {ref.dtype} kiln {got.dtype}"]
    if case.get("cmp") == "shape" and name.startswith(("out", "w", "state")):
        return []
    if ref.dtype.kind not in "fc":
        if np.array_equal(ref, got):
            return []
        return [f"{name}: values differ\n MXNet {_show(ref)}\n kiln  {_show(got)}"]
    rtol, atol = case.get("tol") or _TOL.get(ref.dtype.name, (1e-4, 1e-5))
    if name.startswith(("grad", "pgrad")):
        atol = max(atol, rtol * 10 * float(np.abs(ref).max(initial=0)))
    r, g = ref.astype(np.float64), got.astype(np.float64)
    if np.allclose(g, r, rtol=rtol, atol=atol, equal_nan=True):
        return []
    err = np.nanmax(np.abs(g - r)) if r.size else 0
    return [f"{name}: values differ (max abs err {err:.3g})\n MXNet {_show(ref)}\n "
            f"kiln  {_show(got)}"]


def _show(a):
    return np.array2string(np.asarray(a).ravel()[:12], precision=5, separator=",")


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _read(path):
    with open(path) as f:
        return f.read()


def main(cases_path, inputs_path, out_path, progress_path, skip_path):
    """MXNet side: run every case not listed in ``skip_path``; save all results at the end.

    Each case id is appended to ``progress_path`` before it runs, so that after a hard crash
    (abort, segfault) the caller knows which case to skip on the next attempt.
    """
    import mxnet as mx

    cases = json.loads(_read(cases_path))
    with np.load(inputs_path) as z:
        arrays = {k: z[k] for k in z.files}
    skip = set(_read(skip_path).split())
    results = {}
    with open(progress_path, "w") as prog:
        for case in cases:
            if case["id"] in skip:
                continue
            prog.write(case["id"] + "\n")
            prog.flush()
            for k, v in run_case(mx, case, arrays).items():
                results[f"{case['id']}|{k}"] = v
    np.savez(out_path, **results)


if __name__ == "__main__":
    main(*sys.argv[1:6])
