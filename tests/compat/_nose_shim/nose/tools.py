"""``nose.tools`` as MXNet 1.x's unit tests use it, on top of ``unittest`` and pytest."""
import functools
import unittest

from . import SkipTest

_case = unittest.TestCase("__init__")
assert_raises = _case.assertRaises
assert_equal = _case.assertEqual
assert_not_equal = _case.assertNotEqual
assert_true = _case.assertTrue
assert_false = _case.assertFalse
assert_almost_equal = _case.assertAlmostEqual
assert_in = _case.assertIn
assert_is_none = _case.assertIsNone
assert_is_instance = _case.assertIsInstance
assert_greater = _case.assertGreater
assert_less = _case.assertLess

__all__ = ["SkipTest", "assert_raises", "assert_equal", "assert_not_equal", "assert_true",
           "assert_false", "assert_almost_equal", "assert_in", "assert_is_none",
           "assert_is_instance", "assert_greater", "assert_less", "ok_", "eq_", "raises",
           "make_decorator", "with_setup", "nottest", "istest"]


def ok_(expr, msg=None):
    """Fail unless ``expr`` is true."""
    if not expr:
        raise AssertionError(msg)


def eq_(a, b, msg=None):
    """Fail unless ``a == b``."""
    if not a == b:
        raise AssertionError(msg or f"{a!r} != {b!r}")


def make_decorator(func):
    """Wrap a decorator's result so the test keeps ``func``'s name and docstring."""
    def decorate(newfunc):
        wrapped = functools.wraps(func)(newfunc)
        wrapped.__wrapped__ = func
        return wrapped
    return decorate


def raises(*exceptions):
    """The test passes only if it raises one of ``exceptions``."""
    def decorate(func):
        @functools.wraps(func)
        def test(*args, **kwargs):
            try:
                func(*args, **kwargs)
            except exceptions:
                return
            raise AssertionError(f"{func.__name__} did not raise {exceptions}")
        return test
    return decorate


def with_setup(setup=None, teardown=None):
    """Run ``setup`` before and ``teardown`` after the test."""
    def decorate(func):
        @functools.wraps(func)
        def test(*args, **kwargs):
            if setup is not None:
                setup()
            try:
                return func(*args, **kwargs)
            finally:
                if teardown is not None:
                    teardown()
        return test
    return decorate


def nottest(func):
    """Mark ``func`` as not a test."""
    func.__test__ = False
    return func


def istest(func):
    """Mark ``func`` as a test."""
    func.__test__ = True
    return func
