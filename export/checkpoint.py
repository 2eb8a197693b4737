"""``kiln.model``: MXNet 1.9's checkpoint functions (``mx.model.save_checkpoint`` /
``load_checkpoint`` / ``load_params``).

A checkpoint is two files in MXNet's formats: ``<prefix>-symbol.json`` (the graph) and
``<prefix>-<epoch:04d>.params`` (NDArrays keyed ``arg:<name>`` / ``aux:<name>``), the pair that
``HybridBlock.export`` writes and ``SymbolBlock.imports`` reads. Both are written atomically.

Example::

    >>> kiln.model.save_checkpoint("net", 3, sym, arg_params, aux_params)
    >>> sym, arg_params, aux_params = kiln.model.load_checkpoint("net", 3)   # net-0003.params
"""
import logging
from collections import namedtuple

from ..base import FileFormatError

# what MXNet passes to batch_end_callback
BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])


def _params_file(prefix, epoch):
    return "%s-%04d.params" % (prefix, epoch)


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Write ``<prefix>-symbol.json`` (skipped when ``symbol`` is None) and
    ``<prefix>-<epoch:04d>.params``.

    ``arg_params``/``aux_params``: dicts name -> NDArray (stored as ``arg:name``/``aux:name``,
    on the CPU). Example: ``save_checkpoint('mlp', 1, net_sym, args, auxs)`` writes
    ``mlp-symbol.json`` and ``mlp-0001.params``.
    """
    from .. import ndarray as nd
    from ..device import cpu
    if symbol is not None:
        symbol.save("%s-symbol.json" % prefix, remove_amp_cast=remove_amp_cast)
    save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in (arg_params or {}).items()}
    save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in (aux_params or {}).items()})
    param_name = _params_file(prefix, epoch)
    nd.save(param_name, save_dict)
    logging.info('Saved checkpoint to "%s"', param_name)


def load_params(prefix, epoch):
    """``(arg_params, aux_params)`` from ``<prefix>-<epoch:04d>.params``; a file that is not a
    checkpoint raises ``FileFormatError`` naming it.

    Example: ``args, auxs = load_params('mlp', 1)``.
    """
    from .. import ndarray as nd
    fname = _params_file(prefix, epoch)
    save_dict = nd.load(fname)
    arg_params, aux_params = {}, {}
    if not save_dict:
        logging.warning("Params file '%s' is empty", fname)
        return arg_params, aux_params
    if not isinstance(save_dict, dict):
        raise FileFormatError(fname, "holds an unnamed list of arrays, not a checkpoint (a dict "
                                     "with 'arg:'/'aux:' keys)")
    for k, v in save_dict.items():
        tp, sep, name = k.partition(":")
        if not sep or tp not in ("arg", "aux"):
            raise FileFormatError(fname, f"key {k!r} has no 'arg:'/'aux:' prefix; a file written "
                                         "by save_parameters is read with "
                                         "Block.load_parameters instead")
        if v is None:
            raise FileFormatError(fname, f"key {k!r} holds no array")
        (arg_params if tp == "arg" else aux_params)[name] = v
    return arg_params, aux_params


def load_checkpoint(prefix, epoch):
    """``(symbol, arg_params, aux_params)`` from ``<prefix>-symbol.json`` and
    ``<prefix>-<epoch:04d>.params``.

    Example::

        >>> sym, args, auxs = load_checkpoint('mlp', 1)
        >>> net = kiln.gluon.SymbolBlock(sym, kiln.sym.var('data'))   # or bind / export_model
    """
    from .. import symbol as sym_mod
    symbol = sym_mod.load("%s-symbol.json" % prefix)
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params


__all__ = ["save_checkpoint", "load_checkpoint", "load_params", "BatchEndParam"]
