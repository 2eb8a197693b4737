"""Parameter, Constant and ParameterDict: initialization (deferred too), data/grad per device,
attribute changes, the tracer hook and saving/loading."""
import kiln as kl
import numpy as np
import pytest
from kiln import autograd, gluon, init, nd
from kiln.base import MXNetError
from kiln.ndarray import _registry
from kiln.nn.parameter import ParameterError


def test_initialize_data_grad():
    p = gluon.Parameter("fc_weight", shape=(3, 4), init=init.Constant(2.0))
    p.initialize()
    assert p.data().shape == (3, 4) and (p.data().asnumpy() == 2).all()
    assert p.grad().shape == (3, 4) and (p.grad().asnumpy() == 0).all()
    assert p.list_ctx() == [kl.cpu()]
    assert len(p.list_data()) == 1 and len(p.list_grad()) == 1
    with autograd.record():
        y = (p.data() * p.data()).sum()
    y.backward()
    np.testing.assert_allclose(p.grad().asnumpy(), 4.0)
    assert repr(p) == "Parameter fc_weight (shape=(3, 4), dtype=<class 'numpy.float32'>)"
    assert repr(gluon.Parameter("b", shape=(2,), dtype="float16")) == \
        "Parameter b (shape=(2,), dtype=float16)"


def test_default_name_and_own_init_overrides_global():
    p = gluon.Parameter(shape=(2, 2), init="ones")
    assert p.name == "weight"
    p.initialize(init=None, default_init=init.Xavier())
    assert (p.data().asnumpy() == 1).all()
    q = gluon.Parameter("q_bias", shape=(2,))
    q.initialize(default_init=init.Constant(5))     # Gluon applies the global init to any name
    assert (q.data().asnumpy() == 5).all()


def test_initialize_twice_warns_and_force_reinit():
    p = gluon.Parameter("w", shape=(2,), init="zeros")
    p.initialize()
    with pytest.warns(UserWarning, match="already initialized"):
        p.initialize()
    p.initialize(init=init.One(), force_reinit=True)
    assert (p.data().asnumpy() == 1).all()


def test_uninitialized_errors():
    p = gluon.Parameter("w", shape=(2,))
    with pytest.raises(RuntimeError, match="'w' has not been initialized"):
        p.data()
    with pytest.raises(ParameterError, match="invalid shape"):
        gluon.Parameter("v", shape=(2, 0)).initialize()


def test_deferred_init():
    p = gluon.Parameter("dense0_weight", shape=(4, 0), allow_deferred_init=True)
    p.initialize(init=init.One())
    assert p.shape == (4, 0)
    with pytest.raises(gluon.DeferredInitializationError, match="dense0_weight"):
        p.data()
    assert issubclass(gluon.DeferredInitializationError, MXNetError)
    assert p.list_ctx() == [kl.cpu()]
    with pytest.raises(ParameterError, match="incompatible"):
        p.shape = (5, 3)
    p.shape = (4, 3)
    p._finish_deferred_init()
    assert p.data().shape == (4, 3) and (p.data().asnumpy() == 1).all()


def test_minus_one_is_unknown():
    p = gluon.Parameter("w", shape=(-1, 3), allow_deferred_init=True)
    assert p.shape == (0, 3)
    p.initialize()
    p.shape = (2, 3)
    p._finish_deferred_init()
    assert p.data().shape == (2, 3)


def test_set_data_before_deferred_finish():
    p = gluon.Parameter("w", shape=(0,), allow_deferred_init=True)
    p.initialize()
    p.set_data(nd.array([1, 2, 3]))
    p._finish_deferred_init()
    np.testing.assert_array_equal(p.data().asnumpy(), [1, 2, 3])


def test_grad_req_null_and_back():
    p = gluon.Parameter("w", shape=(2,), init="zeros")
    p.initialize()
    p.grad_req = "null"
    assert p._grad is None
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.grad()
    p.grad_req = "write"
    assert p.grad().shape == (2,)
    with pytest.raises(ParameterError, match="grad_req must be"):
        p.grad_req = "bad"
    q = gluon.Parameter("q", shape=(2,), differentiable=False)
    assert q.grad_req == "null"


def test_grad_add_and_zero_grad():
    p = gluon.Parameter("w", shape=(3,), init="ones", grad_req="add")
    p.initialize()
    for _ in range(2):
        with autograd.record():
            y = (p.data() * 3).sum()
        y.backward()
    np.testing.assert_allclose(p.grad().asnumpy(), 6.0)
    p.zero_grad()
    np.testing.assert_allclose(p.grad().asnumpy(), 0.0)


def test_set_data_cast_and_attrs():
    p = gluon.Parameter("w", shape=(2, 2), init="zeros", lr_mult=0.5, wd_mult=2.0)
    p.initialize()
    p.set_data(np.full((2, 2), 3.0))
    assert (p.data().asnumpy() == 3).all()
    p.cast("float64")
    assert p.data().dtype == np.float64 and p.grad().dtype == np.float64
    assert (p.data().asnumpy() == 3).all() and p.dtype == "float64"
    assert p.lr_mult == 0.5 and p.wd_mult == 2.0 and p.name == "w"
    with pytest.raises(ParameterError):
        p.set_data(nd.ones((3, 3)))


def test_multi_context_reduce_and_reset():
    ctxs = [kl.cpu(0), kl.cpu(1)]
    p = gluon.Parameter("w", shape=(2,), init="ones")
    p.initialize(ctx=ctxs)
    assert p.list_ctx() == ctxs and len(p.list_data()) == 2
    assert p.data(kl.cpu(1)).context == kl.cpu(1)
    p.list_data()[1][:] = 3
    np.testing.assert_allclose(p._reduce().asnumpy(), [2, 2])
    with pytest.raises(RuntimeError, match="not initialized on context"):
        p.data(kl.cpu(2))
    p.reset_ctx(kl.cpu(2))
    assert p.list_ctx() == [kl.cpu(2)]
    np.testing.assert_allclose(p.data().asnumpy(), [2, 2])


class _FakeTracer:
    def param_value(self, param):
        return ("traced", param.name)


def test_data_goes_through_tracer(monkeypatch):
    p = gluon.Parameter("w", shape=(2,), init="ones")
    p.initialize()
    monkeypatch.setattr(_registry.STATE, "tracer", _FakeTracer())
    assert p.data() == ("traced", "w")
    monkeypatch.setattr(_registry.STATE, "tracer", None)
    assert p.data().shape == (2,)


def test_var_is_a_named_symbol():
    p = gluon.Parameter("w", shape=(2,))
    v = p.var()
    assert v.name == "w" and p.var() is v
    assert v.list_arguments() == ["w"]


def test_constant():
    c = gluon.Constant([[1, 2], [3, 4]])
    c.initialize()
    np.testing.assert_array_equal(c.data().asnumpy(), [[1, 2], [3, 4]])
    assert c.grad_req == "null" and c.dtype == np.float32
    with pytest.warns(UserWarning, match="does not support grad_req"):
        c.grad_req = "write"
    assert c.grad_req == "null"
    c1 = gluon.Constant("const_a", nd.array([5.0]))      # Gluon 1.x signature
    assert c1.name == "const_a" and c1.shape == (1,)
    assert repr(c1) == "Constant const_a (shape=(1,), dtype=<class 'numpy.float32'>)"


def test_parameter_dict_get_and_repr():
    pd = gluon.ParameterDict("net_")
    w = pd.get("weight", shape=(2, 0), dtype="float32")
    assert w.name == "net_weight" and pd.prefix == "net_"
    assert pd.get("weight", shape=(0, 3)) is w and w.shape == (2, 3)
    with pytest.raises(ParameterError, match="does not match"):
        pd.get("weight", shape=(5, 3))
    with pytest.raises(ParameterError, match="does not match"):
        pd.get("weight", lr_mult=3.0)
    c = pd.get_constant("c", [1.0, 2.0])
    assert pd.get_constant("c") is c
    with pytest.raises(KeyError):
        pd.get_constant("missing")
    assert list(pd.keys()) == ["net_weight", "net_c"] and len(pd) == 2
    assert "net_weight" in pd and pd["net_weight"] is w
    assert repr(pd) == ("net_ (\n  Parameter net_weight (shape=(2, 3), dtype=float32)\n"
                        "  Constant net_c (shape=(2,), dtype=<class 'numpy.float32'>)\n)")


def test_parameter_dict_shared_update_setattr():
    base = gluon.ParameterDict("a_")
    w = base.get("weight", shape=(2,))
    other = gluon.ParameterDict("a_", shared=base)
    assert other.get("weight") is w
    pd = gluon.ParameterDict("x_")
    pd.update(base)
    assert pd["a_weight"] is w
    clash = gluon.ParameterDict()
    clash._params["a_weight"] = gluon.Parameter("a_weight", shape=(2,))
    with pytest.raises(ParameterError, match="same name"):
        pd.update(clash)
    pd.setattr("grad_req", "null")
    assert w.grad_req == "null"
    pd.initialize(init.One())
    pd.zero_grad()
    assert pd.list_ctx() == [kl.cpu()]


def test_parameter_dict_save_load(tmp_path):
    pd = gluon.ParameterDict("net_")
    pd.get("weight", shape=(2, 3), init=init.Constant(1.5))
    pd.get("bias", shape=(2,), init="zeros")
    pd.initialize()
    f = str(tmp_path / "p.params")
    pd.save(f, strip_prefix="net_")
    assert sorted(nd.load(f)) == ["bias", "weight"]
    other = gluon.ParameterDict("net_")
    other.get("weight", shape=(2, 0), allow_deferred_init=True)
    other.get("bias", shape=(2,))
    other.load(f, restore_prefix="net_")
    assert other["net_weight"].shape == (2, 3)
    assert (other["net_weight"].data().asnumpy() == 1.5).all()
    with pytest.raises(ValueError, match="does not start"):
        pd.save(f, strip_prefix="zzz_")


def test_load_init_errors():
    p = gluon.Parameter("w", shape=(2, 3), init="zeros")
    p.initialize()
    with pytest.raises(ParameterError, match="shape incompatible expected"):
        p._load_init(nd.ones((3, 3)), None)
    with pytest.raises(ParameterError, match="cast_dtype=True"):
        p._load_init(nd.ones((2, 3), dtype="float64"), None)
    p._load_init(nd.ones((2, 3), dtype="float64"), None, cast_dtype=True)
    assert p.data().dtype == np.float32 and (p.data().asnumpy() == 1).all()
