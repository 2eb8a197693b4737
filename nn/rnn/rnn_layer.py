"""Fused recurrent layers (MXNet Gluon 1.9 ``gluon.rnn.RNN/LSTM/GRU``)."""
__all__ = []
