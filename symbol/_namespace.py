"""Every op and MXNet alias of ``kiln.sym``: functions that build graph nodes.

Generated from the op registry by `python -m kiln.tools.gen_namespace`: do not edit.
"""
import types as _types

from ..ndarray._registry import OPS as _OPS
from .sym_ops import make_scalar_binary as _scalar
from .sym_ops import make_sym_function as _sym

_add = _sym(_OPS["add"])
_backward_adaptive_avg_pooling_2d = _sym(_OPS["_backward_adaptive_avg_pooling_2d"])
_backward_bilinear_resize_2d = _sym(_OPS["_backward_bilinear_resize_2d"])
_backward_bilinear_sampler = _sym(_OPS["_backward_bilinear_sampler"])
_backward_correlation = _sym(_OPS["_backward_correlation"])
_backward_deformable_convolution = _sym(_OPS["_backward_deformable_convolution"])
_backward_deformable_psroi_pooling = _sym(_OPS["_backward_deformable_psroi_pooling"])
_backward_grid_generator = _sym(_OPS["_backward_grid_generator"])
_backward_ps_roi_pooling = _sym(_OPS["_backward_ps_roi_pooling"])
_backward_roi_align = _sym(_OPS["_backward_roi_align"])
_backward_roi_pooling = _sym(_OPS["_backward_roi_pooling"])
_backward_rroi_align = _sym(_OPS["_backward_rroi_align"])
_batch_norm_backward = _sym(_OPS["_batch_norm_backward"])
_bn_fold = _sym(_OPS["_bn_fold"])
_box_nms_index = _sym(_OPS["_box_nms_index"])
_broadcast_reduced = _sym(_OPS["_broadcast_reduced"])
_contrib_adamw_update = _sym(_OPS["_contrib_adamw_update"])
_contrib_backward_gradientmultiplier = _sym(_OPS["_contrib_backward_gradientmultiplier"])
_contrib_backward_hawkesll = _sym(_OPS["_contrib_backward_hawkesll"])
_contrib_backward_index_copy = _sym(_OPS["_contrib_backward_index_copy"])
_contrib_backward_quadratic = _sym(_OPS["_contrib_backward_quadratic"])
_contrib_calibrate_entropy = _sym(_OPS["_contrib_calibrate_entropy"])
_contrib_count_sketch = _sym(_OPS["_contrib_count_sketch"])
_contrib_dequantize = _sym(_OPS["_contrib_dequantize"])
_contrib_edge_id = _sym(_OPS["_contrib_edge_id"])
_contrib_fft = _sym(_OPS["_contrib_fft"])
_contrib_getnnz = _sym(_OPS["_contrib_getnnz"])
_contrib_gradientmultiplier = _sym(_OPS["_contrib_gradientmultiplier"])
_contrib_group_adagrad_update = _sym(_OPS["_contrib_group_adagrad_update"])
_contrib_hawkesll = _sym(_OPS["_contrib_hawkesll"])
_contrib_ifft = _sym(_OPS["_contrib_ifft"])
_contrib_index_array = _sym(_OPS["_contrib_index_array"])
_contrib_index_copy = _sym(_OPS["_contrib_index_copy"])
_contrib_mp_adamw_update = _sym(_OPS["_contrib_mp_adamw_update"])
_contrib_quantize = _sym(_OPS["_contrib_quantize"])
_contrib_quantize_asym = _sym(_OPS["_contrib_quantize_asym"])
_contrib_quantize_v2 = _sym(_OPS["_contrib_quantize_v2"])
_contrib_quantized_act = _sym(_OPS["_contrib_quantized_act"])
_contrib_quantized_batch_norm = _sym(_OPS["_contrib_quantized_batch_norm"])
_contrib_quantized_concat = _sym(_OPS["_contrib_quantized_concat"])
_contrib_quantized_conv = _sym(_OPS["_contrib_quantized_conv"])
_contrib_quantized_elemwise_add = _sym(_OPS["_contrib_quantized_elemwise_add"])
_contrib_quantized_elemwise_mul = _sym(_OPS["_contrib_quantized_elemwise_mul"])
_contrib_quantized_embedding = _sym(_OPS["_contrib_quantized_embedding"])
_contrib_quantized_flatten = _sym(_OPS["_contrib_quantized_flatten"])
_contrib_quantized_fully_connected = _sym(_OPS["_contrib_quantized_fully_connected"])
_contrib_quantized_pooling = _sym(_OPS["_contrib_quantized_pooling"])
_contrib_requantize = _sym(_OPS["_contrib_requantize"])
_conv_affine_act = _sym(_OPS["_conv_affine_act"])
_conv_chain = _sym(_OPS["_conv_chain"])
_conv_weight_grad = _sym(_OPS["_conv_weight_grad"])
_ctc_loss_grad = _sym(_OPS["_ctc_loss_grad"])
_custom = _sym(_OPS["_custom"])
_custom_backward = _sym(_OPS["_custom_backward"])
_digamma = _sym(_OPS["_digamma"])
_div = _sym(_OPS["divide"])
_embedding_weight_grad = _sym(_OPS["_embedding_weight_grad"])
_equal = _sym(_OPS["equal"])
_getitem_backward = _sym(_OPS["_getitem_backward"])
_greater = _sym(_OPS["greater"])
_greater_equal = _sym(_OPS["greater_equal"])
_hypot = _sym(_OPS["hypot"])
_image_adjust_lighting = _sym(_OPS["_image_adjust_lighting"])
_image_crop = _sym(_OPS["_image_crop"])
_image_flip_left_right = _sym(_OPS["_image_flip_left_right"])
_image_flip_top_bottom = _sym(_OPS["_image_flip_top_bottom"])
_image_normalize = _sym(_OPS["_image_normalize"])
_image_random_brightness = _sym(_OPS["_image_random_brightness"])
_image_random_color_jitter = _sym(_OPS["_image_random_color_jitter"])
_image_random_contrast = _sym(_OPS["_image_random_contrast"])
_image_random_flip_left_right = _sym(_OPS["_image_random_flip_left_right"])
_image_random_flip_top_bottom = _sym(_OPS["_image_random_flip_top_bottom"])
_image_random_hue = _sym(_OPS["_image_random_hue"])
_image_random_lighting = _sym(_OPS["_image_random_lighting"])
_image_random_saturation = _sym(_OPS["_image_random_saturation"])
_image_resize = _sym(_OPS["_image_resize"])
_image_to_tensor = _sym(_OPS["_image_to_tensor"])
_lesser = _sym(_OPS["lesser"])
_lesser_equal = _sym(_OPS["lesser_equal"])
_linalg_cofactor = _sym(_OPS["_linalg_cofactor"])
_log_softmax_pick = _sym(_OPS["_log_softmax_pick"])
_log_softmax_pick_backward = _sym(_OPS["_log_softmax_pick_backward"])
_maximum = _sym(_OPS["maximum"])
_minimum = _sym(_OPS["minimum"])
_minus = _sym(_OPS["subtract"])
_mod = _sym(_OPS["mod"])
_mul = _sym(_OPS["multiply"])
_multi_adamw_update = _sym(_OPS["_multi_adamw_update"])
_multi_lamb_update = _sym(_OPS["_multi_lamb_update"])
_multi_mp_adamw_update = _sym(_OPS["_multi_mp_adamw_update"])
_multi_mp_lamb_update = _sym(_OPS["_multi_mp_lamb_update"])
_not_equal = _sym(_OPS["not_equal"])
_pooling_backward = _sym(_OPS["_pooling_backward"])
_pooling_gather = _sym(_OPS["_pooling_gather"])
_power = _sym(_OPS["power"])
_put_along_axis = _sym(_OPS["_put_along_axis"])
_relu_backward = _sym(_OPS["_relu_backward"])
_rnn_backward = _sym(_OPS["_rnn_backward"])
_rnn_param_concat = _sym(_OPS["_rnn_param_concat"])
_slice_assign = _sym(_OPS["_slice_assign"])
_slice_assign_scalar = _sym(_OPS["_slice_assign_scalar"])
_softmax_output_backward = _sym(_OPS["_softmax_output_backward"])
_sparse_adagrad_update = _sym(_OPS["_sparse_adagrad_update"])
_sum_wide = _sym(_OPS["_sum_wide"])
abs = _sym(_OPS["abs"])
activation = _sym(_OPS["activation"])
adam_update = _sym(_OPS["adam_update"])
adaptive_avg_pooling_2d = _sym(_OPS["adaptive_avg_pooling_2d"])
add = _scalar(_OPS["add"], "add")
add_n = _sym(_OPS["add_n"])
all_finite = _sym(_OPS["all_finite"])
amp_cast = _sym(_OPS["amp_cast"])
amp_multicast = _sym(_OPS["amp_multicast"])
arange = _sym(_OPS["arange"])
arange_like = _sym(_OPS["arange_like"])
arccos = _sym(_OPS["arccos"])
arccosh = _sym(_OPS["arccosh"])
arcsin = _sym(_OPS["arcsin"])
arcsinh = _sym(_OPS["arcsinh"])
arctan = _sym(_OPS["arctan"])
arctanh = _sym(_OPS["arctanh"])
argmax = _sym(_OPS["argmax"])
argmax_channel = _sym(_OPS["argmax_channel"])
argmin = _sym(_OPS["argmin"])
argsort = _sym(_OPS["argsort"])
batch_dot = _sym(_OPS["batch_dot"])
batch_norm = _sym(_OPS["batch_norm"])
batch_take = _sym(_OPS["batch_take"])
bilinear_resize_2d = _sym(_OPS["bilinear_resize_2d"])
bilinear_sampler = _sym(_OPS["bilinear_sampler"])
bipartite_matching = _sym(_OPS["bipartite_matching"])
box_decode = _sym(_OPS["box_decode"])
box_encode = _sym(_OPS["box_encode"])
box_iou = _sym(_OPS["box_iou"])
box_nms = _sym(_OPS["box_nms"])
broadcast_axis = _sym(_OPS["broadcast_axis"])
broadcast_like = _sym(_OPS["broadcast_like"])
broadcast_to = _sym(_OPS["broadcast_to"])
cast = _sym(_OPS["cast"])
cbrt = _sym(_OPS["cbrt"])
ceil = _sym(_OPS["ceil"])
clip = _sym(_OPS["clip"])
col2im = _sym(_OPS["col2im"])
concat = _sym(_OPS["concat"])
convolution = _sym(_OPS["convolution"])
correlation = _sym(_OPS["correlation"])
cos = _sym(_OPS["cos"])
cosh = _sym(_OPS["cosh"])
crop_window = _sym(_OPS["crop_window"])
ctc_loss = _sym(_OPS["ctc_loss"])
cumsum = _sym(_OPS["cumsum"])
deconvolution = _sym(_OPS["deconvolution"])
deformable_convolution = _sym(_OPS["deformable_convolution"])
deformable_psroi_pooling = _sym(_OPS["deformable_psroi_pooling"])
degrees = _sym(_OPS["degrees"])
depth_to_space = _sym(_OPS["depth_to_space"])
diag = _sym(_OPS["diag"])
div_sqrt_dim = _sym(_OPS["div_sqrt_dim"])
divide = _scalar(_OPS["divide"], "divide")
dot = _sym(_OPS["dot"])
dropout = _sym(_OPS["dropout"])
dropout_mask = _sym(_OPS["dropout_mask"])
elu = _sym(_OPS["elu"])
embedding = _sym(_OPS["embedding"])
empty = _sym(_OPS["empty"])
equal = _scalar(_OPS["equal"], "equal")
erf = _sym(_OPS["erf"])
erfinv = _sym(_OPS["erfinv"])
exp = _sym(_OPS["exp"])
expand_dims = _sym(_OPS["expand_dims"])
expm1 = _sym(_OPS["expm1"])
eye = _sym(_OPS["eye"])
fix = _sym(_OPS["fix"])
flatten = _sym(_OPS["flatten"])
flip = _sym(_OPS["flip"])
floor = _sym(_OPS["floor"])
floor_divide = _sym(_OPS["floor_divide"])
ftml_update = _sym(_OPS["ftml_update"])
ftrl_update = _sym(_OPS["ftrl_update"])
full = _sym(_OPS["full"])
full_like = _sym(_OPS["full_like"])
fully_connected = _sym(_OPS["fully_connected"])
gamma = _sym(_OPS["gamma"])
gammaln = _sym(_OPS["gammaln"])
gather_nd = _sym(_OPS["gather_nd"])
gelu = _sym(_OPS["gelu"])
getitem = _sym(_OPS["getitem"])
greater = _scalar(_OPS["greater"], "greater")
greater_equal = _scalar(_OPS["greater_equal"], "greater_equal")
grid_generator = _sym(_OPS["grid_generator"])
group_norm = _sym(_OPS["group_norm"])
hard_sigmoid = _sym(_OPS["hard_sigmoid"])
histogram = _sym(_OPS["histogram"])
hypot = _scalar(_OPS["hypot"], "hypot")
identity = _sym(_OPS["identity"])
identity_attach_kl_sparse_reg = _sym(_OPS["identity_attach_kl_sparse_reg"])
im2col = _sym(_OPS["im2col"])
instance_norm = _sym(_OPS["instance_norm"])
interleaved_matmul_encdec_qk = _sym(_OPS["interleaved_matmul_encdec_qk"])
interleaved_matmul_encdec_valatt = _sym(_OPS["interleaved_matmul_encdec_valatt"])
interleaved_matmul_selfatt_qk = _sym(_OPS["interleaved_matmul_selfatt_qk"])
interleaved_matmul_selfatt_valatt = _sym(_OPS["interleaved_matmul_selfatt_valatt"])
khatri_rao = _sym(_OPS["khatri_rao"])
l2_normalization = _sym(_OPS["l2_normalization"])
lamb_update_phase1 = _sym(_OPS["lamb_update_phase1"])
lamb_update_phase2 = _sym(_OPS["lamb_update_phase2"])
layer_norm = _sym(_OPS["layer_norm"])
leaky_relu = _sym(_OPS["leaky_relu"])
lesser = _scalar(_OPS["lesser"], "lesser")
lesser_equal = _scalar(_OPS["lesser_equal"], "lesser_equal")
linalg_det = _sym(_OPS["linalg_det"])
linalg_extractdiag = _sym(_OPS["linalg_extractdiag"])
linalg_extracttrian = _sym(_OPS["linalg_extracttrian"])
linalg_gelqf = _sym(_OPS["linalg_gelqf"])
linalg_gemm = _sym(_OPS["linalg_gemm"])
linalg_gemm2 = _sym(_OPS["linalg_gemm2"])
linalg_inverse = _sym(_OPS["linalg_inverse"])
linalg_makediag = _sym(_OPS["linalg_makediag"])
linalg_maketrian = _sym(_OPS["linalg_maketrian"])
linalg_potrf = _sym(_OPS["linalg_potrf"])
linalg_potri = _sym(_OPS["linalg_potri"])
linalg_slogdet = _sym(_OPS["linalg_slogdet"])
linalg_sumlogdiag = _sym(_OPS["linalg_sumlogdiag"])
linalg_syevd = _sym(_OPS["linalg_syevd"])
linalg_syrk = _sym(_OPS["linalg_syrk"])
linalg_trmm = _sym(_OPS["linalg_trmm"])
linalg_trsm = _sym(_OPS["linalg_trsm"])
linear_regression_output = _sym(_OPS["linear_regression_output"])
linspace = _sym(_OPS["linspace"])
log = _sym(_OPS["log"])
log1p = _sym(_OPS["log1p"])
log2 = _sym(_OPS["log2"])
log10 = _sym(_OPS["log10"])
log_sigmoid = _sym(_OPS["log_sigmoid"])
log_softmax = _sym(_OPS["log_softmax"])
logical_and = _sym(_OPS["logical_and"])
logical_not = _sym(_OPS["logical_not"])
logical_or = _sym(_OPS["logical_or"])
logical_xor = _sym(_OPS["logical_xor"])
logistic_regression_output = _sym(_OPS["logistic_regression_output"])
logsumexp = _sym(_OPS["logsumexp"])
lrn = _sym(_OPS["lrn"])
mae_regression_output = _sym(_OPS["mae_regression_output"])
make_loss = _sym(_OPS["make_loss"])
matmul = _sym(_OPS["matmul"])
max = _sym(_OPS["max"])
maximum = _scalar(_OPS["maximum"], "maximum")
mean = _sym(_OPS["mean"])
min = _sym(_OPS["min"])
minimum = _scalar(_OPS["minimum"], "minimum")
mish = _sym(_OPS["mish"])
mod = _scalar(_OPS["mod"], "mod")
modulated_deformable_convolution = _sym(_OPS["modulated_deformable_convolution"])
modulo = _scalar(_OPS["mod"], "modulo")
moments = _sym(_OPS["moments"])
mp_lamb_update_phase1 = _sym(_OPS["mp_lamb_update_phase1"])
mp_lamb_update_phase2 = _sym(_OPS["mp_lamb_update_phase2"])
mp_nag_mom_update = _sym(_OPS["mp_nag_mom_update"])
mp_sgd_mom_update = _sym(_OPS["mp_sgd_mom_update"])
mp_sgd_update = _sym(_OPS["mp_sgd_update"])
multi_all_finite = _sym(_OPS["multi_all_finite"])
multi_lars = _sym(_OPS["multi_lars"])
multi_mp_sgd_mom_update = _sym(_OPS["multi_mp_sgd_mom_update"])
multi_mp_sgd_update = _sym(_OPS["multi_mp_sgd_update"])
multi_proposal = _sym(_OPS["multi_proposal"])
multi_sgd_mom_update = _sym(_OPS["multi_sgd_mom_update"])
multi_sgd_update = _sym(_OPS["multi_sgd_update"])
multi_sum_sq = _sym(_OPS["multi_sum_sq"])
multibox_detection = _sym(_OPS["multibox_detection"])
multibox_prior = _sym(_OPS["multibox_prior"])
multibox_target = _sym(_OPS["multibox_target"])
multiply = _scalar(_OPS["multiply"], "multiply")
nag_mom_update = _sym(_OPS["nag_mom_update"])
nanprod = _sym(_OPS["nanprod"])
nansum = _sym(_OPS["nansum"])
negative = _sym(_OPS["negative"])
norm = _sym(_OPS["norm"])
not_equal = _scalar(_OPS["not_equal"], "not_equal")
one_hot = _sym(_OPS["one_hot"])
ones = _sym(_OPS["ones"])
ones_like = _sym(_OPS["ones_like"])
pad = _sym(_OPS["pad"])
pick = _sym(_OPS["pick"])
pooling = _sym(_OPS["pooling"])
pow = _scalar(_OPS["power"], "pow")
power = _scalar(_OPS["power"], "power")
preloaded_multi_mp_sgd_mom_update = _sym(_OPS["preloaded_multi_mp_sgd_mom_update"])
preloaded_multi_mp_sgd_update = _sym(_OPS["preloaded_multi_mp_sgd_update"])
preloaded_multi_sgd_mom_update = _sym(_OPS["preloaded_multi_sgd_mom_update"])
preloaded_multi_sgd_update = _sym(_OPS["preloaded_multi_sgd_update"])
prod = _sym(_OPS["prod"])
proposal = _sym(_OPS["proposal"])
ps_roi_pooling = _sym(_OPS["ps_roi_pooling"])
radians = _sym(_OPS["radians"])
random_exponential = _sym(_OPS["random_exponential"])
random_exponential_like = _sym(_OPS["random_exponential_like"])
random_gamma = _sym(_OPS["random_gamma"])
random_gamma_like = _sym(_OPS["random_gamma_like"])
random_generalized_negative_binomial = _sym(_OPS["random_generalized_negative_binomial"])
random_generalized_negative_binomial_like = _sym(_OPS["random_generalized_negative_binomial_like"])
random_negative_binomial = _sym(_OPS["random_negative_binomial"])
random_negative_binomial_like = _sym(_OPS["random_negative_binomial_like"])
random_normal = _sym(_OPS["random_normal"])
random_normal_like = _sym(_OPS["random_normal_like"])
random_pdf_dirichlet = _sym(_OPS["random_pdf_dirichlet"])
random_pdf_exponential = _sym(_OPS["random_pdf_exponential"])
random_pdf_gamma = _sym(_OPS["random_pdf_gamma"])
random_pdf_generalized_negative_binomial = _sym(_OPS["random_pdf_generalized_negative_binomial"])
random_pdf_negative_binomial = _sym(_OPS["random_pdf_negative_binomial"])
random_pdf_normal = _sym(_OPS["random_pdf_normal"])
random_pdf_poisson = _sym(_OPS["random_pdf_poisson"])
random_pdf_uniform = _sym(_OPS["random_pdf_uniform"])
random_poisson = _sym(_OPS["random_poisson"])
random_poisson_like = _sym(_OPS["random_poisson_like"])
random_randint = _sym(_OPS["random_randint"])
random_uniform = _sym(_OPS["random_uniform"])
random_uniform_like = _sym(_OPS["random_uniform_like"])
ravel_multi_index = _sym(_OPS["ravel_multi_index"])
rcbrt = _sym(_OPS["rcbrt"])
reciprocal = _sym(_OPS["reciprocal"])
relu = _sym(_OPS["relu"])
repeat = _sym(_OPS["repeat"])
reset_arrays = _sym(_OPS["reset_arrays"])
reshape = _sym(_OPS["reshape"])
reshape_like = _sym(_OPS["reshape_like"])
rint = _sym(_OPS["rint"])
rmsprop_update = _sym(_OPS["rmsprop_update"])
rmspropalex_update = _sym(_OPS["rmspropalex_update"])
rnn = _sym(_OPS["rnn"])
roi_align = _sym(_OPS["roi_align"])
roi_pooling = _sym(_OPS["roi_pooling"])
round = _sym(_OPS["round"])
rroi_align = _sym(_OPS["rroi_align"])
rsqrt = _sym(_OPS["rsqrt"])
sample_exponential = _sym(_OPS["sample_exponential"])
sample_gamma = _sym(_OPS["sample_gamma"])
sample_generalized_negative_binomial = _sym(_OPS["sample_generalized_negative_binomial"])
sample_multinomial = _sym(_OPS["sample_multinomial"])
sample_negative_binomial = _sym(_OPS["sample_negative_binomial"])
sample_normal = _sym(_OPS["sample_normal"])
sample_poisson = _sym(_OPS["sample_poisson"])
sample_uniform = _sym(_OPS["sample_uniform"])
scatter_nd = _sym(_OPS["scatter_nd"])
selu = _sym(_OPS["selu"])
sequence_last = _sym(_OPS["sequence_last"])
sequence_mask = _sym(_OPS["sequence_mask"])
sequence_reverse = _sym(_OPS["sequence_reverse"])
sgd_mom_update = _sym(_OPS["sgd_mom_update"])
sgd_update = _sym(_OPS["sgd_update"])
shape_array = _sym(_OPS["shape_array"])
shuffle = _sym(_OPS["shuffle"])
sigmoid = _sym(_OPS["sigmoid"])
sign = _sym(_OPS["sign"])
signsgd_update = _sym(_OPS["signsgd_update"])
signum_update = _sym(_OPS["signum_update"])
sin = _sym(_OPS["sin"])
sinh = _sym(_OPS["sinh"])
size_array = _sym(_OPS["size_array"])
slice = _sym(_OPS["slice"])
slice_axis = _sym(_OPS["slice_axis"])
slice_like = _sym(_OPS["slice_like"])
smooth_l1 = _sym(_OPS["smooth_l1"])
softmax = _sym(_OPS["softmax"])
softmax_activation = _sym(_OPS["softmax_activation"])
softmax_cross_entropy = _sym(_OPS["softmax_cross_entropy"])
softmax_output = _sym(_OPS["softmax_output"])
softmin = _sym(_OPS["softmin"])
softrelu = _sym(_OPS["softrelu"])
softsign = _sym(_OPS["softsign"])
sort = _sym(_OPS["sort"])
space_to_depth = _sym(_OPS["space_to_depth"])
spatial_transformer = _sym(_OPS["spatial_transformer"])
split = _sym(_OPS["split"])
split_v2 = _sym(_OPS["split_v2"])
sqrt = _sym(_OPS["sqrt"])
square = _sym(_OPS["square"])
squeeze = _sym(_OPS["squeeze"])
stack = _sym(_OPS["stack"])
stop_gradient = _sym(_OPS["stop_gradient"])
subtract = _scalar(_OPS["subtract"], "subtract")
sum = _sym(_OPS["sum"])
sum_to = _sym(_OPS["sum_to"])
svm_output = _sym(_OPS["svm_output"])
swapaxes = _sym(_OPS["swapaxes"])
swish = _sym(_OPS["swish"])
take = _sym(_OPS["take"])
tan = _sym(_OPS["tan"])
tanh = _sym(_OPS["tanh"])
tile = _sym(_OPS["tile"])
to_device = _sym(_OPS["to_device"])
topk = _sym(_OPS["topk"])
transpose = _sym(_OPS["transpose"])
true_divide = _scalar(_OPS["divide"], "true_divide")
trunc = _sym(_OPS["trunc"])
unravel_index = _sym(_OPS["unravel_index"])
up_sampling = _sym(_OPS["up_sampling"])
where = _sym(_OPS["where"])
zeros = _sym(_OPS["zeros"])
zeros_like = _sym(_OPS["zeros_like"])

# MXNet's names for the same functions
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
IdentityAttachKLSparseReg = identity_attach_kl_sparse_reg
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
_histogram = histogram
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
_np_cumsum = cumsum
_npx_multibox_detection = multibox_detection
_npx_multibox_prior = multibox_prior
_npx_multibox_target = multibox_target
_npx_roi_pooling = roi_pooling
_plus = _add
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
_sub = _minus
_unravel_index = unravel_index
block_grad = stop_gradient
box_non_maximum_suppression = box_nms
broadcast_add = _add
broadcast_axes = broadcast_axis
broadcast_div = _div
broadcast_equal = _equal
broadcast_greater = _greater
broadcast_greater_equal = _greater_equal
broadcast_hypot = _hypot
broadcast_lesser = _lesser
broadcast_lesser_equal = _lesser_equal
broadcast_logical_and = logical_and
broadcast_logical_or = logical_or
broadcast_logical_xor = logical_xor
broadcast_maximum = _maximum
broadcast_minimum = _minimum
broadcast_minus = _minus
broadcast_mod = _mod
broadcast_mul = _mul
broadcast_not_equal = _not_equal
broadcast_plus = _add
broadcast_power = _power
broadcast_sub = _minus
choose_element_0index = pick
copy = identity
crop = slice
elemwise_add = _add
elemwise_div = _div
elemwise_mul = _mul
elemwise_sub = _minus
less = _lesser
less_equal = _lesser_equal
max_axis = max
min_axis = min
normal = random_normal
normal_like = random_normal_like
randint = random_randint
reverse = flip
silu = swish
softplus = softrelu
sum_axis = sum
uniform = random_uniform
uniform_like = random_uniform_like

_LINALG_ALL = [
    "det", "extractdiag", "extracttrian", "gelqf", "gemm", "gemm2", "inverse", "makediag",
    "maketrian", "potrf", "potri", "slogdet", "sumlogdiag", "syevd", "syrk", "trmm", "trsm",
]

# MXNet's ``sym.linalg``: the linalg_* functions under their short names
linalg = _types.ModuleType("kiln.symbol.linalg", "sym.linalg.<name> is sym.linalg_<name>")
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
    "col2im", "concat", "convolution", "copy", "correlation", "cos", "cosh", "crop", "crop_window",
    "ctc_loss", "cumsum", "deconvolution", "deformable_convolution", "deformable_psroi_pooling",
    "degrees", "depth_to_space", "diag", "div_sqrt_dim", "divide", "dot", "dropout", "dropout_mask",
    "elemwise_add", "elemwise_div", "elemwise_mul", "elemwise_sub", "elu", "embedding", "empty",
    "equal", "erf", "erfinv", "exp", "expand_dims", "expm1", "eye", "fix", "flatten", "flip",
    "floor", "floor_divide", "ftml_update", "ftrl_update", "full", "full_like", "fully_connected",
    "gamma", "gammaln", "gather_nd", "gelu", "getitem", "greater", "greater_equal",
    "grid_generator", "group_norm", "hard_sigmoid", "histogram", "hypot", "identity",
    "identity_attach_kl_sparse_reg", "im2col", "instance_norm", "interleaved_matmul_encdec_qk",
    "interleaved_matmul_encdec_valatt", "interleaved_matmul_selfatt_qk",
    "interleaved_matmul_selfatt_valatt", "khatri_rao", "l2_normalization", "lamb_update_phase1",
    "lamb_update_phase2", "layer_norm", "leaky_relu", "less", "less_equal", "lesser",
    "lesser_equal", "linalg", "linalg_det", "linalg_extractdiag", "linalg_extracttrian",
    "linalg_gelqf", "linalg_gemm", "linalg_gemm2", "linalg_inverse", "linalg_makediag",
    "linalg_maketrian", "linalg_potrf", "linalg_potri", "linalg_slogdet", "linalg_sumlogdiag",
    "linalg_syevd", "linalg_syrk", "linalg_trmm", "linalg_trsm", "linear_regression_output",
    "linspace", "log", "log10", "log1p", "log2", "log_sigmoid", "log_softmax", "logical_and",
    "logical_not", "logical_or", "logical_xor", "logistic_regression_output", "logsumexp", "lrn",
    "mae_regression_output", "make_loss", "matmul", "max", "max_axis", "maximum", "mean", "min",
    "min_axis", "minimum", "mish", "mod", "modulated_deformable_convolution", "modulo", "moments",
    "mp_lamb_update_phase1", "mp_lamb_update_phase2", "mp_nag_mom_update", "mp_sgd_mom_update",
    "mp_sgd_update", "multi_all_finite", "multi_lars", "multi_mp_sgd_mom_update",
    "multi_mp_sgd_update", "multi_proposal", "multi_sgd_mom_update", "multi_sgd_update",
    "multi_sum_sq", "multibox_detection", "multibox_prior", "multibox_target", "multiply",
    "nag_mom_update", "nanprod", "nansum", "negative", "norm", "normal", "normal_like", "not_equal",
    "one_hot", "ones", "ones_like", "pad", "pick", "pooling", "pow", "power",
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
