"""The pieces of data-parallel training that need no MPI job: SplitSampler and `kiln launch`'s
command line."""
import os

import numpy as np
import pytest
from kiln.data import BatchSampler, SplitSampler
from kiln.tools import cli, launch


@pytest.mark.parametrize("length,parts", [(10, 3), (64, 2), (7, 7), (100, 8)])
def test_split_sampler_parts_cover_the_data(length, parts):
    uneven = [list(SplitSampler(length, parts, i, even_size=False)) for i in range(parts)]
    assert sorted(i for p in uneven for i in p) == list(range(length))
    assert [len(SplitSampler(length, parts, i, even_size=False)) for i in range(parts)] == \
        [len(p) for p in uneven]
    even = [list(SplitSampler(length, parts, i)) for i in range(parts)]
    assert len({len(p) for p in even}) == 1 and len(even[0]) == length // parts
    flat = [i for p in even for i in p]
    assert len(set(flat)) == len(flat) and set(flat) <= set(range(length))


def test_split_sampler_shuffles_within_its_part():
    np.random.seed(3)
    part = list(SplitSampler(20, 2, 1, shuffle=True))
    assert sorted(part) == list(range(10, 20)) and part != sorted(part)
    batches = list(BatchSampler(SplitSampler(20, 2, 0), 4, "discard"))
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize("args,match", [((10, 0, 0), "num_parts"), ((10, 2, 2), "part_index"),
                                        ((1, 2, 0), "smaller than num_parts")])
def test_split_sampler_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        SplitSampler(*args)


def test_mpirun_command_flags():
    cmd = launch.mpirun_command(3, ["python", "train.py", "-x"], mpirun="/opt/bin/mpirun")
    assert cmd[:3] == ["/opt/bin/mpirun", "-n", "3"]
    assert cmd[-3:] == ["python", "train.py", "-x"]
    assert ("--allow-run-as-root" in cmd) == (os.geteuid() == 0)
    assert "--oversubscribe" in cmd
    env = launch.mpi_env(threads=2, env={"PATH": "/bin", "OMP_NUM_THREADS": "4"})
    assert env["OPENBLAS_NUM_THREADS"] == "2" and env["OMP_NUM_THREADS"] == "4"


def test_cli_launch_without_a_command_is_an_error(capsys):
    assert cli.main(["launch", "-n", "2"]) == 1
    assert "give the command to run" in capsys.readouterr().err


def test_cli_launch_runs_the_command(monkeypatch):
    seen = {}

    def fake_run(args, env, timeout):
        seen.update(args=args, env=env, timeout=timeout)

        class Done:
            returncode = 7
        return Done()
    monkeypatch.setattr(launch.subprocess, "run", fake_run)
    monkeypatch.setattr(launch, "find_mpirun", lambda: "/x/mpirun")
    assert cli.main(["launch", "-n", "2", "--timeout", "9", "python", "t.py", "--lr", "1"]) == 7
    assert seen["args"][:3] == ["/x/mpirun", "-n", "2"]
    assert seen["args"][-4:] == ["python", "t.py", "--lr", "1"] and seen["timeout"] == 9
