"""API coverage against MXNet 1.9.1: at least 95% of its public names (the namespaces of
``tests/data/mxnet191_api_names.json``) exist in kiln, and every missing one is listed with its
reason in ``tests/data/api_omissions.txt``, which names nothing kiln has (so it stays true)."""
import pytest
from kiln.tools import api_coverage as cov

TARGET = 95.0      # issue 16's "done when"
FLOOR = 96.0       # measured 2026-12-07 (96.5%); raise it as names land, never lower it


@pytest.fixture(scope="module")
def rows():
    return cov.coverage(cov.load_reference())


@pytest.fixture(scope="module")
def omissions():
    return cov.load_omissions()


def test_reference_is_mxnet_191_and_covers_the_namespaces():
    ref = cov.load_reference()
    for ns in ("nd", "nd.contrib", "sym", "np", "npx", "gluon.nn", "gluon.data.vision.transforms",
               "io", "image", "recordio", "kv", "profiler", "contrib.amp", "init", "metric",
               "optimizer", "test_utils"):
        assert ns in ref and (ref[ns] or ns.endswith("contrib")), ns
    assert "Dense" in ref["gluon.nn"] and "FullyConnected" in ref["nd"]
    assert "os" not in ref["test_utils"]            # modules imported by MXNet's files: not API


def test_every_missing_name_has_a_reason(rows, omissions):
    names, namespaces = omissions
    unlisted = [f"{r.namespace}.{n}" for r in rows for n in r.missing
                if f"{r.namespace}.{n}" not in names and r.namespace not in namespaces]
    assert not unlisted, (f"{len(unlisted)} MXNet names are missing from kiln without a reason "
                          f"in {cov.OMISSIONS}:\n" + "\n".join(unlisted) + "\n\n" + cov.table(rows))


def test_omissions_name_nothing_kiln_has(rows, omissions):
    names, namespaces = omissions
    missing = {f"{r.namespace}.{n}" for r in rows for n in r.missing}
    known = {f"{r.namespace}.{n}" for r in rows for n in cov.load_reference()[r.namespace]}
    stale = sorted(k for k in names if k not in missing)
    assert not stale, ("listed as omitted but present in kiln (or not an MXNet name): "
                       f"{stale}; remove them from {cov.OMISSIONS}")
    assert all(k in known for k in names)
    by_ns = {r.namespace: r for r in rows}
    done = sorted(ns for ns in namespaces if ns not in by_ns or not by_ns[ns].missing)
    assert not done, f"namespace-wide omissions with nothing missing any more: {done}"


def _percent(rows):
    return 100.0 * sum(r.have for r in rows) / sum(r.total for r in rows)


def test_coverage_does_not_fall_below_the_floor(rows):
    assert _percent(rows) >= FLOOR, cov.table(rows)


def test_coverage_at_least_target(rows):
    assert _percent(rows) >= TARGET, cov.table(rows)


def test_tool_prints_the_table(capsys):
    assert cov.main(["--missing"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["namespace", "kiln", "mxnet", "%"]
    assert out.splitlines()[-1].startswith("total")


def test_omissions_file_format(tmp_path):
    p = tmp_path / "o.txt"
    p.write_text("# comment\nnd.foo: GPU only\nnp.*: being written\n")
    assert cov.load_omissions(str(p)) == ({"nd.foo": "GPU only"}, {"np": "being written"})
    p.write_text("nd.foo\n")
    with pytest.raises(ValueError, match="reason"):
        cov.load_omissions(str(p))
