"""Threads for the fused RNN (``_rnn_compute`` forward, ``_rnn_bptt`` backward): a layer's
step loop is a chain of small GEMMs that keeps one core busy, so a second core can run other
work of the same op beside it.

* ``wavefront``: unidirectional layers as a pipeline over time chunks, odd layers on a
  worker one chunk behind the layer below (the forward).
* ``Side``: tasks on a worker beside the caller (the backward's weight gradients and the next
  layer's whole-sequence factors beside the next step loop), joined before the op returns.

Which thread runs a piece never changes its numbers (each piece is computed the same way and
writes its own arrays), so results do not depend on the thread count or on timing.
``KILN_RNN_BESIDE=0`` runs everything on the calling thread. With no free worker (one core,
cupy, or inside ``_parallel.reserved()``, a worker already busy beside the op) it does too.

Example::

    >>> side = Side(np)
    >>> handle = side.start(np.dot, a, b)   # on a worker, or now when none is free
    >>> side.join(); handle.result()
"""
import os
import threading

import numpy as np

from .. import _parallel


class Sync:
    """Chunk handoff between the wavefront's layers: ``done(c)`` marks this layer's chunk c
    written, ``wait(c)`` blocks until the layer below has written its chunk c (False: the
    other thread failed, stop)."""

    def __init__(self, below, mine, failed):
        self.below, self.mine, self.failed = below, mine, failed

    def wait(self, c):
        if self.below is not None:
            self.below[c].wait()
        if self.failed:
            raise Abandoned()

    def done(self, c):
        self.mine[c].set()


class Abandoned(Exception):
    """The other thread of a wavefront failed: this one stops (the caller re-raises theirs)."""


def wavefront(xp, L, n_chunks, run_layer, work=None):
    """Run unidirectional layers as a pipeline over time chunks: layer l's chunk c needs
    layer l-1's chunk c (its input). Even layers run on the calling thread, odd ones on a
    worker: on two cores the layers' step loops, each a chain of small GEMMs that keeps one
    core busy, overlap (W4's layer 2 starts one chunk after layer 1 instead of after all 35
    steps). Without a free worker the layers run one after the other; the numbers are the
    same either way (every chunk is computed the same way, on whichever thread). ``work``:
    multiply-adds of one layer (see ``Side``)."""
    side = Side(xp, work)
    if not side.on:
        for index in range(L):
            run_layer(index, None)
        return
    flags = [[threading.Event() for _ in range(n_chunks)] for _ in range(L)]
    failed = []

    def drive(first):
        try:
            for index in range(first, L, 2):
                run_layer(index, Sync(flags[index - 1] if index else None, flags[index],
                                       failed))
        except Abandoned:
            return
        except BaseException:
            failed.append(True)
            raise
        finally:   # never leave the other thread waiting
            for index in range(first, L, 2):
                for ev in flags[index]:
                    ev.set()
    side.start(drive, 1)
    try:
        drive(0)
    finally:
        side.join()


def run_task(tasks, j, _):
    tasks[j]()


# The backward's weight gradients and the next layer's whole-sequence factors run on a worker
# (``_parallel.background``) while the caller runs the next step loop, whose small GEMMs keep
# one core busy; the results are the same whichever thread computes them (each task writes
# its own arrays). ``KILN_RNN_BESIDE=0`` runs them inline.
BESIDE = os.environ.get("KILN_RNN_BESIDE", "1") != "0"
# Multiply-adds of one layer below which the work stays on the caller: a handoff to a worker
# and back costs tens of microseconds, a small layer's whole pass about as much.
MIN_WORK = 1 << 22


class Inline:
    """A finished task's handle (as a Future): ``result()`` returns its value."""

    def __init__(self, fn, *args):
        self.value = fn(*args)

    def result(self):
        return self.value


class Side:
    """Tasks started on a worker beside the caller, all joined by ``join()`` (inline where no
    worker is free: cupy, one core, or a worker already busy beside this op)."""

    def __init__(self, xp, work=None):
        self.on = (BESIDE and xp is np and (work is None or work >= MIN_WORK)
                   and _parallel.workers() > 0
                   and not _parallel.is_reserved())
        self.pending = []

    def start(self, fn, *args):
        if not self.on:
            return Inline(fn, *args)
        fut = _parallel.background(fn, *args)
        self.pending.append(fut)
        return fut

    def join(self):
        for fut in self.pending:
            fut.result()
        self.pending = []
