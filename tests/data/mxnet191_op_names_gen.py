"""Writes ``mxnet191_op_names.txt``, the operator names MXNet 1.9.1 registers (what a symbol
JSON node's ``op`` may be), one a line, sorted (run with MXNet's interpreter, not by the
tests)::

    .mxnet-venv/bin/python tests/data/mxnet191_op_names_gen.py tests/data/mxnet191_op_names.txt

``tests/compat/test_mx_json_names.py`` checks that every op name kiln's symbol JSON writer
uses is one of them (or a kiln-only op listed in docs/compat.md).
"""
import sys

import mxnet as mx


def main(path):
    names = sorted(set(mx.operator.get_all_registered_operators()))
    with open(path, "w") as f:
        f.write(f"# MXNet {mx.__version__} registered operators "
                f"(mx.operator.get_all_registered_operators()), written by "
                f"mxnet191_op_names_gen.py\n")
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
