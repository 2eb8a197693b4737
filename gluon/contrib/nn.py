"""``kiln.gluon.contrib.nn``: the blocks of MXNet Gluon 1.9's ``gluon.contrib.nn``.

``Concurrent``/``HybridConcurrent`` feed one input to every child and concatenate the outputs
along ``axis``; ``Identity`` passes its input through; ``PixelShuffle1D/2D/3D`` move groups of
channels into space (sub-pixel upsampling). All but ``Concurrent`` hybridize and export to ONNX
(the shuffles as Reshape/Transpose with the batch and spatial sizes read at run time).
``SyncBatchNorm`` (BatchNorm over the batches of every process of the dist kvstore) lives in
``kiln.kvstore.sync_batchnorm``, next to the communicator it reduces through.

Example::

    >>> net = HybridConcurrent(axis=1)
    >>> net.add(kiln.gluon.nn.Dense(3), Identity())
    >>> net.initialize()
    >>> net(kiln.nd.ones((2, 4))).shape
    (2, 7)
"""
from ...kvstore.sync_batchnorm import SyncBatchNorm
from ...nn import Concatenate as _Concatenate
from ...nn import HybridBlock
from ...nn import HybridConcatenate as _HybridConcatenate
from ...nn import Identity as _Identity

__all__ = ["Concurrent", "HybridConcurrent", "Identity", "PixelShuffle1D", "PixelShuffle2D",
           "PixelShuffle3D", "SyncBatchNorm"]


class Concurrent(_Concatenate):
    """Runs every child ``Block`` on the same input and concatenates their outputs on ``axis``
    (default -1). Children of shapes ``(N, a)`` and ``(N, b)`` give ``(N, a + b)``.

    Example::

        >>> net = Concurrent(); net.add(kiln.gluon.nn.Dense(10), Identity())
    """


class HybridConcurrent(_HybridConcatenate):
    """Hybridizable ``Concurrent``: children's outputs on one input, concatenated on ``axis``.

    Example::

        >>> net = HybridConcurrent(axis=1); net.add(kiln.gluon.nn.Dense(10), Identity())
        >>> net.hybridize()
    """


class Identity(_Identity):
    """Returns its input unchanged (the residual branch of a ``HybridConcurrent``).

    Example::

        >>> Identity()(kiln.nd.ones((2, 3))).shape
        (2, 3)
    """


def _factors(factor, n, cls):
    """``factor`` (an int or an ``n``-tuple of ints) as an ``n``-tuple of positive ints."""
    values = (factor,) * n if isinstance(factor, int) else tuple(factor)
    if len(values) != n or any(int(f) != f or f < 1 for f in values):
        raise ValueError(f"{cls}: factor must be a positive int or a {n}-tuple of positive "
                         f"ints, got {factor!r}")
    return tuple(int(f) for f in values)


class _PixelShuffle(HybridBlock):
    """Shared checks and repr; subclasses define ``_ndim`` and ``_shuffle``."""

    _ndim = 0

    def __init__(self, factor):
        super().__init__()
        self._factors = _factors(factor, self._ndim, type(self).__name__)

    def hybrid_forward(self, F, x):
        ndim, prod = self._ndim, 1
        for f in self._factors:
            prod *= f
        shape = getattr(x, "shape", None)
        if shape is not None and (len(shape) != ndim + 2 or shape[1] % prod):
            raise ValueError(f"{type(self).__name__}{self._factors}: needs an input of shape "
                             f"(N, C*{prod}, {', '.join('DHW'[3 - ndim:])}), got {tuple(shape)}")
        return self._shuffle(F, x)

    def __repr__(self):
        shown = self._factors[0] if self._ndim == 1 else self._factors
        return f"{type(self).__name__}({shown})"


class PixelShuffle1D(_PixelShuffle):
    """Sub-pixel upsampling along W: ``(N, f*C, W)`` -> ``(N, C, W*f)``; output channel ``c``
    at position ``w*f + i`` is input channel ``c*f + i`` at ``w``.

    Example::

        >>> PixelShuffle1D(2)(kiln.nd.zeros((1, 8, 3))).shape
        (1, 4, 6)
    """

    _ndim = 1

    def _shuffle(self, F, x):
        f = self._factors[0]
        x = F.reshape(x, (0, -4, -1, f, 0))       # (N, C, f, W)
        x = F.transpose(x, (0, 1, 3, 2))          # (N, C, W, f)
        return F.reshape(x, (0, 0, -3))           # (N, C, W*f)


class PixelShuffle2D(_PixelShuffle):
    """Sub-pixel upsampling along H and W: ``(N, f1*f2*C, H, W)`` -> ``(N, C, H*f1, W*f2)``
    (channel ``c*f1*f2 + i*f2 + j`` goes to row offset ``i``, column offset ``j``: ONNX's
    DepthToSpace in CRD mode when ``f1 == f2``).

    Example::

        >>> PixelShuffle2D((2, 3))(kiln.nd.zeros((1, 12, 3, 5))).shape
        (1, 2, 6, 15)
    """

    _ndim = 2

    def _shuffle(self, F, x):
        f1, f2 = self._factors
        x = F.reshape(x, (0, -4, -1, f1 * f2, 0, 0))   # (N, C, f1*f2, H, W)
        x = F.reshape(x, (0, 0, -4, f1, f2, 0, 0))     # (N, C, f1, f2, H, W)
        x = F.transpose(x, (0, 1, 4, 2, 5, 3))         # (N, C, H, f1, W, f2)
        return F.reshape(x, (0, 0, -3, -3))            # (N, C, H*f1, W*f2)


class PixelShuffle3D(_PixelShuffle):
    """Sub-pixel upsampling along D, H and W:
    ``(N, f1*f2*f3*C, D, H, W)`` -> ``(N, C, D*f1, H*f2, W*f3)``.

    Example::

        >>> PixelShuffle3D((2, 3, 4))(kiln.nd.zeros((1, 48, 3, 5, 7))).shape
        (1, 2, 6, 15, 28)
    """

    _ndim = 3

    def _shuffle(self, F, x):
        f1, f2, f3 = self._factors
        x = F.reshape(x, (0, -4, -1, f1 * f2 * f3, 0, 0, 0))   # (N, C, f1*f2*f3, D, H, W)
        x = F.reshape(x, (0, 0, -4, f1, f2 * f3, 0, 0, 0))     # (N, C, f1, f2*f3, D, H, W)
        x = F.reshape(x, (0, 0, 0, -4, f2, f3, 0, 0, 0))       # (N, C, f1, f2, f3, D, H, W)
        x = F.transpose(x, (0, 1, 5, 2, 6, 3, 7, 4))           # (N, C, D, f1, H, f2, W, f3)
        return F.reshape(x, (0, 0, -3, -3, -3))                # (N, C, D*f1, H*f2, W*f3)

