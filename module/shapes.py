"""Input descriptions for the Module API: names checked against the symbol, shapes as
``DataDesc`` (MXNet accepts ``(name, shape)`` pairs or DataDescs), the batch size."""
from ..base import MXNetError
from ..data.io import DataDesc


def check_names(symbol, names, typename, throw, logger):
    """Each of ``names`` must be an argument of ``symbol`` (MXNet's ``_check_input_names``):
    raise when ``throw``, else log a warning (labels may be absent from inference symbols)."""
    args = symbol.list_arguments()
    for name in names:
        if name in args:
            continue
        candidates = [a for a in args if not a.endswith(("_weight", "_bias", "_gamma",
                                                         "_beta"))]
        msg = (f"You created Module with Module(..., {typename}_names={names}) but input with "
               f"name '{name}' is not found in symbol.list_arguments(). Did you mean one of:\n\t"
               + "\n\t".join(candidates))
        if throw:
            raise ValueError(msg)
        logger.warning(msg)


def as_descs(shapes, names, what):
    """``shapes`` as DataDescs, in the order of ``names`` (which they must match)."""
    descs = [s if isinstance(s, DataDesc) else DataDesc(s[0], tuple(s[1])) for s in shapes]
    got = [d.name for d in descs]
    if sorted(got) != sorted(names):
        raise MXNetError(f"bind(): {what} shapes are given for {got} but the module's "
                         f"{what}_names are {list(names)}")
    return descs


def batch_size(descs):
    """The batch size: the first data input's size along its layout's ``N`` axis."""
    d = descs[0]
    axis = DataDesc.get_batch_axis(getattr(d, "layout", None) or "N")
    return d.shape[max(axis, 0)]
