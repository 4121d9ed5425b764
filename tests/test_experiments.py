"""The paper configurations build VGG-9 and train one step on data of the right shape."""
import numpy as np
import pytest

from lava_local.experiments import CONFIGS, build_experiment, run_experiment


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name,window,compile", [("cifar10_dvs", 1, False), ("dvs_gesture", 1, False),
                                                 ("dvs_gesture", 8, False), ("dvs_gesture", 1, "aot_eager")])
def test_config_runs_one_training_step_on_generated_data(name, window, compile):
    config = CONFIGS[name]
    rng = np.random.default_rng(0)
    n_in = int(np.prod(config.in_shape))
    frames = (rng.random((2, config.steps, n_in)) < 0.05).astype(np.uint8)
    labels = np.array([0, config.n_classes - 1])
    initial, _, schedulers = build_experiment(config, device="cpu")
    assert [g.out_shape[0] for g in initial.geometries] == [64, 128, 256, 256, 512, 512, 512, 512]
    assert all(g.standardize for g in initial.geometries)
    assert len(schedulers) == len(initial.weights)
    history, trained = run_experiment(config, (frames, labels), (frames, labels), device="cpu", epochs=1,
                                      log=lambda *_: None, window=window, compile=compile)
    assert len(history["test_accuracy"]) == 1
    assert (config.batch_size, config.steps) == ((16, 20) if name == "dvs_gesture" else (64, 10))
    changed = [not np.allclose(a, b) for a, b in zip(trained.weights, initial.weights)]
    assert changed[-1] and sum(changed) >= len(changed) - 2  # read-out and (nearly) every layer learned
