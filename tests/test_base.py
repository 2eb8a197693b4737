"""kiln.base: the error classes Gluon code relies on, and the checked-mode switch."""
import kiln
import pytest
from kiln.base import ExportError, FileFormatError, MXNetError, OpError


def test_mxnet_error_is_a_runtime_error():
    # Gluon code written for MXNet catches RuntimeError around forward calls
    assert issubclass(MXNetError, RuntimeError)
    with pytest.raises(RuntimeError, match="shape"):
        kiln.nd.dot(kiln.nd.ones((2, 3)), kiln.nd.ones((4, 5)))


def test_error_classes_are_mxnet_errors():
    for cls in (OpError, FileFormatError, ExportError):
        assert issubclass(cls, MXNetError)
    assert kiln.MXNetError is MXNetError and kiln.FileFormatError is FileFormatError


def test_file_format_error_names_the_file_and_the_problem():
    err = FileFormatError("/tmp/net-0000.params", "truncated: 12 bytes remain")
    assert str(err) == "/tmp/net-0000.params: truncated: 12 bytes remain"
    assert err.path == "/tmp/net-0000.params" and err.reason == "truncated: 12 bytes remain"
    assert str(FileFormatError(None, "empty buffer")) == "empty buffer"
    assert isinstance(err, ValueError)


def test_set_checks_returns_the_previous_setting():
    assert kiln.checks_enabled() is False            # MXNet's behaviour by default
    try:
        assert kiln.set_checks(True) is False
        assert kiln.checks_enabled() is True
        assert kiln.set_checks(1) is True
    finally:
        kiln.set_checks(False)
    assert kiln.checks_enabled() is False
