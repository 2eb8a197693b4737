"""The optimizer update ops (``nd.sgd_update`` ... ``nd.contrib.multi_lamb_update``,
``nd.sparse.*_update``) against real MXNet 1.9.1: the returned weights and the states updated
in place (harness in tests/_mxnet_oracle.py). Without MXNet the oracle cases skip; the
in-place contract and the sparse rows are checked against numpy anyway.
"""
import _mxnet_oracle as oracle
import numpy as np
import pytest
from _oracle_suite import MX_PYTHON, run_script, suite_tests
from kiln import nd, sym


def _suite():
    s = oracle.Suite(seed=5)

    def st(shape=(3, 4), lo=-1.0, hi=1.0):
        return s.arr(shape, lo=lo, hi=hi)

    def op(fn, *args, post=(), **kw):
        s.op(fn, *args, _post=[a["$"] for a in post], **kw)

    w, g = st(), st()
    op("nd.sgd_update", w, g, lr=0.1, wd=0.01)
    op("nd.sgd_update", w, g, lr=0.5, rescale_grad=2.0, clip_gradient=0.3)
    m = st()
    op("nd.sgd_mom_update", w, g, m, lr=0.1, momentum=0.9, wd=0.01, post=[m])
    w16, g16, w32 = s.arr((3, 4), "float16", -1, 1), s.arr((3, 4), "float16", -1, 1), st()
    op("nd.mp_sgd_update", w16, g16, w32, lr=0.1, wd=0.01, post=[w32])
    m, w32 = st(), st()
    op("nd.mp_sgd_mom_update", w16, g16, m, w32, lr=0.1, momentum=0.9, post=[m, w32])
    m = st()
    op("nd.nag_mom_update", w, g, m, lr=0.1, momentum=0.9, wd=0.1, post=[m])
    m, w32 = st(), st()
    # wd=0: MXNet 1.9.1's mp_nag_mom_update builds the momentum from the already-updated
    # weight32 when wd > 0 (its NAG bug, docs/compat.md); kiln follows the formula
    op("nd.mp_nag_mom_update", w16, g16, m, w32, lr=0.1, momentum=0.9, post=[m, w32])
    op("nd.signsgd_update", w, g, lr=0.1, wd=0.1)
    m = st()
    op("nd.signum_update", w, g, m, lr=0.1, momentum=0.9, wd=0.1, wd_lh=0.01, post=[m])
    mean, var = st(), st(lo=0.1, hi=1.0)
    op("nd.adam_update", w, g, mean, var, lr=0.1, wd=0.01, clip_gradient=0.5, post=[mean, var])
    n = st(lo=0.1, hi=1.0)
    op("nd.rmsprop_update", w, g, n, lr=0.01, wd=0.1, clip_weights=0.6, post=[n])
    n, mg, delta = st(lo=0.5, hi=1.0), st(lo=-0.1, hi=0.1), st()
    op("nd.rmspropalex_update", w, g, n, mg, delta, lr=0.01, wd=0.1, post=[n, mg, delta])
    z, n = st(), st(lo=0.1, hi=1.0)
    op("nd.ftrl_update", w, g, z, n, lr=0.1, wd=0.01, lamda1=0.1, post=[z, n])
    d, v, z = st(lo=0.1, hi=1.0), st(lo=0.1, hi=1.0), st()
    op("nd.ftml_update", w, g, d, v, z, lr=0.1, t=2, wd=0.01, post=[d, v, z])
    mean, var = st(), st(lo=0.1, hi=1.0)
    op("nd.lamb_update_phase1", w, g, mean, var, t=3, wd=0.01, post=[mean, var])
    mean, var = st(), st(lo=0.1, hi=1.0)
    op("nd.lamb_update_phase1", w, g, mean, var, t=1, wd=0.0, bias_correction=False,
       clip_gradient=0.2, post=[mean, var])
    mean, var, w32 = st(), st(lo=0.1, hi=1.0), st()
    op("nd.mp_lamb_update_phase1", w16, g16, mean, var, w32, t=3, wd=0.01, post=[mean, var])
    r1, r2 = s.arr(values=[2.5]), s.arr(values=[4.0])
    op("nd.lamb_update_phase2", w, g, r1, r2, lr=0.1)
    op("nd.lamb_update_phase2", w, g, r1, r2, lr=0.1, lower_bound=3.0, upper_bound=5.0)
    op("nd.lamb_update_phase2", w, g, r1, s.arr(values=[0.0]), lr=0.1)
    w32 = st()
    op("nd.mp_lamb_update_phase2", w16, g, r1, r2, w32, lr=0.1, post=[w32])
    # multi-tensor forms: two weights of different shapes, written to out= as MXNet needs
    ws, gs, ms = [st((3, 2)), st((4,))], [st((3, 2)), st((4,))], [st((3, 2)), st((4,))]
    outs = [st((3, 2)), st((4,))]
    op("nd.multi_sgd_update", ws[0], gs[0], ws[1], gs[1], lrs=(0.1, 0.2), wds=(0.01, 0.0),
       rescale_grad=0.5, num_weights=2, out=outs)
    op("nd.multi_sgd_mom_update", ws[0], gs[0], ms[0], ws[1], gs[1], ms[1], lrs=(0.1, 0.2),
       wds=(0.01, 0.0), momentum=0.9, num_weights=2, out=outs, post=ms)
    h16 = [s.arr((3, 2), "float16", -1, 1), s.arr((4,), "float16", -1, 1)]
    w32s, ms2 = [st((3, 2)), st((4,))], [st((3, 2)), st((4,))]
    out16 = [s.arr((3, 2), "float16"), s.arr((4,), "float16")]
    op("nd.multi_mp_sgd_update", h16[0], h16[0], w32s[0], h16[1], h16[1], w32s[1],
       lrs=(0.1, 0.2), wds=(0.01, 0.0), num_weights=2, out=out16, post=w32s)
    w32s = [st((3, 2)), st((4,))]
    op("nd.multi_mp_sgd_mom_update", h16[0], h16[0], ms2[0], w32s[0], h16[1], h16[1], ms2[1],
       w32s[1], lrs=(0.1, 0.2), wds=(0.01, 0.0), momentum=0.9, num_weights=2, out=out16,
       post=ms2 + w32s)
    lrs, wds = s.arr(values=[0.1, 0.2]), s.arr(values=[0.01, 0.0])
    op("nd.preloaded_multi_sgd_update", ws[0], gs[0], ws[1], gs[1], lrs, wds, num_weights=2,
       out=outs)
    ms = [st((3, 2)), st((4,))]
    op("nd.preloaded_multi_sgd_mom_update", ws[0], gs[0], ms[0], ws[1], gs[1], ms[1], lrs, wds,
       momentum=0.9, num_weights=2, out=outs, post=ms)
    w32s = [st((3, 2)), st((4,))]
    op("nd.preloaded_multi_mp_sgd_update", h16[0], h16[0], w32s[0], h16[1], h16[1], w32s[1],
       lrs, wds, num_weights=2, out=out16, post=w32s)
    ms, w32s = [st((3, 2)), st((4,))], [st((3, 2)), st((4,))]
    op("nd.preloaded_multi_mp_sgd_mom_update", h16[0], h16[0], ms[0], w32s[0], h16[1], h16[1],
       ms[1], w32s[1], lrs, wds, momentum=0.5, num_weights=2, out=out16, post=ms + w32s)
    op("nd.multi_sum_sq", ws[0], gs[1], num_arrays=2)
    op("nd.multi_sum_sq", h16[0], num_arrays=1)
    op("nd.multi_lars", s.arr(values=[0.1, 0.2, 0.3]), s.arr(values=[4.0, 9.0, 0.0]),
       s.arr(values=[1.0, 4.0, 2.0]), s.arr(values=[0.01, 0.0, 0.1]), eta=0.001, eps=1e-8,
       rescale_grad=2.0)
    op("nd.all_finite", w)
    op("nd.all_finite", s.arr(values=[1.0, np.inf]))
    op("nd.multi_all_finite", w, s.arr(values=[np.nan, 1.0]), num_arrays=2)
    op("nd.multi_all_finite", w, g, num_arrays=2)
    # contrib AdamW and the multi-tensor AdamW / LAMB
    mean, var = st(), st(lo=0.1, hi=1.0)
    op("nd.contrib.adamw_update", w, g, mean, var, rescale_grad=s.arr(values=[0.5]), lr=0.1,
       eta=0.5, wd=0.1, post=[mean, var])
    wcopy, mean, var = st(), st(), st(lo=0.1, hi=1.0)
    op("nd.contrib.adamw_update", wcopy, g, mean, var, rescale_grad=s.arr(values=[np.inf]),
       lr=0.1, eta=1.0, out=wcopy, post=[mean, var, wcopy])
    mean, var, w32 = st(), st(lo=0.1, hi=1.0), st()
    op("nd.contrib.mp_adamw_update", w16, g16, mean, var, w32,
       rescale_grad=s.arr(values=[0.5]), lr=0.1, eta=0.5, wd=0.1, post=[mean, var, w32])
    means, vars_ = [st((3, 2)), st((4,))], [st((3, 2), lo=0.1), st((4,), lo=0.1)]
    op("nd.contrib.multi_adamw_update", ws, gs, means, vars_, s.arr(values=[0.5]),
       lrs=(0.1, 0.05), wds=(0.01, 0.0), etas=(1.0, 0.5), out=outs, post=means + vars_)
    means, vars_ = [st((3, 2)), st((4,))], [st((3, 2), lo=0.1), st((4,), lo=0.1)]
    w32s = [st((3, 2)), st((4,))]
    op("nd.contrib.multi_mp_adamw_update", h16, h16, means, vars_, w32s, s.arr(values=[0.5]),
       lrs=(0.1, 0.05), wds=(0.01, 0.0), etas=(1.0, 0.5), out=out16,
       post=means + vars_ + w32s)
    means, vars_ = [st((3, 2)), st((4,))], [st((3, 2), lo=0.1), st((4,), lo=0.1)]
    op("nd.contrib.multi_lamb_update", ws, gs, means, vars_, step_count=[1, 3],
       lrs=[0.1, 0.05], wds=[0.01, 0.0], out=outs, post=means + vars_)
    means, vars_ = [st((3, 2)), st((4,))], [st((3, 2), lo=0.1), st((4,), lo=0.1)]
    w32s = [st((3, 2)), st((4,))]
    op("nd.contrib.multi_mp_lamb_update", h16, h16, means, vars_, w32s, step_count=[2, 2],
       lrs=[0.1, 0.05], wds=[0.01, 0.0], out=out16, post=means + vars_ + w32s)
    return s


SUITE = _suite()
mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_optimizer_ops")


def test_weight_input_unchanged_states_updated_in_place():
    w, g, mom = nd.array([1.0, 2.0]), nd.array([0.5, -1.0]), nd.array([0.1, 0.1])
    new = nd.sgd_mom_update(w, g, mom, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(w.asnumpy(), [1.0, 2.0])
    np.testing.assert_allclose(mom.asnumpy(), [0.04, 0.19], rtol=1e-6)
    np.testing.assert_allclose(new.asnumpy(), [1.04, 2.19], rtol=1e-6)
    nd.sgd_update(w, g, lr=0.1, out=w)
    np.testing.assert_allclose(w.asnumpy(), [0.95, 2.1], rtol=1e-6)


def test_reset_arrays_zeroes_inputs_and_returns_nothing():
    a, b = nd.ones((2, 3)), nd.ones((4,))
    assert nd.reset_arrays(a, b, num_arrays=2) == []
    assert not a.asnumpy().any() and not b.asnumpy().any()


def test_group_adagrad_matches_formula():
    # MXNet 1.9.1 has no CPU kernel for it: the documented formula is the reference
    rng = np.random.default_rng(0)
    w, g = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))
    h = rng.uniform(0.1, 1, (3, 1))
    hist = nd.array(h)
    new = nd.contrib.group_adagrad_update(nd.array(w), nd.array(g), hist, lr=0.1)
    h2 = h + (g * g).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(hist.asnumpy(), h2, rtol=1e-5)
    np.testing.assert_allclose(new.asnumpy(), w - 0.1 * g / np.sqrt(h2 + 1e-5), rtol=1e-5)


def test_symbol_update_marks_states_as_auxiliary():
    out = sym.sgd_mom_update(sym.var("w"), sym.var("g"), lr=0.1, name="upd")
    assert out.list_auxiliary_states() == ["upd_mom"]
    assert out.list_arguments() == ["w", "g"]


_SPARSE = r'''
import json, sys
import numpy as np
lib = __import__(sys.argv[1])
nd = lib.nd
def W(stype="default"):
    w = nd.array(np.arange(12, dtype="float32").reshape(4, 3) / 10)
    return w.tostype(stype) if stype != "default" else w
g = nd.sparse.row_sparse_array((np.array([[1., -2., .5]], "float32"), [2]), shape=(4, 3))
res = {}
def z():
    return nd.zeros((4, 3))
for lazy in (True, False):
    w = W(); nd.sparse.sgd_update(w, g, lr=0.5, wd=0.1, lazy_update=lazy, out=w)
    res[f"sgd{lazy}"] = w.asnumpy().tolist()
    w, m = W(), z() + 0.1
    nd.sparse.sgd_mom_update(w, g, m, lr=0.5, wd=0.1, momentum=0.9, lazy_update=lazy, out=w)
    res[f"mom{lazy}"] = [w.asnumpy().tolist(), m.asnumpy().tolist()]
    w, m, v = W(), z() + 0.1, z() + 0.2
    nd.sparse.adam_update(w, g, m, v, lr=0.5, wd=0.1, lazy_update=lazy, out=w)
    res[f"adam{lazy}"] = [w.asnumpy().tolist(), m.asnumpy().tolist(), v.asnumpy().tolist()]
w, h = W(), z() + 0.3
nd.sparse.adagrad_update(w, g, h, lr=0.5, out=w)
res["adagrad"] = [w.asnumpy().tolist(), h.asnumpy().tolist()]
for stype in ("default", "row_sparse"):
    w, zz, n = W(stype), z() + 0.05, z() + 0.2
    if stype != "default":
        zz, n = zz.tostype(stype), n.tostype(stype)
    nd.sparse.ftrl_update(w, g, zz, n, lr=0.5, out=w)
    res["ftrl" + stype] = [w.asnumpy().tolist(), zz.asnumpy().tolist(), w.stype]
w = W("row_sparse"); nd.sparse.sgd_update(w, g, lr=0.5, wd=0.1, out=w)
res["rsp_weight"] = [w.asnumpy().tolist(), w.stype]
print(json.dumps(res))
'''


def test_sparse_updates_match_mxnet(tmp_path):
    import os
    if not os.path.exists(MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter")
    import sys
    want = run_script(MX_PYTHON, "mxnet", _SPARSE, tmp_path, MXNET_STORAGE_FALLBACK_LOG_VERBOSE="0")
    got = run_script(sys.executable, "kiln", _SPARSE, tmp_path)
    assert want.keys() == got.keys()
    for k in want:
        w, gt = want[k], got[k]
        if isinstance(w, list) and isinstance(w[-1], str):
            assert w[-1] == gt[-1], k
            w, gt = w[:-1], gt[:-1]
        np.testing.assert_allclose(np.array(gt, dtype=float), np.array(w, dtype=float),
                                   rtol=1e-5, atol=1e-6, err_msg=k)
