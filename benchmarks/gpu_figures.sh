#!/usr/bin/env bash
# The GPU figures in one run: VGG-9 TESS against BPTT (time per training step, peak memory,
# T = 20 and 60, step by step, windows, CUDA graphs, compiled steps), the convolutions'
# share, torch.profiler's kernel list, and the accuracy of the N-MNIST subset and
# Fashion-MNIST rows on the GPU path.
#
#     bash benchmarks/gpu_figures.sh OUT [speed|accuracy|all]
#
# Needs torch with CUDA and numpy only (Lava is not imported). Every part has its own time
# limit, so one that overruns leaves the others' tables; everything lands under OUT, and the
# tables are printed at the end.
set -u
out=${1:?usage: gpu_figures.sh OUT [speed|accuracy|all]}
part=${2:-all}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
run() {  # run LIMIT_S NAME COMMAND...: one part, its own limit, its log under OUT
    local limit=$1 name=$2; shift 2
    echo "== $name ($(date +%T), limit ${limit} s)"
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    echo "== $name: exit $? at $(date +%T)"
}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/card.txt" 2>&1
$py -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())" >> "$out/card.txt" 2>&1
cat "$out/card.txt"
if [ "$part" = speed ] || [ "$part" = all ]; then
    run 200 t20 $py benchmarks/vgg9_step.py --device cuda --graph --windows 2 4 10 20 --repeats 20 --profile 30 --out "$out/t20"
    run 120 t60 $py benchmarks/vgg9_step.py --device cuda --graph --steps 60 --windows 4 10 --repeats 10 --out "$out/t60"
    run 45 conv $py benchmarks/conv_costs.py --device cuda --repeats 20 --out "$out/conv"
fi
if [ "$part" = accuracy ] || [ "$part" = all ]; then
    run 200 compiled $py benchmarks/vgg9_step.py --device cuda --graph --windows --compile --only "TESS,TESS compiled" --repeats 20 --out "$out/compiled"
    run 300 nmnist $py benchmarks/compare_rules.py --device cuda --seeds 3 --parts nmnist \
        --methods "TESS,S-TLLR,S-TLLR (local),LLS,BPTT,readout-only" --out "$out/nmnist"
    run 900 fashion $py benchmarks/compare_rules.py --device cuda --seeds 3 --parts fashion \
        --methods "TESS,BPTT" --out "$out/fashion"
fi
for f in "$out"/*/*.md; do echo "## $f"; cat "$f"; done
