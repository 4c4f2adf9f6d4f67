"""Sweeps (issue 12) through the CLI and the SDK: trials as child runs, early termination on
every metric point, cancel, failures, bad input, and a sweep that outlives kill -9 of its
server."""
import html
import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from conftest import Server, python_of_test_venv, wait_until

# A trial: logs `accuracy` per epoch. Batch size 64 is the good one (peak 0.9); the others
# (peak 0.5) log one epoch and then keep "training" until stopped, so only the policy (or a
# cancel) ends them. With --hold-until FILE every trial first waits for FILE.
TRAIN = '''
import argparse, os, sys, time
from azureml.core import Run
p = argparse.ArgumentParser()
p.add_argument("--batch-size", type=int)
p.add_argument("--learning-rate", type=float, default=0.01)
p.add_argument("--hold-until", default="")
p.add_argument("--fail", action="store_true")
a = p.parse_args()
run = Run.get_context()
if a.fail:
    sys.exit("this trial fails on purpose")
while a.hold_until and not os.path.exists(a.hold_until):
    time.sleep(0.02)
peak = 0.9 if a.batch_size == 64 else 0.5
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write("batch %s env %s\\n" % (a.batch_size, os.environ.get("AZUREML_SWEEP_batch_size")))
for epoch in range(1, 5):
    run.log("accuracy", peak * (1 - 0.5 ** epoch))
    run.flush()
    if peak < 0.9:
        for _ in range(30000):  # about ten minutes at most: the policy stops it first
            time.sleep(0.02)
print("trained with batch size", a.batch_size)
'''


def write_sweep(folder: Path, body: str, name="sweep.yml") -> Path:
    src = folder / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "train.py").write_text(TRAIN)
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


GRID = """
type: sweep
experiment_name: tune
trial:
  code: src
  command: python train.py --batch-size ${{{{search_space.batch_size}}}} {extra}
search_space:
  batch_size: {{type: choice, values: [64, 16, 32]}}
sampling_algorithm: grid
objective: {{primary_metric: {metric}, goal: maximize}}
{policy}
limits: {{max_total_trials: {total}, max_concurrent_trials: {concurrent}}}
"""


def grid(extra="", metric="accuracy", total=3, concurrent=1,
         policy="early_termination: {type: bandit, slack_factor: 0.1}"):
    return GRID.format(extra=extra, metric=metric, total=total, concurrent=concurrent, policy=policy)


def submit(server, path):
    p = server.cli("job", "create", "--file", str(path), check=True)
    line = [l for l in p.stdout.splitlines() if l.startswith("Submitted sweep ")][0]
    return line.split()[2]


def sweep_view(server, name):
    status, body = server.request("GET", f"/api/v1/sweeps/{name}")
    assert status == 200, body
    return body


def test_bandit_stops_the_trials_it_must(server, tmp_path):
    name = submit(server, write_sweep(tmp_path, grid()))
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run["error"]
    sweep = sweep_view(server, name)
    trials = {t["name"]: t for t in sweep["trials"]}
    assert list(trials) == [f"{name}_0", f"{name}_1", f"{name}_2"]
    assert [t["values"]["batch_size"] for t in sweep["trials"]] == [64, 16, 32]  # grid order
    good = trials[f"{name}_0"]
    assert good["status"] == "Completed" and good["stopped_by_policy"] is None
    assert good["intervals"] == 4
    for bad in (trials[f"{name}_1"], trials[f"{name}_2"]):
        assert bad["status"] == "Canceled", bad
        why = bad["stopped_by_policy"]
        # Interval 1: best 0.45 (trial 0), threshold 0.45 / 1.1; the trial had 0.25.
        assert why["policy"] == "bandit" and why["interval"] == 1
        assert why["value"] == pytest.approx(0.25)
        assert why["threshold"] == pytest.approx(0.45 / 1.1)
        assert "slack_factor 0.1" in why["reason"]
    assert sweep["best_child_run_id"] == f"{name}_0"
    assert sweep["score"] == pytest.approx(0.9 * (1 - 0.5 ** 4))
    assert sweep["best_values"] == {"batch_size": 64}
    assert sweep["space_size"] == "3"
    # Children are runs of their own, listed under the sweep and not at the top level.
    status, top = server.request("GET", "/api/v1/runs")
    assert [r["name"] for r in top["runs"]] == [name]
    status, children = server.request("GET", f"/api/v1/runs?parent={name}")
    assert sorted(r["name"] for r in children["runs"]) == sorted(trials)
    # The CLI's views.
    show = server.cli("job", "show", "-n", name, check=True).stdout
    assert f"Best trial:   {name}_0" in show and "batch_size=64" in show
    assert "grid" in show and "maximize accuracy" in show
    listed = server.cli("job", "list", "--parent", name, check=True).stdout
    assert f"{name}_1" in listed and "Canceled*" in listed and "bandit policy at interval 1" in listed
    # The sweep's outputs are its best trial's, with the value it got as a variable too.
    out = tmp_path / "dl"
    p = server.cli("job", "download", "-n", name, "--download-path", str(out), check=True)
    assert f"best trial, {name}_0" in p.stdout
    assert (out / "artifacts" / "outputs" / "model.txt").read_text() == "batch 64 env 64\n"
    # The sweep's log tells the story.
    log = server.request("GET", f"/api/v1/runs/{name}/logs/std_log.txt")[1].decode()
    assert f"trial {name}_1 stopped: bandit policy at interval 1" in log
    assert f"best trial: {name}_0" in log


def test_failing_trials_and_a_metric_nobody_logs(server, tmp_path):
    failing = submit(server, write_sweep(tmp_path, grid(extra="--fail", policy=""), "f.yml"))
    run = server.wait_terminal(failing)
    assert run["status"] == "Failed"
    assert run["error"].startswith(f"every trial failed; the first: {failing}_0:")
    trials = sweep_view(server, failing)["trials"]
    assert [t["status"] for t in trials] == ["Failed"] * 3  # each counted against the budget
    assert all(t["error"] for t in trials)

    silent = submit(server, write_sweep(tmp_path / "s", grid(metric="val_loss", total=1, policy=""), "s.yml"))
    run = server.wait_terminal(silent)
    assert run["status"] == "Failed"
    assert "no trial logged the primary metric 'val_loss'" in run["error"]


@pytest.mark.parametrize("change, message", [
    ("search_space:\n  batch_size: {type: uniform, min_value: 5, max_value: 1}\n",
     "search_space.batch_size: min_value (5) must be below max_value (1)"),
    ("search_space:\n  batch_size: {type: uniform, min_value: 1, max_value: 5}\n",
     "search_space.batch_size: grid sampling supports only choice"),
    ("sampling_algorithm: bayesian\n",
     "early_termination: bayesian sampling does not support an early termination policy"),
    ("limits: {max_total_trials: 2, max_concurrent_trials: 3}\n",
     "limits.max_concurrent_trials (3) must not exceed limits.max_total_trials (2)"),
    ("trial:\n  code: src\n  command: python train.py --batch-size ${{search_space.bs}}\n",
     "'${{search_space.bs}}', but the search_space has no 'bs' (it has batch_size)"),
])
def test_bad_sweeps_are_refused_before_anything_runs(server, tmp_path, change, message):
    path = write_sweep(tmp_path, yaml_replace(textwrap.dedent(grid()), change))
    p = server.cli("job", "create", "--file", str(path))
    assert p.returncode != 0
    assert message in p.stderr, p.stderr
    status, runs = server.request("GET", "/api/v1/runs?include_children=true")
    assert runs["runs"] == []  # nothing was created


def yaml_replace(text: str, change: str) -> str:
    """Replaces the top-level key that `change` sets (a small YAML file of flat sections)."""
    key = change.split(":", 1)[0]
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(key + ":"):
            skipping = True
            out.append(change)
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "".join(out)


HOLD = """
type: sweep
trial:
  code: src
  command: python train.py --batch-size ${{{{search_space.batch_size}}}} --hold-until {gate}
search_space:
  batch_size: {{type: choice, values: [64]}}
  learning_rate: {{type: uniform, min_value: 0.001, max_value: 0.1}}
sampling_algorithm: {{type: random, seed: 3}}
objective: {{primary_metric: accuracy, goal: maximize}}
limits: {{max_total_trials: {total}, max_concurrent_trials: {concurrent}}}
"""


def active_trials(server, name):
    return [t for t in sweep_view(server, name)["trials"] if t["status"] == "Running"]


def test_cancel_stops_the_sweep_and_its_running_trials(server, tmp_path):
    gate = tmp_path / "never"
    name = submit(server, write_sweep(tmp_path, HOLD.format(gate=gate, total=5, concurrent=2)))
    wait_until(lambda: len(active_trials(server, name)) == 2, "two running trials")
    p = server.cli("job", "cancel", "-n", name, check=True)
    assert "CancelRequested" in p.stdout
    run = server.wait_terminal(name)
    assert run["status"] == "Canceled"
    trials = sweep_view(server, name)["trials"]
    assert len(trials) == 2  # no trial started after the cancel
    for t in trials:
        assert t["status"] == "Canceled"
        trial_run = server.run(t["name"])
        assert any(f"the sweep {name} was canceled" in e["detail"] for e in trial_run["status_history"])


def test_sweep_resumes_after_kill9_of_the_server(tmp_path):
    server = Server(tmp_path / "ws").start()
    try:
        gate = tmp_path / "gate"
        name = submit(server, write_sweep(tmp_path, HOLD.format(gate=gate, total=3, concurrent=1)))
        wait_until(lambda: len(active_trials(server, name)) == 1, "the first trial running")
        seed = server.run(name)["properties"]["sampler_seed"]
        server.kill9()
        gate.write_text("go")
        server.start()
        run = server.wait_terminal(name)
        assert run["status"] == "Completed", run["error"]
        sweep = sweep_view(server, name)
        assert [t["status"] for t in sweep["trials"]] == ["Completed"] * 3
        assert [t["number"] for t in sweep["trials"]] == [0, 1, 2]
        assert run["properties"]["sampler_seed"] == seed == "3"
        # Replayable: the values follow from the seed, so they differ per trial and are kept.
        rates = [t["values"]["learning_rate"] for t in sweep["trials"]]
        assert len(set(rates)) == 3
    finally:
        server.stop()


def test_hyperdrive_as_the_notebook_writes_it(server, tmp_path, project_ws, capsys, monkeypatch):
    from azureml.core import Experiment, ScriptRunConfig
    from azureml.train.hyperdrive import (BanditPolicy, HyperDriveConfig, PrimaryMetricGoal,
                                          RandomParameterSampling, choice, loguniform)
    from azureml.widgets import RunDetails
    src_dir = tmp_path / "project" / "src"
    src_dir.mkdir(parents=True)
    (src_dir / "train.py").write_text(TRAIN)
    src = ScriptRunConfig(source_directory=str(src_dir), script="train.py")
    ps = RandomParameterSampling({"--batch-size": choice(64, 16),
                                  "--learning-rate": loguniform(-6, -1)}, properties={"seed": 11})
    htc = HyperDriveConfig(run_config=src, hyperparameter_sampling=ps,
                           policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1),
                           primary_metric_name="accuracy",
                           primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                           max_total_runs=4, max_concurrent_runs=1)
    exp = Experiment(project_ws, "hd")
    htr = exp.submit(config=htc)
    assert type(htr).__name__ == "HyperDriveRun"
    htr.wait_for_completion(show_output=True)
    assert htr.get_status() == "Completed"
    children = htr.get_children()
    assert len(children) == 4
    hyper = htr.get_hyperparameters()
    assert set(json.loads(hyper[children[0].id])) == {"--batch-size", "--learning-rate"}
    metrics = htr.get_metrics()
    assert set(metrics) == {c.id for c in children}
    best = htr.get_best_run_by_primary_metric()
    assert json.loads(hyper[best.id])["--batch-size"] == 64
    arguments = best.get_details()["runDefinition"]["arguments"]  # as the notebook prints it
    assert arguments[arguments.index("--batch-size") + 1] == "64"
    assert children[0].status in ("Completed", "Canceled")
    assert best.get_metrics()["accuracy"][-1] == pytest.approx(0.9 * (1 - 0.5 ** 4))
    model = best.register_model(model_name="swept", model_path="outputs/model.txt",
                                model_framework="Custom")
    assert model.version == 1
    best.download_files(prefix="outputs", output_directory=str(tmp_path / "best"))
    assert (tmp_path / "best" / "outputs" / "model.txt").read_text() == "batch 64 env 64\n"
    # Experiment.get_runs shows the sweep itself, as a HyperDriveRun.
    assert [type(r).__name__ for r in exp.get_runs()] == ["HyperDriveRun"]
    # RunDetails in a terminal: a line per trial with its values and score, then the best.
    capsys.readouterr()
    RunDetails(htr).show()
    followed = capsys.readouterr().out
    for child in children:
        assert "  trial %s  " % child.id in followed
    assert "  trial %s  Completed  accuracy=0.84375  {--batch-size=64, --learning-rate=" % best.id in followed
    assert followed.endswith("Best trial: %s (accuracy 0.84375)\n" % best.id)
    # ... and in Jupyter, the trials table: values, status, score, why a policy stopped it.
    shown = []
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    display_module = types.ModuleType("IPython.display")
    display_module.display = lambda obj, display_id=None: shown.append(obj.data)
    display_module.HTML = lambda data: types.SimpleNamespace(data=data)
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    RunDetails(htr).show()
    [table] = shown
    assert '<table class="gantry-trials">' in table and "<th>--learning-rate</th>" in table
    assert '<tr style="font-weight:bold"><td>%s</td><td>Completed</td><td>64</td>' % best.id in table
    stopped = [t for t in htr.get_trials() if t["status"] == "Canceled"]
    for t in stopped:
        assert "<td>%s</td><td>Canceled</td>" % t["name"] in table
        assert html.escape(t["stopped_by_policy"]["reason"]) in table
    assert "Best trial</th><td style=\"text-align:left\">%s (accuracy 0.84375)" % best.id in table


def test_an_outside_optimiser_drives_an_external_sweep(server, tmp_path):
    gate = tmp_path / "gate"
    yml = HOLD.format(gate=gate, total=3, concurrent=2).replace(
        "sampling_algorithm: {type: random, seed: 3}", "sampling_algorithm: external")
    name = submit(server, write_sweep(tmp_path, yml))
    assert sweep_view(server, name)["trials"] == []  # it starts nothing by itself
    ask = f"/api/v1/sweeps/{name}/ask"
    status, body = server.request("POST", ask, {})
    assert status == 400 and "field 'values' is required" in body["error"]["message"]
    status, body = server.request("POST", ask, {"values": {"batch_size": 64, "learning_rate": 7}})
    assert status == 400 and "values.learning_rate" in body["error"]["message"]
    first = server.request("POST", ask, {"values": {"batch_size": 64, "learning_rate": 0.01}})
    assert first[0] == 201 and first[1]["trial"] == f"{name}_0"
    second = server.request("POST", ask, {"values": {"batch_size": 64, "learning_rate": 0.05}})
    assert second[0] == 201 and second[1]["number"] == 1
    status, body = server.request("POST", ask, {"values": {"batch_size": 64, "learning_rate": 0.02}})
    assert status == 409 and "max_concurrent_trials" in body["error"]["message"]
    # The optimiser prunes trial 1.
    status, run = server.request("POST", f"/api/v1/sweeps/{name}/tell",
                                 {"trial": f"{name}_1", "reason": "optuna pruned it"})
    assert status == 200 and run["status"] in ("CancelRequested", "Canceled")
    status, body = server.request("POST", f"/api/v1/sweeps/{name}/tell", {"trial": "elsewhere"})
    assert status == 404
    server.wait_terminal(f"{name}_1")
    third = server.request("POST", ask, {"values": {"batch_size": 64, "learning_rate": 0.02}})
    assert third[0] == 201 and third[1]["trial"] == f"{name}_2"
    status, body = server.request("POST", ask, {"values": {"batch_size": 64, "learning_rate": 0.03}})
    assert status == 412 and "limits.max_total_trials" in body["error"]["message"]
    gate.write_text("go")
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run["error"]
    trials = sweep_view(server, name)["trials"]
    assert [t["status"] for t in trials] == ["Completed", "Canceled", "Completed"]
    assert trials[1]["stopped_by_policy"]["policy"] == "external"
    assert "optuna pruned it" in trials[1]["stopped_by_policy"]["reason"]
    assert [t["values"]["learning_rate"] for t in trials] == [0.01, 0.05, 0.02]


# Real Optuna (from the test venv) as the outside optimiser: it samples x, has Gantry run each
# trial through ask, reads the trial's score from Gantry and tells its own study.
OPTUNA_DRIVER = r'''
import json, sys, urllib.request
import optuna
url, token, sweep = sys.argv[1:4]

def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())

def wait_end(run):
    since, offset = 0, 0
    for _ in range(120):  # long polls of up to 5 s, each answered by news or the end
        ev = call("GET", "/api/v1/runs/%s/events?since=%d&offset=%d&wait_ms=5000"
                  % (run, since, offset))
        since, offset = ev["next"], ev["offset"]
        if ev["terminal"]:
            return call("GET", "/api/v1/runs/" + run)
    raise SystemExit("trial %s never ended" % run)

optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=7))
space = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
told = []
for _ in range(4):
    trial = study.ask(space)
    started = call("POST", "/api/v1/sweeps/%s/ask" % sweep, {"values": trial.params})
    run = wait_end(started["trial"])
    assert run["status"] == "Completed", run
    score = call("GET", "/api/v1/runs/%s/metrics" % started["trial"])
    value = score["metrics"]["score"][-1]["value"]
    study.tell(trial, value)
    told.append({"trial": started["trial"], "x": trial.params["x"], "value": value})
best = study.best_trial.number
print(json.dumps({"told": told, "best": told[best]["trial"]}))
'''

QUADRATIC = '''
import argparse
from azureml.core import Run
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
a = p.parse_args()
Run.get_context().log("score", -(a.x - 0.3) ** 2)
'''


def test_optuna_drives_an_external_sweep_through_ask_and_tell(server, tmp_path):
    path = write_sweep(tmp_path, """
        type: sweep
        trial:
          code: src
          command: python quadratic.py --x ${{search_space.x}}
        search_space:
          x: {type: uniform, min_value: 0.0, max_value: 1.0}
        sampling_algorithm: external
        objective: {primary_metric: score, goal: maximize}
        limits: {max_total_trials: 4, max_concurrent_trials: 1}
        """)
    (tmp_path / "src" / "quadratic.py").write_text(QUADRATIC)
    name = submit(server, path)
    driver = tmp_path / "driver.py"
    driver.write_text(OPTUNA_DRIVER)
    p = subprocess.run([str(python_of_test_venv()), str(driver), server.url, server.token, name],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run["error"]
    sweep = sweep_view(server, name)
    # Gantry ran exactly what Optuna asked for, and what Optuna was told is what Gantry stored.
    assert [t["name"] for t in sweep["trials"]] == [t["trial"] for t in result["told"]]
    assert [t["values"]["x"] for t in sweep["trials"]] == pytest.approx([t["x"] for t in result["told"]])
    assert [t["primary_metric"] for t in sweep["trials"]] == pytest.approx(
        [t["value"] for t in result["told"]])
    # Optuna's best trial is the sweep's best.
    assert sweep["best_child_run_id"] == result["best"]


@pytest.mark.parametrize("spec, message", [
    ({"trial": {"command": "python t.py ${{search_space.x}}"},
      "search_space": {"x": {"type": "uniform", "min_value": 5, "max_value": 1}},
      "objective": {"primary_metric": "acc", "goal": "maximize"}},
     "search_space.x: min_value (5) must be below max_value (1)"),
    ({"trial": {"command": "python t.py"}, "search_space": {"x": {"type": "choice", "values": [1]}},
      "objective": {"primary_metric": "acc", "goal": "upwards"}}, "objective.goal"),
    ({"trial": {"command": "python t.py"}, "search_space": {"x": {"type": "choice", "values": [1]}},
      "objective": {"primary_metric": "acc", "goal": "maximize"},
      "limits": {"max_total_trials": "many"}}, "limits.max_total_trials"),
    ("not a mapping", "a sweep job must be a mapping"),
])
def test_the_rest_api_refuses_a_bad_sweep_naming_the_field(server, spec, message):
    status, body = server.request("POST", "/api/v1/sweeps", {"spec": spec})
    assert status == 400 and message in body["error"]["message"], body
    status, runs = server.request("GET", "/api/v1/runs?include_children=true")
    assert runs["runs"] == []


# A trial that checkpoints: outputs/checkpoint holds the last epoch done. Batch size 64 peaks
# at 0.9; the others (0.5) wait after each epoch until stopped, unless they resume from a
# checkpoint, when they train to the end. --resume-from is where Azure (and Gantry) put the
# resumed trial's earlier outputs.
CHECKPOINTING = '''
import argparse, os, time
from azureml.core import Run
p = argparse.ArgumentParser()
p.add_argument("--batch-size", type=int)
p.add_argument("--resume-from", default=None)
a = p.parse_args()
run = Run.get_context()
start = 0
if a.resume_from:
    start = int(open(os.path.join(a.resume_from, "checkpoint")).read())
    print("Resuming from epoch", start, flush=True)
peak = 0.9 if a.batch_size == 64 else 0.5
os.makedirs("outputs/model", exist_ok=True)
open("outputs/model/weights.txt", "w").write("batch %d" % a.batch_size)
for epoch in range(start + 1, 5):
    open("outputs/checkpoint", "w").write(str(epoch))
    run.log("accuracy", peak * (1 - 0.5 ** epoch))
    run.flush()
    if peak < 0.9 and not a.resume_from:
        for _ in range(30000):  # about ten minutes at most: a cancel or a policy stops it first
            time.sleep(0.02)
'''


def test_warm_start_and_resumed_trials_as_the_notebook_writes_them(server, tmp_path, project_ws):
    from azureml.core import Experiment, ScriptRunConfig
    from azureml.train.hyperdrive import (BanditPolicy, GridParameterSampling, HyperDriveConfig,
                                          PrimaryMetricGoal, RandomParameterSampling, choice)
    src_dir = tmp_path / "project" / "src"
    src_dir.mkdir(parents=True)
    (src_dir / "train.py").write_text(CHECKPOINTING)
    src = ScriptRunConfig(source_directory=str(src_dir), script="train.py")
    exp = Experiment(project_ws, "warm")
    # A first sweep: batch 64 completes; batch 16 is canceled after its first epoch.
    htr = exp.submit(config=HyperDriveConfig(
        run_config=src, hyperparameter_sampling=GridParameterSampling({"--batch-size": choice(64, 16)}),
        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2, max_concurrent_runs=2))
    slow = wait_until(lambda: [c for c in htr.get_children()
                               if json.loads(htr.get_hyperparameters().get(c.id, "{}")) == {"--batch-size": 16}
                               and "accuracy" in c.get_metrics()], "the batch-16 trial's first epoch")[0]
    slow.cancel()
    htr.wait_for_completion(show_output=True)
    assert htr.get_status() == "Completed"

    # Warm start: the new sweep samples only the poor batch sizes; alone, its first trial
    # would be its own best and never stopped, but the earlier sweep's 0.45 at interval 1
    # condemns it (0.25 < 0.45 / 1.1).
    warm_start_parents_to_resume_from = [htr]
    warm_start_htc = HyperDriveConfig(run_config=src,
                                      hyperparameter_sampling=RandomParameterSampling(
                                          {"--batch-size": choice(16, 32)}),
                                      policy=BanditPolicy(evaluation_interval=1, slack_factor=0.1),
                                      resume_from=warm_start_parents_to_resume_from,
                                      primary_metric_name="accuracy",
                                      primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                                      max_total_runs=2, max_concurrent_runs=1)
    warm_start_htr = exp.submit(config=warm_start_htc)
    warm_start_htr.wait_for_completion(show_output=True)
    assert warm_start_htr.get_status() == "Completed"
    trials = warm_start_htr.get_trials()
    assert [t["status"] for t in trials] == ["Canceled", "Canceled"]
    for t in trials:
        why = t["stopped_by_policy"]
        assert why["policy"] == "bandit" and why["interval"] == 1
        assert why["threshold"] == pytest.approx(0.45 / 1.1)
    # The best run weighs the earlier sweep's trials, unless told not to.
    best = warm_start_htr.get_best_run_by_primary_metric()
    assert best.id in {c.id for c in htr.get_children()} and best.get_metrics()["accuracy"][-1] == 0.9 * (1 - 0.5 ** 4)
    own = warm_start_htr.get_best_run_by_primary_metric(include_resume_from_runs=False)
    assert own.id in {t["name"] for t in trials}
    view = sweep_view(server, warm_start_htr.id)
    assert view["resume_from"] == [htr.id]
    assert sorted(t["name"] for t in view["prior_trials"]) == sorted(c.id for c in htr.get_children())
    show = server.cli("job", "show", "-n", warm_start_htr.id, check=True).stdout
    assert f"Warm start:   from {htr.id} (2 earlier trials)" in show

    # Resuming the canceled trial: same values, its checkpoint as --resume-from.
    cancelled_child_runs = []
    for child_run in htr.get_children():
        if child_run.status == "Canceled":
            cancelled_child_runs.append(child_run)
    assert [c.id for c in cancelled_child_runs] == [slow.id]
    resume_child_runs_htc = HyperDriveConfig(run_config=src,
                                             hyperparameter_sampling=GridParameterSampling(
                                                 {"--batch-size": choice(64, 16)}),
                                             resume_child_runs=[cancelled_child_runs[0]],
                                             primary_metric_name="accuracy",
                                             primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                                             max_total_runs=1, max_concurrent_runs=1)
    resume_child_runs_htr = exp.submit(config=resume_child_runs_htc)
    resume_child_runs_htr.wait_for_completion(show_output=True)
    assert resume_child_runs_htr.get_status() == "Completed"
    [resumed] = resume_child_runs_htr.get_children()
    assert resumed.status == "Completed"
    assert json.loads(resume_child_runs_htr.get_hyperparameters()[resumed.id]) == {"--batch-size": 16}
    assert resume_child_runs_htr.get_trials()[0]["resumed_from"] == slow.id
    listed = server.cli("job", "list", "--parent", resume_child_runs_htr.id, check=True).stdout
    assert f"(resumes {slow.id})" in listed
    # It went on from epoch 1: epochs 2, 3 and 4 only.
    assert resumed.get_metrics()["accuracy"] == pytest.approx([0.5 * (1 - 0.5 ** e) for e in (2, 3, 4)])
    log = server.request("GET", f"/api/v1/runs/{resumed.id}/logs/std_log.txt")[1].decode()
    assert "Resuming from epoch 1" in log
    best_resume_child_run = resume_child_runs_htr.get_best_run_by_primary_metric()
    model = best_resume_child_run.register_model(model_name="tf-dnn-mnist-resumed",
                                                 model_path="outputs/model")
    assert model.version == 1

    # Bad warm starts are refused naming the entry, before anything runs.
    from gantry.errors import InvalidArgumentError, NotFoundError
    with pytest.raises(NotFoundError, match=r"resume_from\[0\]: no run named 'nope'"):
        exp.submit(config=HyperDriveConfig(run_config=src, hyperparameter_sampling=RandomParameterSampling(
            {"--batch-size": choice(16, 32)}), resume_from=["nope"], primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_total_runs=1))
    with pytest.raises(InvalidArgumentError, match=r"resume_from\[0\]: sweep '.*' sweeps --batch-size, this one --lr"):
        exp.submit(config=HyperDriveConfig(run_config=src, hyperparameter_sampling=RandomParameterSampling(
            {"--lr": choice(1, 2)}), resume_from=[htr], primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_total_runs=1))
    with pytest.raises(InvalidArgumentError, match=r"resume_child_runs\[0\]: run '.*' is not a trial"):
        exp.submit(config=HyperDriveConfig(run_config=src, hyperparameter_sampling=RandomParameterSampling(
            {"--batch-size": choice(16, 32)}), resume_child_runs=[htr], primary_metric_name="accuracy",
            primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_total_runs=1))
    assert len(list(exp.get_runs())) == 3  # the refused ones created nothing
