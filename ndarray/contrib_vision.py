"""The detection and vision ops of MXNet 1.9's ``nd.contrib`` (``box_nms``, ``ROIAlign``,
``MultiBoxPrior``...), re-exported by ``ndarray/contrib.py``: each is a registry op (its
``_contrib_<name>`` alias), so ``nd.contrib.X``, ``sym.contrib.X`` and ``F.contrib.X`` are
one definition.

Example::

    >>> from kiln import nd
    >>> nd.contrib.box_iou(nd.array([[0, 0, 1, 1]]), nd.array([[0, 0, 1, 2]]))
"""
from ._registry import ALIASES, OPS

# MXNet's contrib name -> the registry op or alias that implements it
NAMES = ("box_iou", "box_nms", "box_non_maximum_suppression", "box_encode", "box_decode",
         "bipartite_matching", "MultiBoxPrior", "MultiBoxTarget", "MultiBoxDetection",
         "ROIAlign", "PSROIPooling", "RROIAlign", "DeformablePSROIPooling", "BilinearResize2D",
         "AdaptiveAvgPooling2D", "Proposal", "MultiProposal", "DeformableConvolution",
         "ModulatedDeformableConvolution")


def _lookup(short):
    full = "_contrib_" + short
    return OPS[ALIASES.get(full, full)].func


globals().update({n: _lookup(n) for n in NAMES})
__all__ = list(NAMES)
