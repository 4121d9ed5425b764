"""VGG-9 at DVS Gesture size: TESS versus BPTT, time per training step and peak memory.

    .venv/bin/python benchmarks/vgg9_step.py [--device cuda] [--steps 20] [--batch 16]
        [--windows 2 4 10] [--repeats 5] [--graph] [--compile] [--width 1.0] [--size 32]

Input 2 x size x size (32: the TESS paper's DVS Gesture setting), 11 classes, T = 20,
batch 16, random input spikes at 5 %. Every trainer runs in the same process on the same
device, after one warm-up step: median time per training step (``torch.cuda.synchronize``
on GPUs), peak memory of a step above what was held before it (CUDA: torch's peak
allocation; CPU: the peak of the C heap in use, ``lava_local.costs.peak_heap_bytes``) and
the operations a step issues (``lava_local.costs.count_operations``; at least one kernel
launch each on a GPU). Rows: BPTT, TESS step by step (window 1), and TESS with each
weight-gradient window (``lava_local.kernels.window``).

``--graph`` (CUDA only) adds each trainer's ``compute_grads`` captured once in a CUDA
graph and replayed (one launch per step instead of thousands); a trainer that cannot
be captured gets its error in the table instead of a time.

``--compile`` adds TESS step by step with each layer's step through ``torch.compile``
(compiled during the warm-up step; its time is not in the figures).

``--only LABELS`` runs the named rows alone (comma-separated, as they appear in the table,
without " (CUDA graph)"). ``--profile N`` adds, for each row run eagerly, torch.profiler's
N costliest operations of one training step (device time on a GPU, CPU time on a CPU) and
the kernel launches of that step, written to ``results/vgg9_profile.txt``: where a step's
time goes.

``--width 0.03 --size 16 --batch 1`` keeps VGG-9's sequence of operations with almost no
arithmetic: the per-operation overhead that bounds small steps on a GPU, measurable on
a CPU.

Writes ``results/vgg9_step.{md,json}`` with the device name.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch._dynamo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lava_local  # noqa: E402,F401
from lava_local.costs import count_operations, peak_heap_bytes  # noqa: E402
from lava_local.network import vgg9  # noqa: E402
from lava_local.trainer import BPTTTrainer, LocalTrainer, flush_subnormals  # noqa: E402


def graphed_train_step(trainer, x: torch.Tensor, y: torch.Tensor) -> Callable:
    """``trainer.train_step`` with ``compute_grads`` captured in a CUDA graph for the
    shapes of ``(x, y)``; the optimisers run eagerly after each replay."""
    static_x, static_y = x.clone(), y.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the capture stream, as capture requires
        for _ in range(2):
            trainer.compute_grads(static_x, static_y)
            for p in trainer.params:
                p.grad = None
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        scores = trainer.compute_grads(static_x, static_y)
    grads = [p.grad for p in trainer.params]
    for p in trainer.params:
        p.grad = None

    def step(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        static_x.copy_(xb)
        static_y.copy_(yb)
        graph.replay()
        for p, g in zip(trainer.params, grads):
            p.grad = g
        trainer.step_optimizers()
        return scores

    return step


def step_inputs(args, device: torch.device):
    """One batch of the benchmark: 2 x size x size input spikes at 5 % for T steps, 11
    classes; the same every call (seed 0)."""
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.random((args.batch, args.steps, 2 * args.size * args.size)) < 0.05,
                        dtype=torch.float32, device=device)
    return x, torch.as_tensor(rng.integers(0, 11, args.batch), device=device)


def measure(make_trainer: Callable, args, device: torch.device, graph: bool = False) -> dict:
    trainer = make_trainer()
    x, y = step_inputs(args, trainer.device)
    cuda = trainer.device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    trainer.train_step(x, y)  # warm-up; creates the optimisers' state, outside the measure
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    step = graphed_train_step(trainer, x, y) if graph else trainer.train_step
    step(x, y)  # counted in the peak: a whole step (with --graph, the capture's memory pool too)
    sync()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step(x, y)
        sync()
        times.append(time.perf_counter() - start)
    # compiled steps run eagerly under the sampling and counting modes of lava_local.costs
    # (and their fused kernels are not tensor operations): no CPU memory or count for them
    compiled = bool(getattr(trainer, "compile", False))
    if cuda:
        memory = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        memory = None if compiled else max(peak_heap_bytes(lambda: step(x, y)) for _ in range(2)) / 2**20
    # operations a step issues, the optimisers' included (kernel launches, at least, on a GPU;
    # with a graph, what runs outside the replay)
    operations = None if compiled else count_operations(lambda: step(x, y))
    return {"ms_per_step": statistics.median(times) * 1000, "memory_MiB": memory, "operations": operations}


def profile_step(make_trainer: Callable, args, limit: int) -> str:
    """torch.profiler's ``limit`` costliest operations of one training step (after a warm-up
    step), and on a GPU the number of kernel launches in it."""
    from torch.profiler import ProfilerActivity, profile

    trainer = make_trainer()
    x, y = step_inputs(args, trainer.device)
    cuda = trainer.device.type == "cuda"
    trainer.train_step(x, y)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        trainer.train_step(x, y)
        if cuda:
            torch.cuda.synchronize()
    events = prof.key_averages()
    sort_by = "self_device_time_total" if cuda else "self_cpu_time_total"
    head = ""
    if cuda:
        kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        busy_ms = sum(e.device_time for e in kernels) / 1000
        head = f"{len(kernels)} device events (kernels and copies), {busy_ms:.1f} ms of device time\n"
    return head + events.table(sort_by=sort_by, row_limit=limit)


def _shown(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    flush_subnormals()  # first, so that torch's worker threads inherit it (both trainers)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--windows", type=int, nargs="*", default=[2, 4, 10],
                        help="TESS weight-gradient windows (steps) to measure besides 1")
    parser.add_argument("--graph", action="store_true", help="also replay each step from a CUDA graph")
    parser.add_argument("--compile", action="store_true",
                        help="also TESS step by step with each layer's step through torch.compile")
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier (1.0: the papers' VGG-9)")
    parser.add_argument("--size", type=int, default=32, help="input height and width")
    parser.add_argument("--only", default=None,
                        help="comma-separated row labels to run (BPTT, TESS, TESS window K, TESS compiled)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also write each eager row's N costliest operations of one step")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.graph and device.type != "cuda":
        parser.error("--graph needs a CUDA device")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"

    def net():
        return vgg9((2, args.size, args.size), 11, width=args.width, seed=0)

    runs = [("BPTT", lambda: BPTTTrainer(net(), device=device, optimizer="adam", lr=1e-3))]
    for window in [1, *args.windows]:
        label = "TESS" if window == 1 else f"TESS window {window}"
        runs.append((label, lambda w=window: LocalTrainer(net(), device=device, optimizer="adam", lr=1e-3,
                                                          window=w)))
    def compiled_trainer() -> LocalTrainer:
        # compiled in the warm-up step, outside the measure; dynamo's caches start empty for
        # each trainer (the eager and CUDA-graph rows), so neither hits its recompile limit
        torch._dynamo.reset()
        return LocalTrainer(net(), device=device, optimizer="adam", lr=1e-3, compile=True)

    if args.compile:
        runs.append(("TESS compiled", compiled_trainer))
    if args.only:
        wanted = [label.strip() for label in args.only.split(",")]
        known = [label for label, _ in runs]
        unknown = [label for label in wanted if label not in known]
        if unknown:
            parser.error(f"--only: unknown rows {unknown}; with these options the rows are {known}")
        runs = [(label, make) for label, make in runs if label in wanted]
    rows = {}
    profiles = []
    for label, make in runs:
        for graph in (False, True) if args.graph else (False,):
            key = label + (" (CUDA graph)" if graph else "")
            try:
                rows[key] = measure(make, args, device, graph)
                print(f"{key}: {rows[key]['ms_per_step']:.1f} ms per training step, "
                      f"{_shown(rows[key]['memory_MiB'], '.0f')} MiB, {_shown(rows[key]['operations'], 'd')} "
                      "operations", flush=True)
            except Exception as error:  # a graph that cannot be captured (or compiled) is a result too
                if not graph and label != "TESS compiled":
                    raise
                rows[key] = {"error": f"{type(error).__name__}: {error}"[:300]}
                print(f"{key}: {rows[key]['error']}", flush=True)
                traceback.print_exc()
        if args.profile and label != "TESS compiled":  # compiling again would cost more than it shows
            try:
                listing = profile_step(make, args, args.profile)
            except Exception as error:  # the timings above stand without it
                listing = f"profiler failed: {type(error).__name__}: {error}"
            profiles.append(f"## {label}, T = {args.steps}, batch {args.batch}, device {name}\n{listing}")
    args.out.mkdir(parents=True, exist_ok=True)
    if profiles:
        (args.out / "vgg9_profile.txt").write_text("\n\n".join(profiles) + "\n")
    (args.out / "vgg9_step.json").write_text(json.dumps(
        {"device": name, "args": vars(args) | {"out": str(args.out)}, "rows": rows}, indent=2))
    lines = [f"VGG-9 (width {args.width}), 2x{args.size}x{args.size}, T = {args.steps}, batch {args.batch}, "
             f"device {name}\n",
             "| trainer | ms per step | peak memory (MiB) | operations per step | speed-up over BPTT | memory / BPTT "
             "| operations / BPTT |",
             "|---|---|---|---|---|---|---|"]
    for graph_suffix in ("", " (CUDA graph)"):
        bptt = rows.get("BPTT" + graph_suffix, {})
        bptt = None if "error" in bptt or not bptt else bptt  # no ratios without a BPTT time (--only)
        for key, row in rows.items():
            if key.endswith(" (CUDA graph)") != bool(graph_suffix):
                continue
            if "error" in row:
                lines.append(f"| {key} | {row['error']} | | | | | |")
                continue
            speed_up = None if bptt is None else bptt["ms_per_step"] / row["ms_per_step"]
            ratio = (None if row["memory_MiB"] is None or bptt is None or not bptt["memory_MiB"]
                     else row["memory_MiB"] / bptt["memory_MiB"])
            # with a CUDA graph the count is what runs outside the replay: no ratio to BPTT's
            operations = (None if row["operations"] is None or graph_suffix or bptt is None or not bptt["operations"]
                          else row["operations"] / bptt["operations"])
            lines.append(f"| {key} | {row['ms_per_step']:.1f} | {_shown(row['memory_MiB'], '.0f')} | "
                         f"{_shown(row['operations'], 'd')} | {'-' if speed_up is None else f'{speed_up:.2f}x'} | "
                         f"{_shown(ratio, '.2f')} | {_shown(operations, '.2f')} |")
    (args.out / "vgg9_step.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
