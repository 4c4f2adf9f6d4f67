"""The seed walkthrough ("Train TensorFlow models at scale with Azure Machine Learning"),
step by step, on Gantry's local workspace. The code is the seed's, with Gantry's changes
marked CHANGED: the workspace config, the data (Fashion-MNIST from Debian, offline), a
PyTorch script instead of TensorFlow, and a curated PyTorch environment.

Run it through ./run.sh, which starts the workspace server and sets PYTHONPATH so that
`azureml.core` is Gantry's opt-in package.
"""
import argparse
import os
import sys
import time

import azureml
from azureml.core import Experiment
from azureml.core import Workspace, Run  # noqa: F401  (as imported in the seed)
from azureml.core import Environment

from azureml.core.compute import ComputeTarget, AmlCompute
from azureml.core.compute_target import ComputeTargetException

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist",
                    help="folder with the four MNIST-format .gz files")
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--limit", type=int, default=0, help="use only N images (quick tests)")
parser.add_argument("--model-dir", default="./model", help="where the model is downloaded")
opts = parser.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
script_folder = os.path.join(here, "src")
started = time.time()


def step(title):
    print("\n=== %s (%.1fs)" % (title, time.time() - started), flush=True)


step("Workspace.from_config()")
ws = Workspace.from_config()
print("Workspace %s at %s" % (ws.name, ws.url))

step("Create a file dataset")
from azureml.core.dataset import Dataset  # noqa: E402

# CHANGED: the seed downloads MNIST from yann.lecun.com; this machine is offline, so the same
# four file names come from Debian's dataset-fashion-mnist package, as file:// URLs.
web_paths = [
    "file://%s/train-images-idx3-ubyte.gz" % opts.data_dir,
    "file://%s/train-labels-idx1-ubyte.gz" % opts.data_dir,
    "file://%s/t10k-images-idx3-ubyte.gz" % opts.data_dir,
    "file://%s/t10k-labels-idx1-ubyte.gz" % opts.data_dir,
]
dataset = Dataset.File.from_files(path=web_paths)
dataset = dataset.register(workspace=ws,
                           name="mnist-dataset",
                           description="training and test dataset",
                           create_new_version=True)
print("Registered dataset %s version %s" % (dataset.name, dataset.version))
print(dataset.to_path())

step("Create a compute target")
cluster_name = "gpu-cluster"
try:
    compute_target = ComputeTarget(workspace=ws, name=cluster_name)
    print("Found existing compute target")
except ComputeTargetException:
    print("Creating a new compute target...")
    compute_config = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6",
                                                           max_nodes=4)
    compute_target = ComputeTarget.create(ws, cluster_name, compute_config)
    compute_target.wait_for_completion(show_output=True, min_node_count=None,
                                       timeout_in_minutes=20)

step("Define the environment")
# CHANGED: a curated environment that exists here: Debian's PyTorch.
curated_env_name = "Gantry-PyTorch-Debian"
env = Environment.get(workspace=ws, name=curated_env_name)
env.save_to_directory(path=curated_env_name, overwrite=True)  # as the seed does: ./NAME/
print("Using %s version %s" % (env.name, env.version))

step("Configure and submit the training run")
from azureml.core import ScriptRunConfig  # noqa: E402

args = ["--data-folder", dataset.as_mount(),
        "--batch-size", 64,
        "--first-layer-neurons", 256,
        "--second-layer-neurons", 128,
        "--learning-rate", 0.01,
        "--epochs", opts.epochs]
if opts.limit:
    args += ["--limit", opts.limit]

src = ScriptRunConfig(source_directory=script_folder,
                      script="train.py",  # CHANGED: tf_mnist.py
                      arguments=args,
                      compute_target=compute_target,
                      environment=env)

run = Experiment(workspace=ws, name="Tutorial-PyTorch-Mnist").submit(src)
run.wait_for_completion(show_output=True)

metrics = run.get_metrics()
accuracy = metrics.get("final_accuracy")
print("Test accuracy: %s" % accuracy)

step("Register the model")
from azureml.core import Model  # noqa: E402
from azureml.core.resource_configuration import ResourceConfiguration  # noqa: E402

import torch  # noqa: E402  (for its version; it is Debian's python3-torch)

model = run.register_model(model_name="pytorch-mnist",
                           model_path="outputs/model",
                           model_framework=Model.Framework.PYTORCH,
                           model_framework_version=torch.__version__.split("+")[0],
                           resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
                           properties={"accuracy": str(accuracy)},
                           datasets=[("training data", dataset)])
print("Registered model %s version %s" % (model.name, model.version))

step("Download the model")
os.makedirs(opts.model_dir, exist_ok=True)
# CHANGED: overwrite=True, so that running the walkthrough again replaces the model files of
# the previous run (Gantry's downloads never overwrite a file unless asked).
run.download_files(prefix="outputs/model", output_directory=opts.model_dir, append_prefix=False,
                   overwrite=True)
print("Model files in %s: %s" % (os.path.abspath(opts.model_dir), sorted(os.listdir(opts.model_dir))))

step("Deploy the model as a web service")
# The seed's no-code deployment: the model was registered with its framework, framework
# version and resource configuration, so it deploys without a scoring script.
# CHANGED: the service's name (a PyTorch model) and overwrite=True, so that running the
# walkthrough again updates the service to the new model version.
service = Model.deploy(ws, "pytorch-web-service", [model], overwrite=True)
service.wait_for_deployment(show_output=True)
print("Service %s is %s at %s" % (service.name, service.state, service.scoring_uri))

step("Score the test images through the web service")
import gzip  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402  (Debian's python3-numpy, as in training)


def read_idx(path, limit):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    return arr[:limit] if limit else arr


# The same test images (and pixel scaling) that training evaluated.
images = read_idx(os.path.join(opts.data_dir, "t10k-images-idx3-ubyte.gz"), opts.limit)
labels = read_idx(os.path.join(opts.data_dir, "t10k-labels-idx1-ubyte.gz"), opts.limit)
pixels = images.reshape(len(images), 784).astype(np.float32) / 255.0
correct = 0
scored_at = time.time()
for start in range(0, len(labels), 500):
    batch = pixels[start:start + 500]
    # float32 -> shortest repr that reads back as the same float32
    body = '{"data": [%s]}' % ",".join(
        "[%s]" % ",".join(map(repr, row.tolist())) for row in batch)
    scores = service.run(body)
    predicted = np.argmax(np.asarray(scores), axis=1)
    correct += int((predicted == labels[start:start + 500]).sum())
service_accuracy = correct / len(labels)
print("The web service scored %d test images in %.1fs: accuracy %.4f (training reported %.4f)"
      % (len(labels), time.time() - scored_at, service_accuracy, accuracy))

step("Done")
print("Test accuracy %s; model %s:%s; downloaded to %s; served at %s with accuracy %.4f" % (
    accuracy, model.name, model.version, os.path.abspath(opts.model_dir), service.scoring_uri,
    service_accuracy))
ok = run.get_status() == "Completed" and abs(service_accuracy - accuracy) < 1e-6
sys.exit(0 if ok else 1)
