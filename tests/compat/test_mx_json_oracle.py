"""Every registry op's samples as symbol JSON through real MXNet 1.9.1, both ways
(tests/compat/mx_json_sweep.py); skipped without MXNet's interpreter (.mxnet-venv or
KILN_MXNET_PYTHON).

Each op's worst sample class must be the one listed here (``ok`` unless listed), so a fix
that makes an op pass, or a change that breaks one, shows up. The causes of the listed ones
(measured 2026-12-07; docs/compat.md "Symbol files between kiln and MXNet 1.9.1"):
"""
import os

import pytest
from kiln.ndarray._registry import OPS

from . import mx_json_sweep as sweep
from .test_mx_json_names import KILN_ONLY

# MXNet loads the JSON but cannot run the sample: the op is GPU-only, sparse-only or
# imperative-only there, MXNet's symbolic executor cannot infer it (the multi-tensor
# optimizer updates), or kiln's sample uses what kiln accepts beyond MXNet (batched
# images, broadcasting gemm, float indices, an act_type MXNet lacks)
MX_CANNOT_RUN = {
    "_contrib_backward_hawkesll", "_contrib_backward_index_copy", "_contrib_backward_quadratic",
    "_contrib_count_sketch", "_contrib_edge_id", "_contrib_fft", "_contrib_getnnz",
    "_contrib_group_adagrad_update", "_contrib_ifft", "_contrib_quantize_asym",
    "_contrib_quantized_conv", "_image_adjust_lighting", "_image_flip_left_right",
    "_image_flip_top_bottom", "_image_normalize", "_image_random_brightness",
    "_image_random_contrast", "_image_random_flip_left_right", "_image_random_flip_top_bottom",
    "_image_random_hue", "_image_random_saturation", "_multi_adamw_update",
    "_multi_lamb_update", "_multi_mp_adamw_update", "_multi_mp_lamb_update",
    "_sparse_adagrad_update", "activation", "amp_cast", "amp_multicast", "batch_take",
    "broadcast_to", "col2im", "deconvolution", "im2col",
    "linalg_gemm2", "lrn", "mp_lamb_update_phase1", "multi_mp_sgd_mom_update",
    "multi_mp_sgd_update", "multi_sgd_mom_update", "multi_sgd_update", "norm", "histogram",
    "preloaded_multi_mp_sgd_mom_update", "preloaded_multi_mp_sgd_update",
    "preloaded_multi_sgd_mom_update", "preloaded_multi_sgd_update", "random_uniform",
    "sequence_reverse",
}
# MXNet runs the JSON and its values differ from kiln's: int8 quantization rounding, rint's
# halves, argmax_channel's axis, multibox_detection's ties, calibration numerics, adamw
# with an infinite rescale_grad (MXNet skips the update, leaving the executor's output unset)
MX_VALUES_DIFFER = {
    "_contrib_adamw_update", "_contrib_calibrate_entropy", "_contrib_quantized_act",
    "_contrib_quantized_batch_norm", "_contrib_quantized_elemwise_add",
    "_contrib_quantized_fully_connected", "argmax_channel", "multibox_detection", "rint",
}
# MXNet's int8 fully-connected rounds as kiln does on some CPUs and not on others (its
# oneDNN int8 kernel is chosen by the CPU's instruction sets: the same wheel matched kiln on
# an AVX-512 VNNI AMD EPYC, differed on the machine the list above was measured on)
MX_VALUES_BY_CPU = {"_contrib_quantized_fully_connected"}
# a sample kiln's symbol API cannot build (a number where the symbol function wants a
# Symbol, a positional input that lands in another slot, an optional input left out that the
# symbol function makes a variable for: _bn_fold's bias)
NO_SYMBOL = {"_bn_fold", "_conv_affine_act", "floor_divide", "logical_and", "logical_or",
             "logical_xor", "rnn"}
# reset_arrays has no outputs: a graph without heads, which kiln's reader refuses
KILN_READ = {"reset_arrays"}

EXPECTED = dict({op: "kiln-only" for op in KILN_ONLY},
                **{op: "mx-refuses" for op in MX_CANNOT_RUN},
                **{op: "mx-values" for op in MX_VALUES_DIFFER},
                **{op: "no-symbol" for op in NO_SYMBOL},
                **{op: "kiln-read" for op in KILN_READ})


@pytest.fixture(scope="module")
def outcomes():
    if not os.path.exists(sweep.MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter (KILN_MXNET_PYTHON or .mxnet-venv)")
    report = sweep.sweep()
    worst = {op: cls for cls, ops in sweep.summarize(report).items() for op in ops}
    details = {}
    for r in report:
        details.setdefault(r["op"], []).append(f"{r['id']} {r['class']}: {r['detail']}")
    return worst, details


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_json_between_kiln_and_mxnet(name, outcomes):
    worst, details = outcomes
    expected = EXPECTED.get(name, "ok")
    if name in MX_VALUES_BY_CPU:
        assert worst[name] in ("ok", expected), "\n".join(details[name])
        return
    assert worst[name] == expected, "\n".join(details[name])
