"""Arrays derived from a weight (reordered, gathered), kept while the weight is unchanged.

An inference call of a convolution reads its weight whole to build the form a kernel wants:
the taps that touch data of a small map, the NCHWc blocked order. For ResNet-18 at 32x32 that
copy is most of the time of its 2x2- and 1x1-map layers (0.5 ms of a 0.9 ms layer for one tap
of a 512x512x3x3 weight). onnxruntime does it once, when it loads the model; kiln's numpy
executor gets the parameters as plain arrays on every call and cannot know that none changed.

``memo(src, key, build)`` keeps ``build()``'s result for ``src`` and makes ``src`` read-only
(numpy's ``writeable`` flag) while it is kept. Every write kiln makes into an existing array
(``x[...] = v``, in-place arithmetic, ``copyto``, ``out=``, the optimizers' updates, a
kvstore pull) first calls ``thaw(array)``, which drops what was derived from the array and
makes it writable again; a write that bypasses kiln (numpy code on an array it got from a
view made earlier) fails with numpy's "assignment destination is read-only" instead of
leaving a stale derived array: the result is never silently wrong.

Only parameters' arrays are kept (``mark``: ``Parameter.data()`` and the parameter arguments
of hybridized graphs), and only while they own their memory and were never handed out
through DLPack (``share``); any other array (a view, a graph's intermediate or ``static_alloc``
buffer, which the graph writes again) is derived anew each call. An entry goes when its source is
freed (a weak reference). ``KILN_WEIGHT_CACHE=0`` turns it off.

``hold(arr)`` holds an array for a copy of its values kept elsewhere (the onnxruntime
backend's inference session bakes the parameters in); ``held(arr)`` and the counter
``THAWED`` tell its holder when a write dropped it.

Example::

    >>> taps = memo(w, ("center",), lambda: w[:, :, 1, 1].copy())   # once per weight
    >>> thaw(w); w[...] = 0                                            # drops it
"""
import os
import threading
import weakref

import numpy as np

__all__ = ["memo", "mark", "thaw", "share", "hold", "held", "count", "THAWED"]

MAX_KEYS = 4   # derived forms kept per source (a changing ``extra`` replaces the oldest)
_ENTRIES = {}  # id(source) -> _Entry
_SHARED = {}   # id(array) -> weak reference: memory handed out (DLPack), never held again
_MARKED = {}   # id(array) -> weak reference: parameters' arrays, the only ones held
_LOCK = threading.RLock()   # reentrant: a weak-reference callback may run inside it (GC)
_ON = [os.environ.get("KILN_WEIGHT_CACHE", "1") != "0"]
THAWED = [0]   # entries dropped by a write so far: a holder compares it to see any change


class _Entry:
    __slots__ = ("ref", "items")

    def __init__(self, src, key_id):
        self.ref = weakref.ref(src, lambda _r, k=key_id: _forget(k, _r))
        self.items = {}  # key -> (copies of the extra arrays, derived value)


def _forget(key_id, ref):
    with _LOCK:
        e = _ENTRIES.get(key_id)
        if e is not None and e.ref is ref:
            del _ENTRIES[key_id]


def count():
    """How many source arrays are held read-only now (tests)."""
    return len(_ENTRIES)


def keepable(src):
    """Whether ``memo`` keeps forms derived from ``src``: a numpy array owning its memory,
    writable or already held by this cache."""
    if not _ON[0] or type(src) is not np.ndarray or src.base is not None:
        return False
    marked = _MARKED.get(id(src))
    if marked is None or marked() is not src:
        return False
    shared = _SHARED.get(id(src))
    if shared is not None and shared() is src:
        return False
    e = _ENTRIES.get(id(src))
    return (e is not None and e.ref() is src) or (src.flags.writeable and src.flags.owndata)


def memo(src, key, build, extra=()):
    """``build()``, kept for ``src`` under ``key`` while ``src`` is unchanged; ``extra``: small
    arrays the result also depends on, compared by value at each call. Where ``src`` cannot
    be kept (``keepable``) this is ``build()``."""
    if not keepable(src):
        return build()
    e = _ENTRIES.get(id(src))
    if e is not None:
        hit = e.items.get(key)
        if hit is not None and _same(hit[0], extra):
            return hit[1]
    value = build()
    with _LOCK:
        e = _ENTRIES.get(id(src))
        if e is None or e.ref() is not src:
            e = _ENTRIES[id(src)] = _Entry(src, id(src))
        src.flags.writeable = False
        if key not in e.items and len(e.items) >= MAX_KEYS:
            e.items.pop(next(iter(e.items)))
        e.items[key] = (tuple(None if a is None else np.array(a, copy=True) for a in extra),
                        value)
    return value


def _same(kept, extra):
    if len(kept) != len(extra):
        return False
    for a, b in zip(kept, extra):
        if a is None or b is None:
            if a is not b:
                return False
        elif not (a.shape == np.shape(b) and a.dtype == getattr(b, "dtype", None)
                  and np.array_equal(a, b)):
            return False
    return True


def hold(arr):
    """Hold ``arr`` read-only for a copy of its values kept elsewhere (an onnxruntime session
    with the parameters baked in): True where it is held (``keepable``), after which
    ``held(arr)`` turns False at the first write through kiln."""
    if not keepable(arr):
        return False
    memo(arr, ("held",), lambda: True)
    return True


def held(arr):
    """Whether ``arr`` is still held (no write through kiln since ``hold``/``memo``)."""
    e = _ENTRIES.get(id(arr))
    return e is not None and e.ref() is arr


def _register(table, arr):
    key = id(arr)
    with _LOCK:
        table[key] = weakref.ref(arr, lambda r, k=key: table.pop(k, None)
                                 if table.get(k) is r else None)


def mark(arr):
    """``arr`` is a parameter's array (``Parameter.data()``, a hybridized graph's parameter
    arguments): forms derived from it may be kept. Nothing else is held read-only: a graph's
    intermediate (a weight scaled by a folded BatchNorm, a buffer kept under
    ``static_alloc``) is written again by the graph itself."""
    if type(arr) is np.ndarray and arr.base is None:
        ref = _MARKED.get(id(arr))
        if ref is None or ref() is not arr:
            _register(_MARKED, arr)


def share(arr):
    """``arr``'s memory goes to a writer kiln does not see (a DLPack export): thawed, and its
    root is never held again."""
    if type(arr) is not np.ndarray:
        return
    thaw(arr)
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    _register(_SHARED, root)


def thaw(arr):
    """Before kiln writes into ``arr`` (a numpy array, or anything else: ignored): forget what
    was derived from the array owning its memory and make both writable again (a view made
    while its root was held inherited the read-only flag)."""
    if type(arr) is not np.ndarray or (not _ENTRIES and arr.flags.writeable):
        return
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    with _LOCK:
        e = _ENTRIES.get(id(root))
        if e is not None and e.ref() is root:
            del _ENTRIES[id(root)]
            root.flags.writeable = True
            THAWED[0] += 1
    if arr is root or arr.flags.writeable or not root.flags.writeable:
        return
    chain = [arr]
    while chain[-1].base is not root:
        chain.append(chain[-1].base)
    try:
        for a in reversed(chain):
            a.flags.writeable = True
    except ValueError:   # a view the user made read-only on purpose: the write says so
        pass
