"""Recurrent cells (MXNet Gluon 1.9 ``gluon.rnn.*Cell``)."""
__all__ = []
