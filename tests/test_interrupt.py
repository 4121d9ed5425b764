"""Ctrl-C and failures in user code never hang a Lava run started through lava_local.run.

Lava 0.10 forks one OS process per ProcessModel. Before lava_local handled it, a Ctrl-C
(SIGINT to the whole process group, as a terminal sends it) killed the workers with a
traceback each while the parent waited for their answer forever, and an exception after
``run(..., stop=False)`` left the program hanging at exit.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from lava.proc.io.source import RingBuffer

import lava_local
from lava_local.proc.lif import LIF

MESSAGE = "interrupted: Lava runtime stopped ("

# Each script prints "running" once the Lava run has done its first segment.
NETWORK_SCRIPT = """
    import numpy as np
    import lava_local
    import lava_local.network as network

    plain_run = network.run

    def run(*args, on_chunk=None, **kwargs):  # Network.fit's run, announcing its segments
        def announce(steps):
            if on_chunk is not None:
                on_chunk(steps)
            print("running", flush=True)
        return plain_run(*args, on_chunk=announce, **kwargs)

    if __name__ == "__main__":
        network.run = run
        rng = np.random.default_rng(0)
        x = rng.integers(0, 2, (200, 10, 50)).astype(np.uint8)
        y = rng.integers(0, 10, 200)
        net = network.Network(50, hidden=(16,), n_classes=10)
        net.fit((x, y), (x[:20], y[:20]), epochs=50, progress=False)
        print("finished", flush=True)
"""

RUN_SCRIPT = """
    import numpy as np
    import lava_local
    from lava.proc.io.source import RingBuffer
    from lava_local.proc.lif import LIF

    if __name__ == "__main__":
        lif = LIF(shape=(8,))
        source = RingBuffer(data=np.random.default_rng(0).uniform(0, 1, (8, 100)))
        source.s_out.connect(lif.a_in)
        lava_local.run(lif, 10_000_000, check_every=100, on_chunk=lambda n: print("running", flush=True))
        print("finished", flush=True)
"""

# The Ctrl-C lands in code that turns the KeyboardInterrupt into another error on its way
# out, as CPython's threading.Condition (which Lava's channels wait on) can do.
TRANSFORMED_SCRIPT = """
    import os
    import signal
    import lava_local
    from lava_local.proc.lif import LIF

    def on_chunk(steps):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            signal.sigtimedwait([], 1.0)  # any bytecode now runs the handler
        except KeyboardInterrupt:
            raise RuntimeError("cannot release un-acquired lock")

    if __name__ == "__main__":
        lif = LIF(shape=(4,))
        lava_local.run(lif, 1_000, check_every=10, on_chunk=on_chunk)
        print("finished", flush=True)
"""

STOP_FALSE_SCRIPT = """
    import lava_local
    from lava_local.proc.lif import LIF

    if __name__ == "__main__":
        lif = LIF(shape=(3,))
        lava_local.run(lif, 20, stop=False)
        print("running", flush=True)
        raise ValueError("user code fails after run(stop=False)")
"""


def _start(tmp_path: Path, script: str) -> subprocess.Popen:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        # Ctrl-C handled as in a terminal, even where the test runner itself was started with
        # SIGINT ignored (a background job of a non-interactive shell): Python then keeps it
        # ignored and so would the script
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _finish(proc: subprocess.Popen, timeout: float):
    """The script's (stdout, stderr) once it exits; its whole group is killed if it does not."""
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


def _wait_for_line(proc: subprocess.Popen, line: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = proc.stdout.readline()
        if text.strip() == line:
            return
        if not text and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the script never printed {line!r}: {proc.communicate()[1][-3000:]}")


def _group_members(pgid: int):
    """(pid, state) of the processes in process group ``pgid``, zombies included."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[2]) == pgid:
            found.append((int(entry.name), fields[0]))
    return found


def _assert_group_gone(pgid: int, timeout: float = 5.0) -> None:
    """No process of the group is left but zombies (reaped by init once the parent is gone)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [(pid, state) for pid, state in _group_members(pgid) if state != "Z"]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    try:
        assert not left, f"processes left in the group: {left}"
    finally:
        for pid, _ in left:
            os.kill(pid, signal.SIGKILL)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("script", [NETWORK_SCRIPT, RUN_SCRIPT], ids=["network-fit", "run"])
def test_ctrl_c_stops_the_runtime_and_exits_with_one_line(tmp_path, script):
    proc = _start(tmp_path, script)
    try:
        _wait_for_line(proc, "running", timeout=90)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        start = time.monotonic()
        out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert elapsed < 10
    # uncaught KeyboardInterrupt: Python ends itself with SIGINT, which a shell reports as 130
    assert proc.returncode in (-signal.SIGINT, 130), (proc.returncode, err)
    assert "finished" not in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(MESSAGE), err
    assert "worker processes ended" in lines[0]
    _assert_group_gone(proc.pid)


@pytest.mark.timeout(120)
def test_an_interrupt_turned_into_another_error_still_ends_as_the_interrupt(tmp_path):
    proc = _start(tmp_path, TRANSFORMED_SCRIPT)
    out, err = _finish(proc, timeout=60)
    assert proc.returncode in (-signal.SIGINT, 130), (proc.returncode, err)
    assert "finished" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(MESSAGE), err
    _assert_group_gone(proc.pid)


@pytest.mark.timeout(120)
def test_exception_after_run_without_stop_does_not_hang_the_exit(tmp_path):
    proc = _start(tmp_path, STOP_FALSE_SCRIPT)
    out, err = _finish(proc, timeout=60)
    assert "running" in out
    assert proc.returncode == 1
    assert err.strip().endswith("ValueError: user code fails after run(stop=False)"), err
    _assert_group_gone(proc.pid)


def _workers(process):
    """The pids of the runtime's worker processes (one per ProcessModel, one runtime service)."""
    return [w.pid for w in process.runtime._messaging_infrastructure.actors]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


class UserError(Exception):
    pass


@pytest.mark.timeout(120)
def test_exception_in_on_chunk_propagates_and_stops_the_runtime():
    lif = LIF(shape=(4,))
    source = RingBuffer(data=np.random.default_rng(0).uniform(0, 1, (4, 50)))
    source.s_out.connect(lif.a_in)
    seen = []

    def on_chunk(steps):
        seen.append(_workers(lif))
        raise UserError("raised in on_chunk")

    start = time.monotonic()
    with pytest.raises(UserError, match="raised in on_chunk"):
        lava_local.run(lif, 1_000_000, check_every=20, stop=False, on_chunk=on_chunk)
    assert time.monotonic() - start < 60
    assert len(seen) == 1 and seen[0]
    assert all(_gone(pid) for pid in seen[0])
    assert not lif.runtime._is_started
    lif.stop()  # a second stop, as Network's finally blocks make, returns at once


@pytest.mark.timeout(120)
def test_stop_returns_when_a_worker_died():
    # Lava's own Runtime.stop waits forever for the answer of a dead worker.
    lif = LIF(shape=(4,))
    source = RingBuffer(data=np.random.default_rng(0).uniform(0, 1, (4, 50)))
    source.s_out.connect(lif.a_in)
    lava_local.run(lif, 30, check_every=10, stop=False)
    workers = _workers(lif)
    os.kill(workers[0], signal.SIGKILL)
    start = time.monotonic()
    lif.stop()  # bounded: lava_local gave this runtime its stop
    assert time.monotonic() - start < 15
    assert all(_gone(pid) for pid in workers)
    assert lif.runtime not in lava_local.runtime._live


@pytest.mark.timeout(120)
def test_workers_ignore_sigint_while_the_parent_handles_it():
    lif = LIF(shape=(4,))
    lava_local.run(lif, 10, stop=False)
    try:
        workers = _workers(lif)
        for pid in workers:
            os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        assert not any(_gone(pid) for pid in workers)
        lava_local.run(lif, 10, stop=False)  # the runtime still works
    finally:
        lif.stop()
    assert all(_gone(pid) for pid in workers)
