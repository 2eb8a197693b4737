"""Helpers of Block: Gluon 1.x name scopes (prefixes), hook handles and ``summary``.

Gluon 1.x names every block ``<classname><count>_`` from a global counter, or from its parent's
counter inside ``with parent.name_scope():`` (then the parent's prefix is prepended), and its
parameters ``<prefix><name>`` (``dense0_weight``). These are ``Parameter.name`` and the
``collect_params`` keys; ``save_parameters`` uses structural names (``features.0.weight``).
"""
import threading
import weakref
from collections import OrderedDict

from .parameter_dict import ParameterDict

_NAME_COUNTER = {}      # hint -> next index, for blocks created outside any name scope
_NAME_LOCK = threading.Lock()


def _global_name(hint):
    with _NAME_LOCK:
        count = _NAME_COUNTER.get(hint, 0)
        _NAME_COUNTER[hint] = count + 1
    return f"{hint}{count}"


class _BlockScope:
    """The name scope entered by ``with block.name_scope():``."""

    _current = threading.local()

    def __init__(self, block):
        self._block = weakref.ref(block) if block is not None else None
        self._counter = {}
        self._old_scope = None

    @staticmethod
    def create(prefix, params, hint):
        """The ``(prefix, ParameterDict)`` of a new block given its ``prefix``/``params``."""
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _global_name(hint) + "_"
            params = ParameterDict(prefix) if params is None else ParameterDict(params.prefix,
                                                                                params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = f"{hint}{count}_"
            current._counter[hint] = count + 1
        parent = current._block()
        if params is None:
            params = ParameterDict(parent.params.prefix + prefix, parent.params._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return parent.prefix + prefix, params

    def __enter__(self):
        if self._block()._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        return self

    def __exit__(self, ptype, value, trace):
        if self._block()._empty_prefix:
            return
        _BlockScope._current.value = self._old_scope


class HookHandle:
    """Returned by ``register_forward_hook``: ``detach()`` removes the hook (also on ``with``
    exit)."""

    def __init__(self):
        self._hooks_dict_ref = None
        self._id = None

    def attach(self, hooks_dict, hook):
        if self._hooks_dict_ref is not None:
            raise RuntimeError("The same handle cannot be attached twice.")
        self._id = id(hook)
        hooks_dict[self._id] = hook
        self._hooks_dict_ref = weakref.ref(hooks_dict)

    def detach(self):
        hooks_dict = self._hooks_dict_ref() if self._hooks_dict_ref is not None else None
        if hooks_dict is not None and self._id in hooks_dict:
            del hooks_dict[self._id]

    def __enter__(self):
        return self

    def __exit__(self, ptype, value, trace):
        self.detach()


def _name_block_in(err, block):
    """Name ``block`` in an op error raised inside it (called by each block the error leaves).

    The message gains ``[in block fc: Dense(net0_dense0), inside Net(net0)]``: the attribute
    path from the outermost block, the innermost block's class and name, and the outermost one.
    An error from a compiled graph names its node's block path (``err.graph_block``), resolved
    here against the hybridized block."""
    blocks = getattr(err, "blocks", None)
    if blocks is None:
        blocks = err.blocks = []
        err.base_message = str(err.args[0]) if err.args else str(err)
    if blocks and blocks[0] is block:
        return
    blocks.insert(0, block)
    if len(blocks) == 1 and getattr(err, "graph_block", ""):
        blocks.extend(_resolve_path(block, err.graph_block))
    err.args = (f"{err.base_message} [{_describe_blocks(blocks)}]",) + tuple(err.args[1:])


def _resolve_path(root, path):
    """The blocks along a dotted structural path below ``root`` (as far as it resolves)."""
    found, block = [], root
    for key in path.split("."):
        block = block._children.get(key) if hasattr(block, "_children") else None
        if block is None:
            break
        found.append(block)
    return found


def _describe_blocks(blocks):
    """``in block fc: Dense(net0_dense0), inside Net(net0)`` for blocks outermost first."""
    def label(b):
        return f"{type(b).__name__}({b.name})"
    if len(blocks) == 1:
        return f"in block {label(blocks[0])}"
    keys = []
    for parent, child in zip(blocks, blocks[1:]):
        keys.append(next((k for k, c in parent._children.items() if c is child), child.name))
    return f"in block {'.'.join(keys)}: {label(blocks[-1])}, inside {label(blocks[0])}"


def _shape_str(args):
    """Shapes of (nested) outputs as Gluon's summary prints them: ``(2, 10)``, ``(1, 3), (2,)``."""
    def shapes(a):
        if isinstance(a, (list, tuple)):
            return [shapes(i) for i in a]
        return a.shape if hasattr(a, "shape") else a
    s = shapes(args)
    if isinstance(s, list):
        return str(s)[1:-1]
    return str(s)


class _HybridizedSummaryError(AssertionError, ValueError):
    """summary() of a hybridized block."""


def summary(block, *inputs):
    """Print Gluon's summary table of ``block`` run on ``inputs`` (see ``Block.summary``)."""
    from .block import HybridBlock
    from .containers import HybridSequential, Sequential

    table = OrderedDict()
    seen = set()
    hooks = []

    def hook(blk, _, outputs):
        key = f"{blk.__class__.__name__}-{len(table)}"
        row = table[key] = {"output_shape": _shape_str(outputs), "n_params": 0,
                            "trainable": 0, "shared": 0}
        for p in blk._own_params().values():
            size = p.data().size
            row["n_params"] += size
            row["trainable"] += 0 if p.grad_req == "null" else size
            if p in seen:
                row["shared"] += size
            else:
                seen.add(p)

    def register(blk):
        if isinstance(blk, HybridBlock) and blk._active:
            # MXNet asserts here (AssertionError); ValueError kept for kiln's own callers
            raise _HybridizedSummaryError(f'"{blk.name}" must not be hybridized to print '
                                          f'summary.')
        if not isinstance(blk, (Sequential, HybridSequential)):
            hooks.append(blk.register_forward_hook(hook))

    table["Input"] = {"output_shape": _shape_str(inputs), "n_params": 0, "trainable": 0,
                      "shared": 0}
    try:
        block.apply(register)
        block(*inputs)
        _print_table(table)
    finally:
        for h in hooks:
            h.detach()


def _print_table(table):
    line = "{:>20}  {:>42} {:>15}"
    print("-" * 80)
    print(line.format("Layer (type)", "Output Shape", "Param #"))
    print("=" * 80)
    total = trainable = shared = 0
    for name, row in table.items():
        print(line.format(name, str(row["output_shape"]), row["n_params"]))
        total += row["n_params"]
        trainable += row["trainable"]
        shared += row["shared"]
    print("=" * 80)
    print("Parameters in forward computation graph, duplicate included")
    print("   Total params: " + str(total))
    print("   Trainable params: " + str(trainable))
    print("   Non-trainable params: " + str(total - trainable))
    print("Shared params in forward computation graph: " + str(shared))
    print("Unique parameters in model: " + str(total - shared))
    print("-" * 80)
