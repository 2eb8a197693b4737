"""``amp.init``, ``init_trainer``, ``scale_loss``, ``unscale``: mixed-precision training.

``init()`` installs the input cast at the registry's dispatch point (``ndarray/ops/amp_ops``):
from then on every op runs in the precision its ``amp`` facet gives, eagerly and in graphs
that hybridized blocks trace afterwards. Parameters stay float32 ("master weights"): the casts
are ops, and each one's gradient casts back, so optimizers update float32 weights.
"""
import contextlib
import copy
import logging
import warnings

import numpy as np

from ..gluon.trainer import Trainer
from ..ndarray import _registry
from ..ndarray.ops.amp_ops import Policy
from ..optimizer import Optimizer
from .lists import build_rules, check_target, list_loss_output_functions
from .loss_scaler import LossScaler

_LOG = logging.getLogger("kiln.amp")


class _AmpState:
    """What ``init`` set: the target dtype, its arguments and the first loss scaler."""

    def __init__(self):
        self.target, self.args, self.scaler, self.scaler_taken = None, None, None, False


_STATE = _AmpState()


def init(target_dtype="float16", target_precision_ops=None, conditional_fp32_ops=None,
         fp32_ops=None):
    """Turn on automatic mixed precision for every op call from now on (MXNet's ``amp.init``).

    ``target_dtype``: ``'float16'`` (``'bfloat16'`` is refused: numpy has no bfloat16).
    ``target_precision_ops`` / ``fp32_ops`` / ``conditional_fp32_ops`` (``(op, attribute,
    [values])`` triples) replace the registry's lists of that kind (see ``list_lp16_ops``).
    Hybridized blocks trace a new graph for the new policy (it is part of their cache key).
    A second call does nothing (it warns when its arguments differ), as in MXNet.

    Example::

        >>> from kiln import amp
        >>> amp.init()
        >>> nd.FullyConnected(x, w, b, num_hidden=4).dtype   # numpy.float16
    """
    dtype = check_target(target_dtype)
    args = (dtype, target_precision_ops, conditional_fp32_ops, fp32_ops)
    if _STATE.target is not None:
        if args != _STATE.args:
            warnings.warn("kiln.amp.init: AMP is initialized already; this call's arguments "
                          "are ignored (call amp.reset() first to change them)", stacklevel=2)
        return
    rules = build_rules(target_precision_ops, conditional_fp32_ops, fp32_ops)
    scaler = LossScaler()  # the first init_trainer's; the *Output ops read its scale, as in MXNet
    _registry.set_amp(Policy(dtype, rules, loss_outputs=list_loss_output_functions(dtype),
                             loss_scale=lambda: scaler.loss_scale))
    _STATE.target, _STATE.args = dtype, copy.deepcopy(args)
    _STATE.scaler, _STATE.scaler_taken = scaler, False
    _LOG.info("Using AMP")


def reset():
    """Turn mixed precision off again (a kiln addition: MXNet's ``init`` cannot be undone).
    Trainers keep the loss scalers they were given."""
    _registry.set_amp(None)
    _STATE.__init__()


def is_initialized():
    """Whether ``init`` is in effect."""
    return _STATE.target is not None


def init_trainer(optimizer_or_trainer):
    """Give a ``gluon.Trainer`` dynamic loss scaling (call after ``init``).

    The Trainer then divides gradients by the loss scale that ``scale_loss`` multiplied the
    loss by, and ``step``/``update`` skip the update when a gradient overflowed (inf/NaN),
    halving the scale; 2000 clean steps in a row double it.
    """
    if _STATE.target is None:
        raise RuntimeError("kiln.amp.init_trainer: AMP is not initialized; call amp.init() "
                           "first")
    trainer = optimizer_or_trainer
    if isinstance(trainer, Optimizer):
        raise TypeError("kiln.amp.init_trainer: AMP works with a gluon.Trainer, not a bare "
                        "Optimizer (as in MXNet)")
    if not isinstance(trainer, Trainer):
        raise TypeError("kiln.amp.init_trainer: expected a gluon.Trainer, got "
                        f"{type(trainer).__name__}")
    if not _STATE.scaler_taken:
        scaler, _STATE.scaler_taken = _STATE.scaler, True
    else:
        scaler = LossScaler()
    trainer._amp_loss_scaler = scaler
    trainer._amp_original_scale = trainer._scale
    if "_amp_wrapped" not in vars(trainer):
        _wrap_updates(trainer)


def _wrap_updates(trainer):
    """Skip ``step``/``update`` when a gradient overflowed (MXNet checks in ``_update``).

    Instance attributes over the bound methods: the Trainer class is not changed."""
    step, update = trainer.step, trainer.update

    def amp_step(batch_size, ignore_stale_grad=False):
        if _overflowed(trainer):
            return None
        return step(batch_size, ignore_stale_grad)

    def amp_update(batch_size, ignore_stale_grad=False):
        if _overflowed(trainer):
            return None
        return update(batch_size, ignore_stale_grad)

    amp_step.__doc__, amp_update.__doc__ = step.__doc__, update.__doc__
    trainer.step, trainer.update, trainer._amp_wrapped = amp_step, amp_update, True


def _overflowed(trainer):
    scaler = getattr(trainer, "_amp_loss_scaler", None)
    return scaler is not None and scaler.has_overflow(trainer._params)


@contextlib.contextmanager
def scale_loss(loss, optimizer_or_trainer):
    """``with amp.scale_loss(loss, trainer) as scaled: autograd.backward(scaled)``.

    Yields the loss (or list of losses) times the current loss scale, and sets the Trainer to
    divide the gradients by it in its next ``step``.
    """
    trainer = optimizer_or_trainer
    scaler = getattr(trainer, "_amp_loss_scaler", None)
    if scaler is None:
        raise RuntimeError("kiln.amp.scale_loss: the loss scaler is not initialized; call "
                           "amp.init_trainer(trainer) first")
    scale = scaler.loss_scale
    trainer._scale = trainer._amp_original_scale / scale
    # float16 gradients may overflow here: that is expected, the Trainer's step finds the
    # inf/NaN and skips the update, so numpy's overflow warnings are noise inside the block
    with np.errstate(over="ignore", invalid="ignore"):
        if isinstance(loss, (list, tuple)):
            yield [x * scale for x in loss]
        else:
            yield loss * scale


def unscale(optimizer_or_trainer):
    """Divide the gradients by the loss scale now (to clip or inspect them before ``step``);
    the Trainer's next step then does not rescale them again."""
    trainer = optimizer_or_trainer
    if isinstance(trainer, Optimizer):
        raise TypeError("kiln.amp.unscale: AMP works with a gluon.Trainer, not a bare "
                        "Optimizer (as in MXNet)")
    if not isinstance(trainer, Trainer):
        raise TypeError(f"kiln.amp.unscale: expected a gluon.Trainer, got "
                        f"{type(trainer).__name__}")
    for p in trainer._params:
        if p.grad_req == "null" or p._grad is None:
            continue
        for g in p.list_grad():
            g._data *= trainer._scale
    trainer._scale = 1.0
