"""Running Lava networks safely: failures surface as exceptions, runtimes always stop.

In Lava 0.10 an exception raised inside a ProcessModel that is wired to other processes
makes ``run()`` hang: the failing OS process leaves the step, its neighbours wait for its
messages forever. lava_local's models therefore never raise inside Lava. They are
:class:`~lava_local.proc.guarded.GuardedModel` subclasses: every step first receives all
inputs, then computes, then sends all outputs. If the computation raises, the model
writes a failure report (process name, model, time step, traceback) into this run's
failure folder, sends zeros from then on so the protocol keeps going, and
:func:`run` raises :class:`ProcessModelError` with that report at the next check, after
at most ``check_every`` steps. ``run`` stops the runtime whatever happens.
"""
from __future__ import annotations

import os
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

__all__ = ["ProcessModelError", "HardwareUnavailableError", "run", "run_config", "failures"]

_ENV = "LAVA_LOCAL_FAILURE_DIR"


class ProcessModelError(RuntimeError):
    """A lava_local ProcessModel failed while a network ran."""


class HardwareUnavailableError(RuntimeError):
    """Loihi hardware was requested but the lava-loihi extension is not installed."""


@dataclass(frozen=True)
class Failure:
    process: str
    model: str
    time_step: int
    report: str

    def __str__(self) -> str:
        return (
            f"process {self.process!r} ({self.model}) failed at time step {self.time_step}:\n"
            f"{self.report}"
        )


def failure_dir() -> Path:
    """The folder where models report failures (inherited by Lava's forked processes)."""
    path = os.environ.get(_ENV)
    if path is None:
        path = tempfile.mkdtemp(prefix="lava_local_failures_")
        os.environ[_ENV] = path
    return Path(path)


def report_failure(process: str, model: str, time_step: int, exc: BaseException) -> None:
    """Called inside a Lava process: record the failure for the parent to raise."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    folder = failure_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{os.getpid()}-{time.monotonic_ns()}.txt"
    tmp = folder / (name + ".part")
    tmp.write_text(f"{process}\n{model}\n{time_step}\n{text}")
    tmp.rename(folder / name)  # atomic: the parent never reads half a report


def failures(clear: bool = True) -> List[Failure]:
    """Failures reported since the last call (and forget them if ``clear``)."""
    folder = failure_dir()
    found: List[Failure] = []
    for path in sorted(folder.glob("*.txt")):
        process, model, step, report = path.read_text().split("\n", 3)
        found.append(Failure(process, model, int(step), report))
        if clear:
            path.unlink()
    return found


def raise_failures() -> None:
    found = failures()
    if found:
        raise ProcessModelError("\n".join(str(f) for f in found))


def run_config(numeric: str = "float", hardware: bool = False, **kwargs):
    """Lava run configuration for ``numeric`` = ``"float"`` or ``"fixed"``.

    ``hardware=True`` asks for Loihi 2 (``Loihi2HwCfg``), which needs Intel's lava-loihi
    extension; without it a :class:`HardwareUnavailableError` says how to get there.
    """
    if numeric not in ("float", "fixed"):
        raise ValueError(f"numeric must be 'float' or 'fixed', got {numeric!r}")
    tag = "floating_pt" if numeric == "float" else "fixed_pt"
    if hardware:
        try:
            from lava.magma.core.run_configs import Loihi2HwCfg

            return Loihi2HwCfg(select_tag=tag, **kwargs)
        except (NameError, ImportError) as exc:
            raise _hardware_error(exc) from None
    from lava.magma.core.run_configs import Loihi2SimCfg

    return Loihi2SimCfg(select_tag=tag, **kwargs)


def _hardware_error(exc: BaseException) -> HardwareUnavailableError:
    return HardwareUnavailableError(
        f"Loihi 2 hardware needs Intel's lava-loihi extension, which is not installed here "
        f"({type(exc).__name__}: {exc}). To deploy: as an INRC member, log into the INRC cloud, "
        "install lava-nc and lava-loihi there, select a board (e.g. export LOIHI_GEN=N3B3 "
        "PARTITION=oheogulch SLURM=1) and run with hardware=True. In simulation use "
        "numeric='fixed', which runs the same integer arithmetic on the CPU."
    )


def _chunks(num_steps: int, check_every: int) -> Iterator[int]:
    done = 0
    while done < num_steps:
        n = min(check_every, num_steps - done)
        yield n
        done += n


def run(
    process,
    num_steps: int,
    numeric: str = "float",
    check_every: int = 200,
    run_cfg=None,
    stop: bool = True,
    on_chunk: Optional[callable] = None,
) -> None:
    """Run the network that ``process`` belongs to for ``num_steps`` steps.

    Runs in segments of ``check_every`` steps and raises :class:`ProcessModelError` as soon
    as a segment ends with a reported failure. The runtime is stopped on every exit path
    when ``stop`` is true (pass ``stop=False`` to read Vars afterwards, then call
    ``process.stop()`` yourself, ideally in a ``finally``).
    """
    from lava.magma.core.run_conditions import RunSteps

    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
    if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1:
        raise ValueError(f"check_every must be a positive int, got {check_every!r}")
    cfg = run_cfg if run_cfg is not None else run_config(numeric)
    failure_dir()  # create before Lava forks, so every model inherits the same folder
    failures(clear=True)
    ok = False
    try:
        for steps in _chunks(num_steps, check_every):
            try:
                process.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
            except NameError as exc:
                if "CLoihi" in str(exc) or "Nc" in str(exc):
                    raise _hardware_error(exc) from None
                raise
            raise_failures()
            if on_chunk is not None:
                on_chunk(steps)
        ok = True
    finally:
        if stop or not ok:
            try:
                process.stop()
            except Exception:  # the runtime may never have started
                pass
