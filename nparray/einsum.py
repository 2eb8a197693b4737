"""``np.einsum`` built from kiln's registry ops, so it is differentiable and traceable.

The subscripts are parsed on the host (numpy's rules: implicit output = the letters seen once,
in alphabetical order; ``...`` broadcast axes). Each operand first loses repeated letters
(a diagonal) and letters nobody else needs (a sum); then the operands are contracted left to
right, each pair as one ``batch_dot`` over (shared kept letters, left-only, contracted,
right-only) — a transpose and a reshape either side, no broadcast product in memory.

Example::

    >>> np.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
    (2, 4)
"""
import string

from ..ndarray import ops as F
from ._core import shape_of, wrap

# ``...`` axes get capital letters, which user subscripts cannot contain
_ELLIPSIS_LETTERS = string.ascii_uppercase


def _parse(subscripts, operands):
    """(per-operand letter lists, output letter list) with ``...`` expanded."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    terms = ins.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: {len(terms)} operand subscripts for {len(operands)} operands")
    n_ell = 0
    for term, op in zip(terms, operands):
        if "..." in term:
            n_ell = max(n_ell, len(op.shape) - (len(term) - 3))
    ell = list(_ELLIPSIS_LETTERS[len(_ELLIPSIS_LETTERS) - n_ell:]) if n_ell else []
    letters = []
    for term, op in zip(terms, operands):
        if "..." in term:
            head, tail = term.split("...")
            k = len(op.shape) - len(head) - len(tail)
            term_letters = list(head) + ell[len(ell) - k:] + list(tail)
        else:
            term_letters = list(term)
        if len(term_letters) != len(op.shape):
            raise ValueError(f"einsum: subscripts {term!r} do not fit an operand of shape "
                             f"{shape_of(op)}")
        letters.append(term_letters)
    if out is None:
        seen = [c for t in letters for c in t]
        out_letters = [c for c in ell] + sorted(
            c for c in set(seen) if seen.count(c) == 1 and c not in ell)
    else:
        head, _, tail = out.partition("...")
        out_letters = list(head) + (ell if "..." in out else []) + list(tail)
    return letters, out_letters


def _dedupe(x, lets):
    """Repeated letters of one operand become their diagonal (appended as the last axis)."""
    while len(set(lets)) < len(lets):
        c = next(c for c in lets if lets.count(c) > 1)
        i = lets.index(c)
        j = lets.index(c, i + 1)
        x = F.diag(x, k=0, axis1=i, axis2=j)
        lets = [d for k, d in enumerate(lets) if k not in (i, j)] + [c]
    return x, lets


def _sum_out(x, lets, keep):
    axes = tuple(i for i, c in enumerate(lets) if c not in keep)
    if not axes:
        return x, lets
    return F.sum(x, axis=axes), [c for c in lets if c in keep]


def _size(sizes, group):
    n = 1
    for c in group:
        n *= sizes[c]
    return n


def _contract(a, la, b, lb, keep, sizes):
    """``a`` (letters ``la``) times ``b`` summed over the shared letters not in ``keep``."""
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    a3 = F.reshape(F.transpose(a, axes=tuple(la.index(c) for c in batch + left + summed)),
                   shape=(_size(sizes, batch), _size(sizes, left), _size(sizes, summed)))
    b3 = F.reshape(F.transpose(b, axes=tuple(lb.index(c) for c in batch + summed + right)),
                   shape=(_size(sizes, batch), _size(sizes, summed), _size(sizes, right)))
    res = F.batch_dot(a3, b3)
    lets = batch + left + right
    return F.reshape(res, shape=tuple(sizes[c] for c in lets)), lets


def einsum(*operands, **kwargs):
    """Einstein summation: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Shapes follow numpy (``...`` broadcasts; without ``->`` the output takes the letters that
    appear once, alphabetically). Differentiable and traceable; ``optimize`` is accepted and
    ignored (the operands are contracted left to right).

    Example::

        >>> np.einsum("ii", np.eye(3))
        array(3.)
    """
    kwargs.pop("optimize", None)
    if kwargs.pop("out", None) is not None:
        raise NotImplementedError("einsum: out= is not supported")
    if kwargs:
        raise TypeError(f"einsum: unexpected arguments {sorted(kwargs)}")
    subscripts, arrays = operands[0], list(operands[1:])
    letters, out = _parse(subscripts, arrays)
    sizes = {}
    for lets, x in zip(letters, arrays):
        for c, s in zip(lets, shape_of(x)):
            if sizes.get(c, 1) == 1:
                sizes[c] = s
            elif s not in (1, sizes[c]):
                raise ValueError(f"einsum: letter {c!r} has sizes {sizes[c]} and {s}")
    work = []
    for idx, (x, lets) in enumerate(zip(arrays, letters)):
        # size-1 axes of broadcast letters grow to the common size first
        target = tuple(sizes[c] for c in lets)
        if target != shape_of(x):
            x = F.broadcast_to(x, shape=target)
        x, lets = _dedupe(x, lets)
        others = set(out).union(*[set(ls) for k, ls in enumerate(letters) if k != idx])
        work.append(_sum_out(x, lets, others))
    x, lets = work[0]
    for k in range(1, len(work)):
        keep = set(out).union(*[set(ls) for _, ls in work[k + 1:]])
        x, lets = _contract(x, lets, work[k][0], work[k][1], keep, sizes)
    x, lets = _sum_out(x, lets, set(out))
    if lets != out:
        x = F.transpose(x, axes=tuple(lets.index(c) for c in out))
    if not out and shape_of(x) != ():
        x = F.reshape(x, shape=())
    return wrap(x)
