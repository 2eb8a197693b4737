"""Local pretrained files of the text models: never downloads.

A text model's file is ``<root>/<name>.params`` (``name`` includes the dataset, e.g.
``bert_12_768_12_book_corpus_wiki_en_uncased``); a missing file raises FileNotFoundError
naming the path.

Example::

    >>> load_local(net, 'bert_2_128_2', root='/data/models')   # doctest: +SKIP
"""
import os

from ..model_store import DEFAULT_ROOT

__all__ = ["load_local"]


def load_local(net, name, ctx=None, root=DEFAULT_ROOT):
    """Load ``<root>/<name>.params`` into ``net`` (structural or MXNet names); returns ``net``."""
    path = os.path.join(os.path.expanduser(root), name + ".params")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Pretrained parameters for '{name}' not found at {path}: kiln does not download "
            f"models. Save them there (net.save_parameters) or pass root=<directory>.")
    net.load_parameters(path, ctx=ctx)
    return net
