"""Activation layers: Activation, LeakyReLU, PReLU, ELU, SELU, GELU, Swish, SiLU (MXNet Gluon 1.9).

Each layer is a HybridBlock over one ``kiln.nd`` op. Like Gluon, only ``Activation`` and
``LeakyReLU`` define a ``__repr__``; the others print as a plain Block (``ELU(\\n\\n)``).

Example::

    >>> act = Activation('relu')
    >>> act(kiln.nd.array([-1., 2.]))
    [0. 2.]
    <NDArray 2 @cpu(0)>
"""
from .. import initializer
from .block import HybridBlock

__all__ = ["Activation", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "Swish", "SiLU"]


class Activation(HybridBlock):
    """Applies ``nd.Activation(x, act_type=activation)``: 'relu', 'sigmoid', 'tanh',
    'softrelu', 'softsign' (also 'log_sigmoid', 'mish'). Output: like the input.

    Example::

        >>> Activation('tanh')
        Activation(tanh)
    """

    def __init__(self, activation, **kwargs):
        self._act_type = activation      # read by _alias() while naming the block
        super().__init__(**kwargs)

    def _alias(self):
        return self._act_type

    def hybrid_forward(self, F, x):
        return F.Activation(x, act_type=self._act_type, name="fwd")

    def __repr__(self):
        return f"{self.__class__.__name__}({self._act_type})"


class LeakyReLU(HybridBlock):
    """``x`` where ``x >= 0``, ``alpha * x`` elsewhere (``alpha >= 0``). Output: like input.

    Example::

        >>> LeakyReLU(0.1)(kiln.nd.array([-1., 2.]))
        [-0.1  2. ]
        <NDArray 2 @cpu(0)>
    """

    def __init__(self, alpha, **kwargs):
        if alpha < 0:
            raise AssertionError("Slope coefficient for LeakyReLU must be no less than 0.")
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="leaky", slope=self._alpha, name="fwd")

    def __repr__(self):
        return f"{self.__class__.__name__}({self._alpha})"


class PReLU(HybridBlock):
    """Leaky ReLU with a learned slope ``alpha`` of shape ``(in_channels,)`` (one slope, or one
    per channel of axis 1), initialized to 0.25.

    Example::

        >>> p = PReLU(in_channels=3); p.initialize(); p.alpha.shape
        (3,)
    """

    def __init__(self, alpha_initializer=initializer.Constant(0.25), in_channels=1, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.alpha = self.params.get("alpha", shape=(in_channels,), init=alpha_initializer)

    def hybrid_forward(self, F, x, alpha):
        return F.LeakyReLU(x, alpha, act_type="prelu", name="fwd")


class ELU(HybridBlock):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` elsewhere.

    Example::

        >>> ELU(alpha=1.0)(kiln.nd.array([0., 1.]))
        [0. 1.]
        <NDArray 2 @cpu(0)>
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="elu", slope=self._alpha)


class SELU(HybridBlock):
    """Scaled ELU (Klambauer et al., 2017): ``scale * elu(x, alpha)`` with the fixed constants
    1.0507 and 1.6733.

    Example::

        >>> SELU()(kiln.nd.array([1.])).shape
        (1,)
    """

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="selu", name="fwd")


class GELU(HybridBlock):
    """Gaussian error linear unit ``x * Phi(x)``; ``approximation='tanh'`` uses the tanh
    formula instead of erf.

    Example::

        >>> GELU()(kiln.nd.array([0.])).asnumpy()
        array([0.], dtype=float32)
    """

    def __init__(self, approximation="erf", **kwargs):
        if approximation not in ("erf", "tanh"):
            raise ValueError(f"Unsupported approximation! Support values are 'erf' and 'tanh', "
                             f"but got '{approximation}'")
        super().__init__(**kwargs)
        self._approximation = approximation

    def hybrid_forward(self, F, x):
        if self._approximation == "erf":
            return F.LeakyReLU(x, act_type="gelu", name="fwd")
        return F.gelu(x, approximation="tanh")


class Swish(HybridBlock):
    """``x * sigmoid(beta * x)`` (Ramachandran et al., 2017).

    Example::

        >>> Swish(beta=1.0)(kiln.nd.array([0.])).asnumpy()
        array([0.], dtype=float32)
    """

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self._beta = beta

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(self._beta * x, name="fwd")


class SiLU(HybridBlock):
    """Sigmoid linear unit ``x * sigmoid(x)`` (Swish with beta 1).

    Example::

        >>> SiLU()(kiln.nd.array([0.])).asnumpy()
        array([0.], dtype=float32)
    """

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(x)
