"""kiln.data: datasets, samplers, DataLoader (in-process, worker processes, threads)."""
import gc
import multiprocessing as mp
import os
import time

import kiln as kl
import numpy as np
import pytest
from kiln import data as kd

# ---- datasets (module level so worker processes can use them under spawn too) ----------------


class Squares(kd.Dataset):
    def __len__(self):
        return 11

    def __getitem__(self, i):
        return np.full((2,), i * i, dtype=np.float32), i


class Failing(kd.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError("sample 5 is broken")
        return float(i)


class Dying(kd.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(7)


class Slow(kd.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(5)
        return i


def test_simple_and_array_dataset():
    ds = kd.SimpleDataset([3, 4, 5])
    assert len(ds) == 3 and ds[1] == 4 and list(ds) == [3, 4, 5]
    x, y = kl.nd.array(np.arange(6).reshape(3, 2)), kl.nd.array([7, 8, 9])
    ads = kd.ArrayDataset(x, y)
    assert len(ads) == 3
    xi, yi = ads[2]
    assert xi.shape == (2,) and isinstance(yi, np.floating) and yi == 9  # 1-D -> numpy
    assert kd.ArrayDataset([1, 2])[1] == 2  # one array: the item itself
    with pytest.raises(AssertionError, match="same length"):
        kd.ArrayDataset(np.ones(3), np.ones(4))


def test_transform_filter_shard_take_sample():
    ds = kd.ArrayDataset(np.arange(5), np.arange(5) * 10)
    t = ds.transform(lambda a, b: a + b)
    assert [t[i] for i in range(5)] == [0, 11, 22, 33, 44]
    eager = ds.transform_first(lambda a: -a, lazy=False)
    assert isinstance(eager, kd.SimpleDataset) and eager[2] == (-2, 20)
    assert kd.SimpleDataset([1, 2]).transform_first(lambda a: a * 5)[1] == 10
    f = kd.SimpleDataset(list(range(10))).filter(lambda v: v % 3 == 0)
    assert list(f) == [0, 3, 6, 9]
    base = kd.SimpleDataset(list(range(10)))
    shards = [list(base.shard(3, i)) for i in range(3)]
    assert shards == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    with pytest.raises(AssertionError):
        base.shard(3, 3)
    assert list(base.take(3)) == [0, 1, 2] and len(base.take(None)) == 10
    assert len(base.take(100)) == 10
    assert list(base.sample(kd.IntervalSampler(10, 4, rollover=False))) == [0, 4, 8]
    with pytest.raises(ValueError, match="Invalid sampler"):
        base.sample([1, 2])


# ---- samplers ----------------------------------------------------------------------------------
def test_samplers():
    assert list(kd.SequentialSampler(3)) == [0, 1, 2]
    assert list(kd.SequentialSampler(3, 5)) == [5, 6, 7]
    np.random.seed(3)
    a = list(kd.RandomSampler(10))
    np.random.seed(3)
    assert list(kd.RandomSampler(10)) == a and sorted(a) == list(range(10))
    assert list(kd.IntervalSampler(7, 3)) == [0, 3, 6, 1, 4, 2, 5]
    assert len(kd.IntervalSampler(7, 3, rollover=False)) == 7
    fs = kd.FilterSampler(lambda v: v > 1, [0, 5, 1, 7])
    assert list(fs) == [1, 3] and len(fs) == 2


@pytest.mark.parametrize("mode,expect", [
    ("keep", [[0, 1, 2], [3, 4, 5], [6]]),
    ("discard", [[0, 1, 2], [3, 4, 5]]),
    ("rollover", [[0, 1, 2], [3, 4, 5]]),
])
def test_batch_sampler_modes(mode, expect):
    bs = kd.BatchSampler(kd.SequentialSampler(7), 3, mode)
    assert len(bs) == len(expect)
    assert list(bs) == expect


def test_batch_sampler_rollover_carries_over():
    bs = kd.BatchSampler(kd.SequentialSampler(7), 3, "rollover")
    assert list(bs) == [[0, 1, 2], [3, 4, 5]]
    assert len(bs) == 2  # (1 left + 7) // 3
    assert list(bs) == [[6, 0, 1], [2, 3, 4]]
    assert list(bs) == [[5, 6, 0], [1, 2, 3], [4, 5, 6]]
    with pytest.raises(ValueError, match="last_batch must be one of"):
        list(kd.BatchSampler(kd.SequentialSampler(4), 3, "bogus"))


# ---- batchify ---------------------------------------------------------------------------------
def test_default_batchify_dtypes_and_tuples():
    b = kd.default_batchify_fn([(np.ones((2, 2), np.uint8), 1, 0.5, kl.nd.ones((3,))),
                                (np.zeros((2, 2), np.uint8), 2, 1.5, kl.nd.zeros((3,)))])
    assert isinstance(b, list) and len(b) == 4
    assert b[0].shape == (2, 2, 2) and b[0].dtype == np.uint8
    assert b[1].dtype == np.int64 and b[1].asnumpy().tolist() == [1, 2]
    assert b[2].dtype == np.float64
    assert b[3].shape == (2, 3) and b[3].dtype == np.float32
    assert kd.default_batchify_fn([np.int32(1), np.int32(4)]).dtype == np.int32


# ---- DataLoader -------------------------------------------------------------------------------
def _collect(loader):
    return [(x.asnumpy(), y.asnumpy()) for x, y in loader]


def test_dataloader_argument_checks():
    ds = Squares()
    with pytest.raises(ValueError, match="batch_size must be specified"):
        kd.DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle must not be specified"):
        kd.DataLoader(ds, 2, shuffle=True, sampler=kd.SequentialSampler(11))
    with pytest.raises(ValueError, match="must not be specified if batch_sampler"):
        kd.DataLoader(ds, 2, batch_sampler=kd.BatchSampler(kd.SequentialSampler(11), 2))
    bs = kd.BatchSampler(kd.SequentialSampler(11), 4, "discard")
    assert len(kd.DataLoader(ds, batch_sampler=bs)) == 2


@pytest.mark.parametrize("last_batch,n", [(None, 4), ("keep", 4), ("discard", 3),
                                          ("rollover", 3)])
def test_dataloader_last_batch(last_batch, n):
    loader = kd.DataLoader(Squares(), batch_size=3, last_batch=last_batch)
    assert len(loader) == n
    batches = _collect(loader)
    assert len(batches) == n
    assert batches[0][1].tolist() == [0, 1, 2] and batches[0][0][2].tolist() == [4.0, 4.0]


def test_dataloader_shuffle_uses_numpy_rng():
    np.random.seed(0)
    first = np.concatenate([y for _, y in _collect(kd.DataLoader(Squares(), 4, shuffle=True))])
    np.random.seed(0)
    again = np.concatenate([y for _, y in _collect(kd.DataLoader(Squares(), 4, shuffle=True))])
    assert sorted(first.tolist()) == list(range(11)) and (first == again).all()


def test_dataloader_workers_preserve_order():
    ref = _collect(kd.DataLoader(Squares(), batch_size=2))
    loader = kd.DataLoader(Squares(), batch_size=2, num_workers=2)
    for _ in range(2):  # the pool is reused across epochs
        got = _collect(loader)
        assert len(got) == len(ref)
        for (gx, gy), (rx, ry) in zip(got, ref):
            assert (gx == rx).all() and (gy == ry).all() and gy.dtype == ry.dtype


def test_dataloader_v1_gives_the_same_batches():
    """gluon.data.dataloader.DataLoaderV1: MXNet's older signature, the same batches (in
    worker processes too); the newer keywords are not part of it."""
    loader_v1 = kl.gluon.data.dataloader.DataLoaderV1
    ref = _collect(kd.DataLoader(Squares(), batch_size=3, last_batch="rollover"))
    for workers in (0, 2):
        got = _collect(loader_v1(Squares(), batch_size=3, last_batch="rollover",
                                 num_workers=workers))
        assert len(got) == len(ref) == 3
        assert all((g[0] == r[0]).all() and (g[1] == r[1]).all() for g, r in zip(got, ref))
    with pytest.raises(TypeError):
        loader_v1(Squares(), batch_size=3, thread_pool=True)


def test_dataloader_thread_pool_and_prefetch():
    ref = _collect(kd.DataLoader(Squares(), batch_size=3))
    got = _collect(kd.DataLoader(Squares(), batch_size=3, num_workers=2, thread_pool=True,
                                 prefetch=1))
    assert all((g[1] == r[1]).all() for g, r in zip(got, ref)) and len(got) == len(ref)


@pytest.mark.parametrize("thread_pool", [False, True])
def test_worker_exception_propagates(thread_pool):
    loader = kd.DataLoader(Failing(), batch_size=2, num_workers=2, thread_pool=thread_pool)
    it = iter(loader)
    assert next(it).asnumpy().tolist() == [0.0, 1.0]
    with pytest.raises(KeyError, match="sample 5 is broken") as info:
        for _ in it:
            pass
    if not thread_pool:
        assert "Traceback" in str(info.value.__cause__)
        assert "__getitem__" in str(info.value.__cause__)


def test_worker_death_is_reported_quickly():
    loader = kd.DataLoader(Dying(), batch_size=2, num_workers=1, timeout=60)
    start = time.time()
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(loader)
    assert time.time() - start < 10


def test_worker_timeout():
    loader = kd.DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.3)
    with pytest.raises(mp.TimeoutError, match="timed out"):
        next(iter(loader))
    del loader
    gc.collect()


def test_workers_shut_down_on_gc():
    loader = kd.DataLoader(Squares(), batch_size=4, num_workers=2)
    list(loader)
    procs = list(loader._worker_pool._procs)
    assert all(p.is_alive() for p in procs)
    del loader
    gc.collect()
    for p in procs:
        p.join(timeout=3)
    assert not any(p.is_alive() for p in procs)


def test_custom_batchify_and_pin_memory():
    loader = kd.DataLoader(kd.SimpleDataset([1, 2, 3]), batch_size=2, pin_memory=True,
                           batchify_fn=lambda items: kl.nd.array(items) * 2)
    out = [b.asnumpy().tolist() for b in loader]
    assert out == [[2.0, 4.0], [6.0]]


def test_temporary_loader_stays_alive_while_iterating():
    out = [b.asnumpy().tolist()
           for b in kd.DataLoader(kd.SimpleDataset(list(range(6))), batch_size=2, num_workers=2)]
    assert out == [[0, 1], [2, 3], [4, 5]]


def test_abandoned_epoch_then_new_epoch():
    loader = kd.DataLoader(Squares(), batch_size=2, num_workers=2, prefetch=4)
    it = iter(loader)
    next(it)
    del it  # results still in flight are dropped
    got = [y.asnumpy().tolist() for _, y in loader]
    assert got[0] == [0, 1] and len(got) == 6


def test_loader_recovers_after_worker_death():
    loader = kd.DataLoader(kd.SimpleDataset([0, 1]), batch_size=1, num_workers=1)
    for p in loader._worker_pool._procs:
        p.kill()
        p.join()
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(loader)
    assert [b.asnumpy().tolist() for b in loader] == [[0], [1]]
