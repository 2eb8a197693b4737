"""An op's default initializer for an input variable (MXNet's FSetInputVarAttrOnCompose).

MXNet 1.9.1's LeakyReLU sets ``__init__ = ["Constant", {"value": 0.25}]`` on the variable
composed as prelu's ``gamma`` unless that variable already has an initializer, so
``Module.init_params`` starts gamma at 0.25 (MXNet's test_init.py::test_default_init).
"""
import kiln as mx
import numpy as np


def _module_params(sym):
    mod = mx.mod.Module(sym, label_names=None)
    mod.bind(data_shapes=[("data", (4, 3))])
    mod.init_params()
    return mod.get_params()[0]


def test_auto_created_prelu_gamma_starts_at_quarter():
    data = mx.sym.Variable("data")
    sym = mx.sym.LeakyReLU(data=data, act_type="prelu", name="act")
    assert sym.attr_dict()["act_gamma"]["__init__"] == '["Constant", {"value": 0.25}]'
    gamma = _module_params(sym)["act_gamma"].asnumpy()
    assert gamma.shape == (3,)
    np.testing.assert_array_equal(gamma, np.full(3, 0.25, np.float32))


def test_given_gamma_without_init_gets_the_default_and_keeps_its_own():
    data = mx.sym.Variable("data")
    plain = mx.sym.Variable("g")
    sym = mx.sym.LeakyReLU(data=data, gamma=plain, act_type="prelu")
    np.testing.assert_array_equal(_module_params(sym)["g"].asnumpy(), np.full(3, 0.25))

    own = mx.sym.Variable("g2", init=mx.init.One())
    sym = mx.sym.LeakyReLU(data=data, gamma=own, act_type="prelu")
    assert sym.attr_dict()["g2"]["__init__"] == mx.init.One().dumps()
    np.testing.assert_array_equal(_module_params(sym)["g2"].asnumpy(), np.ones(3))


def test_default_survives_json_round_trip():
    sym = mx.sym.LeakyReLU(data=mx.sym.Variable("data"), act_type="prelu", name="p")
    back = mx.sym.load_json(sym.tojson())
    assert back.attr_dict()["p_gamma"]["__init__"] == '["Constant", {"value": 0.25}]'
