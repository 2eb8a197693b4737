"""Run Apache MXNet 1.9.1's own unit-test files, unmodified, on kiln (and on real MXNet).

Not a test module (pytest collects ``test_*.py`` only): a script that measures how much of
MXNet's own suite kiln passes. Given a folder holding MXNet 1.9.1's
``tests/python/unittest`` files (``common.py`` included), it runs each listed file with pytest
in a subprocess where ``import mxnet`` gives kiln: an import hook maps every ``mxnet.X`` onto
``kiln.X`` (the same module objects, so classes are shared); nothing else is adapted. With
``--oracle PYTHON`` the same files also run under that interpreter's real MXNet, and the report
counts, per file: tests collected, passed on kiln, passed on MXNet, passed on both, and those
that fail only on kiln, grouped by the first line of their error.

The test files are not part of this project (it carries no copied code): fetch them into a
folder outside it. Without the folder the script says so and exits 0.

Example::

    python tests/compat/run_mxnet_suite.py /tmp/mxnet_tests \\
        --oracle .mxnet-venv/bin/python --json /tmp/mx_suite.json
"""
import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _mxnet_suite_run import run_file  # noqa: E402

FILES = ["test_gluon", "test_gluon_trainer", "test_gluon_data", "test_gluon_model_zoo",
         "test_autograd", "test_ndarray", "test_operator", "test_loss", "test_optimizer",
         "test_metric", "test_init", "test_symbol", "test_gluon_rnn",
         "test_contrib_control_flow"]


def compare(kiln, oracle):
    """Per-file counts and kiln-only failures from two ``{test id: (outcome, message)}`` maps."""
    crash = kiln.pop("<collection>", (None, "not run on kiln"))[1]
    if oracle is not None:
        oracle = {t: r for t, r in oracle.items() if t != "<collection>"}
    passed_k = {t for t, (o, _) in kiln.items() if o == "passed"}
    row = {"collected": len(kiln if oracle is None else oracle), "kiln_passed": len(passed_k)}
    if oracle is None:
        row["kiln_failed"] = {t: m for t, (o, m) in kiln.items() if o == "failed"}
        if crash != "not run on kiln":
            row["kiln_failed"]["<collection>"] = crash
        return row
    passed_m = {t for t, (o, _) in oracle.items() if o == "passed"}
    row.update(mxnet_passed=len(passed_m), both=len(passed_k & passed_m))
    row["kiln_failed"] = {t: kiln.get(t, (None, f"not run: {crash}"))[1]
                          for t in sorted(passed_m - passed_k)}
    return row


def group_causes(rows, limit=40):
    """``[(count, first error line, [examples])]`` over every file's kiln-only failures."""
    causes = {}
    for name, row in rows.items():
        for test, message in row["kiln_failed"].items():
            causes.setdefault(message, []).append(f"{name}::{test}")
    ranked = sorted(causes.items(), key=lambda kv: -len(kv[1]))[:limit]
    return [(len(tests), message, tests[:3]) for message, tests in ranked]


def print_report(rows, causes, out=sys.stdout):
    oracle = any("mxnet_passed" in r for r in rows.values())
    head = f"{'file':32} {'collected':>9} {'kiln':>6}"
    head += f" {'mxnet':>6} {'both':>6} {'kiln-only fail':>14}" if oracle else ""
    print(head, file=out)
    total = dict.fromkeys(("collected", "kiln_passed", "mxnet_passed", "both", "fail"), 0)
    for name, r in rows.items():
        line = f"{name:32} {r['collected']:9} {r['kiln_passed']:6}"
        if oracle:
            line += f" {r['mxnet_passed']:6} {r['both']:6} {len(r['kiln_failed']):14}"
        print(line, file=out)
        for key in ("collected", "kiln_passed", "mxnet_passed", "both"):
            total[key] += r.get(key, 0)
        total["fail"] += len(r["kiln_failed"])
    line = f"{'TOTAL':32} {total['collected']:9} {total['kiln_passed']:6}"
    if oracle:
        line += f" {total['mxnet_passed']:6} {total['both']:6} {total['fail']:14}"
    print(line, file=out)
    print("\nfailing on kiln" + (" where MXNet passes" if oracle else "") + ", by cause:",
          file=out)
    for count, message, examples in causes:
        print(f"{count:5}  {message[:150]}\n       e.g. {', '.join(examples)}", file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", help="MXNet 1.9.1's tests/python/unittest (with common.py)")
    ap.add_argument("--files", nargs="*", default=FILES, help="test files (without .py)")
    ap.add_argument("--oracle", help="a Python interpreter with real MXNet 1.9.1")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per file and library")
    ap.add_argument("--test-timeout", type=int, default=0,
                    help="seconds any one test may run before it counts as failed (0: no limit)")
    ap.add_argument("-k", dest="keyword", help="pytest -k expression")
    ap.add_argument("--jobs", type=int, default=1, help="test files run at once")
    ap.add_argument("--json", help="write the full results here")
    args = ap.parse_args(argv)
    if args.oracle and os.sep in args.oracle:
        args.oracle = os.path.abspath(args.oracle)   # the runs start in scratch folders
    if not os.path.isfile(os.path.join(args.folder, "common.py")):
        print(f"skipped: {args.folder} does not hold MXNet's unittest files (common.py)")
        return 0
    files = [n for n in args.files if os.path.isfile(os.path.join(args.folder, n + ".py"))]
    for name in sorted(set(args.files) - set(files)):
        print(f"{name}: not in {args.folder}, skipped", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="kiln-mxsuite-") as work:
        def run(job):
            name, python, alias = job
            return run_file(python, args.folder, name, work, alias=alias,
                            timeout=args.timeout, keyword=args.keyword,
                            test_timeout=args.test_timeout)
        jobs = [(n, sys.executable, True) for n in files]
        jobs += [(n, args.oracle, False) for n in files] if args.oracle else []
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:   # each job is a subprocess
            results = dict(zip(jobs, pool.map(run, jobs)))
    rows = {n: compare(results[(n, sys.executable, True)],
                       results.get((n, args.oracle, False))) for n in files}
    causes = group_causes(rows)
    print_report(rows, causes)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"files": rows, "causes": causes}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
