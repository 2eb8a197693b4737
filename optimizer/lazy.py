"""Lazy updates for row_sparse gradients (MXNet's ``lazy_update=True``).

With a row_sparse gradient, SGD and Adam update only the rows the gradient holds: the weight
rows and the same rows of every state (momentum, Adam's moments); all other rows keep their
values, weight decay and momentum decay included. The dense update kernels run unchanged on
the gathered rows, which are then written back. Without ``lazy_update`` (or with a dense
gradient) the gradient is read densely (missing rows are zero), as MXNet's standard update.

Example::

    >>> opt = kiln.optimizer.SGD(learning_rate=0.1, momentum=0.9)   # lazy_update=True
"""

__all__ = ["lazy_rows", "lazy_apply", "grad_rows"]


def lazy_rows(optimizer, grad):
    """The row indices of ``grad`` when ``optimizer`` should update lazily, else None."""
    # (_LAZY: the optimizers whose kernels are elementwise per row, SGD and Adam)
    if getattr(optimizer, "_LAZY", False) and optimizer.lazy_update:
        return grad_rows(grad)
    return None


def grad_rows(grad):
    """The raw row indices a row_sparse ``grad`` holds; None for any other storage."""
    return grad._aux[0] if getattr(grad, "stype", "") == "row_sparse" else None


def lazy_apply(kernel, rows, weight, grad, states):
    """Run ``kernel(w_rows, g_rows, *state_rows)`` (in place on raw arrays) on ``rows`` of
    the raw ``weight`` and ``states`` (None entries pass through) and write them back.
    ``grad`` is the row_sparse gradient whose stored values are the rows' gradients."""
    if rows.size == 0:
        return
    w = weight[rows]
    parts = [None if s is None else s[rows] for s in states]
    kernel(w, grad._values, *parts)
    weight[rows] = w
    for s, p in zip(states, parts):
        if s is not None:
            s[rows] = p
