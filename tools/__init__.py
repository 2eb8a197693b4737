"""User-facing tools around the library: the ``kiln`` command line (``cli``, ``demo``), graph
visualization (``viz``, MXNet's ``mx.viz``), MXNet's test helpers (``test_utils``) and MXNet's
``mx.onnx`` facade (``mx_onnx``).

Example::

    >>> from kiln.tools import viz
    >>> viz.print_summary(sym, shape={"data": (1, 3, 32, 32)})
"""
