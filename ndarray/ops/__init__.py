"""All registered ops as functions (``kiln.nd.<name>``), one module per family.

Each family (``ops/<family>.py``) registers its ops when imported. ``_namespace.py``, generated
from the registry (``python -m kiln.tools.gen_namespace``; tests/test_namespace_sync.py checks
it), imports every op by name from its family, binds MXNet's aliases and the plain functions a
family lists in ``EXPORTS`` (composites such as ``batch_take``, MXNet's positional order for
``zeros``), and lists them all in ``__all__``; ``_namespace.pyi`` gives their signatures.

The families use this package as ``F`` (``from .. import ops as F``) inside gradients and
composites, which run only after every family has loaded.
"""
from ._namespace import *  # noqa: F403
from ._namespace import __all__  # noqa: F401
from . import amp_ops  # noqa: F401,E402 - amp_cast/amp_multicast, until _namespace lists them
from . import output_ops, regression_output  # noqa: F401,E402 - until _namespace lists them
from . import linalg_diag  # noqa: F401,E402 - until _namespace lists it
from . import linalg_decomp  # noqa: F401,E402 - until _namespace lists it
from . import linalg_inv  # noqa: F401,E402 - until _namespace lists it
from . import math_extra  # noqa: F401,E402 - until _namespace lists it
from . import upsampling  # noqa: F401,E402 - until _namespace lists it
from . import special  # noqa: F401,E402 - until _namespace lists it
from . import custom  # noqa: F401,E402 - until _namespace lists it
from . import random_dists  # noqa: F401,E402 - until _namespace lists it
from . import box_ops  # noqa: F401,E402 - until _namespace lists it
from . import image_ops  # noqa: F401,E402 - until _namespace lists it
from . import multibox  # noqa: F401,E402 - until _namespace lists it
from . import multibox_target  # noqa: F401,E402 - until _namespace lists it
from . import roi_ops  # noqa: F401,E402 - until _namespace lists it
from . import resize_ops  # noqa: F401,E402 - until _namespace lists it
from . import spatial_sampling  # noqa: F401,E402 - until _namespace lists it
from . import proposal  # noqa: F401,E402 - until _namespace lists it
from . import deformable_conv  # noqa: F401,E402 - until _namespace lists it
from . import correlation  # noqa: F401,E402 - until _namespace lists it
from . import optimizer_ops  # noqa: F401,E402 - until _namespace lists it
from . import optimizer_adaptive_ops  # noqa: F401,E402 - until _namespace lists it
from . import misc_mx  # noqa: F401,E402 - until _namespace lists it
from . import quantization, quantized_nn, quantized_elem, quant_calib  # noqa: F401,E402 - until _namespace lists them
from . import random_pdf  # noqa: F401,E402 - until _namespace lists it
from . import im2col_ops  # noqa: F401,E402 - until _namespace lists it
from . import legacy_layers  # noqa: F401,E402 - until _namespace lists it
from . import hawkes, spectral, graph_csr, contrib_backward, sparse_reg  # noqa: F401,E402 - until _namespace lists them
