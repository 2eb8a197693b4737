"""Local pretrained files of the text models: never downloads.

A text model's file is ``<root>/<name>.params`` or GluonNLP's download name
``<root>/<name>-<8 hex digits>.params`` (``name`` includes the dataset, e.g.
``bert_12_768_12_book_corpus_wiki_en_uncased``, ``transformer_en_de_512_WMT2014``), so files
GluonNLP 0.x downloaded to ``~/.mxnet/models`` are found. A missing file raises
FileNotFoundError naming the path.

Example::

    >>> load_local(net, 'bert_2_128_2', root='/data/models')   # doctest: +SKIP
"""
import glob
import os

from ..model_store import DEFAULT_ROOT

__all__ = ["load_local"]


def _find(name, root):
    root = os.path.expanduser(root)
    plain = os.path.join(root, name + ".params")
    if os.path.exists(plain):
        return plain
    hashed = sorted(p for p in glob.glob(os.path.join(glob.escape(root), name + "-*.params"))
                    if len(os.path.basename(p)) == len(name) + 16)    # "-" + 8 hex + ".params"
    if hashed:
        return hashed[0]
    raise FileNotFoundError(
        f"Pretrained parameters for '{name}' not found at {plain} (or GluonNLP's "
        f"{name}-<hash>.params): kiln does not download models. Save them there "
        f"(net.save_parameters) or pass root=<directory>.")


def load_local(net, name, ctx=None, root=DEFAULT_ROOT, **kwargs):
    """Load ``name``'s local file into ``net`` (``kwargs`` go to ``load_parameters``, e.g.
    ``ignore_extra``); returns ``net``."""
    net.load_parameters(_find(name, root), ctx=ctx, **kwargs)
    return net
