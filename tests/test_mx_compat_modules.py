"""MXNet 1.9's small modules in kiln: util (NumPy-semantics switches), runtime (features),
name (NameManager/Prefix), attribute (AttrScope), base helpers, test_utils' namespace and
helpers, and the runner of MXNet's own unit-test files; checked against real MXNet 1.9.1 where
its interpreter is present (``.mxnet-venv``), else against independent computations."""
import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap

import kiln as mx
import numpy as np
import pytest
from kiln.base import NotImplementedForSymbol, _as_list
from kiln.test_utils import (
    check_consistency,
    collapse_sum_like,
    compare_optimizer,
    effective_dtype,
    same_array,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                "python")

# one program, run by both libraries: what each module answers, as JSON
_PROBE = textwrap.dedent("""
    import json, numpy as np
    import {lib} as mx
    from {lib}.base import NotImplementedForSymbol, _as_list
    out = {{}}
    names = mx.name.NameManager()
    with names:
        with mx.name.Prefix("net_") as p:
            out["prefix"] = [p.get(None, "fc"), p.get(None, "fc"), p.get("out", "fc")]
        out["plain"] = [names.get(None, "conv"), names.get(None, "conv"), names.get("x", "conv")]
    with mx.AttrScope(group="1", lr_mult="2"):
        with mx.AttrScope(lr_mult="3") as scope:
            out["attr"] = scope.get({{"wd_mult": "0"}})
            out["attr_none"] = scope.get(None)
    out["attr_outside"] = mx.AttrScope().get(None)
    try:
        mx.AttrScope(x=1)
    except ValueError:
        out["attr_nonstring"] = "ValueError"
    out["np_flags"] = [mx.util.is_np_shape(), mx.util.is_np_array()]
    try:
        mx.util.set_np(shape=False, array=True)
    except ValueError as e:
        out["set_np_error"] = str(e)
    out["as_list"] = [_as_list(3), list(_as_list((1, 2))), _as_list([4])]
    out["not_for_symbol"] = str(NotImplementedForSymbol(len, "op", 1, "a"))
    out["features"] = list(mx.runtime.Features().keys())
    try:
        mx.runtime.Features().is_enabled("NO_SUCH")
    except RuntimeError:
        out["unknown_feature"] = "RuntimeError"
    import {lib}.test_utils as tu
    out["star"] = sorted(n for n in (getattr(tu, "__all__", None) or dir(tu))
                         if not n.startswith("_"))
    out["eff"] = [str(tu.effective_dtype(mx.nd.ones((2,), dtype=t)))
                  for t in ("float16", "float32", "float64")]
    a = np.arange(24.).reshape(2, 3, 4)
    out["collapse"] = tu.collapse_sum_like(a, (3, 1)).tolist()
    print("JSON" + json.dumps(out))
""")


def _probe_mxnet(cwd):
    done = subprocess.run([MX_PYTHON, "-c", _PROBE.format(lib="mxnet")], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("JSON")]
    assert line, done.stderr[-3000:]
    return json.loads(line[-1][4:])


def _probe_kiln():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(_PROBE.format(lib="kiln"), {})
    return json.loads(out.getvalue().split("JSON", 1)[1])


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    if not os.path.exists(MX_PYTHON):
        pytest.skip("real MXNet 1.9.1 interpreter (.mxnet-venv) absent")
    cwd = tmp_path_factory.mktemp("probe")
    return _probe_kiln(), _probe_mxnet(cwd)


@pytest.mark.parametrize("key", ["prefix", "plain", "attr", "attr_none", "attr_outside",
                                 "attr_nonstring", "np_flags", "set_np_error", "as_list",
                                 "not_for_symbol", "features", "unknown_feature", "eff",
                                 "collapse"])
def test_module_answers_match_mxnet(answers, key):
    kiln, mxnet = answers
    assert key in mxnet and kiln.get(key) == mxnet[key]


# names `from mxnet.test_utils import *` gives that kiln deliberately lacks (docs/compat.md):
# the SciPy and requests modules MXNet's module imports
NOT_PROVIDED = {"ss", "requests"}


def test_star_import_gives_mxnets_names(answers):
    kiln, mxnet = answers
    missing = set(mxnet["star"]) - set(kiln["star"]) - NOT_PROVIDED
    assert not missing, f"from mxnet.test_utils import * names kiln lacks: {sorted(missing)}"


def test_star_import_binds_the_libraries():
    namespace = {}
    exec("from kiln.test_utils import *", namespace)
    assert namespace["mx"] is mx and namespace["np"] is np
    assert namespace["NDArray"] is mx.nd.NDArray and namespace["default_context"]() == mx.cpu()


def test_np_semantics_switches_scope_per_call():
    @mx.util.use_np             # the switches are on while the decorated code runs
    def f():
        return mx.util.is_np_shape(), mx.util.is_np_array()

    assert f() == (True, True)
    assert not mx.util.is_np_shape() and not mx.util.is_np_array()
    with mx.np_shape(True):
        assert mx.util.is_np_shape()
    with mx.util.np_shape(False), mx.util.np_array(False):
        assert not mx.util.is_np_shape() and not mx.util.is_np_array()
    assert mx.util.set_np_shape(False) is False
    mx.util.reset_np()


def test_features_say_what_kiln_can_use():
    features = mx.runtime.Features()
    assert features is mx.runtime.Features()          # a singleton, as in MXNet
    assert features.is_enabled("cuda") == (mx.num_gpus() > 0)
    assert features.is_enabled("TVM_OP") is False and features.is_enabled("LAPACK")
    assert [f.name for f in mx.runtime.feature_list()] == list(features)
    assert repr(features["CUDA"]) in ("✔ CUDA", "✖ CUDA")


def test_name_scopes_nest_and_restore():
    outer = mx.name.NameManager.current
    with mx.name.Prefix("a_") as p:
        assert mx.name.NameManager.current is p
        with mx.name.NameManager():
            assert mx.name.NameManager.current is not p
        assert mx.name.NameManager.current is p
    assert mx.name.NameManager.current is outer


def test_base_helpers():
    assert _as_list("x") == ["x"]
    assert "is not implemented for Symbol" in str(NotImplementedForSymbol(len, None))
    assert isinstance(NotImplementedForSymbol(len, None), mx.MXNetError)


def test_compare_optimizer_detects_a_difference():
    compare_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9),
                      mx.optimizer.SGD(learning_rate=0.1, momentum=0.9), (3, 4), np.float32)
    with pytest.raises(AssertionError):
        compare_optimizer(mx.optimizer.SGD(learning_rate=0.1),
                          mx.optimizer.SGD(learning_rate=0.2), (3, 4), np.float32)


def test_check_consistency_compares_dtypes_and_detects_errors():
    s = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    specs = [{"ctx": mx.cpu(), "data": (2, 4), "type_dict": {"data": t}}
             for t in (np.float64, np.float32)]
    check_consistency(s, specs)
    wrong = {"fc_output": np.full((2, 3), 1e3)}
    with pytest.raises(AssertionError, match="Predict Err"):
        check_consistency(s, specs, ground_truth=wrong)


def test_small_helpers():
    x = mx.nd.ones((3,))
    assert same_array(x, x) and not same_array(x, x.copy())
    a = np.random.rand(2, 3, 4)
    np.testing.assert_allclose(collapse_sum_like(a, (1, 4)), a.sum(axis=(0, 1))[None])
    assert effective_dtype(np.ones(2, np.float16)) == np.float16


def _fake_suite(folder):
    (folder / "common.py").write_text("def with_seed(seed=None):\n    return lambda f: f\n")
    (folder / "test_fake.py").write_text(textwrap.dedent("""
        import mxnet as mx
        from mxnet.gluon import nn
        from common import with_seed

        @with_seed()
        def test_add():
            assert (mx.nd.ones((2,)) + 1).asnumpy().tolist() == [2, 2]

        def test_same_modules():
            import mxnet.gluon.nn as n2
            assert n2.Dense is nn.Dense and mx.nd.NDArray.__module__.startswith("kiln")

        def test_fails():
            raise KeyError("missing 7")
    """))


def test_runner_reports_counts_and_causes(tmp_path, capsys):
    sys.path.insert(0, os.path.join(ROOT, "tests", "compat"))
    try:
        import run_mxnet_suite
    finally:
        sys.path.pop(0)
    assert run_mxnet_suite.main([str(tmp_path / "absent")]) == 0
    assert "skipped" in capsys.readouterr().out
    _fake_suite(tmp_path)
    report = tmp_path / "report.json"
    assert run_mxnet_suite.main([str(tmp_path), "--files", "test_fake", "--json",
                                 str(report)]) == 0
    row = json.loads(report.read_text())["files"]["test_fake"]
    assert (row["collected"], row["kiln_passed"]) == (3, 2)
    assert row["kiln_failed"] == {"test_fails": "KeyError: 'missing #'"}
