"""`npm ci` for the JavaScript serving examples (examples/serve_node, examples/serve_web).

The install is the examples' own install step (like pip for Python): it runs once into the
example's node_modules from the committed package-lock.json and is reused while
package.json, the lockfile and the node version are unchanged (a stamp file in node_modules
records them), so only the first run of the tests pays for it. Concurrent test workers take a
file lock. No install scripts run (`--ignore-scripts`, ONNXRUNTIME_NODE_INSTALL=skip):
onnxruntime-node's postinstall would download GPU files, and its CPU binaries are in the
package.
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

NETWORK_ERRORS = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|"
                            r"network|socket hang up|request to \S+ failed", re.I)
STAMP = ".kiln-npm-ci"


def load_make_model():
    """examples/serve_node/make_model.py as a module (both serving tests export with it)."""
    import importlib.util
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "serve_make_model", os.path.join(root, "examples", "serve_node", "make_model.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def node_missing():
    """The skip reason when node or npm is absent, else None."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (the JavaScript serving examples need Node.js)"
    return None


def _digest(folder):
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(folder, name), "rb") as f:
            h.update(f.read())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30)
    h.update(node.stdout.encode())
    return h.hexdigest()


class _Lock:
    """An exclusive lock on a file in the temporary directory (pytest -n: one npm ci at once)."""

    def __init__(self, key):
        name = "kiln-npm-" + hashlib.sha1(key.encode()).hexdigest()[:16] + ".lock"
        self.path = os.path.join(tempfile.gettempdir(), name)

    def __enter__(self):
        self.f = open(self.path, "a")
        try:
            import fcntl
            fcntl.flock(self.f, fcntl.LOCK_EX)
        except ImportError:  # no fcntl (Windows): tests run one install at a time anyway
            pass
        return self

    def __exit__(self, *exc):
        self.f.close()


def npm_ci(folder, timeout=600):
    """Install ``folder``'s locked dependencies unless node_modules already matches; returns
    the seconds spent (0.0 when cached). Skips the test when the registry can't be reached."""
    folder = os.path.abspath(folder)
    stamp = os.path.join(folder, "node_modules", STAMP)
    digest = _digest(folder)
    with _Lock(folder):
        if os.path.exists(stamp):
            with open(stamp, encoding="utf-8") as f:
                if f.read().strip() == digest:
                    return 0.0
        env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip", "npm_config_update_notifier":
               "false"}
        cmd = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"]
        start = time.perf_counter()
        try:
            res = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                                 timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`{' '.join(cmd)}` in {folder} took over {timeout} s")
        if res.returncode != 0:
            out = res.stdout + res.stderr
            if NETWORK_ERRORS.search(out):
                pytest.skip(f"npm ci could not reach the npm registry: {out.strip()[-300:]}")
            pytest.fail(f"`{' '.join(cmd)}` in {folder} failed:\n{out[-3000:]}")
        with open(stamp, "w", encoding="utf-8") as f:
            f.write(digest + "\n")
        return time.perf_counter() - start
