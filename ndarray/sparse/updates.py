"""``nd.sparse``'s update ops: ``sgd_update``, ``sgd_mom_update``, ``adam_update``,
``ftrl_update`` and ``adagrad_update`` with MXNet 1.9's lazy row updates.

With a row_sparse gradient (and ``lazy_update``, the default; AdaGrad always; FTRL only when
the weight and its states are row_sparse too, as MXNet), only the gradient's rows of the
weight and of every state change: the dense registry op (``nd.sgd_update``...) runs on those
rows and they are written back. Other storage combinations run the dense op on the densified
arrays, as MXNet's fallback does. MXNet's lazy kernels write in place and insist on
``out=weight``; kiln writes the rows into ``out`` (``weight`` itself when ``out`` is the
weight, else a copy of the weight).

Example::

    >>> g = nd.sparse.row_sparse_array((np.ones((1, 3), 'f'), [2]), shape=(4, 3))
    >>> nd.sparse.sgd_update(w, g, lr=0.5, wd=0.1, out=w)    # only row 2 of w changes
"""
from .._derived import thaw
from ..ndarray import NDArray
from ..ops import optimizer_adaptive_ops as _adaptive
from ..ops import optimizer_ops as _sgd


def _rows(grad):
    return grad._aux[0] if getattr(grad, "stype", "default") == "row_sparse" else None


def _lazy(op, weight, grad, states, out, attrs):
    """Run ``op`` on the gradient's rows of ``weight`` and ``states``; write them back."""
    rows = _rows(grad)
    ctx = weight.context
    dense_w = weight.tostype("default") if weight.stype != "default" else weight
    full = [s._data.copy() if s.stype != "default" else s._data for s in states]
    take = [NDArray(f[rows], ctx) for f in full]
    new = op(NDArray(dense_w._data[rows], ctx), NDArray(grad._values, ctx), *take, **attrs)
    for s, f, part in zip(states, full, take):
        f[rows] = part._data
        if s.stype != "default":
            s._data = f  # writing _data re-sparsifies (arrays.py)
    if out is weight and weight.stype != "default":
        data = dense_w._data.copy()
        data[rows] = new._data
        weight._data = data
        return weight
    target = out if out is not None else NDArray(dense_w._data.copy(), ctx)
    if target is not weight:
        target[:] = dense_w
    thaw(target._data)
    target._data[rows] = new._data.astype(target._data.dtype)
    return target


def _dense(op, weight, grad, states, out, attrs):
    args = [a.tostype("default") if getattr(a, "stype", "default") != "default" else a
            for a in (weight, grad)]
    res = op(*args, *states, **attrs)
    if out is None:
        return res
    out[:] = res
    return out


def _make(op, name, n_states, lazy_when):
    def update(weight, grad, *states, out=None, **attrs):
        if len(states) != n_states:
            raise TypeError(f"nd.sparse.{name}: expected {n_states} state array(s) after "
                            f"weight and grad, got {len(states)}")
        lazy = all(a.stype == "row_sparse" for a in (weight, *states)) if lazy_when is None \
            else lazy_when(weight, attrs)
        if _rows(grad) is not None and lazy:
            return _lazy(op, weight, grad, states, out, attrs)
        return _dense(op, weight, grad, states, out, attrs)
    update.__name__ = name
    update.__doc__ = (f"MXNet's ``nd.sparse.{name}``: ``nd.{op.op.name}`` with lazy row "
                      "updates for a row_sparse gradient (see this module's docstring).")
    return update


def _lazy_flag(weight, attrs):
    return bool(attrs.get("lazy_update", True))


sgd_update = _make(_sgd.sgd_update, "sgd_update", 0, _lazy_flag)
sgd_mom_update = _make(_sgd.sgd_mom_update, "sgd_mom_update", 1, _lazy_flag)
adam_update = _make(_adaptive.adam_update, "adam_update", 2, _lazy_flag)
ftrl_update = _make(_adaptive.ftrl_update, "ftrl_update", 2, None)
adagrad_update = _make(_adaptive._sparse_adagrad_update, "adagrad_update", 1,
                       lambda weight, attrs: True)

__all__ = ["sgd_update", "sgd_mom_update", "adam_update", "ftrl_update", "adagrad_update"]
