"""Random-generator states saved beside a checkpoint, so a resumed run draws what the
uninterrupted run would have drawn: numpy's global generator (``RandomSampler``'s shuffle,
``DataLoader(shuffle=True)``) and kiln's numpy generator (Dropout, ``kiln.random``).

The file is JSON (never unpickled), written atomically, checked before anything is set.

Example::

    >>> save("ckpt/model-epoch1batch8.rng.json")
    >>> apply(read("ckpt/model-epoch1batch8.rng.json"))   # both generators back there
"""
import json

import numpy as np

from ....base import FileFormatError, atomic_write
from ....ndarray import rng

_FORMAT = "kiln-rng-1"


def save(path):
    """Write the two generators' states to ``path``."""
    legacy = np.random.get_state(legacy=False)
    legacy = dict(legacy, state={"key": [int(k) for k in legacy["state"]["key"]],
                                 "pos": int(legacy["state"]["pos"])})
    state = {"format": _FORMAT, "numpy_global": legacy,
             "kiln": rng.generator(np).bit_generator.state}
    atomic_write(path, json.dumps(state).encode())


def read(path):
    """The checked states in a file ``save`` wrote; anything else raises ``FileFormatError``
    naming it (nothing is set: ``apply`` sets them)."""
    try:
        with open(path, "rb") as f:
            state = json.loads(f.read().decode())
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"not a {_FORMAT} file")
        legacy = dict(state["numpy_global"])
        legacy["state"] = {"key": np.asarray(legacy["state"]["key"], dtype=np.uint32),
                           "pos": int(legacy["state"]["pos"])}
        if legacy["state"]["key"].shape != (624,) or not 0 <= legacy["state"]["pos"] <= 624:
            raise ValueError("numpy_global: an MT19937 state has 624 words and a position "
                             "in [0, 624]")
        # set_state validates keys, lengths and types: try both on scratch generators
        np.random.RandomState().set_state(legacy)
        kiln_state = state["kiln"]
        type(rng.generator(np).bit_generator)().state = kiln_state
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        raise FileFormatError(path, f"not a random-state file of CheckpointHandler: {err}") \
            from None
    return legacy, kiln_state


def apply(states):
    """Set numpy's global generator and kiln's numpy generator from ``read``'s result."""
    legacy, kiln_state = states
    np.random.set_state(legacy)
    rng.generator(np).bit_generator.state = kiln_state
