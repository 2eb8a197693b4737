"""CheckpointHandler (gluon/contrib/estimator/_checkpoint.py): a run stopped after k epochs (or
batches) and resumed from its checkpoint ends with the parameters and optimizer states of the
uninterrupted run (shuffled data, dropout and momentum included); file names, pruning, the best
checkpoint, the graph file, and the checks."""
import json
import os

import kiln
import numpy as np
import pytest
from kiln import gluon
from kiln.base import FileFormatError
from kiln.gluon.contrib.estimator import CheckpointHandler, EpochEnd
from test_estimator import make_data, make_estimator, make_net, params


def _run(model_dir, data_seed=0, resume=False, net_seed=0, **fit):
    """Seed numpy (the shuffle) and kiln (init, dropout) the same way, then fit."""
    np.random.seed(data_seed)
    est = make_estimator(make_net(seed=net_seed, dropout=0.3))
    kiln.random.seed(data_seed + 1)
    period = {"batch_period": 4, "epoch_period": None} if "batches" in fit else {}
    handler = CheckpointHandler(str(model_dir), resume_from_checkpoint=resume, **period)
    est.fit(make_data(shuffle=True), val_data=make_data(n=6, seed=2), event_handlers=[handler],
            **fit)
    return est


def _states(est, path):
    est.trainer.save_states(str(path))
    return path.read_bytes()


@pytest.mark.parametrize("kind", ["epochs", "batches"])
def test_resumed_run_reproduces_the_uninterrupted_run(tmp_path, kind):
    total, first = ({"epochs": 4}, {"epochs": 2}) if kind == "epochs" else (
        {"batches": 12}, {"batches": 8})      # 4 batches per epoch: stop at an epoch's end
    full = _run(tmp_path / "full", **total)
    _run(tmp_path / "part", **first)
    # resume into a differently initialized net with fresh seeds: everything comes from disk
    np.random.seed(123)
    kiln.random.seed(456)
    est = make_estimator(make_net(seed=9, dropout=0.3))
    period = {"batch_period": 4, "epoch_period": None} if kind == "batches" else {}
    handler = CheckpointHandler(str(tmp_path / "part"), resume_from_checkpoint=True, **period)
    est.fit(make_data(shuffle=True), val_data=make_data(n=6, seed=2),
            event_handlers=[handler], **total)
    want, got = params(full.net), params(est.net)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert _states(est, tmp_path / "a.states") == _states(full, tmp_path / "b.states")
    # the resumed run continues MXNet's numbering: the same last file as the full run
    assert sorted(os.listdir(tmp_path / "part")) == sorted(os.listdir(tmp_path / "full"))


def test_file_names_pruning_best_and_symbol(tmp_path):
    est = make_estimator(make_net())
    est.net.hybridize()
    monitor = est.val_metrics[0]
    seen = []       # (validation accuracy, parameters) at each epoch's checkpoint

    class Spy(CheckpointHandler):
        def _save_best(self, estimator):
            seen.append((monitor.get()[1], params(estimator.net)))
            super()._save_best(estimator)

    handler = Spy(str(tmp_path), model_prefix="m", monitor=monitor, save_best=True, mode="max",
                  max_checkpoints=2)
    est.fit(make_data(), val_data=make_data(n=6, seed=2), epochs=4, event_handlers=[handler])
    # 4 batches per epoch: epoch e ends after 4*(e+1) batches; only the last two are kept
    kept = [f"m-epoch{e}batch{4 * (e + 1)}{s}" for e in (2, 3)
            for s in (".params", ".rng.json", ".states")]
    best = [f"m-best{s}" for s in (".json", ".params", ".rng.json", ".states")]
    assert sorted(os.listdir(tmp_path)) == sorted(kept + best + ["m-symbol.json"])
    # the best file holds the parameters of the first epoch with the highest accuracy
    want = seen[int(np.argmax([acc for acc, _ in seen]))][1]
    net = make_net()
    net.load_parameters(str(tmp_path / "m-best.params"))
    for k, v in want.items():
        np.testing.assert_array_equal(params(net)[k], v, err_msg=k)
    # the graph file is the hybridized net's: with its parameters it computes what the net does
    block = gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"])
    block.initialize()
    mine = est.net.collect_params()
    for name, p in block.collect_params().items():
        p.set_data(mine[name].data())
    x = kiln.nd.array(np.random.default_rng(5).normal(size=(3, 4)))
    np.testing.assert_allclose(block(x).asnumpy(), est.net(x).asnumpy(), rtol=1e-6)


def test_resume_checks(tmp_path):
    _run(tmp_path, epochs=2)
    est = make_estimator(make_net(dropout=0.3))
    with pytest.raises(ValueError, match="already reached 2 epochs"):
        est.fit(make_data(), epochs=2, event_handlers=[
            CheckpointHandler(str(tmp_path), resume_from_checkpoint=True)])
    with pytest.raises(ValueError, match="same kind of period"):
        est.fit(make_data(), batches=20, event_handlers=[
            CheckpointHandler(str(tmp_path), resume_from_checkpoint=True)])
    # a damaged random-state file is refused before anything is set
    rng_file = tmp_path / "model-epoch1batch8.rng.json"
    state = json.loads(rng_file.read_text())
    state["numpy_global"]["state"]["key"] = state["numpy_global"]["state"]["key"][:5]
    rng_file.write_text(json.dumps(state))
    before = np.random.get_state()[1].copy()
    with pytest.raises(FileFormatError, match="model-epoch1batch8.rng.json"):
        est.fit(make_data(), epochs=3, event_handlers=[
            CheckpointHandler(str(tmp_path), resume_from_checkpoint=True)])
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_resume_without_checkpoints_trains_from_scratch(tmp_path):
    est = make_estimator(make_net())
    est.fit(make_data(), epochs=1, event_handlers=[
        CheckpointHandler(str(tmp_path / "empty"), resume_from_checkpoint=True)])
    assert sorted(os.listdir(tmp_path / "empty")) == [
        "model-epoch0batch4.params", "model-epoch0batch4.rng.json", "model-epoch0batch4.states"]


def test_batch_period_names(tmp_path):
    # MXNet names a batch checkpoint by the epoch it falls in and the 0-based batch index
    est = make_estimator(make_net())
    handler = CheckpointHandler(str(tmp_path), epoch_period=None, batch_period=2,
                                max_checkpoints=2)
    est.fit(make_data(), batches=10, event_handlers=[handler])      # 4 batches per epoch
    saved = [b for b in range(10) if (b + 1) % 2 == 0][-2:]
    want = [f"model-epoch{b // 4}batch{b}{s}" for b in saved
            for s in (".params", ".rng.json", ".states")]
    assert sorted(os.listdir(tmp_path)) == sorted(want)
    assert (handler.current_batch, handler.current_epoch) == (10, 3)   # 3rd epoch cut short


class Scripted(kiln.metric.EvalMetric):
    """A metric whose value at each epoch's end is the next of ``values`` (a shared list)."""

    def __init__(self, values):
        self.values, self.current = values, float("nan")
        super().__init__("scripted")

    def update(self, labels, preds):
        pass

    def get(self):
        return self.name, self.current


class NextValue(EpochEnd):
    priority = -500         # before the CheckpointHandler reads the metric

    def __init__(self, source):
        self.source = source

    def epoch_end(self, estimator, *args, **kwargs):
        self.source.current = self.source.values.pop(0)


def test_resumed_run_keeps_the_earlier_best(tmp_path):
    values = [0.5, 0.9, 0.6, 0.95]       # epoch 2 is worse than epoch 1's best

    def fit(epochs, resume):
        scripted = Scripted(values)      # the Estimator renames it "training scripted"
        est = make_estimator(make_net(), train_metrics=[scripted])
        handler = CheckpointHandler(str(tmp_path), monitor=scripted, save_best=True,
                                    mode="max", resume_from_checkpoint=resume)
        est.fit(make_data(), epochs=epochs, event_handlers=[handler, NextValue(scripted)])
        return handler

    fit(2, False)
    best = (tmp_path / "model-best.params").read_bytes()
    assert best == (tmp_path / "model-epoch1batch8.params").read_bytes()
    handler = fit(3, True)                            # epoch 2 (0.6) must not replace it
    assert handler.best == 0.9
    assert (tmp_path / "model-best.params").read_bytes() == best
    fit(4, True)                                      # epoch 3 (0.95) does
    assert (tmp_path / "model-best.params").read_bytes() == \
        (tmp_path / "model-epoch3batch16.params").read_bytes()
    (tmp_path / "model-best.json").write_text("{broken")
    with pytest.raises(FileFormatError, match="model-best.json"):
        fit(5, True)
