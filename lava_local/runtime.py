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

Interrupts and failures never hang either. Lava forks one OS process per ProcessModel (plus
a runtime service) and talks to them over shared-memory channels; a Ctrl-C reaches the
whole process group, so in plain Lava the workers die of it while the parent waits for
their answer forever (and at exit, ``multiprocessing`` joins workers that still wait for
commands, forever). So, while :func:`run` runs (main thread only):

* SIGINT raises ``KeyboardInterrupt`` in this process only. The workers of a runtime that
  ``run`` creates are forked with SIGINT blocked (and with lava_local's handler, which does
  nothing outside the process that installed it), so they never see Ctrl-C and never print
  tracebacks; the parent shuts them down in order. A Ctrl-C while they are being forked
  is held back until they all run, then raised.
* On any exit path (interrupt, failure report, an exception in ``on_chunk`` or in Lava) the
  runtime is stopped with a bounded wait (:func:`stop_runtime`): Lava's own ``stop`` gets
  a few seconds; if it blocks (a dead or never-started worker), the workers are terminated
  (SIGTERM, then SIGKILL) and the shared-memory manager is shut down.
* An exception that ends the run after a Ctrl-C arrived (the interrupt, turned into another
  error by code it passed through) is raised as the ``KeyboardInterrupt``, chained to it.
* An interrupt that nobody catches ends the program with one line on stderr,
  ``interrupted: Lava runtime stopped (N worker processes ended)``, and exit status 130.
* A runtime left running with ``stop=False`` gets the same bounded ``stop`` (so
  ``process.stop()`` cannot hang), and is stopped at interpreter exit if user code never
  stopped it (an exception after ``run(..., stop=False)`` no longer hangs the exit).
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional

__all__ = [
    "ProcessModelError", "HardwareUnavailableError", "run", "run_config", "mapping_models", "MAPPINGS", "failures",
    "stop_runtime",
]

#: seconds Lava's own ``Runtime.stop`` gets before the workers are terminated
STOP_TIMEOUT = 3.0
#: seconds a terminated worker gets to exit after SIGTERM (then SIGKILL, as long again)
KILL_TIMEOUT = 1.0

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
        atexit.register(_remove_own_folder, path, os.getpid())
    return Path(path)


def _remove_own_folder(path: str, owner: int) -> None:
    """At exit, the process that made the failure folder removes it (Lava's forked
    processes inherit the exit handler and the folder: they leave it alone)."""
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


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


MAPPINGS = ("fused", "loihi")
"""How the learning layers are implemented: ``"fused"``, one leaf model per layer (the
simulation default), or ``"loihi"``, their sub-process models built from Loihi 2 primitives
(``LearningDense``, ``TessPost``, ``LearningSignal``); see
:class:`~lava_local.proc.dense_layer.DenseLayer`."""

#: the tag of the sub-process models that implement the Loihi mapping
LOIHI_MAPPING_TAG = "loihi"


def mapping_models(mapping: str, numeric: str = "float") -> dict:
    """The ``exception_proc_model_map`` of ``mapping``: each process class with a
    sub-process model tagged ``"loihi"`` and the numeric tag, mapped to it (empty for
    ``"fused"``, where Lava's selection by ``select_tag`` picks the leaf models)."""
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {', '.join(map(repr, MAPPINGS))}, got {mapping!r}")
    if mapping == "fused":
        return {}
    from lava.magma.core.model.sub.model import AbstractSubProcessModel

    from .proc.dense_layer import DenseLayer
    from .proc.dense_layer import models as dense_models

    tag = "floating_pt" if numeric == "float" else "fixed_pt"
    found = {}
    for proc, module in ((DenseLayer, dense_models),):
        for model in vars(module).values():
            if (isinstance(model, type) and issubclass(model, AbstractSubProcessModel)
                    and getattr(model, "implements_process", None) is proc
                    and LOIHI_MAPPING_TAG in model.tags and tag in model.tags):
                found[proc] = model
        if proc not in found:
            raise ValueError(f"the Loihi mapping of {proc.__name__} has no {numeric} model")
    return found


def run_config(numeric: str = "float", hardware: bool = False, mapping: Optional[str] = None, **kwargs):
    """Lava run configuration for ``numeric`` = ``"float"`` or ``"fixed"``.

    ``mapping`` (:data:`MAPPINGS`): ``"fused"`` (the default in simulation) or ``"loihi"``;
    it sets ``exception_proc_model_map`` to the Loihi mapping's sub-process models
    (:func:`mapping_models`), and ``select_tag`` picks the float or fixed-point leaf models
    of every process, those inside the sub-process models included. ``hardware=True`` asks
    for Loihi 2 (``Loihi2HwCfg``), which implies ``mapping="loihi"`` and needs Intel's
    lava-loihi extension; without it a :class:`HardwareUnavailableError` says how to get there.
    """
    if numeric not in ("float", "fixed"):
        raise ValueError(f"numeric must be 'float' or 'fixed', got {numeric!r}")
    if mapping is None:
        mapping = "loihi" if hardware else "fused"
    if hardware and mapping != "loihi":
        raise ValueError("hardware=True runs the Loihi mapping: the fused models are simulation models "
                         "(give mapping='loihi' or leave it out)")
    tag = "floating_pt" if numeric == "float" else "fixed_pt"
    exceptions = {**mapping_models(mapping, numeric), **(kwargs.pop("exception_proc_model_map", None) or {})}
    if hardware:
        try:
            from lava.magma.core.run_configs import Loihi2HwCfg

            return Loihi2HwCfg(select_tag=tag, exception_proc_model_map=exceptions, **kwargs)
        except (NameError, ImportError) as exc:
            raise _hardware_error(exc) from None
    from lava.magma.core.run_configs import Loihi2SimCfg

    return Loihi2SimCfg(select_tag=tag, exception_proc_model_map=exceptions, **kwargs)


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


class _SigintGuard:
    """SIGINT handler for the duration of a run, installed from the main thread only.

    In this process it raises ``KeyboardInterrupt`` (or calls the handler it replaced),
    unless deferred; in Lava's workers, which inherit it through fork, it does nothing:
    only the parent handles Ctrl-C and it stops the workers in order.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.previous = None
        self.installed = False
        self.deferred = 0
        self.pending = False
        self.received = False  # a Ctrl-C reached this process during the run

    def install(self) -> "_SigintGuard":
        if threading.current_thread() is not threading.main_thread():
            return self
        previous = signal.getsignal(signal.SIGINT)
        # SIG_IGN / SIG_DFL: the program chose to ignore or die of Ctrl-C; None: a C handler
        if previous in (signal.SIG_IGN, signal.SIG_DFL, None):
            return self
        signal.signal(signal.SIGINT, self)
        self.previous, self.installed = previous, True
        return self

    def restore(self) -> None:
        if self.installed and signal.getsignal(signal.SIGINT) is self:
            signal.signal(signal.SIGINT, self.previous)
        self.installed = False

    def __call__(self, signum, frame) -> None:
        if os.getpid() != self.pid:
            return  # a Lava worker forked during the run: the parent stops it
        self.pending = self.received = True
        if not self.deferred:
            self.fire(signum, frame)

    def fire(self, signum=signal.SIGINT, frame=None) -> None:
        self.pending = False
        if self.previous is signal.default_int_handler or not callable(self.previous):
            raise KeyboardInterrupt
        self.previous(signum, frame)

    @contextmanager
    def defer(self):
        """Hold Ctrl-C back while the body runs (workers being forked), then raise it."""
        self.deferred += 1
        try:
            yield
        finally:
            self.deferred -= 1
        if self.pending and not self.deferred:
            self.fire()


@contextmanager
def _sigint_blocked():
    """Block SIGINT in this thread while Lava forks its workers, which inherit the mask.

    The stdlib's idiom for its own helper processes (multiprocessing's resource tracker);
    a SIGINT that arrives meanwhile stays pending and is delivered here on unblocking.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    # the tracker's first start unblocks SIGINT and SIGTERM when done; Lava's shared memory
    # would start it inside the block, so start it before
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _alive(proc) -> bool:
    try:
        return proc.is_alive()  # also reaps a finished child
    except (ValueError, AssertionError):  # closed (joined by Lava) or not our child
        return False


def _call_with_timeout(fn: Callable[[], object], timeout: float) -> bool:
    """Run ``fn`` in a daemon thread; True if it returned without error within ``timeout``."""
    result: List[bool] = []

    def target() -> None:
        try:
            fn()
            result.append(True)
        except BaseException:  # noqa: BLE001 - Lava may raise anything while shutting down
            result.append(False)

    thread = threading.Thread(target=target, name="lava_local-stop", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no new threads (interpreter shutting down): the caller falls back
        return False
    thread.join(timeout)
    return bool(result) and result[0]


def _terminate(workers) -> None:
    """SIGTERM, then SIGKILL, the workers still alive; each gets KILL_TIMEOUT to exit."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [w for w in workers if _alive(w)]
        if not alive:
            break
        for worker in alive:
            try:
                os.kill(worker.pid, sig)
            except (ProcessLookupError, TypeError):
                pass
        deadline = time.monotonic() + KILL_TIMEOUT
        while any(_alive(w) for w in alive) and time.monotonic() < deadline:
            time.sleep(0.02)


_live: set = set()  # runtimes started by run() and not stopped yet
_atexit_registered = False


def stop_runtime(runtime, timeout: float = STOP_TIMEOUT) -> int:
    """Stop a Lava ``runtime`` in bounded time; return how many worker processes it ended.

    Lava's ``Runtime.stop`` gets ``timeout`` seconds when every worker is alive and the
    runtime was started (otherwise it would wait forever for an answer); if it blocks or
    fails, the workers are terminated and the shared-memory manager is shut down, and the
    runtime is marked stopped so a later ``stop`` returns at once. Idempotent.
    """
    if runtime is None:
        return 0
    _live.discard(runtime)
    infra = getattr(runtime, "_messaging_infrastructure", None)
    workers = list(getattr(infra, "actors", None) or ())
    running = [w for w in workers if _alive(w)]
    orderly = bool(running) and len(running) == len(workers) and getattr(runtime, "_is_started", False)
    if orderly and _call_with_timeout(lambda: type(runtime).stop(runtime), timeout):
        return len(running)
    _terminate(workers)
    runtime._is_running = False
    runtime._is_started = False
    if infra is not None:
        # joins the (now ended) workers and shuts the shared-memory manager down
        _call_with_timeout(infra.stop, timeout)
    watchdog = getattr(runtime, "_watchdog_manager", None)
    if watchdog is not None:
        _call_with_timeout(watchdog.stop, timeout)
    return len(running)


def _stop_all_at_exit() -> None:
    for runtime in list(_live):
        stop_runtime(runtime)


def _track(runtime) -> None:
    """Give ``runtime`` a bounded ``stop`` and stop it at exit if user code never does."""
    global _atexit_registered
    if runtime is None or runtime in _live:
        return
    if not _atexit_registered:
        # registered after multiprocessing's exit hook, so it runs first (atexit is LIFO):
        # multiprocessing would otherwise join workers still waiting for commands, forever
        atexit.register(_stop_all_at_exit)
        _atexit_registered = True
    runtime.stop = lambda: stop_runtime(runtime)  # Process.stop() and Runtime.__del__ call it
    _live.add(runtime)


_previous_excepthook = None


def _excepthook(exc_type, exc, tb) -> None:
    message = getattr(exc, "_lava_local_interrupt", None)
    if message is not None and issubclass(exc_type, KeyboardInterrupt):
        print(message, file=sys.stderr, flush=True)  # no traceback; Python exits with 130
        return
    (_previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)


def _mark_interrupt(exc: BaseException, ended: int) -> None:
    """Let an uncaught interrupt end the program with one line instead of a traceback."""
    global _previous_excepthook
    noun = "process" if ended == 1 else "processes"
    message = f"interrupted: Lava runtime stopped ({ended} worker {noun} ended)"
    exc.args = (message,)
    exc._lava_local_interrupt = message
    if sys.excepthook is not _excepthook:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook


def run(
    process,
    num_steps: int,
    numeric: str = "float",
    check_every: int = 200,
    run_cfg=None,
    stop: bool = True,
    on_chunk: Optional[Callable[[int], None]] = None,
    mapping: str = "fused",
) -> None:
    """Run the network that ``process`` belongs to for ``num_steps`` steps.

    ``numeric`` and ``mapping`` choose the run configuration (:func:`run_config`) unless
    ``run_cfg`` is given.

    Runs in segments of ``check_every`` steps and raises :class:`ProcessModelError` as soon
    as a segment ends with a reported failure; ``on_chunk(steps)`` is called after each
    segment. The runtime is stopped on every exit path when ``stop`` is true, and on every
    exceptional one (failure, exception in ``on_chunk``, Ctrl-C) always; pass ``stop=False``
    to read Vars afterwards, then call ``process.stop()`` yourself, ideally in a ``finally``
    (it is bounded too, and a runtime never stopped is stopped at exit).

    Ctrl-C during the run stops the runtime and its worker processes within a few seconds
    and raises ``KeyboardInterrupt``; uncaught, it ends the program with one line on stderr
    and exit status 130 (see the module docstring).
    """
    from lava.magma.core.run_conditions import RunSteps

    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
    if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1:
        raise ValueError(f"check_every must be a positive int, got {check_every!r}")
    cfg = run_cfg if run_cfg is not None else run_config(numeric, mapping=mapping)
    failure_dir()  # create before Lava forks, so every model inherits the same folder
    failures(clear=True)
    guard = _SigintGuard().install()
    ok = False
    interrupted: Optional[BaseException] = None
    try:
        for steps in _chunks(num_steps, check_every):
            try:
                if process.runtime is None:
                    executable = process.compile(cfg)
                    # workers fork here: they inherit the blocked SIGINT (and the guard)
                    with guard.defer(), _sigint_blocked():
                        process.create_runtime(executable=executable)
                _track(process.runtime)
                process.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
            except NameError as exc:
                if "CLoihi" in str(exc) or "Nc" in str(exc):
                    raise _hardware_error(exc) from None
                raise
            raise_failures()
            if on_chunk is not None:
                on_chunk(steps)
        ok = True
    except KeyboardInterrupt as exc:
        interrupted = exc
        raise
    except BaseException as exc:
        if not guard.received:
            raise
        # The KeyboardInterrupt surfaced inside code that turned it into another error
        # on its way out (CPython's threading.Condition, which Lava's channels wait on,
        # can end with "cannot release un-acquired lock"): it is still the Ctrl-C.
        interrupted = KeyboardInterrupt()
        raise interrupted from exc
    finally:
        guard.deferred += 1  # a second Ctrl-C must not cut the shutdown short
        try:
            if stop or not ok:
                ended = stop_runtime(process.runtime)
                if interrupted is not None:
                    _mark_interrupt(interrupted, ended)
        finally:
            guard.restore()
