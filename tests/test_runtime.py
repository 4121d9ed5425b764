"""Failures inside models surface as exceptions; hardware runs explain what is missing."""
import time

import numpy as np
import pytest
from helpers.faulty import Faulty
from lava.proc.dense.process import Dense

import lava_local
from lava_local.proc.lif import LIF


@pytest.mark.timeout(60)
def test_failure_inside_a_wired_model_raises_naming_the_process_instead_of_hanging():
    # A loop Faulty -> Dense -> LIF -> Faulty: in plain Lava 0.10 an exception in Faulty's
    # model leaves Dense and LIF waiting for its messages, and run() never returns.
    faulty = Faulty(shape=(3,), fail_at=7, name="faulty-one")
    dense = Dense(weights=np.eye(3))
    lif = LIF(shape=(3,))
    faulty.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    lif.s_out.connect(faulty.a_in)
    start = time.monotonic()
    with pytest.raises(lava_local.ProcessModelError) as info:
        lava_local.run(lif, 100_000, check_every=50)
    assert time.monotonic() - start < 20
    message = str(info.value)
    assert "'faulty-one'" in message and "time step 7" in message
    assert "ZeroDivisionError: deliberate failure" in message


@pytest.mark.timeout(60)
def test_run_without_failure_reports_nothing_and_stops():
    faulty = Faulty(shape=(2,), fail_at=10**9)
    lava_local.run(faulty, 120, check_every=50)
    assert lava_local.runtime.failures() == []
    assert faulty.runtime is None or not faulty.runtime._is_running


@pytest.mark.timeout(60)
def test_hardware_run_without_lava_loihi_explains_how_to_deploy():
    lif = LIF(shape=(2,))
    with pytest.raises(lava_local.HardwareUnavailableError, match="lava-loihi.*INRC"):
        lava_local.run(lif, 5, run_cfg=lava_local.run_config(hardware=True))


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_steps=0), "num_steps"),
    (dict(num_steps=5, check_every=0), "check_every"),
    (dict(num_steps=5, numeric="double"), "numeric"),
])
def test_run_rejects_bad_arguments_before_starting(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lava_local.run(LIF(shape=(2,)), **kwargs)


@pytest.mark.timeout(60)
def test_run_restores_the_sigint_handler():
    import signal

    before = signal.getsignal(signal.SIGINT)
    lava_local.run(LIF(shape=(2,)), 20, check_every=10)
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.timeout(60)
def test_stop_of_a_runtime_that_never_started_is_bounded():
    # Lava's own Runtime.stop joins workers that still wait for their first command: forever.
    import os

    lif = LIF(shape=(2,))
    lif.create_runtime(run_cfg=lava_local.run_config())
    pids = [w.pid for w in lif.runtime._messaging_infrastructure.actors]
    start = time.monotonic()
    assert lava_local.runtime.stop_runtime(lif.runtime) == len(pids) > 0
    assert time.monotonic() - start < 10
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    lif.stop()  # Lava's stop of the same runtime now returns at once


@pytest.mark.timeout(120)
def test_the_failure_folder_goes_with_the_process_that_made_it(tmp_path):
    """A Lava run in a fresh interpreter: its forked model processes leave the folder they
    report into alone, and the interpreter removes it when it exits."""
    import os
    import subprocess
    import sys

    script = ("import lava_local, numpy as np\n"
              "from lava_local.proc.lif import LIF\n"
              "from lava_local.runtime import failure_dir\n"
              "lava_local.run(LIF(shape=(2,)), 20)\n"
              "folder = failure_dir()\n"
              "assert folder.is_dir()\n"
              "print(folder)\n")
    env = {k: v for k, v in os.environ.items() if k != lava_local.runtime._ENV}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=100, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = done.stdout.strip().splitlines()[-1]
    assert "lava_local_failures_" in folder and not os.path.exists(folder)
