"""Random-generator states saved beside a checkpoint, so a resumed run draws what the
uninterrupted run would have drawn: numpy's global generator (``RandomSampler``'s shuffle,
``DataLoader(shuffle=True)``) and kiln's numpy generator (Dropout, ``kiln.random``).

The file is JSON (never unpickled), written atomically, checked before anything is set.

Example::

    >>> save("ckpt/model-epoch1batch8.rng.json")
    >>> load("ckpt/model-epoch1batch8.rng.json")     # both generators back where they were
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


def load(path):
    """Set both generators from a file ``save`` wrote; anything else raises
    ``FileFormatError`` and leaves the generators as they were."""
    try:
        with open(path, "rb") as f:
            state = json.loads(f.read().decode())
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"not a {_FORMAT} file")
        legacy = dict(state["numpy_global"])
        legacy["state"] = {"key": np.asarray(legacy["state"]["key"], dtype=np.uint32),
                           "pos": int(legacy["state"]["pos"])}
        # try both on scratch generators first: set_state validates keys, lengths and types
        np.random.RandomState().set_state(legacy)
        kiln_state = state["kiln"]
        type(rng.generator(np).bit_generator)().state = kiln_state
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise FileFormatError(path, f"not a random-state file of CheckpointHandler: {err}") \
            from None
    np.random.set_state(legacy)
    rng.generator(np).bit_generator.state = kiln_state
