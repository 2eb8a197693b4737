"""SyncBatchNorm in one process: BatchNorm itself without a dist store; the synchronized path
(forward and backward written by hand) against BatchNorm's op through a communicator whose
reductions see one process. The 2-rank check is in tests/test_dist.py."""
import _mpi
import kiln
import numpy as np
import pytest
from kiln.kvstore.sync_batchnorm import SyncBatchNorm


class _OneRankComm:
    """The reductions of a 2-rank job whose other rank contributes nothing."""
    size, rank = 2, 0

    def __init__(self):
        self.calls = []

    def allreduce_(self, arrays, what=""):
        self.calls.append(what)


def _check_same(got, want):
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("hybridize", [False, True])
def test_without_a_dist_store_it_is_batchnorm(hybridize):
    x, dy, gamma, beta = _mpi.sync_bn_case()
    want = _mpi.run_bn(kiln, kiln.gluon.nn.BatchNorm(in_channels=3), x, dy, gamma, beta)
    bn = SyncBatchNorm(in_channels=3)
    if hybridize:
        bn.hybridize()
    _check_same(_mpi.run_bn(kiln, bn, x, dy, gamma, beta), want)


@pytest.mark.parametrize("scale", [True, False])
def test_synchronized_path_matches_batchnorm(scale):
    x, dy, gamma, beta = _mpi.sync_bn_case()
    want = _mpi.run_bn(kiln, kiln.gluon.nn.BatchNorm(in_channels=3, scale=scale), x, dy,
                       gamma, beta)
    bn = SyncBatchNorm(in_channels=3, scale=scale)
    bn.comm = _OneRankComm()
    _check_same(_mpi.run_bn(kiln, bn, x, dy, gamma, beta), want)
    assert bn.comm.calls == ["SyncBatchNorm statistics", "SyncBatchNorm gradients"]


def test_predict_mode_uses_running_statistics_without_communication():
    x = _mpi.sync_bn_case()[0]
    bn, ref = SyncBatchNorm(in_channels=3), kiln.gluon.nn.BatchNorm(in_channels=3)
    bn.comm = _OneRankComm()
    for b in (bn, ref):
        b.initialize()
        b.running_mean.set_data(kiln.nd.array([0.5, -1, 2]))
    np.testing.assert_allclose(bn(kiln.nd.array(x)).asnumpy(), ref(kiln.nd.array(x)).asnumpy(),
                               rtol=1e-6)
    assert bn.comm.calls == []


def test_clear_errors():
    bn = SyncBatchNorm(in_channels=3, num_devices=4)
    bn.initialize()
    with pytest.raises(kiln.MXNetError, match="num_devices=4 but the dist kvstore's MPI job "
                                              "has 1 process"):
        bn(kiln.nd.ones((2, 3)))
    bn = SyncBatchNorm(in_channels=3)
    bn.comm = _OneRankComm()
    bn.initialize()
    bn.hybridize()
    with pytest.raises(kiln.MXNetError, match="do not hybridize"), kiln.autograd.record():
        bn(kiln.nd.ones((2, 3)))
