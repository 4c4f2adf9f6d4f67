"""HyperDriveConfig builds the sweep job the server takes (no server needed)."""

import types

import pytest

from gantry import ScriptRunConfig
from gantry.errors import InvalidArgumentError
from gantry.hyperdrive import (BanditPolicy, GridParameterSampling, HyperDriveConfig,
                               PrimaryMetricGoal, RandomParameterSampling, choice, loguniform)


def sweep_spec(**kwargs):
    kwargs.setdefault("run_config", ScriptRunConfig("src", "train.py", arguments=["--epochs", 3]))
    kwargs.setdefault("hyperparameter_sampling", RandomParameterSampling(
        {"--batch-size": choice(32, 64), "learning_rate": loguniform(-6, -1)}, seed=7))
    kwargs.setdefault("primary_metric_name", "validation_acc")
    kwargs.setdefault("primary_metric_goal", PrimaryMetricGoal.MAXIMIZE)
    experiment = types.SimpleNamespace(name="tune", workspace=None)
    return HyperDriveConfig(**kwargs)._sweep_spec(experiment, None)[0]


def test_the_values_become_arguments_and_the_config_the_sweep_job():
    spec = sweep_spec(policy=BanditPolicy(evaluation_interval=2, slack_factor=0.1),
                      max_total_runs=8, max_concurrent_runs=4, max_duration_minutes=30)
    assert spec["type"] == "sweep" and spec["experiment_name"] == "tune"
    assert spec["trial"]["command"] == ("python train.py --epochs 3"
                                        " --batch-size ${{search_space.--batch-size}}"
                                        " --learning_rate ${{search_space.learning_rate}}")
    assert spec["sampling_algorithm"] == {"type": "random", "seed": 7}
    assert spec["objective"] == {"primary_metric": "validation_acc", "goal": "maximize"}
    assert spec["early_termination"] == {"type": "bandit", "evaluation_interval": 2,
                                         "delay_evaluation": 0, "slack_factor": 0.1}
    assert spec["limits"] == {"max_total_trials": 8, "max_concurrent_trials": 4, "timeout": 1800}
    assert "resume_from" not in spec and "resume_child_runs" not in spec


def test_warm_start_takes_runs_or_their_ids():
    earlier = types.SimpleNamespace(id="tune_sweep_1")
    trial = types.SimpleNamespace(id="tune_sweep_1_3")
    spec = sweep_spec(hyperparameter_sampling=GridParameterSampling({"--batch-size": choice(32, 64)}),
                      resume_from=[earlier, "tune_sweep_0"], resume_child_runs=(trial,))
    assert spec["resume_from"] == ["tune_sweep_1", "tune_sweep_0"]
    assert spec["resume_child_runs"] == ["tune_sweep_1_3"]


@pytest.mark.parametrize("field, value, message", [
    ("resume_from", "tune_sweep_1", "resume_from must be a list of runs"),
    ("resume_from", [3], r"resume_from\[0\] must be a run"),
    ("resume_child_runs", [types.SimpleNamespace(id="")], r"resume_child_runs\[0\] must be a run"),
])
def test_a_bad_warm_start_names_the_field(field, value, message):
    with pytest.raises(InvalidArgumentError, match=message):
        sweep_spec(**{field: value})
