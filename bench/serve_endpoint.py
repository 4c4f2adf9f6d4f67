"""Serving through an online endpoint, with and without its key: what the scoring route's
credential check costs. One MNIST-shaped TorchScript DNN (784->256->128->10; examples/mnist's
trained model when it is there, else the same architecture with random weights, which
serves at the same speed) is deployed twice on one workspace server: behind an endpoint with
`auth_mode: key`, scored with `Authorization: Bearer KEY`, and behind one with
`auth_mode: none`. Beside them, the same model in a bare `gantry serve` (no workspace hop).
wrk posts one 784-float instance (TF Serving :predict through the endpoint); BENCH_ROUNDS
rounds (default 3), interleaved; each row's median."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GANTRY, ROOT, GantryServer  # noqa: E402
from serve_throughput import measure, post_lua, wait_up  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))

MAKE_DNN = r'''
import json, sys, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                          torch.nn.ReLU(), torch.nn.Linear(128, 10)).eval()
torch.jit.script(net).save(sys.argv[1] + "/model.pt")
json.dump({"inputs": [{"name": "input", "shape": [-1, 784]}],
           "outputs": [{"name": "logits", "shape": [-1, 10]}]}, open(sys.argv[1] + "/model.json", "w"))
'''


def model_dir(tmp):
    trained = ROOT / "examples/mnist/model"
    if (trained / "model.pt").exists():
        return trained, "examples/mnist/model (trained)"
    model = tmp / "dnn"
    model.mkdir()
    script = tmp / "make_dnn.py"  # TorchScript reads the source, so not `-c`
    script.write_text(MAKE_DNN)
    subprocess.run(["/usr/bin/python3", str(script), str(model)], check=True)
    return model, "784-256-128-10 DNN, random weights"


def deploy(server, tmp, model_name, endpoint, auth_mode):
    server.cli("online-endpoint", "create", "--name", endpoint, "--auth-mode", auth_mode)
    yml = tmp / f"{endpoint}.yml"
    yml.write_text(f"name: blue\nendpoint_name: {endpoint}\nmodel: azureml:{model_name}:1\n"
                   "instance_type: Standard_DS2_v2\ninstance_count: 1\n")
    server.cli("online-deployment", "create", "--file", str(yml), "--all-traffic")
    ep = json.loads(server.cli("online-endpoint", "show", "--name", endpoint, "--output", "json").stdout)
    base = ep["scoring_uri"].rsplit("/score", 1)[0]
    key = None
    if auth_mode == "key":
        key = json.loads(server.cli("online-endpoint", "get-credentials", "--name", endpoint).stdout)["primaryKey"]
    return base + "/v1/models/" + model_name + ":predict", key


def main():
    tmp = Path(tempfile.mkdtemp(prefix="gantry-bench-endpoint-"))
    procs = []
    server = None
    try:
        model, what = model_dir(tmp)
        body = '{"instances": [[' + ",".join(["0.5"] * 784) + "]]}"
        server = GantryServer()
        server.cli("model", "create", "--name", "mnist", "--path", str(model), "--framework", "PyTorch")
        keyed_url, key = deploy(server, tmp, "mnist", "mnist-key", "key")
        open_url, _ = deploy(server, tmp, "mnist", "mnist-open", "none")
        keyed_lua = post_lua(tmp, "keyed", body, {"Authorization": "Bearer " + key})
        open_lua = post_lua(tmp, "open", body)
        # The keyed endpoint refuses the request without its key: the check is really on.
        no_key = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                 "-H", "Content-Type: application/json", "--data", body, keyed_url],
                                capture_output=True, text=True).stdout
        if no_key != "401":
            sys.exit(f"the keyed endpoint answered {no_key} without a key, not 401")

        p = subprocess.Popen([GANTRY, "serve", "--model", str(model), "--name", "mnist", "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(p)
        direct_url = p.stdout.readline().strip().split()[-1] + "/v1/models/mnist:predict"
        wait_up(direct_url, body.encode())  # the deployments serve once `create` returns
        rows = [("endpoint, auth_mode key (Bearer)", keyed_url, keyed_lua),
                ("endpoint, auth_mode none", open_url, open_lua),
                ("gantry serve, no workspace hop", direct_url, open_lua)]
        runs = {}
        for _ in range(ROUNDS):
            for label, url, lua in rows:
                runs.setdefault(label, []).append(measure(url, lua))
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    med = {label: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
           for label, v in runs.items()}
    keyed, open_ = med[rows[0][0]], med[rows[1][0]]
    print(f"{what}; one 784-float instance per request (TF Serving :predict), median of {ROUNDS} rounds")
    print(f"{'':36}{'req/s @32':>12}{'p50 @1 (us)':>14}")
    for label, (rps, p50) in med.items():
        print(f"{label:36}{rps:>12,.0f}{p50:>14,.0f}")
    print(f"key / none: {keyed[0] / open_[0]:.2f}x the requests/s, p50 {keyed[1] - open_[1]:+.0f} us")
    print("rounds (req/s @32 / p50 @1 us):")
    for label, v in runs.items():
        print(f"  {label:36}" + "  ".join(f"{r:>7,.0f} /{p:>6,.0f}" for r, p in v))


if __name__ == "__main__":
    main()
