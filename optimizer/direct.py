"""The Trainer's fast path: one step of SGD or Adam straight on the raw arrays.

``Trainer.step`` spends most of its time in bookkeeping when parameters are small: gathering
(index, grad, weight) lists, ``Updater.__call__``, per-index update counts, learning rates and
weight decays looked up one by one. A ``StepPlan`` does that work once: it is built after a
regular step and keeps the parameters' arrays and states, plus everything it depends on
(``nn.parameter.DATA_VERSION`` for the parameters' arrays, the optimizer, updater, states and
count objects...). A later step takes the plan only when ``valid`` says none of that changed and
the step is the common case, checked cheaply every time:

* every gradient is fresh (otherwise the regular path raises or skips stale ones);
* every parameter has the same update count, equal to ``num_update`` (so one count update
  for all gives the counts, ``num_update`` and the learning rates of the regular path).

It then does exactly what the regular path does, in the same order and with the same
formulas (``sgd_kernel``/``adam_kernel`` are shared with ``SGD``/``Adam``), so the weights,
states, counts and scheduler calls are bit for bit those of the regular path. Settings
(``lr``, ``lr_scheduler``, ``wd``, ``momentum``, ``clip_gradient``, betas, ``lr_mult`` and
``wd_mult``...) are read at every step, so changing them between steps needs no invalidation.

Example (what ``Trainer`` does)::

    >>> plan = StepPlan.build(optimizer, updaters, trainer._active())
    >>> plan.run(optimizer, updaters)       # False: nothing done, take the regular path
"""
import math

import numpy as np

from ..ndarray._blas import threads as blas_threads
from ..ndarray._parallel import run_blocks, workers
from ..ndarray.ndarray import NDArray
from ..ndarray.ops._update_kernels import sgd_plain
from ..nn.parameter import DATA_VERSION
from .adam import Adam, adam_kernel
from .sgd import SGD, ccSGD, sgd_kernel
from .updater import Updater

__all__ = ["StepPlan"]

# methods the regular path calls; an instance attribute of that name means a user override
_OVERRIDABLE = ("update", "update_multi_precision", "update_many", "_update_impl", "_kernel",
                "_update_count", "_get_lr", "_get_lrs", "_get_wd", "_get_wds", "_mult",
                "_set_current_context", "create_state", "create_state_multi_precision")


class StepPlan:
    """The arrays and states of one single-device Trainer, ready for direct updates.

    ``entries``: ``(weight NDArray, grad NDArray, Parameter, state)`` per active parameter, in
    the Trainer's order; ``indices`` their optimizer indices; ``kind`` 'sgd', 'adam', or None
    when the regular path must run (the plan then only remembers what it was built for, so
    the Trainer does not try again every step).
    """

    __slots__ = ("version", "opt", "updaters", "upd", "nattrs", "param_dict", "device_key",
                 "counts", "all_counts", "states", "nstates", "synced", "kind", "entries",
                 "weights", "indices", "plain")

    def __init__(self, optimizer, updaters):
        # what the plan depends on beyond what ``run`` checks every step: compared by identity
        # (or value for the ints) in ``valid``
        upd = updaters[0]
        self.version = DATA_VERSION[0]
        self.opt, self.updaters, self.upd = optimizer, updaters, upd
        self.nattrs = len(optimizer.__dict__)  # a new instance attribute may override a method
        self.param_dict = optimizer.param_dict
        self.device_key = optimizer._device_key
        self.counts = optimizer._index_update_count
        self.all_counts = optimizer._all_index_update_counts
        self.states, self.nstates, self.synced = upd.states, len(upd.states), upd.states_synced
        self.kind, self.entries, self.weights, self.indices = None, (), (), ()
        self.plain = False

    def valid(self, opt, updaters):
        """Whether nothing the plan depends on changed (parameter arrays, optimizer, updater,
        states, counts...)."""
        upd = self.upd
        return (self.version == DATA_VERSION[0] and opt is self.opt
                and updaters is self.updaters and len(updaters) == 1 and updaters[0] is upd
                and len(opt.__dict__) == self.nattrs and opt.param_dict is self.param_dict
                and opt._device_key == self.device_key and opt._index_update_count is self.counts
                and opt._all_index_update_counts is self.all_counts and upd.optimizer is opt
                and upd.states is self.states and len(upd.states) == self.nstates
                and upd.states_synced is self.synced)

    @staticmethod
    def build(optimizer, updaters, active):
        """The plan for ``active`` (``Trainer._active()``: (index, param, datas, grads) of
        Parameters); its ``kind`` is None when the regular path must run (another optimizer,
        several devices, float16, user overrides, states not yet created...)."""
        plan = StepPlan(optimizer, updaters)
        kind = _KINDS.get(type(optimizer))
        updater = updaters[0]
        if (kind is None or not active or len(updaters) != 1 or type(updater) is not Updater
                or updater.optimizer is not optimizer):
            return plan
        d = vars(optimizer)
        if any(name in d for name in _OVERRIDABLE):
            return plan
        states, synced, params = updater.states, updater.states_synced, optimizer.param_dict
        counts = optimizer._index_update_count
        entries, indices = [], []
        for i, param, datas, grads in active:
            if len(datas) != 1 or len(grads) != 1 or params.get(i) is not param:
                return plan
            w, g = datas[0], grads[0]
            if (w.dtype == np.float16 or g.stype != "default" or i not in states
                    or not synced.get(i, True) or i not in counts
                    or getattr(w, "_fresh_grad", None) is None):
                return plan
            state = states[i]
            if not _state_ok(kind, state):
                return plan
            entries.append((w, g, param, state))
            indices.append(i)
        plan.kind, plan.entries, plan.indices = kind, entries, indices
        plan.weights = [e[0] for e in entries]
        plan.plain = all(e[3] is None for e in entries)
        return plan

    def run(self, opt, updaters):
        """Apply one step to every parameter; False (nothing changed) when this step is not
        the common case and the regular path must run."""
        if self.kind is None:
            return False
        try:
            if not self.valid(opt, updaters):
                return False
        except AttributeError:  # an attribute the plan relies on was deleted
            return False
        weights = self.weights
        for w in weights:
            if w._fresh_grad is not True:
                return False
        counts = opt._index_update_count
        count = opt.num_update
        try:
            for i in self.indices:
                if counts[i] != count:
                    return False
        except KeyError:
            return False
        # the regular path's order: consume the flags, count, then update
        for w in weights:
            w._fresh_grad = False
        count += 1
        for i in self.indices:
            counts[i] = count
        opt.num_update = count
        if self.kind == "sgd":
            self._sgd(opt, count)
        else:
            self._adam(opt, count)
        return True

    def _lrs(self, opt, count):
        """The global learning rate of each entry: the scheduler is asked once per group (of
        ``update_many``, or per index), as the regular path does; None: ``opt.lr`` for all."""
        sched = opt.lr_scheduler
        if sched is None:
            return None
        # SGD's Updater hands update_many groups of aggregate_num; others go one by one
        group = opt.aggregate_num if self.kind == "sgd" and opt.aggregate_num > 1 else 1
        lrs = []
        for start in range(0, len(self.entries), group):
            lr = sched(count)
            lrs.extend([lr] * min(group, len(self.entries) - start))
        return lrs

    def _sgd(self, opt, count):
        lrs = self._lrs(opt, count)
        rescale, wd, clip = opt.rescale_grad, opt.wd, opt.clip_gradient
        if lrs is None and self.plain and wd == 0 and clip is None:
            # plain SGD (the common case): w -= (lr * lr_mult * rescale) * g, in place
            lr = opt.lr
            groups = _halves(self.weights)
            if groups is None:  # one loop, no closure per parameter
                for w, g, p, _ in self.entries:
                    sgd_plain(w._data, g._data, lr * p.lr_mult, rescale)
                return

            def plain(k):
                w, g, p, _ = self.entries[k]
                sgd_plain(w._data, g._data, lr * p.lr_mult, rescale)
            self._each(plain, groups)
            return
        momentum = opt.momentum

        def update(k):
            w, g, p, s = self.entries[k]
            lr = (opt.lr if lrs is None else lrs[k]) * p.lr_mult
            wdk = 0.0 if wd == 0 else wd * p.wd_mult
            sgd_kernel(w._ctx.xp, w._data, g._data, None if s is None else s._data, lr, wdk,
                       momentum, rescale, clip)
        self._each(update, _halves(self.weights))

    def _adam(self, opt, count):
        lrs = self._lrs(opt, count)
        rescale, wd, clip = opt.rescale_grad, opt.wd, opt.clip_gradient
        beta1, beta2, eps = opt.beta1, opt.beta2, opt.epsilon
        # Adam.update's bias correction, for t = count (every index has that count)
        corr = math.sqrt(1. - beta2 ** count) / (1. - beta1 ** count)

        def update(k):
            w, g, p, s = self.entries[k]
            lr = (opt.lr if lrs is None else lrs[k]) * p.lr_mult * corr
            wdk = 0.0 if wd == 0 else wd * p.wd_mult
            adam_kernel(w._ctx.xp, w._data, g._data, s[0]._data, s[1]._data, lr, wdk, beta1,
                        beta2, eps, rescale, clip)
        self._each(update, _halves(self.weights))

    def _each(self, update, groups):
        """``update(k)`` for every entry: on the calling thread (``groups`` None), or in the
        two ``groups`` of ``_halves`` side by side, each on one BLAS thread. Each parameter's
        update touches only its own arrays, so the results are the same either way."""
        if groups is None:
            for k in range(len(self.entries)):
                update(k)
            return

        def run(lo, hi):
            for k in groups[lo]:
                update(k)
        with blas_threads(1):
            run_blocks(run, [(0, 1), (1, 2)])


_KINDS = {SGD: "sgd", ccSGD: "sgd", Adam: "adam"}

# Parameters (elements, all together) from which a step runs in two halves side by side: the
# updates are memory-bound passes that numpy runs on one core (BLAS's axpy on its threads);
# ResNet-18's SGD momentum step, 11.7M parameters, 7.7 -> 6.7 ms on two cores (2026-12-07).
# Below, a thread handoff costs about what it saves.
SPLIT_MIN = 1 << 22


def _halves(weights):
    """Two lists of entry indices of about equal total size (largest first, each to the
    lighter half), or None where the step stays on the calling thread."""
    sizes = [w._data.size for w in weights]
    if sum(sizes) < SPLIT_MIN or workers() <= 0 or \
            any(type(w._data) is not np.ndarray for w in weights):
        return None
    halves, totals = ([], []), [0, 0]
    for k in sorted(range(len(sizes)), key=lambda k: -sizes[k]):
        side = 0 if totals[0] <= totals[1] else 1
        halves[side].append(k)
        totals[side] += sizes[k]
    return halves


def _state_ok(kind, state):
    if kind == "sgd":  # momentum or none; a tuple is a float16 master copy
        return state is None or type(state) is NDArray
    return (type(state) is tuple and len(state) == 2
            and all(type(s) is NDArray for s in state))
