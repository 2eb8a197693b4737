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


class OpIndexError(OpError, IndexError):
    """An index out of range (``gather_nd``, ``take`` in raise mode...): an IndexError too, as
    MXNet raises it."""


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


class NotImplementedForSymbol(MXNetError):
    """A function exists for NDArray but not for Symbol (``mxnet.base.NotImplementedForSymbol``).

    Example::

        >>> raise NotImplementedForSymbol(len, None)
        NotImplementedForSymbol: Function len is not implemented for Symbol and only ...
    """

    def __init__(self, function, alias, *args):
        super().__init__()
        self.function = getattr(function, "__name__", str(function))
        self.alias = alias
        self.args = [str(type(a)) for a in args]

    def __str__(self):
        msg = f"Function {self.function}"
        if self.alias:
            msg += f' (namely operator "{self.alias}")'
        if self.args:
            msg += f" with arguments ({', '.join(self.args)})"
        return msg + " is not implemented for Symbol and only available in NDArray."


class NotSupportedForSparseNDArray(NotImplementedForSymbol):
    """A function is not available for sparse arrays (kiln has none; kept for imports)."""

    def __str__(self):
        return super().__str__().replace("is not implemented for Symbol",
                                         "is not supported for SparseNDArray")


class _NullType:
    """MXNet's placeholder for an argument that was not given (``mxnet.base._Null``)."""

    def __repr__(self):
        return "_Null"


_Null = _NullType()


def _as_list(obj):
    """``obj`` itself if it is a list or tuple, else ``[obj]`` (``mxnet.base._as_list``).

    Example::

        >>> _as_list(3), _as_list((1, 2))
        ([3], (1, 2))
    """
    return obj if isinstance(obj, (list, tuple)) else [obj]


def data_dir_default():
    """MXNet's default data folder: ``~/.mxnet`` (``%APPDATA%/mxnet`` on Windows)."""
    if sys.platform == "win32":
        return os.path.join(os.environ.get("APPDATA", ""), "mxnet")
    return os.path.join(os.path.expanduser("~"), ".mxnet")


def data_dir():
    """The folder for downloads: ``$MXNET_HOME``, else :func:`data_dir_default`."""
    return os.getenv("MXNET_HOME", data_dir_default())


class _CurrentScope(type):
    """Metaclass of MXNet's ``with``-scopes (NameManager, AttrScope): ``cls.current`` is the
    innermost scope of this thread (the class's default one outside any ``with``)."""

    @property
    def current(cls):
        if not hasattr(cls._current, "value"):
            cls._current.value = cls._default()
        return cls._current.value

    @current.setter
    def current(cls, value):
        cls._current.value = value
