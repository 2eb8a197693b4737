"""``kiln.monitor``: statistics of an executor's arrays every few batches (MXNet 1.9's
``mx.monitor.Monitor``; it lives beside the Module API, which installs it on its executor).

Example::

    >>> mon = kiln.monitor.Monitor(interval=10, pattern='.*weight|.*output')
    >>> mod.fit(train_iter, num_epoch=1, monitor=mon)     # or mon.install(executor)
"""
import logging
import math
import re

from ..ndarray import ndarray as _nd
from ..ndarray import ops as F


def _norm_stat(x):
    """|x|_2 / sqrt(size): MXNet's default statistic."""
    return F.norm(x) / math.sqrt(max(x.size, 1))


class Monitor:
    """Collects ``stat_func`` of the arrays whose names match ``pattern`` on every
    ``interval``-th batch: op outputs during forward (and inputs with ``monitor_all``), then
    the arguments and auxiliary states at ``toc``."""

    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        self.stat_func = stat_func or _norm_stat
        self.interval, self.sort, self.monitor_all = interval, sort, monitor_all
        self.re_prog = re.compile(pattern)
        self.activated, self.queue, self.step, self.exes = False, [], 0, []

        def stat_helper(name, array):
            if self.activated and self.re_prog.match(name):
                self.queue.append((self.step, name, self.stat_func(array)))
        self.stat_helper = stat_helper

    def install(self, exe):
        """Watch ``exe`` (an Executor; several may be installed)."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def tic(self):
        """Start collecting for this batch if it is an ``interval``-th one (before forward)."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """Stop collecting; ``[(step, name, 'value\\t...')]`` for this batch."""
        if not self.activated:
            return []
        for exe in self.exes:
            named = list(zip(exe._sym.list_arguments(), exe.arg_arrays))
            named += list(zip(exe._sym.list_auxiliary_states(), exe.aux_arrays))
            self.queue += [(self.step, n, self.stat_func(a)) for n, a in named
                           if self.re_prog.match(n)]
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda x: x[1])
        res = [(n, k, "".join(_text(v) + "\t" for v in (vs if isinstance(vs, list) else [vs])))
               for n, k, vs in self.queue]
        self.queue = []
        return res

    def toc_print(self):
        """``toc`` and log each line as MXNet does."""
        for n, k, v in self.toc():
            logging.info("Batch: {:7d} {:30s} {:s}".format(n, k, v))


def _text(v):
    if not isinstance(v, _nd.NDArray):
        raise TypeError(f"Monitor: stat_func must return NDArrays, got {type(v).__name__}")
    return str(v.asscalar()) if v.shape == (1,) else str(v.asnumpy())


__all__ = ["Monitor"]
