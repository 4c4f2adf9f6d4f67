"""The seed walkthrough, "Train and deploy TensorFlow models at scale with Azure Machine
Learning", step by step on Gantry's local workspace. The code is the seed's; what Gantry
changes is marked CHANGED: the workspace config, the data (Fashion-MNIST from Debian,
offline), and a few arguments the seed leaves to the notebook around it.

Run it through ./run.sh, which starts the workspace server and sets PYTHONPATH so that
`azureml.core` is Gantry's SDK.
"""
import argparse
import gzip
import json
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


step("Initialize a workspace")
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
# list the files referenced by dataset
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

step("Define your environment: a curated environment")
# The seed's name, unchanged: Gantry's TensorFlow stands in for it and says so.
curated_env_name = "AzureML-TensorFlow-2.2-GPU"
tf_env = Environment.get(workspace=ws, name=curated_env_name)
tf_env.save_to_directory(path=curated_env_name, overwrite=True)  # CHANGED: overwrite=True
print("Using %s version %s: %s" % (tf_env.name, tf_env.version, ", ".join(tf_env.pip_packages)))

step("Configure and submit your training run")
from azureml.core import ScriptRunConfig  # noqa: E402

args = ["--data-folder", dataset.as_mount(),
        "--batch-size", 64,
        "--first-layer-neurons", 256,
        "--second-layer-neurons", 128,
        "--learning-rate", 0.01,
        "--epochs", opts.epochs]  # CHANGED: the seed's script trains a fixed number of epochs
if opts.limit:
    args += ["--limit", opts.limit]

src = ScriptRunConfig(source_directory=script_folder,
                      script="tf_mnist.py",
                      arguments=args,
                      compute_target=compute_target,
                      environment=tf_env)

run = Experiment(workspace=ws, name="Tutorial-TF-Mnist").submit(src)
run.wait_for_completion(show_output=True)

metrics = run.get_metrics()
final_acc = metrics.get("final_acc")
print("validation_acc per epoch: %s" % metrics.get("validation_acc"))
print("final_acc: %s" % final_acc)

step("Register or download a model")
from azureml.core import Model  # noqa: E402
from azureml.core.resource_configuration import ResourceConfiguration  # noqa: E402

model = run.register_model(model_name="tf-mnist",
                           model_path="outputs/model",
                           model_framework=Model.Framework.TENSORFLOW,
                           # CHANGED: the version that trained it (the seed's says 2.0)
                           model_framework_version="2.21",
                           resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5))
print("Registered model %s version %s" % (model.name, model.version))

# Create a model folder in the current directory
os.makedirs(opts.model_dir, exist_ok=True)
# CHANGED: overwrite=True, so that running the walkthrough again replaces the files of the
# previous run (Gantry's downloads never overwrite a file unless asked).
run.download_files(prefix="outputs/model", output_directory=opts.model_dir, append_prefix=False,
                   overwrite=True)
print("Model files in %s: %s" % (os.path.abspath(opts.model_dir), sorted(os.listdir(opts.model_dir))))

step("Deploy a TensorFlow model: no-code deployment")
# CHANGED: overwrite=True, so that running the walkthrough again updates the service to the
# new model version.
service = Model.deploy(ws, "tensorflow-web-service", [model], overwrite=True)
service.wait_for_deployment(show_output=True)
print("Service %s is %s at %s" % (service.name, service.state, service.scoring_uri))

step("Score the 10,000 test images through the web service")
import numpy as np  # noqa: E402  (Debian's python3-numpy)


def read_idx(path, limit):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    return arr[:limit] if limit else arr


def predicted_classes(answer):
    """The classes in a /score answer: the signature's outputs by name, or the logits."""
    if isinstance(answer, dict):
        if "classes" in answer:
            return np.asarray(answer["classes"]).reshape(-1)
        answer = answer.get("logits", answer.get("predictions", answer))
    return np.argmax(np.asarray(answer), axis=1)


# The same test images, scaled as training scaled them.
images = read_idx(os.path.join(opts.data_dir, "t10k-images-idx3-ubyte.gz"), opts.limit)
labels = read_idx(os.path.join(opts.data_dir, "t10k-labels-idx1-ubyte.gz"), opts.limit)
pixels = images.reshape(len(images), 784).astype(np.float32) / 255.0
correct = 0
scored_at = time.time()
for start in range(0, len(labels), 500):
    batch = pixels[start:start + 500]
    # float32 -> the shortest text that reads back as the same float32
    body = '{"data": [%s]}' % ",".join("[%s]" % ",".join(map(repr, row.tolist())) for row in batch)
    predicted = predicted_classes(service.run(body))
    correct += int((predicted == labels[start:start + 500]).sum())
service_acc = correct / len(labels)
print("The web service scored %d test images in %.1fs: accuracy %.4f (training's final_acc %.4f)"
      % (len(labels), time.time() - scored_at, service_acc, final_acc))

step("Done")
print("final_acc %s; model %s:%s downloaded to %s; served at %s with accuracy %.4f" % (
    final_acc, model.name, model.version, os.path.abspath(opts.model_dir), service.scoring_uri,
    service_acc))
ok = run.get_status() == "Completed" and abs(service_acc - final_acc) < 1e-9
sys.exit(0 if ok else 1)
