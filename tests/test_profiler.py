"""``kiln.profiler`` (MXNet's ``mx.profiler``): eager ops and hybridized graph nodes are timed
under MXNet's op names, the trace is Chrome's format, ``dumps`` aggregates as MXNet's does."""
import json
import os

import numpy as np
import pytest
from kiln import autograd, gluon, nd, profiler


@pytest.fixture
def trace(tmp_path):
    path = str(tmp_path / "trace.json")
    profiler.set_config(profile_all=True, filename=path, aggregate_stats=True)
    profiler.set_state("run")
    profiler.dumps(reset=True)
    yield path
    profiler.set_state("stop")
    profiler.dumps(reset=True)


def _events(path):
    with open(path) as f:
        return json.load(f)["traceEvents"]


def _ops(**kw):
    return json.loads(profiler.dumps(format="json", **kw))["Time"].get("operator", {})


def test_eager_ops_counted_under_mxnet_names(trace):
    x = nd.zeros((100, 100))
    nd.sqrt(x)
    x = x + 1
    x = x + 1
    ops = _ops()
    assert ops["sqrt"]["Count"] == 1 and ops["_plus_scalar"]["Count"] == 2
    assert ops["_zeros"]["Count"] == 1
    s = ops["_plus_scalar"]
    assert s["Min"] <= s["Avg"] <= s["Max"] and s["Total"] == pytest.approx(2 * s["Avg"])
    mem = json.loads(profiler.dumps(format="json"))["Memory"]["Device Storage"]
    assert mem["sqrt"]["Total"] == pytest.approx(100 * 100 * 4 / 1024)


def test_hybridized_nodes_carry_block_and_line(trace):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(4, activation="relu"), gluon.nn.Dense(2))
    net.initialize()
    x = nd.ones((3, 5))
    net(x)
    net.hybridize()
    with autograd.record():
        y = net(x)
    y.backward()
    profiler.dump(False)
    events = _events(trace)
    fc = [e for e in events if e["name"] == "FullyConnected" and "block" in e["args"]]
    assert {e["args"]["block"] for e in fc} >= {"0", "1"}
    assert all(e["args"]["source"].startswith(__file__) for e in fc)
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in fc)
    assert _ops()["FullyConnected"]["Count"] >= 2


def test_nothing_recorded_when_stopped_or_paused(trace):
    profiler.pause()
    nd.ones((2, 2)) * 3
    profiler.resume()
    nd.ones((2, 2)) + 3
    profiler.set_state("stop")
    nd.ones((2, 2)) - 3
    ops = _ops()
    assert "_plus_scalar" in ops and "_mul_scalar" not in ops and "_minus_scalar" not in ops
    assert profiler.get_state() == "stop"


@pytest.mark.parametrize("sort_by", ["total", "avg", "min", "max", "count"])
@pytest.mark.parametrize("ascending", [False, True])
def test_dumps_sorted(trace, sort_by, ascending):
    for k in range(4):
        nd.ones((k + 1, 50)) * 2
    nd.sqrt(nd.ones((300, 300)))
    key = {"total": "Total", "avg": "Avg", "min": "Min", "max": "Max", "count": "Count"}[sort_by]
    values = [s[key] for s in _ops(sort_by=sort_by, ascending=ascending).values()]
    assert values == sorted(values, reverse=not ascending) and len(values) >= 3


def test_objects_scope_and_chrome_trace(trace):
    domain = profiler.Domain("PythonDomain")
    task = profiler.Task(domain, "task")
    task.start()
    with profiler.scope("outer:"):
        nd.ones((2, 2)) + 1
    task.stop()
    with profiler.Frame(domain, "frame"):
        pass
    event = profiler.Event("event")
    event.start()
    event.stop()
    counter = profiler.Counter(domain, "counter", 5)
    counter += 2
    counter.decrement()
    profiler.Marker(domain, "marker").mark("process")
    profiler.dump(True)
    events = _events(trace)
    by_name = {e["name"]: e for e in events}
    assert by_name["task"]["cat"] == "PythonDomain" and by_name["frame"]["ph"] == "X"
    assert by_name["event"]["cat"] == "event" and by_name["marker"]["ph"] == "i"
    assert [e["args"]["value"] for e in events if e["name"] == "counter"] == [5, 7, 6]
    assert by_name["_plus_scalar"]["args"]["scope"] == "outer:"
    assert profiler.get_state() == "stop" and _ops() == {}  # finished: the events are gone


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown option"):
        profiler.set_config(profile_everything=True)
    with pytest.raises(ValueError, match="'run' or 'stop'"):
        profiler.set_state("go")
    with pytest.raises(ValueError, match="format"):
        profiler.dumps(format="xml")


def test_graph_code_is_untouched_while_no_profiler_runs():
    net = gluon.nn.Dense(3, in_units=2)
    net.initialize()
    net.hybridize()
    x = nd.ones((1, 2))
    net(x)
    entry = list(net._cached_op.entries.values())[-1]
    assert entry.forward._timed is None and "_prof." not in entry.forward.source
    np.testing.assert_allclose(net(x).asnumpy(), net(x).asnumpy())


def test_dump_writes_atomically(trace):
    os.makedirs(os.path.dirname(trace), exist_ok=True)
    nd.ones((2,)) + 1
    profiler.dump(False)
    first = os.path.getsize(trace)
    nd.ones((2,)) + 1
    profiler.dump(False)
    assert os.path.getsize(trace) >= first
    assert [f for f in os.listdir(os.path.dirname(trace)) if f != "trace.json"] == []
