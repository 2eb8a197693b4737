"""Every op, MXNet alias and family export of ``kiln.nd``, by name.

Generated from the op registry by `python -m kiln.tools.gen_namespace`: do not edit.
"""
import types as _types

from .activation import (
    _relu_backward,
    activation,
    elu,
    gelu,
    hard_sigmoid,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    mish,
    relu,
    selu,
    sigmoid,
    softmax,
    softmax_activation,
    softmin,
    softrelu,
    softsign,
    swish,
)
from .amp_ops import amp_cast, amp_multicast
from .attention import (
    arange_like,
    div_sqrt_dim,
    interleaved_matmul_encdec_qk,
    interleaved_matmul_encdec_valatt,
    interleaved_matmul_selfatt_qk,
    interleaved_matmul_selfatt_valatt,
)
from .box_ops import _box_nms_index, bipartite_matching, box_decode, box_encode, box_iou, box_nms
from .contrib_backward import (
    _contrib_backward_gradientmultiplier,
    _contrib_backward_index_copy,
    _contrib_backward_quadratic,
)
from .conv import _conv_weight_grad, convolution, deconvolution
from .conv_chain import _conv_chain
from .conv_fused import _bn_fold, _conv_affine_act
from .correlation import _backward_correlation, correlation
from .creation import (
    arange,
    cast,
    eye,
    full_like,
    linspace,
    mx_empty,
    mx_full,
    mx_ones,
    mx_zeros,
    ones_like,
    sum_to,
    to_device,
    zeros_like,
)
from .ctc import _ctc_loss_grad, ctc_loss
from .custom import _custom, _custom_backward
from .deformable_conv import (
    _backward_deformable_convolution,
    deformable_convolution,
    modulated_deformable_convolution,
)
from .elemwise import (
    add,
    add_n,
    clip,
    divide,
    equal,
    floor_divide,
    greater,
    greater_equal,
    hypot,
    lesser,
    lesser_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    multiply,
    not_equal,
    power,
    subtract,
    where,
)
from .fused import _log_softmax_pick, _log_softmax_pick_backward
from .graph_csr import _contrib_edge_id, _contrib_getnnz
from .hawkes import _contrib_backward_hawkesll, _contrib_hawkesll
from .im2col_ops import col2im, im2col
from .image_ops import (
    _adjust_lighting,
    _crop,
    _flip_left_right,
    _flip_top_bottom,
    _normalize,
    _random_brightness,
    _random_color_jitter,
    _random_contrast,
    _random_flip_left_right,
    _random_flip_top_bottom,
    _random_hue,
    _random_lighting,
    _random_saturation,
    _resize,
    _to_tensor,
)
from .indexing import (
    _getitem_backward,
    _put_along_axis,
    batch_take,
    fill_element_0index,
    gather_nd,
    getitem,
    one_hot,
    onehot_encode,
    pick,
    scatter_nd,
    take,
)
from .legacy_layers import crop_window, lrn
from .linalg import batch_dot, dot, linalg_gemm, linalg_gemm2, matmul
from .linalg_decomp import linalg_potrf, linalg_potri, linalg_syrk, linalg_trmm, linalg_trsm
from .linalg_diag import (
    linalg_extractdiag,
    linalg_extracttrian,
    linalg_makediag,
    linalg_maketrian,
    linalg_sumlogdiag,
)
from .linalg_inv import (
    _linalg_cofactor,
    linalg_det,
    linalg_gelqf,
    linalg_inverse,
    linalg_slogdet,
    linalg_syevd,
)
from .math_extra import cumsum, histogram, moments
from .misc_mx import (
    _contrib_gradientmultiplier,
    _contrib_index_array,
    _contrib_index_copy,
    erfinv,
    khatri_rao,
    ravel_multi_index,
    softmax_cross_entropy,
    unravel_index,
)
from .multibox import multibox_prior
from .multibox_target import multibox_detection, multibox_target
from .nn_basic import (
    _embedding_weight_grad,
    dropout,
    dropout_mask,
    embedding,
    fully_connected,
    sequence_mask,
)
from .norm import (
    _batch_norm_backward,
    batch_norm,
    group_norm,
    instance_norm,
    l2_normalization,
    layer_norm,
)
from .optimizer_adaptive_ops import (
    _contrib_adamw_update,
    _contrib_group_adagrad_update,
    _contrib_mp_adamw_update,
    _multi_adamw_update,
    _multi_lamb_update,
    _multi_mp_adamw_update,
    _multi_mp_lamb_update,
    _sparse_adagrad_update,
    adam_update,
    ftml_update,
    ftrl_update,
    lamb_update_phase1,
    lamb_update_phase2,
    mp_lamb_update_phase1,
    mp_lamb_update_phase2,
    rmsprop_update,
    rmspropalex_update,
)
from .optimizer_ops import (
    all_finite,
    mp_nag_mom_update,
    mp_sgd_mom_update,
    mp_sgd_update,
    multi_all_finite,
    multi_lars,
    multi_mp_sgd_mom_update,
    multi_mp_sgd_update,
    multi_sgd_mom_update,
    multi_sgd_update,
    multi_sum_sq,
    nag_mom_update,
    preloaded_multi_mp_sgd_mom_update,
    preloaded_multi_mp_sgd_update,
    preloaded_multi_sgd_mom_update,
    preloaded_multi_sgd_update,
    reset_arrays,
    sgd_mom_update,
    sgd_update,
    signsgd_update,
    signum_update,
)
from .output_ops import _softmax_output_backward, softmax_output
from .pool import _pooling_backward, _pooling_gather, pooling
from .proposal import multi_proposal, proposal
from .quant_calib import _contrib_calibrate_entropy
from .quantization import (
    _contrib_dequantize,
    _contrib_quantize,
    _contrib_quantize_asym,
    _contrib_quantize_v2,
    _contrib_requantize,
)
from .quantized_elem import (
    _contrib_quantized_act,
    _contrib_quantized_batch_norm,
    _contrib_quantized_concat,
    _contrib_quantized_elemwise_add,
    _contrib_quantized_elemwise_mul,
    _contrib_quantized_embedding,
    _contrib_quantized_flatten,
    _contrib_quantized_pooling,
)
from .quantized_nn import _contrib_quantized_conv, _contrib_quantized_fully_connected
from .random_dists import (
    random_exponential,
    random_exponential_like,
    random_gamma,
    random_gamma_like,
    random_generalized_negative_binomial,
    random_generalized_negative_binomial_like,
    random_negative_binomial,
    random_negative_binomial_like,
    random_poisson,
    random_poisson_like,
    sample_exponential,
    sample_gamma,
    sample_generalized_negative_binomial,
    sample_multinomial,
    sample_negative_binomial,
    sample_poisson,
)
from .random_ops import (
    random_normal,
    random_normal_like,
    random_randint,
    random_uniform,
    random_uniform_like,
    sample_normal,
    sample_uniform,
    shuffle,
)
from .random_pdf import (
    random_pdf_dirichlet,
    random_pdf_exponential,
    random_pdf_gamma,
    random_pdf_generalized_negative_binomial,
    random_pdf_negative_binomial,
    random_pdf_normal,
    random_pdf_poisson,
    random_pdf_uniform,
)
from .reduce import (
    _broadcast_reduced,
    _sum_wide,
    argmax,
    argmax_channel,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    nanprod,
    nansum,
    norm,
    prod,
    sum,
)
from .regression_output import (
    linear_regression_output,
    logistic_regression_output,
    mae_regression_output,
    make_loss,
    svm_output,
)
from .resize_ops import (
    _backward_adaptive_avg_pooling_2d,
    _backward_bilinear_resize_2d,
    adaptive_avg_pooling_2d,
    bilinear_resize_2d,
)
from .rnn import _rnn_backward, _rnn_param_concat, rnn
from .roi_ops import (
    _backward_deformable_psroi_pooling,
    _backward_ps_roi_pooling,
    _backward_roi_align,
    _backward_roi_pooling,
    _backward_rroi_align,
    deformable_psroi_pooling,
    ps_roi_pooling,
    roi_align,
    roi_pooling,
    rroi_align,
)
from .sequence import sequence_last, sequence_reverse
from .shape import (
    concat,
    concatenate,
    expand_dims,
    flatten,
    moveaxis,
    reshape,
    reshape_like,
    shape_array,
    size_array,
    split,
    split_v2,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
from .shape_broadcast import (
    broadcast_axis,
    broadcast_like,
    broadcast_to,
    depth_to_space,
    diag,
    space_to_depth,
)
from .shape_slicing import (
    _slice_assign,
    _slice_assign_scalar,
    flip,
    pad,
    repeat,
    slice_axis,
    slice_like,
    slice_op,
    tile,
)
from .sort import argsort, sort, topk
from .sparse_reg import _identity_attach_kl_sparse_reg
from .spatial_sampling import (
    _backward_bilinear_sampler,
    _backward_grid_generator,
    bilinear_sampler,
    grid_generator,
    spatial_transformer,
)
from .special import _digamma, gamma, gammaln
from .spectral import _contrib_count_sketch, _contrib_fft, _contrib_ifft
from .unary import (
    abs,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    cbrt,
    ceil,
    cos,
    cosh,
    degrees,
    erf,
    exp,
    expm1,
    fix,
    floor,
    identity,
    log,
    log1p,
    log2,
    log10,
    negative,
    radians,
    rcbrt,
    reciprocal,
    rint,
    round,
    rsqrt,
    sign,
    sin,
    sinh,
    smooth_l1,
    sqrt,
    square,
    stop_gradient,
    tan,
    tanh,
    trunc,
)
from .upsampling import up_sampling

# MXNet's names (CamelCase, broadcast_*), and functions kept under another name
Activation = activation
AdaptiveAvgPooling2D = adaptive_avg_pooling_2d
BatchNorm = batch_norm
BatchNorm_v1 = batch_norm
BilinearResize2D = bilinear_resize_2d
BilinearSampler = bilinear_sampler
BlockGrad = stop_gradient
CTCLoss = ctc_loss
Cast = cast
Concat = concat
Convolution = convolution
Convolution_v1 = convolution
Correlation = correlation
Crop = crop_window
Deconvolution = deconvolution
DeformableConvolution = deformable_convolution
DeformablePSROIPooling = deformable_psroi_pooling
Dropout = dropout
ElementWiseSum = add_n
Embedding = embedding
Flatten = flatten
FullyConnected = fully_connected
GridGenerator = grid_generator
GroupNorm = group_norm
IdentityAttachKLSparseReg = _identity_attach_kl_sparse_reg
InstanceNorm = instance_norm
L2Normalization = l2_normalization
LRN = lrn
LayerNorm = layer_norm
LeakyReLU = leaky_relu
LinearRegressionOutput = linear_regression_output
LogisticRegressionOutput = logistic_regression_output
MAERegressionOutput = mae_regression_output
MakeLoss = make_loss
ModulatedDeformableConvolution = modulated_deformable_convolution
MultiBoxDetection = multibox_detection
MultiBoxTarget = multibox_target
MultiProposal = multi_proposal
PSROIPooling = ps_roi_pooling
Pad = pad
Pooling = pooling
Pooling_v1 = pooling
Proposal = proposal
RNN = rnn
ROIAlign = roi_align
ROIPooling = roi_pooling
RROIAlign = rroi_align
Reshape = reshape
SVMOutput = svm_output
SequenceLast = sequence_last
SequenceMask = sequence_mask
SequenceReverse = sequence_reverse
SliceChannel = split
Softmax = softmax_output
SoftmaxActivation = softmax_activation
SoftmaxOutput = softmax_output
SpatialTransformer = spatial_transformer
SwapAxis = swapaxes
UpSampling = up_sampling
_add = add
_contrib_AdaptiveAvgPooling2D = adaptive_avg_pooling_2d
_contrib_BilinearResize2D = bilinear_resize_2d
_contrib_CTCLoss = ctc_loss
_contrib_DeformableConvolution = deformable_convolution
_contrib_DeformablePSROIPooling = deformable_psroi_pooling
_contrib_ModulatedDeformableConvolution = modulated_deformable_convolution
_contrib_MultiBoxDetection = multibox_detection
_contrib_MultiBoxPrior = multibox_prior
_contrib_MultiBoxTarget = multibox_target
_contrib_MultiProposal = multi_proposal
_contrib_PSROIPooling = ps_roi_pooling
_contrib_Proposal = proposal
_contrib_ROIAlign = roi_align
_contrib_RROIAlign = rroi_align
_contrib_arange_like = arange_like
_contrib_bipartite_matching = bipartite_matching
_contrib_box_decode = box_decode
_contrib_box_encode = box_encode
_contrib_box_iou = box_iou
_contrib_box_nms = box_nms
_contrib_box_non_maximum_suppression = box_nms
_contrib_ctc_loss = ctc_loss
_contrib_div_sqrt_dim = div_sqrt_dim
_contrib_interleaved_matmul_encdec_qk = interleaved_matmul_encdec_qk
_contrib_interleaved_matmul_encdec_valatt = interleaved_matmul_encdec_valatt
_contrib_interleaved_matmul_selfatt_qk = interleaved_matmul_selfatt_qk
_contrib_interleaved_matmul_selfatt_valatt = interleaved_matmul_selfatt_valatt
_copy = identity
_crop_assign = _slice_assign
_crop_assign_scalar = _slice_assign_scalar
_div = divide
_equal = equal
_greater = greater
_greater_equal = greater_equal
_histogram = histogram
_hypot = hypot
_image_adjust_lighting = _adjust_lighting
_image_crop = _crop
_image_flip_left_right = _flip_left_right
_image_flip_top_bottom = _flip_top_bottom
_image_normalize = _normalize
_image_random_brightness = _random_brightness
_image_random_color_jitter = _random_color_jitter
_image_random_contrast = _random_contrast
_image_random_flip_left_right = _random_flip_left_right
_image_random_flip_top_bottom = _random_flip_top_bottom
_image_random_hue = _random_hue
_image_random_lighting = _random_lighting
_image_random_saturation = _random_saturation
_image_resize = _resize
_image_to_tensor = _to_tensor
_lesser = lesser
_lesser_equal = lesser_equal
_linalg_det = linalg_det
_linalg_extractdiag = linalg_extractdiag
_linalg_extracttrian = linalg_extracttrian
_linalg_gelqf = linalg_gelqf
_linalg_gemm = linalg_gemm
_linalg_gemm2 = linalg_gemm2
_linalg_inverse = linalg_inverse
_linalg_makediag = linalg_makediag
_linalg_maketrian = linalg_maketrian
_linalg_potrf = linalg_potrf
_linalg_potri = linalg_potri
_linalg_slogdet = linalg_slogdet
_linalg_sumlogdiag = linalg_sumlogdiag
_linalg_syevd = linalg_syevd
_linalg_syrk = linalg_syrk
_linalg_trmm = linalg_trmm
_linalg_trsm = linalg_trsm
_logical_and = logical_and
_logical_or = logical_or
_logical_xor = logical_xor
_maximum = maximum
_minimum = minimum
_minus = subtract
_mod = mod
_mul = multiply
_not_equal = not_equal
_np_cumsum = cumsum
_npx_multibox_detection = multibox_detection
_npx_multibox_prior = multibox_prior
_npx_multibox_target = multibox_target
_npx_roi_pooling = roi_pooling
_plus = add
_power = power
_random_exponential = random_exponential
_random_exponential_like = random_exponential_like
_random_gamma = random_gamma
_random_gamma_like = random_gamma_like
_random_generalized_negative_binomial = random_generalized_negative_binomial
_random_generalized_negative_binomial_like = random_generalized_negative_binomial_like
_random_negative_binomial = random_negative_binomial
_random_negative_binomial_like = random_negative_binomial_like
_random_normal = random_normal
_random_normal_like = random_normal_like
_random_pdf_dirichlet = random_pdf_dirichlet
_random_pdf_exponential = random_pdf_exponential
_random_pdf_gamma = random_pdf_gamma
_random_pdf_generalized_negative_binomial = random_pdf_generalized_negative_binomial
_random_pdf_negative_binomial = random_pdf_negative_binomial
_random_pdf_normal = random_pdf_normal
_random_pdf_poisson = random_pdf_poisson
_random_pdf_uniform = random_pdf_uniform
_random_poisson = random_poisson
_random_poisson_like = random_poisson_like
_random_randint = random_randint
_random_uniform = random_uniform
_random_uniform_like = random_uniform_like
_ravel_multi_index = ravel_multi_index
_sample_exponential = sample_exponential
_sample_gamma = sample_gamma
_sample_generalized_negative_binomial = sample_generalized_negative_binomial
_sample_multinomial = sample_multinomial
_sample_negative_binomial = sample_negative_binomial
_sample_normal = sample_normal
_sample_poisson = sample_poisson
_sample_uniform = sample_uniform
_shuffle = shuffle
_sub = subtract
_unravel_index = unravel_index
block_grad = stop_gradient
box_non_maximum_suppression = box_nms
broadcast_add = add
broadcast_axes = broadcast_axis
broadcast_div = divide
broadcast_equal = equal
broadcast_greater = greater
broadcast_greater_equal = greater_equal
broadcast_hypot = hypot
broadcast_lesser = lesser
broadcast_lesser_equal = lesser_equal
broadcast_logical_and = logical_and
broadcast_logical_or = logical_or
broadcast_logical_xor = logical_xor
broadcast_maximum = maximum
broadcast_minimum = minimum
broadcast_minus = subtract
broadcast_mod = mod
broadcast_mul = multiply
broadcast_not_equal = not_equal
broadcast_plus = add
broadcast_power = power
broadcast_sub = subtract
choose_element_0index = pick
copy = identity
crop = slice_op
elemwise_add = add
elemwise_div = divide
elemwise_mul = multiply
elemwise_sub = subtract
empty = mx_empty
full = mx_full
identity_attach_kl_sparse_reg = _identity_attach_kl_sparse_reg
less = lesser
less_equal = lesser_equal
max_axis = max
min_axis = min
modulo = mod
normal = random_normal
normal_like = random_normal_like
ones = mx_ones
pow = power
randint = random_randint
reverse = flip
silu = swish
slice = slice_op
softplus = softrelu
sum_axis = sum
true_divide = divide
uniform = random_uniform
uniform_like = random_uniform_like
zeros = mx_zeros

_LINALG_ALL = [
    "det", "extractdiag", "extracttrian", "gelqf", "gemm", "gemm2", "inverse", "makediag",
    "maketrian", "potrf", "potri", "slogdet", "sumlogdiag", "syevd", "syrk", "trmm", "trsm",
]

# MXNet's ``nd.linalg``: the linalg_* functions under their short names
linalg = _types.ModuleType("kiln.ndarray.linalg", "nd.linalg.<name> is nd.linalg_<name>")
linalg.__dict__.update(
    det=linalg_det,
    extractdiag=linalg_extractdiag,
    extracttrian=linalg_extracttrian,
    gelqf=linalg_gelqf,
    gemm=linalg_gemm,
    gemm2=linalg_gemm2,
    inverse=linalg_inverse,
    makediag=linalg_makediag,
    maketrian=linalg_maketrian,
    potrf=linalg_potrf,
    potri=linalg_potri,
    slogdet=linalg_slogdet,
    sumlogdiag=linalg_sumlogdiag,
    syevd=linalg_syevd,
    syrk=linalg_syrk,
    trmm=linalg_trmm,
    trsm=linalg_trsm,
    __all__=_LINALG_ALL,
)

__all__ = [
    "Activation", "AdaptiveAvgPooling2D", "BatchNorm", "BatchNorm_v1", "BilinearResize2D",
    "BilinearSampler", "BlockGrad", "CTCLoss", "Cast", "Concat", "Convolution", "Convolution_v1",
    "Correlation", "Crop", "Deconvolution", "DeformableConvolution", "DeformablePSROIPooling",
    "Dropout", "ElementWiseSum", "Embedding", "Flatten", "FullyConnected", "GridGenerator",
    "GroupNorm", "IdentityAttachKLSparseReg", "InstanceNorm", "L2Normalization", "LRN", "LayerNorm",
    "LeakyReLU", "LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput",
    "MakeLoss", "ModulatedDeformableConvolution", "MultiBoxDetection", "MultiBoxTarget",
    "MultiProposal", "PSROIPooling", "Pad", "Pooling", "Pooling_v1", "Proposal", "RNN", "ROIAlign",
    "ROIPooling", "RROIAlign", "Reshape", "SVMOutput", "SequenceLast", "SequenceMask",
    "SequenceReverse", "SliceChannel", "Softmax", "SoftmaxActivation", "SoftmaxOutput",
    "SpatialTransformer", "SwapAxis", "UpSampling", "_add", "_backward_adaptive_avg_pooling_2d",
    "_backward_bilinear_resize_2d", "_backward_bilinear_sampler", "_backward_correlation",
    "_backward_deformable_convolution", "_backward_deformable_psroi_pooling",
    "_backward_grid_generator", "_backward_ps_roi_pooling", "_backward_roi_align",
    "_backward_roi_pooling", "_backward_rroi_align", "_batch_norm_backward", "_bn_fold",
    "_box_nms_index", "_broadcast_reduced", "_contrib_AdaptiveAvgPooling2D",
    "_contrib_BilinearResize2D", "_contrib_CTCLoss", "_contrib_DeformableConvolution",
    "_contrib_DeformablePSROIPooling", "_contrib_ModulatedDeformableConvolution",
    "_contrib_MultiBoxDetection", "_contrib_MultiBoxPrior", "_contrib_MultiBoxTarget",
    "_contrib_MultiProposal", "_contrib_PSROIPooling", "_contrib_Proposal", "_contrib_ROIAlign",
    "_contrib_RROIAlign", "_contrib_adamw_update", "_contrib_arange_like",
    "_contrib_backward_gradientmultiplier", "_contrib_backward_hawkesll",
    "_contrib_backward_index_copy", "_contrib_backward_quadratic", "_contrib_bipartite_matching",
    "_contrib_box_decode", "_contrib_box_encode", "_contrib_box_iou", "_contrib_box_nms",
    "_contrib_box_non_maximum_suppression", "_contrib_calibrate_entropy", "_contrib_count_sketch",
    "_contrib_ctc_loss", "_contrib_dequantize", "_contrib_div_sqrt_dim", "_contrib_edge_id",
    "_contrib_fft", "_contrib_getnnz", "_contrib_gradientmultiplier",
    "_contrib_group_adagrad_update", "_contrib_hawkesll", "_contrib_ifft", "_contrib_index_array",
    "_contrib_index_copy", "_contrib_interleaved_matmul_encdec_qk",
    "_contrib_interleaved_matmul_encdec_valatt", "_contrib_interleaved_matmul_selfatt_qk",
    "_contrib_interleaved_matmul_selfatt_valatt", "_contrib_mp_adamw_update", "_contrib_quantize",
    "_contrib_quantize_asym", "_contrib_quantize_v2", "_contrib_quantized_act",
    "_contrib_quantized_batch_norm", "_contrib_quantized_concat", "_contrib_quantized_conv",
    "_contrib_quantized_elemwise_add", "_contrib_quantized_elemwise_mul",
    "_contrib_quantized_embedding", "_contrib_quantized_flatten",
    "_contrib_quantized_fully_connected", "_contrib_quantized_pooling", "_contrib_requantize",
    "_conv_affine_act", "_conv_chain", "_conv_weight_grad", "_copy", "_crop_assign",
    "_crop_assign_scalar", "_ctc_loss_grad", "_custom", "_custom_backward", "_digamma", "_div",
    "_embedding_weight_grad", "_equal", "_getitem_backward", "_greater", "_greater_equal",
    "_histogram", "_hypot", "_image_adjust_lighting", "_image_crop", "_image_flip_left_right",
    "_image_flip_top_bottom", "_image_normalize", "_image_random_brightness",
    "_image_random_color_jitter", "_image_random_contrast", "_image_random_flip_left_right",
    "_image_random_flip_top_bottom", "_image_random_hue", "_image_random_lighting",
    "_image_random_saturation", "_image_resize", "_image_to_tensor", "_lesser", "_lesser_equal",
    "_linalg_cofactor", "_linalg_det", "_linalg_extractdiag", "_linalg_extracttrian",
    "_linalg_gelqf", "_linalg_gemm", "_linalg_gemm2", "_linalg_inverse", "_linalg_makediag",
    "_linalg_maketrian", "_linalg_potrf", "_linalg_potri", "_linalg_slogdet", "_linalg_sumlogdiag",
    "_linalg_syevd", "_linalg_syrk", "_linalg_trmm", "_linalg_trsm", "_log_softmax_pick",
    "_log_softmax_pick_backward", "_logical_and", "_logical_or", "_logical_xor", "_maximum",
    "_minimum", "_minus", "_mod", "_mul", "_multi_adamw_update", "_multi_lamb_update",
    "_multi_mp_adamw_update", "_multi_mp_lamb_update", "_not_equal", "_np_cumsum",
    "_npx_multibox_detection", "_npx_multibox_prior", "_npx_multibox_target", "_npx_roi_pooling",
    "_plus", "_pooling_backward", "_pooling_gather", "_power", "_put_along_axis",
    "_random_exponential", "_random_exponential_like", "_random_gamma", "_random_gamma_like",
    "_random_generalized_negative_binomial", "_random_generalized_negative_binomial_like",
    "_random_negative_binomial", "_random_negative_binomial_like", "_random_normal",
    "_random_normal_like", "_random_pdf_dirichlet", "_random_pdf_exponential", "_random_pdf_gamma",
    "_random_pdf_generalized_negative_binomial", "_random_pdf_negative_binomial",
    "_random_pdf_normal", "_random_pdf_poisson", "_random_pdf_uniform", "_random_poisson",
    "_random_poisson_like", "_random_randint", "_random_uniform", "_random_uniform_like",
    "_ravel_multi_index", "_relu_backward", "_rnn_backward", "_rnn_param_concat",
    "_sample_exponential", "_sample_gamma", "_sample_generalized_negative_binomial",
    "_sample_multinomial", "_sample_negative_binomial", "_sample_normal", "_sample_poisson",
    "_sample_uniform", "_shuffle", "_slice_assign", "_slice_assign_scalar",
    "_softmax_output_backward", "_sparse_adagrad_update", "_sub", "_sum_wide", "_unravel_index",
    "abs", "activation", "adam_update", "adaptive_avg_pooling_2d", "add", "add_n", "all_finite",
    "amp_cast", "amp_multicast", "arange", "arange_like", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctanh", "argmax", "argmax_channel", "argmin", "argsort", "batch_dot", "batch_norm",
    "batch_take", "bilinear_resize_2d", "bilinear_sampler", "bipartite_matching", "block_grad",
    "box_decode", "box_encode", "box_iou", "box_nms", "box_non_maximum_suppression",
    "broadcast_add", "broadcast_axes", "broadcast_axis", "broadcast_div", "broadcast_equal",
    "broadcast_greater", "broadcast_greater_equal", "broadcast_hypot", "broadcast_lesser",
    "broadcast_lesser_equal", "broadcast_like", "broadcast_logical_and", "broadcast_logical_or",
    "broadcast_logical_xor", "broadcast_maximum", "broadcast_minimum", "broadcast_minus",
    "broadcast_mod", "broadcast_mul", "broadcast_not_equal", "broadcast_plus", "broadcast_power",
    "broadcast_sub", "broadcast_to", "cast", "cbrt", "ceil", "choose_element_0index", "clip",
    "col2im", "concat", "concatenate", "convolution", "copy", "correlation", "cos", "cosh", "crop",
    "crop_window", "ctc_loss", "cumsum", "deconvolution", "deformable_convolution",
    "deformable_psroi_pooling", "degrees", "depth_to_space", "diag", "div_sqrt_dim", "divide",
    "dot", "dropout", "dropout_mask", "elemwise_add", "elemwise_div", "elemwise_mul",
    "elemwise_sub", "elu", "embedding", "empty", "equal", "erf", "erfinv", "exp", "expand_dims",
    "expm1", "eye", "fill_element_0index", "fix", "flatten", "flip", "floor", "floor_divide",
    "ftml_update", "ftrl_update", "full", "full_like", "fully_connected", "gamma", "gammaln",
    "gather_nd", "gelu", "getitem", "greater", "greater_equal", "grid_generator", "group_norm",
    "hard_sigmoid", "histogram", "hypot", "identity", "identity_attach_kl_sparse_reg", "im2col",
    "instance_norm", "interleaved_matmul_encdec_qk", "interleaved_matmul_encdec_valatt",
    "interleaved_matmul_selfatt_qk", "interleaved_matmul_selfatt_valatt", "khatri_rao",
    "l2_normalization", "lamb_update_phase1", "lamb_update_phase2", "layer_norm", "leaky_relu",
    "less", "less_equal", "lesser", "lesser_equal", "linalg", "linalg_det", "linalg_extractdiag",
    "linalg_extracttrian", "linalg_gelqf", "linalg_gemm", "linalg_gemm2", "linalg_inverse",
    "linalg_makediag", "linalg_maketrian", "linalg_potrf", "linalg_potri", "linalg_slogdet",
    "linalg_sumlogdiag", "linalg_syevd", "linalg_syrk", "linalg_trmm", "linalg_trsm",
    "linear_regression_output", "linspace", "log", "log10", "log1p", "log2", "log_sigmoid",
    "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor",
    "logistic_regression_output", "logsumexp", "lrn", "mae_regression_output", "make_loss",
    "matmul", "max", "max_axis", "maximum", "mean", "min", "min_axis", "minimum", "mish", "mod",
    "modulated_deformable_convolution", "modulo", "moments", "moveaxis", "mp_lamb_update_phase1",
    "mp_lamb_update_phase2", "mp_nag_mom_update", "mp_sgd_mom_update", "mp_sgd_update",
    "multi_all_finite", "multi_lars", "multi_mp_sgd_mom_update", "multi_mp_sgd_update",
    "multi_proposal", "multi_sgd_mom_update", "multi_sgd_update", "multi_sum_sq",
    "multibox_detection", "multibox_prior", "multibox_target", "multiply", "nag_mom_update",
    "nanprod", "nansum", "negative", "norm", "normal", "normal_like", "not_equal", "one_hot",
    "onehot_encode", "ones", "ones_like", "pad", "pick", "pooling", "pow", "power",
    "preloaded_multi_mp_sgd_mom_update", "preloaded_multi_mp_sgd_update",
    "preloaded_multi_sgd_mom_update", "preloaded_multi_sgd_update", "prod", "proposal",
    "ps_roi_pooling", "radians", "randint", "random_exponential", "random_exponential_like",
    "random_gamma", "random_gamma_like", "random_generalized_negative_binomial",
    "random_generalized_negative_binomial_like", "random_negative_binomial",
    "random_negative_binomial_like", "random_normal", "random_normal_like", "random_pdf_dirichlet",
    "random_pdf_exponential", "random_pdf_gamma", "random_pdf_generalized_negative_binomial",
    "random_pdf_negative_binomial", "random_pdf_normal", "random_pdf_poisson", "random_pdf_uniform",
    "random_poisson", "random_poisson_like", "random_randint", "random_uniform",
    "random_uniform_like", "ravel_multi_index", "rcbrt", "reciprocal", "relu", "repeat",
    "reset_arrays", "reshape", "reshape_like", "reverse", "rint", "rmsprop_update",
    "rmspropalex_update", "rnn", "roi_align", "roi_pooling", "round", "rroi_align", "rsqrt",
    "sample_exponential", "sample_gamma", "sample_generalized_negative_binomial",
    "sample_multinomial", "sample_negative_binomial", "sample_normal", "sample_poisson",
    "sample_uniform", "scatter_nd", "selu", "sequence_last", "sequence_mask", "sequence_reverse",
    "sgd_mom_update", "sgd_update", "shape_array", "shuffle", "sigmoid", "sign", "signsgd_update",
    "signum_update", "silu", "sin", "sinh", "size_array", "slice", "slice_axis", "slice_like",
    "smooth_l1", "softmax", "softmax_activation", "softmax_cross_entropy", "softmax_output",
    "softmin", "softplus", "softrelu", "softsign", "sort", "space_to_depth", "spatial_transformer",
    "split", "split_v2", "sqrt", "square", "squeeze", "stack", "stop_gradient", "subtract", "sum",
    "sum_axis", "sum_to", "svm_output", "swapaxes", "swish", "take", "tan", "tanh", "tile",
    "to_device", "topk", "transpose", "true_divide", "trunc", "uniform", "uniform_like",
    "unravel_index", "up_sampling", "where", "zeros", "zeros_like",
]
