"""Errors shared by every part of kiln, and the helper that finds the user's source line."""
import os
import sys

import numpy as np

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


class MXNetError(RuntimeError):
    """Base class of kiln's errors (named as in MXNet so ``except MXNetError`` keeps working).

    A ``RuntimeError``, as MXNet's is: Gluon code that catches ``RuntimeError`` catches it."""


KilnError = MXNetError


class FileFormatError(MXNetError, ValueError):
    """A file (parameters, symbol JSON, ONNX model, trainer states) is corrupt, truncated or does
    not fit what it is loaded into. The message names the file and what is wrong; nothing has
    been written or allocated from the file's declared sizes when it is raised.

    Example::

        >>> kiln.nd.load("broken.params")
        FileFormatError: broken.params: truncated: record 2 declares 4000000 bytes, 12 remain
    """

    def __init__(self, path, reason):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class ExportError(MXNetError):
    """A graph cannot be exported (an op without an ONNX lowering, a shape that does not fit)."""


class OpError(MXNetError, ValueError):
    """An operator was called with inputs it cannot take (shapes, dtypes, axes, devices)."""


class DeviceMismatchError(OpError):
    """Inputs of one operator live on different devices."""


_CHECKS = [False]


def set_checks(enabled):
    """Turn on (``True``) or off kiln's checked mode; returns the previous setting.

    Checked mode validates values that MXNet 1.9 trusts for speed, e.g. class labels outside
    ``[0, num_classes)`` given to ``SoftmaxCrossEntropyLoss`` raise instead of being clipped.
    Off by default (MXNet's behaviour).

    Example::

        >>> previous = kiln.set_checks(True)
    """
    previous, _CHECKS[0] = _CHECKS[0], bool(enabled)
    return previous


def checks_enabled():
    """Whether checked mode is on (see ``set_checks``)."""
    return _CHECKS[0]


def _is_internal(filename):
    return filename.startswith(_PKG_DIR) and os.sep + "tests" + os.sep not in filename[
        len(_PKG_DIR):len(_PKG_DIR) + 8]


def user_frame(skip=1):
    """Return ``"file:line"`` of the innermost caller outside the kiln package (or ``"?"``)."""
    f = sys._getframe(skip)
    while f is not None:
        fn = f.f_code.co_filename
        if not _is_internal(fn) and not fn.startswith("<frozen") and "contextlib" not in fn:
            return f"{fn}:{f.f_lineno}"
        f = f.f_back
    return "?"


def describe_args(args):
    """Short description of op inputs for error messages: shapes and dtypes."""
    parts = []
    for a in args:
        shape = getattr(a, "shape", None)
        if shape is not None:
            dt = getattr(a, "dtype", None)
            dt = getattr(dt, "__name__", None) or str(dt)
            parts.append(f"{tuple(shape)} {dt}")
        elif a is None:
            parts.append("None")
        else:
            parts.append(f"scalar {a!r}")
    return "[" + ", ".join(parts) + "]"


def atomic_write(path, blob):
    """Write ``blob`` to ``path`` atomically: a temporary file in the same folder, then rename."""
    import tempfile
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def py_str(x):
    """Text from bytes or str (``mxnet.base.py_str``; kiln's callbacks already pass str)."""
    return x.decode("utf-8") if isinstance(x, (bytes, bytearray)) else str(x)


# mxnet.base's type tuples (tests written for MXNet import them)
string_types = (str,)
numeric_types = (float, int, np.generic)
integer_types = (int, np.int32, np.int64)
