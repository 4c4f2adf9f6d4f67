"""HyperDrive on Gantry: hyperparameter sweeps as azureml.train.hyperdrive (SDK v1) writes them.

::

    from azureml.train.hyperdrive import (RandomParameterSampling, BanditPolicy,
                                          HyperDriveConfig, PrimaryMetricGoal, choice, loguniform)
    ps = RandomParameterSampling({"--batch-size": choice(25, 50, 100),
                                  "--learning-rate": loguniform(-6, -1)})
    htc = HyperDriveConfig(run_config=src, hyperparameter_sampling=ps,
                           policy=BanditPolicy(evaluation_interval=2, slack_factor=0.1),
                           primary_metric_name="validation_acc",
                           primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                           max_total_runs=8, max_concurrent_runs=4)
    htr = exp.submit(config=htc)
    htr.wait_for_completion(show_output=True)
    best = htr.get_best_run_by_primary_metric()

The sweep runs on the server (POST /api/v1/sweeps): its sampler and policy are Gantry's,
its trials are ordinary runs named ``<sweep>_<n>``, each given its values as command-line
arguments (``--batch-size 64``; a name without a leading ``-`` gets ``--``) and as
``AZUREML_SWEEP_<name>`` variables. The parameter expressions are the CLI v2
``search_space`` mappings the server checks (``uniform(5, 1)`` is refused there, naming the
parameter).
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional

from . import _paths
from ._snapshot import UploadStats, upload_folder
from .errors import InvalidArgumentError
from .script_run import ScriptRun

__all__ = ["choice", "randint", "uniform", "loguniform", "quniform", "qloguniform", "normal",
           "lognormal", "qnormal", "qlognormal", "RandomParameterSampling",
           "GridParameterSampling", "BayesianParameterSampling", "BanditPolicy",
           "MedianStoppingPolicy", "TruncationSelectionPolicy", "NoTerminationPolicy",
           "PrimaryMetricGoal", "HyperDriveConfig", "HyperDriveRun"]


# -- parameter expressions (CLI v2 search_space entries)

def choice(*options: Any) -> Dict[str, Any]:
    """One of ``options``: ``choice(16, 32)`` or ``choice([16, 32])`` or ``choice(range(4))``."""
    if len(options) == 1 and isinstance(options[0], (list, tuple, range)):
        options = tuple(options[0])
    return {"type": "choice", "values": list(options)}


def randint(upper: int) -> Dict[str, Any]:
    """An integer in ``[0, upper)``."""
    return {"type": "randint", "upper": upper}


def uniform(min_value: float, max_value: float) -> Dict[str, Any]:
    return {"type": "uniform", "min_value": min_value, "max_value": max_value}


def loguniform(min_value: float, max_value: float) -> Dict[str, Any]:
    """``exp(uniform(min_value, max_value))``: the bounds are exponents."""
    return {"type": "loguniform", "min_value": min_value, "max_value": max_value}


def quniform(min_value: float, max_value: float, q: float) -> Dict[str, Any]:
    return {"type": "quniform", "min_value": min_value, "max_value": max_value, "q": q}


def qloguniform(min_value: float, max_value: float, q: float) -> Dict[str, Any]:
    return {"type": "qloguniform", "min_value": min_value, "max_value": max_value, "q": q}


def normal(mu: float, sigma: float) -> Dict[str, Any]:
    return {"type": "normal", "mu": mu, "sigma": sigma}


def lognormal(mu: float, sigma: float) -> Dict[str, Any]:
    return {"type": "lognormal", "mu": mu, "sigma": sigma}


def qnormal(mu: float, sigma: float, q: float) -> Dict[str, Any]:
    return {"type": "qnormal", "mu": mu, "sigma": sigma, "q": q}


def qlognormal(mu: float, sigma: float, q: float) -> Dict[str, Any]:
    return {"type": "qlognormal", "mu": mu, "sigma": sigma, "q": q}


# -- sampling

class _Sampling:
    _type = ""

    def __init__(self, parameter_space: Dict[str, Any], properties: Optional[Dict[str, Any]] = None):
        if not isinstance(parameter_space, dict) or not parameter_space:
            raise InvalidArgumentError("parameter_space must be a non-empty dict of name -> "
                                       "expression (choice, uniform, ...)")
        for name, expression in parameter_space.items():
            if not isinstance(expression, dict) or "type" not in expression:
                raise InvalidArgumentError(
                    "parameter_space[%r] must be an expression such as choice(...) or "
                    "uniform(...), got %r" % (name, expression))
        self._parameter_space = dict(parameter_space)
        self._properties = dict(properties or {})

    @property
    def parameter_space(self) -> Dict[str, Any]:
        return dict(self._parameter_space)

    def _algorithm(self) -> Dict[str, Any]:
        algorithm: Dict[str, Any] = {"type": self._type}
        for key in ("seed", "rule"):
            if key in self._properties:
                algorithm[key] = self._properties[key]
        return algorithm


class RandomParameterSampling(_Sampling):
    """Values drawn at random; ``properties={"seed": 7, "rule": "sobol"}`` (or the ``seed``
    and ``rule`` keywords) make the draw reproducible and quasi-random."""
    _type = "random"

    def __init__(self, parameter_space: Dict[str, Any], properties: Optional[Dict[str, Any]] = None,
                 seed: Optional[int] = None, rule: Optional[str] = None):
        super().__init__(parameter_space, properties)
        if seed is not None:
            self._properties["seed"] = seed
        if rule is not None:
            self._properties["rule"] = rule


class GridParameterSampling(_Sampling):
    """Every combination of ``choice`` parameters, in order."""
    _type = "grid"


class BayesianParameterSampling(_Sampling):
    """Each trial's values chosen from the finished trials' scores (choice, uniform and
    quniform only; no early termination policy)."""
    _type = "bayesian"


# -- early termination

class _Policy:
    def _spec(self) -> Optional[Dict[str, Any]]:
        raise NotImplementedError


class NoTerminationPolicy(_Policy):
    def _spec(self) -> Optional[Dict[str, Any]]:
        return None


class BanditPolicy(_Policy):
    """Stops a trial whose primary metric at an interval is not within ``slack_factor``
    (a ratio) or ``slack_amount`` of the best trial's at that interval."""

    def __init__(self, evaluation_interval: int = 1, slack_factor: Optional[float] = None,
                 slack_amount: Optional[float] = None, delay_evaluation: int = 0):
        self._body = {"type": "bandit", "evaluation_interval": evaluation_interval,
                      "delay_evaluation": delay_evaluation}
        if slack_factor is not None:
            self._body["slack_factor"] = slack_factor
        if slack_amount is not None:
            self._body["slack_amount"] = slack_amount

    def _spec(self) -> Optional[Dict[str, Any]]:
        return dict(self._body)


class MedianStoppingPolicy(_Policy):
    """Stops a trial whose best primary metric is worse than the median of the other
    trials' running averages at that interval."""

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0):
        self._body = {"type": "median_stopping", "evaluation_interval": evaluation_interval,
                      "delay_evaluation": delay_evaluation}

    def _spec(self) -> Optional[Dict[str, Any]]:
        return dict(self._body)


class TruncationSelectionPolicy(_Policy):
    """Stops the worst ``truncation_percentage`` percent of trials at each judged interval."""

    def __init__(self, truncation_percentage: int, evaluation_interval: int = 1,
                 delay_evaluation: int = 0, exclude_finished_jobs: bool = False):
        self._body = {"type": "truncation_selection",
                      "truncation_percentage": truncation_percentage,
                      "evaluation_interval": evaluation_interval,
                      "delay_evaluation": delay_evaluation,
                      "exclude_finished_jobs": bool(exclude_finished_jobs)}

    def _spec(self) -> Optional[Dict[str, Any]]:
        return dict(self._body)


class PrimaryMetricGoal:
    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"


def _run_ids(field: str, runs: Any) -> List[str]:
    """The ids of ``runs`` (runs, as Azure takes them, or their ids); [] for None."""
    if runs is None:
        return []
    if isinstance(runs, (str, ScriptRun)) or not isinstance(runs, Iterable):
        raise InvalidArgumentError("%s must be a list of runs, got %r" % (field, runs))
    ids = []
    for i, run in enumerate(runs):
        run_id = run if isinstance(run, str) else getattr(run, "id", None)
        if not isinstance(run_id, str) or not run_id:
            raise InvalidArgumentError("%s[%d] must be a run (or a run id), got %r"
                                       % (field, i, run))
        ids.append(run_id)
    return ids


def _argument(name: str) -> str:
    return name if name.startswith("-") else "--" + name


class HyperDriveConfig:
    """A sweep of ``run_config`` (a ScriptRunConfig) over ``hyperparameter_sampling``'s space,
    scored by ``primary_metric_name`` (what the script logs with ``run.log``)."""

    def __init__(self, hyperparameter_sampling: _Sampling, primary_metric_name: str,
                 primary_metric_goal: str, max_total_runs: Optional[int] = None,
                 max_concurrent_runs: Optional[int] = None, max_duration_minutes: int = 10080,
                 policy: Optional[_Policy] = None, estimator: Any = None, run_config: Any = None,
                 resume_from: Any = None, resume_child_runs: Any = None,
                 pipeline: Any = None, debug_flag: Any = None, custom_run_id: Optional[str] = None):
        if run_config is None:
            raise InvalidArgumentError("HyperDriveConfig needs run_config (a ScriptRunConfig); "
                                       "estimators are not supported")
        if not isinstance(hyperparameter_sampling, _Sampling):
            raise InvalidArgumentError("hyperparameter_sampling must be a RandomParameterSampling, "
                                       "GridParameterSampling or BayesianParameterSampling")
        if policy is not None and not isinstance(policy, _Policy):
            raise InvalidArgumentError("policy must be a BanditPolicy, MedianStoppingPolicy, "
                                       "TruncationSelectionPolicy or NoTerminationPolicy")
        if primary_metric_goal not in (PrimaryMetricGoal.MAXIMIZE, PrimaryMetricGoal.MINIMIZE):
            raise InvalidArgumentError("primary_metric_goal must be PrimaryMetricGoal.MAXIMIZE or "
                                       "PrimaryMetricGoal.MINIMIZE, got %r" % (primary_metric_goal,))
        if not isinstance(primary_metric_name, str) or not primary_metric_name:
            raise InvalidArgumentError("primary_metric_name must be a non-empty string")
        self._resume_from = _run_ids("resume_from", resume_from)
        self._resume_child_runs = _run_ids("resume_child_runs", resume_child_runs)
        self._run_config = run_config
        self._sampling = hyperparameter_sampling
        self._policy = policy
        self._metric = primary_metric_name
        self._goal = primary_metric_goal
        self._max_total = max_total_runs
        self._max_concurrent = max_concurrent_runs
        self._max_minutes = max_duration_minutes
        self._name = custom_run_id

    def _sweep_spec(self, experiment: Any, tags: Optional[Dict[str, Any]]):
        spec, input_trees = self._run_config._job_spec(experiment.name, tags, experiment.workspace)
        command = spec.pop("command")
        for name in self._sampling.parameter_space:
            command += " %s ${{search_space.%s}}" % (_argument(name), name)
        trial = {"command": command}
        for key in ("code", "environment", "environment_variables", "resources", "distribution"):
            if key in spec:
                trial[key] = spec.pop(key)
        sweep: Dict[str, Any] = dict(spec)
        sweep.update({
            "type": "sweep", "trial": trial,
            "search_space": self._sampling.parameter_space,
            "sampling_algorithm": self._sampling._algorithm(),
            "objective": {"primary_metric": self._metric, "goal": self._goal.lower()}})
        limits: Dict[str, Any] = {}
        if self._max_total is not None:
            limits["max_total_trials"] = self._max_total
        if self._max_concurrent is not None:
            limits["max_concurrent_trials"] = self._max_concurrent
        if self._max_minutes:
            limits["timeout"] = int(self._max_minutes) * 60
        sweep["limits"] = limits
        policy = self._policy._spec() if self._policy is not None else None
        if policy is not None:
            sweep["early_termination"] = policy
        if self._name:
            sweep["name"] = self._name
        if self._resume_from:
            sweep["resume_from"] = self._resume_from
        if self._resume_child_runs:
            sweep["resume_child_runs"] = self._resume_child_runs
        return sweep, input_trees

    def _gantry_submit(self, experiment: Any, tags: Optional[Dict[str, Any]]) -> "HyperDriveRun":
        """Experiment.submit's hook: upload the code, post the sweep, return its run."""
        spec, input_trees = self._sweep_spec(experiment, tags)
        root = self._run_config._check_source()
        client = experiment.workspace._client(timeout=600)
        stats = UploadStats()
        snapshot_id = upload_folder(client, root, stats)
        body = client.post(_paths.sweeps(), {"spec": spec, "snapshot_id": snapshot_id,
                                              "input_trees": input_trees})
        return HyperDriveRun._from_server(experiment, body, upload_stats=stats)


class HyperDriveRun(ScriptRun):
    """A submitted sweep: its trials are child runs; ``wait_for_completion(show_output=True)``
    streams the sweep's log (each trial started, ended, stopped, and the best)."""

    @property
    def type(self) -> str:
        return "hyperdrive"

    def _sweep(self) -> Dict[str, Any]:
        return self._client().get(_paths.sweep(self._id)) or {}

    def get_children(self, recursive: bool = False, tags: Any = None, properties: Any = None,
                     type: Optional[str] = None, status: Optional[str] = None,
                     _rehydrate_runs: bool = True) -> List[ScriptRun]:
        """The trials, oldest first (``status`` filters them)."""
        body = self._client().get(_paths.runs(), {"parent": self._id, "limit": 1000000}) or {}
        runs = [ScriptRun._from_server(self._experiment, d) for d in reversed(body.get("runs") or [])]
        return [r for r in runs if status is None or r._last.get("status") == status]

    def get_metrics(self, name: Optional[str] = None) -> Dict[str, Dict[str, Any]]:
        """``{trial id: its metrics}`` for every trial."""
        return {child.id: child.get_metrics(name) for child in self.get_children()}

    def get_hyperparameters(self) -> Dict[str, str]:
        """``{trial id: its values as a JSON string}``, as Azure ML gives them."""
        return {t["name"]: json.dumps(t.get("values") or {}) for t in self._sweep().get("trials") or []}

    def get_best_run_by_primary_metric(self, include_failed: bool = True,
                                       include_canceled: bool = True,
                                       include_resume_from_runs: bool = True) -> Optional[ScriptRun]:
        """The trial with the best final primary metric, or None when no trial logged it.
        ``include_resume_from_runs`` also weighs the trials of the sweeps this one
        warm-started from (``resume_from``)."""
        sweep = self._sweep()
        best = None
        goal = (sweep.get("primary_metric") or {}).get("goal", "maximize")
        trials = list(sweep.get("trials") or [])
        if include_resume_from_runs:
            trials += list(sweep.get("prior_trials") or [])
        for t in trials:
            value = t.get("primary_metric")
            if value is None:
                continue
            if not include_failed and t.get("status") == "Failed":
                continue
            if not include_canceled and t.get("status") == "Canceled":
                continue
            if best is None or (value > best[0] if goal == "maximize" else value < best[0]):
                best = (value, t["name"])
        if best is None:
            return None
        details = self._client().get(_paths.run(best[1])) or {}
        experiment = self._experiment
        if details.get("experiment_name") not in (None, experiment.name):
            experiment = type(experiment)(experiment.workspace, details["experiment_name"])
        return ScriptRun._from_server(experiment, details)

    def get_trials(self) -> List[Dict[str, Any]]:
        """The trials table: name, number, status, values, primary_metric, stopped_by_policy."""
        return list(self._sweep().get("trials") or [])
