"""``gluon.Trainer``: applies an optimizer to a set of Parameters (MXNet Gluon 1.9).

Gradients go through a kvstore (``kiln.kvstore``) as in MXNet 1.9: none for one device in one
process; ``'device'``/``'local'`` sums across the devices of a parameter; ``'dist_sync'`` also
allreduces across the processes of an MPI job (all of a step's gradients in one bucketed
``pushpull``). With ``update_on_kvstore`` (MXNet's default where the store can, i.e.
``MXNET_UPDATE_ON_KVSTORE`` unset or 1) the store runs the optimizer on its copy of each weight
and the devices pull the result; otherwise every device updates its own copy.

Example::

    >>> trainer = kiln.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    >>> with kiln.autograd.record():
    ...     loss = loss_fn(net(x), y)
    >>> loss.backward()
    >>> trainer.step(batch_size=x.shape[0])
"""
import os

from .. import kvstore as kvs
from .. import optimizer as opt
from ..base import MXNetError, atomic_write
from ..kvstore.overlap import GradOverlap
from ..ndarray.ndarray import NDArray
from ..nn.parameter import DATA_VERSION, Parameter
from ..optimizer import states_format
from ..optimizer.direct import StepPlan

__all__ = ["Trainer"]


class _TrainerArgError(MXNetError, ValueError, AssertionError):
    """A bad Trainer argument; MXNet asserts these (AssertionError), kiln also says ValueError
    (and MXNetError, kiln's error class)."""


class Trainer:
    """Updates ``params`` with ``optimizer``.

    ``params``: a ParameterDict, a dict name -> Parameter (taken in sorted-key order, as MXNet
    does) or a list of Parameters. ``optimizer``: a registered name (with
    ``optimizer_params``) or an ``Optimizer`` instance (then ``optimizer_params`` must be empty).
    ``kvstore``: a type name for ``kiln.kv.create`` or a store (None: gradients are not
    reduced); ``update_on_kvstore``: run the optimizer on the store (None: MXNet's default).
    On a dist store, ``step(batch_size)`` takes the global batch (all ranks together), and
    ``overlap=True`` (None: ``KILN_KVSTORE_OVERLAP=1``; off by default: it measured no faster
    on 2 cores, docs/benchmarks-distributed.md) allreduces the gradients in buckets while the
    backward still runs (``kvstore/overlap.py``); until ``step`` (or ``allreduce_grads``)
    returns, ``.grad`` holds this rank's own gradients.
    """

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device",
                 compression_params=None, update_on_kvstore=None, overlap=None):
        if hasattr(params, "keys") and hasattr(params, "__getitem__"):
            params = [params[key] for key in sorted(params.keys())]
        if not isinstance(params, (list, tuple)):
            raise ValueError(f"First argument must be a list or dict of Parameters, got "
                             f"{type(params)}.")
        self._params = []
        self._active_cache = None  # (DATA_VERSION, active parameters): see _active
        self._plan = None  # the fast path (optimizer/direct.py), set after a regular step
        self._param2idx = {}
        for i, param in enumerate(params):
            if not (hasattr(param, "list_data") and hasattr(param, "name")):
                raise ValueError(f"First argument must be a list or dict of Parameters, got "
                                 f"list of {type(param)}.")
            self._param2idx[param.name] = i
            self._params.append(param)
            if hasattr(param, "_set_trainer"):
                param._set_trainer(self)
        self._compression_params = compression_params
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore,
                                "overlap": overlap}
        self._overlap = None  # kvstore/overlap.py's GradOverlap on a dist store
        self._kvstore = None
        self._update_on_kvstore = None
        self._distributed = None
        self._kv_initialized = False
        self._params_to_init = list(self._params)
        self._contexts = self._check_contexts(strict=False)
        self._init_optimizer(optimizer, optimizer_params if optimizer_params else {})
        self._scale = self._optimizer.rescale_grad
        if self._contexts is not None and _is_dist(kvstore):
            # every rank starts from rank 0's weights before its first forward (MXNet puts
            # them in the store at the first step, after each rank's first backward)
            self._ensure_ready()

    # ---- setup ------------------------------------------------------------------------------
    def _check_contexts(self, strict=True):
        """The devices shared by all parameters (None while some are not yet initialized)."""
        contexts = None
        for param in self._params:
            try:
                ctx = list(param.list_ctx())
            except RuntimeError:
                if strict:
                    raise
                return None
            if contexts is not None and contexts != ctx:
                raise _TrainerArgError(f"All Parameters must be initialized on the same set of "
                                 f"contexts, but Parameter {param.name} is initialized on "
                                 f"{ctx} while previous Parameters are initialized on "
                                 f"{contexts}.")
            contexts = ctx
        return contexts

    def _init_optimizer(self, optimizer, optimizer_params):
        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise _TrainerArgError("optimizer_params must be None if optimizer is an instance "
                                       "of Optimizer instead of str")
            self._optimizer = optimizer
            # not a copy: later changes to a Parameter's lr_mult/wd_mult take effect
            self._optimizer.param_dict = param_dict
        else:
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        self._updaters = None  # one per device, made when the devices are known

    def _ensure_ready(self):
        if self._contexts is None:
            self._contexts = self._check_contexts(strict=True)
        if self._updaters is None:
            self._updaters = [opt.get_updater(self._optimizer) for _ in self._contexts]
        if not self._kv_initialized:
            self._init_kvstore()
        if self._params_to_init:
            self._init_params()
        if self._overlap is not None:
            self._attach_overlap()

    def _init_kvstore(self):
        """Make the store (MXNet's ``_create_kvstore`` rules) and give it the optimizer."""
        config = self._kvstore_params
        wanted = config["update_on_kvstore"]
        if any(getattr(p, "_stype", "default") != "default" for p in self._params):
            # sparse weights live on the store, which updates them (MXNet's
            # _create_sparse_kvstore): a store even for one device, always updating on it
            kv, update_on_kvstore = _create_sparse_kvstore(config["kvstore"]), True
            self._distributed = "dist" in kv.type
            if wanted is False:
                raise ValueError("Cannot set update_on_kvstore=False when sparse weights are "
                                 "present.")
        elif any(getattr(p, "_grad_stype", "default") != "default" for p in self._params):
            # dense weights with sparse gradients: on one machine the gradients are reduced
            # and the update runs here (MXNet finds it faster); a dist store updates on it
            kv, _ = _create_kvstore(config["kvstore"], len(self._contexts), self._params)
            self._distributed = kv is not None and "dist" in kv.type
            if wanted is False and self._distributed:
                raise ValueError("Cannot set update_on_kvstore=False on dist kvstore when "
                                 "sparse gradients are present.")
            update_on_kvstore = self._distributed if wanted is None else bool(wanted)
        else:
            kv, update_on_kvstore = _create_kvstore(config["kvstore"], len(self._contexts),
                                                    self._params)
            self._distributed = kv is not None and "dist" in kv.type
            if wanted is not None:
                update_on_kvstore = bool(wanted)
        if kv is not None:
            if update_on_kvstore and not kv.is_capable("optimizer"):
                if config["update_on_kvstore"]:
                    raise _TrainerArgError(f"Please set update_on_kvstore=False when training "
                                           f"with kvstore {kv.type!r}")
                update_on_kvstore = False
            if self._compression_params:
                kv.set_gradient_compression(self._compression_params)
            if update_on_kvstore:
                kv.set_optimizer(self._optimizer)
            self._kvstore, self._update_on_kvstore = kv, update_on_kvstore
        else:
            self._kvstore, self._update_on_kvstore = None, None
        self._kv_initialized = True
        self._overlap = _make_overlap(kv, config["overlap"], len(self._contexts))

    def _attach_overlap(self):
        """(Re)hook the parameters whose gradients the overlap reduces when they changed:
        one device, grad_req 'write' (an 'add' gradient may grow until the step), dense,
        on the host; the others go through the store at the step."""
        active = self._active()
        signature = (DATA_VERSION[0], tuple((i, p.grad_req, getattr(p, "_grad_stype", None))
                                            for i, p, *_ in active))
        if self._overlap.signature != signature:
            self._overlap.attach(signature, [(i, datas[0]) for i, p, datas, grads in active
                                             if _overlappable(p, datas, grads)])

    def _init_params(self):
        """Put the initialized parameters in the store; on a dist store every rank takes
        rank 0's values. Parameters still deferred wait for a later step."""
        if self._kvstore is None:
            self._params_to_init = []
            return
        waiting, keys, values, pulls, outs = [], [], [], [], []
        for param in self._params_to_init:
            if getattr(param, "_deferred_init", None) and param._data is None:
                waiting.append(param)
                continue
            keys.append(self._param2idx[param.name])
            datas = _datas(param)
            values.append(datas[0])
            if not _sparse_weight(param):  # a sparse weight's rows are pulled when read
                pulls.append(keys[-1])
                outs.append(datas)
        if keys:
            self._kvstore.init(keys, values)
        if pulls:
            self._kvstore.pull(pulls, out=outs)
        self._params_to_init = waiting

    def _reset_kvstore(self):
        """Called by Parameter.set_data: the store's copies are stale, so the next step makes
        a new store and puts the parameters in it again (MXNet; refused on a dist store)."""
        if self._kvstore is not None and "dist" in self._kvstore.type:
            raise RuntimeError("Cannot reset distributed KVStore.")
        self._kv_initialized = False
        self._kvstore = None
        self._distributed = None
        self._update_on_kvstore = None
        self._params_to_init = list(self._params)

    # ---- public API -------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The optimizer's current learning rate."""
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        """The Optimizer instance."""
        return self._optimizer

    def set_learning_rate(self, lr):
        """Set the optimizer's learning rate (refused when it has an lr_scheduler)."""
        self._optimizer.set_learning_rate(lr)

    def step(self, batch_size, ignore_stale_grad=False):
        """One update: sum gradients across devices, then apply the optimizer with
        ``rescale_grad = scale / batch_size`` (``scale``: the optimizer's rescale_grad when the
        Trainer was made). Parameters whose gradient was not refreshed by a backward since the
        last step raise ``UserWarning``, unless ``ignore_stale_grad`` (they are then skipped)."""
        if not batch_size > 0:
            raise _TrainerArgError(f"step: batch_size must be positive, got {batch_size!r} "
                                   "(gradients are rescaled by 1/batch_size)")
        if self._plan is not None and self._kvstore is None and self._kv_initialized:
            # the common case (one device, no store) in a few microseconds, same numbers
            self._optimizer.rescale_grad = self._scale / batch_size
            if self._plan.run(self._optimizer, self._updaters):
                return
        self._ensure_ready()
        self._optimizer.rescale_grad = self._scale / batch_size
        if not ignore_stale_grad:
            self._check_fresh()  # before the store consumes anything
        self._allreduce_grads()
        if self._plan is not None and not self._update_on_kvstore and \
                self._plan.run(self._optimizer, self._updaters):
            return
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sum each parameter's gradients across its devices (for use before ``update``)."""
        self._ensure_ready()
        self._check_not_on_kvstore("allreduce_grads()")
        self._allreduce_grads()

    def update(self, batch_size, ignore_stale_grad=False):
        """The update half of ``step`` (call ``allreduce_grads`` first on several devices)."""
        self._ensure_ready()
        self._check_not_on_kvstore("update()")
        if not batch_size > 0:
            raise _TrainerArgError(f"update: batch_size must be positive, got {batch_size!r} "
                                   "(gradients are rescaled by 1/batch_size)")
        self._optimizer.rescale_grad = self._scale / batch_size
        if self._plan is not None and self._plan.run(self._optimizer, self._updaters):
            return
        self._update(ignore_stale_grad)

    def _check_not_on_kvstore(self, what):
        if self._kvstore is not None and self._update_on_kvstore:
            raise AssertionError(f"{what} when parameters are updated on kvstore is not "
                                 f"supported. Try setting `update_on_kvstore` to False when "
                                 f"creating trainer.")

    # ---- internals --------------------------------------------------------------------------
    def _allreduce_grads(self):
        """One ``pushpull`` of every gradient (so a dist store can bucket them); with
        ``update_on_kvstore`` the store updates its weights and the devices pull them. With
        the overlap, the gradients it reduced during the backward skip the allreduce."""
        if self._kvstore is None:
            return
        active = self._active()
        if not active:
            return
        ov = self._overlap
        if ov is not None:
            self._attach_overlap()  # a changed parameter set: this step learns again
            hooked = {i: grads[0]._data for i, p, datas, grads in active if i in ov.keys}
            sums = ov.reduce(hooked)
            if sums is None:
                self._pushpull(active)
                ov.build(self._kvstore._comm, hooked)
                return
            self._apply_sums(active, sums)
            active = [e for e in active if e[0] not in sums]
            if not active:
                return
        self._pushpull(active)

    def _apply_sums(self, active, sums):
        """Hand the overlap's sums to the store's update, or write them into ``.grad``."""
        done = [e for e in active if e[0] in sums]
        values = []
        for i, _, _, grads in done:
            s, g = sums[i], grads[0]
            values.append(s if s.dtype == g._data.dtype else s.astype(g._data.dtype))
        if self._update_on_kvstore:
            self._kvstore._pushpull_reduced(
                [i for i, *_ in done], [NDArray(v, g[0].context) for v, (*_, g) in
                                        zip(values, done)], out=[d for _, _, d, _ in done])
            for _, _, datas, _ in done:
                for d in datas:
                    _mark_used(d)
        else:
            for v, (*_, grads) in zip(values, done):
                grads[0]._data[...] = v

    def _row_sparse_pull(self, parameter, out, row_id, full_idx=False):
        """Fill ``out`` (a row_sparse array, or one per device) with rows ``row_id`` of
        ``parameter``'s weight on the store (MXNet's hook behind ``row_sparse_data``);
        ``full_idx``: every row is wanted, a plain pull (not on a dist store)."""
        self._ensure_ready()
        idx = self._param2idx[parameter.name]
        if full_idx and "dist" not in self._kvstore.type:
            self._kvstore.pull(idx, out=out, ignore_sparse=False)
        else:
            self._kvstore.row_sparse_pull(idx, out=out, row_ids=row_id)

    def _pushpull(self, active):
        sparse = [e for e in active if _sparse_weight(e[1])]
        if sparse:
            # the store updates its copy of a sparse weight; the devices pull the rows they
            # read (row_sparse_data), not the whole weight
            self._kvstore.push([i for i, *_ in sparse], [g for *_, g in sparse])
            for _, _, datas, _ in sparse:
                for d in datas:
                    _mark_used(d)
            active = [e for e in active if not _sparse_weight(e[1])]
            if not active:
                return
        keys = [i for i, *_ in active]
        grads = [g for *_, g in active]
        if self._update_on_kvstore:
            self._kvstore.pushpull(keys, grads, out=[d for _, _, d, _ in active])
            for _, _, datas, _ in active:  # the store used them: as a local update would
                for d in datas:
                    _mark_used(d)
        else:
            self._kvstore.pushpull(keys, grads)

    def _active(self):
        """``(index, param, data arrays, gradient arrays)`` of the parameters with gradients,
        kept between steps while no Parameter replaced its arrays (DATA_VERSION)."""
        version = DATA_VERSION[0]
        cache = self._active_cache
        if cache is not None and cache[0] == version:
            return cache[1]
        active = [(i, p, _datas(p), p.list_grad()) for i, p in enumerate(self._params)
                  if p.grad_req != "null"]
        if all(isinstance(p, Parameter) for p in self._params):  # others may change silently
            self._active_cache = (version, active)
        return active

    def _check_fresh(self):
        """Raise MXNet's UserWarning for a stale gradient before any flag is consumed."""
        for _, param, datas, _ in self._active():
            for data in datas:
                if _fresh(data) is False:
                    raise UserWarning(_stale_message(param.name, data.context))

    def _update(self, ignore_stale_grad=False):
        if self._kvstore is not None and self._update_on_kvstore:
            return  # the store updated the weights in _allreduce_grads (after the check)
        if not ignore_stale_grad:
            self._check_fresh()
        active = self._active()
        updates = [[] for _ in self._updaters]
        for i, _, datas, grads in active:
            for upd, arr, grad in zip(updates, datas, grads):
                if not ignore_stale_grad or _fresh(arr) is not False:
                    upd.append((i, grad, arr))
                    _mark_used(arr)
        for updater, upd in zip(self._updaters, updates):
            if upd:
                idx, grads, arrs = zip(*upd)
                updater(list(idx), list(grads), list(arrs))
        self._refresh_plan()

    # ---- the fast path (optimizer/direct.py) -------------------------------------------------
    def _refresh_plan(self):
        """After a regular step: keep the plan while it is valid, else build a new one."""
        try:
            if self._plan is not None and self._plan.valid(self._optimizer, self._updaters):
                return
            self._plan = None
            if all(isinstance(p, Parameter) for p in self._params):  # others change silently
                self._plan = StepPlan.build(self._optimizer, self._updaters, self._active())
        except (AttributeError, IndexError):  # an optimizer or updater unlike the usual
            self._plan = None

    # ---- optimizer states -------------------------------------------------------------------
    def save_states(self, fname):
        """Save the optimizer and its states to ``fname`` (a safe, pickle-free format; the
        file is written atomically)."""
        self._ensure_ready()
        if self._kvstore is not None and self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
            return
        atomic_write(fname, self._updaters[0].get_states(dump_optimizer=True))

    def load_states(self, fname):
        """Load what ``save_states`` wrote: the optimizer (settings, update counts, scheduler)
        and its states, moved onto each device on first use.

        The file is read and checked against this trainer's parameters (indices in range, each
        state's shapes and dtypes those the optimizer makes for that parameter) before anything
        is replaced: a corrupt file, or the states of another model, raise ``FileFormatError``
        naming the file and leave the trainer as it was."""
        self._ensure_ready()
        with open(fname, "rb") as f:
            blob = f.read()
        current = self._optimizer
        # one copy of the states per device (each updater changes its own in place)
        parsed = [states_format.parse(blob, os.fspath(fname), current=current)
                  for _ in self._updaters]
        optimizer = parsed[0][1] or current
        optimizer.param_dict = dict(enumerate(self._params))
        states_format.check_states(parsed[0][0], optimizer,
                                   [_weight_or_none(p) for p in self._params], os.fspath(fname))
        for updater, (states, _) in zip(self._updaters, parsed):
            updater.adopt_states(states, optimizer)
        if self._kvstore is not None and self._update_on_kvstore:
            self._kvstore._updater.adopt_states(
                states_format.parse(blob, os.fspath(fname), current=current)[0], optimizer)
        self._optimizer = optimizer


def _create_kvstore(kvstore, num_device, params):
    """``(store or None, update_on_kvstore)`` as MXNet 1.9's ``model._create_kvstore``: no
    store for one device in one process; 'local' does not update on the store when a
    parameter has more than 16M elements."""
    update_on_kvstore = bool(int(os.getenv("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStoreBase):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and "dist" not in kvstore and kvstore != "horovod":
            kv = None
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local" and max(_size(p) for p in params) > 1024 * 1024 * 16:
                update_on_kvstore = False
    else:
        raise TypeError(f"kvstore must be KVStore, str or None, got {type(kvstore).__name__}")
    if kv is None:
        return None, False
    return kv, update_on_kvstore and kv.is_capable(kvs.KVStoreBase.OPTIMIZER)


def _create_sparse_kvstore(kvstore):
    """The store for row_sparse weights (MXNet's ``model._create_sparse_kvstore``): made from
    a type name or given, never None, and able to run the optimizer."""
    if isinstance(kvstore, kvs.KVStoreBase):
        kv = kvstore
    elif isinstance(kvstore, str):
        kv = kvs.create(kvstore)
    else:
        raise TypeError(f"Cannot create {kvstore!r} KVStore with row_sparse parameters. The "
                        "type must be KVStore or str.")
    if not kv.is_capable(kvs.KVStoreBase.OPTIMIZER):
        raise _TrainerArgError(f"KVStore {kv.type!r} cannot run the optimizer, which sparse "
                               "weights need")
    return kv


def _make_overlap(kv, wanted, num_device):
    """A ``GradOverlap`` for a dist store with one device per process when asked for
    (``overlap=True`` or ``KILN_KVSTORE_OVERLAP=1``) and MPI has thread support. Off by
    default: with no idle core for the communication thread (2 ranks on 2 cores) it measured
    no faster than reducing at the step (docs/benchmarks-distributed.md)."""
    if wanted is None:
        wanted = os.environ.get("KILN_KVSTORE_OVERLAP", "0") == "1"
    if not wanted or not isinstance(kv, kvs.DistKVStore) or num_device != 1:
        return None
    side = kv._comm.side()
    return None if side is None else GradOverlap(side, kv._comm.bucket_bytes)


def _overlappable(param, datas, grads):
    return (param.grad_req == "write" and not _sparse_weight(param) and len(datas) == 1
            and type(grads[0]) is NDArray
            and type(grads[0]._data).__module__ == "numpy")


def _is_dist(kvstore):
    name = kvstore if isinstance(kvstore, str) else getattr(kvstore, "type", "")
    return isinstance(name, str) and ("dist" in name or name == "horovod")


def _size(param):
    size = 1
    for d in param.shape or ():
        size *= max(int(d), 1)
    return size


def _weight_or_none(param):
    """The parameter's array on its first device, or None while it has none (deferred)."""
    try:
        return _datas(param)[0]
    except RuntimeError:
        return None


def _sparse_weight(param):
    return getattr(param, "_stype", "default") != "default"


def _datas(param):
    """A parameter's arrays on every device; a sparse weight's too (which ``list_data``
    refuses to users: they read it through ``row_sparse_data``)."""
    if _sparse_weight(param):
        return param._check_and_get(param._data, list)
    return param.list_data()


def _fresh(arr):
    """Whether backward refreshed ``arr``'s gradient since the last step: True/False where
    autograd records it (an ``_fresh_grad`` flag, as in MXNet), None where it does not."""
    return getattr(arr, "_fresh_grad", None)


def _stale_message(name, ctx):
    return (f"Gradient of Parameter `{name}` on context {ctx} has not been updated by backward "
            f"since last `step`. This could mean a bug in your model that made it only use a "
            f"subset of the Parameters (Blocks) for this iteration. If you are intentionally "
            f"only using a subset, call step with ignore_stale_grad=True to suppress this "
            f"warning and skip updating of Parameters with stale gradient")


def _mark_used(arr):
    if _fresh(arr) is not None:
        arr._fresh_grad = False
