"""Dynamic loss scaling for mixed-precision training (MXNet 1.9's ``amp.LossScaler``)."""
import logging

import numpy as np

_LOG = logging.getLogger("kiln.amp")


class LossScaler:
    """Dynamic loss scale: starts at 2**16; a step whose gradients hold inf/NaN halves it (and
    is skipped by the Trainer); 2000 steps in a row without overflow double it (at most 2**24).

    As in MXNet, the new scale takes effect from the step after the check that decided it.

    Example::

        >>> s = LossScaler()
        >>> s.loss_scale
        65536.0
    """

    def __init__(self):
        self._loss_scale = 2.0 ** 16
        self._next_loss_scale = self._loss_scale
        self._max_loss_scale = 2.0 ** 24
        self._scale_seq_len = 2000
        self._unskipped = 0

    @property
    def loss_scale(self):
        """The current loss scale (a float)."""
        return self._loss_scale

    def has_overflow(self, params):
        """Whether any gradient of ``params`` (Parameters) holds inf or NaN; updates the scale
        for the next step."""
        overflow = any(not _finite(g._data) for p in params if p.grad_req != "null"
                       for g in p.list_grad())
        self._loss_scale = self._next_loss_scale
        if overflow:
            self._next_loss_scale = self._loss_scale / 2.0
            self._unskipped = 0
            _LOG.info("AMP: decreasing loss scale to %f", self._next_loss_scale)
        else:
            self._unskipped += 1
        if self._unskipped == self._scale_seq_len:
            self._unskipped = 0
            self._next_loss_scale = min(self._max_loss_scale, self._loss_scale * 2.0)
            _LOG.info("AMP: increasing loss scale to %f", self._next_loss_scale)
        return overflow


def _finite(a):
    return bool(np.isfinite(a).all())  # numpy or cupy (cupy arrays take numpy's ufuncs)
