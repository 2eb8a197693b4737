"""``kiln.model_zoo.vision`` (also ``kiln.gluon.model_zoo.vision``): MXNet Gluon 1.9's vision
models with the same block structure, child names and parameter shapes, so ``.params`` files
written by MXNet's ``save_parameters`` load with ``load_parameters``.

Construct with random weights (``vision.resnet18_v1()``) or by registry name
(``get_model('mobilenetv2_1.0', classes=10)``). ``pretrained=True`` never downloads: it loads
``<root>/<name>-<hash>.params`` (or ``<root>/<name>.params``), ``root`` defaulting to
``~/.mxnet/models``, and raises FileNotFoundError naming the path when the file is missing.
Pretrained models expect (N, 3, 224, 224) RGB inputs (299 for Inception V3) scaled to [0, 1]
and normalized with mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).

Example::

    >>> from kiln.gluon.model_zoo import vision
    >>> net = vision.get_model('resnet18_v1', classes=10); net.initialize()
    >>> net(kiln.nd.ones((1, 3, 32, 32))).shape
    (1, 10)
"""
# ruff: noqa: F401, F403, F405
import types as _types

from .._names import build as _build
from .alexnet import *
from .densenet import *
from .inception import *
from .mobilenet import *
from .resnet import *
from .squeezenet import *
from .vgg import *

_MODELS = {
    "resnet18_v1": resnet18_v1, "resnet34_v1": resnet34_v1, "resnet50_v1": resnet50_v1,
    "resnet101_v1": resnet101_v1, "resnet152_v1": resnet152_v1,
    "resnet18_v2": resnet18_v2, "resnet34_v2": resnet34_v2, "resnet50_v2": resnet50_v2,
    "resnet101_v2": resnet101_v2, "resnet152_v2": resnet152_v2,
    "vgg11": vgg11, "vgg13": vgg13, "vgg16": vgg16, "vgg19": vgg19,
    "vgg11_bn": vgg11_bn, "vgg13_bn": vgg13_bn, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn,
    "alexnet": alexnet,
    "densenet121": densenet121, "densenet161": densenet161, "densenet169": densenet169,
    "densenet201": densenet201,
    "squeezenet1.0": squeezenet1_0, "squeezenet1.1": squeezenet1_1,
    "inceptionv3": inception_v3,
    "mobilenet1.0": mobilenet1_0, "mobilenet0.75": mobilenet0_75,
    "mobilenet0.5": mobilenet0_5, "mobilenet0.25": mobilenet0_25,
    "mobilenetv2_1.0": mobilenet_v2_1_0, "mobilenetv2_0.75": mobilenet_v2_0_75,
    "mobilenetv2_0.5": mobilenet_v2_0_5, "mobilenetv2_0.25": mobilenet_v2_0_25,
}


def get_model(name, **kwargs):
    """A model by MXNet's registry name (case-insensitive), e.g. 'resnet50_v2', 'vgg16_bn',
    'squeezenet1.1', 'mobilenetv2_0.5', 'densenet121', 'alexnet', 'inceptionv3'.

    Keywords go to the constructor: ``pretrained``, ``classes``, ``ctx``, ``root``...
    Raises ValueError listing the available names for an unknown one.

    Example::

        >>> type(get_model('squeezenet1.1', classes=10)).__name__
        'SqueezeNet'
    """
    return _build(_MODELS, name, **kwargs)


__all__ = sorted(n for n, v in dict(globals()).items()
                 if not n.startswith("_") and not isinstance(v, _types.ModuleType))
