"""``kiln.gluon.contrib.cnn``: MXNet Gluon 1.9's deformable convolution layers
(``kiln.nn.deformable_conv``).

Example::

    >>> from kiln.gluon.contrib.cnn import DeformableConvolution
    >>> layer = DeformableConvolution(8, kernel_size=(3, 3), padding=(1, 1))
"""
from ...nn.deformable_conv import DeformableConvolution, ModulatedDeformableConvolution

__all__ = ["DeformableConvolution", "ModulatedDeformableConvolution"]
