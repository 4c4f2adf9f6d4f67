"""Trains the walkthrough's DNN on MNIST-format data (MNIST or Fashion-MNIST) with TensorFlow.

The seed's training script, written for TensorFlow 2.21 (CPU) with its arguments and metric
names::

    python tf_mnist.py --data-folder /usr/share/datasets/fashion-mnist --batch-size 64 \\
        --first-layer-neurons 256 --second-layer-neurons 128 --learning-rate 0.01

The model is ``784 -> first -> ReLU -> second -> ReLU -> 10`` trained with SGD (momentum
0.9) on the 60,000 training images; after every epoch the run logs ``training_acc`` (on the
last batch, as the seed's script does) and ``validation_acc`` (on the 10,000 test images),
and at the end ``final_acc``. It uses TensorFlow's core API only (variables, GradientTape,
tf.function), so it runs the same whether ``tf.keras`` is Keras 2 or 3.

Written to ``--output-dir`` (``outputs/model``): a SavedModel whose ``serving_default``
signature takes float32 ``images`` [N, 784] (pixels in [0, 1], row-major 28x28) and returns
``logits`` [N, 10] (float32) and ``classes`` [N] (int64), plus ``model.json`` saying what it
is. Gantry's no-code TensorFlow deployment serves that signature as it is.

Distributed: with ``TF_CONFIG`` naming more than one task (what Gantry writes for a job with
``distribution: {type: tensorflow, worker_count: N}``), the script trains under
``tf.distribute.MultiWorkerMirroredStrategy``: every worker takes the same shuffled global
batch of ``--batch-size`` images and computes the gradient of its shard of it; the strategy
sums the shards, so each step equals the single-worker step on the same batch and the
accuracy matches a single-worker run. Only the chief (worker 0) logs and writes the model.

With parameter servers in ``TF_CONFIG`` (a job with ``parameter_server_count``, Azure's
``TensorflowConfiguration(worker_count=2, parameter_server_count=1)``), it trains under
``tf.distribute.ParameterServerStrategy``: the worker and ps tasks serve
(``tf.distribute.Server``) until the job stops them, and the chief task coordinates: the
variables live on the parameter servers, and each step is scheduled on a free worker, which
takes a batch of its own (asynchronous training, so the accuracy is close to, not equal to,
a single worker's). The chief evaluates, logs and writes the model.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import tensorflow as tf

NUM_CLASSES = 10
INPUT_DIM = 28 * 28
FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def find_file(folder: str, stem: str) -> str:
    """``stem`` (or ``stem.gz``, or with ``.idx`` for ``-idx``) in ``folder`` or below."""
    names = {stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"}
    for root, _dirs, files in sorted(os.walk(folder)):
        for name in sorted(files):
            if name in names:
                return os.path.join(root, name)
    raise SystemExit("tf_mnist.py: no %s(.gz) under --data-folder %s" % (stem, folder))


def read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise SystemExit("tf_mnist.py: %s is not an IDX file of unsigned bytes" % path)
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(folder: str, limit: int):
    arrays = {k: read_idx(find_file(folder, v)) for k, v in FILES.items()}
    x_train = arrays["train_images"].reshape(-1, INPUT_DIM).astype(np.float32) / 255.0
    x_test = arrays["test_images"].reshape(-1, INPUT_DIM).astype(np.float32) / 255.0
    y_train = arrays["train_labels"].astype(np.int64)
    y_test = arrays["test_labels"].astype(np.int64)
    if limit:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]
    return x_train, y_train, x_test, y_test


class Dnn(tf.Module):
    """The walkthrough's two hidden layers, as plain variables (He-initialised)."""

    def __init__(self, first: int, second: int, seed: int):
        super().__init__(name="dnn")
        # From NumPy, so that every worker of a distributed run starts from the same weights.
        rng = np.random.default_rng(seed)

        def weights(rows, cols, name):
            values = rng.standard_normal((rows, cols)) * np.sqrt(2.0 / rows)
            return tf.Variable(values.astype(np.float32), name=name)

        self.w1 = weights(INPUT_DIM, first, "w1")
        self.b1 = tf.Variable(tf.zeros([first]), name="b1")
        self.w2 = weights(first, second, "w2")
        self.b2 = tf.Variable(tf.zeros([second]), name="b2")
        self.w3 = weights(second, NUM_CLASSES, "w3")
        self.b3 = tf.Variable(tf.zeros([NUM_CLASSES]), name="b3")

    def logits(self, x):
        h = tf.nn.relu(tf.matmul(x, self.w1) + self.b1)
        h = tf.nn.relu(tf.matmul(h, self.w2) + self.b2)
        return tf.matmul(h, self.w3) + self.b3

    @tf.function(input_signature=[tf.TensorSpec([None, INPUT_DIM], tf.float32, name="images")])
    def serve(self, images):
        logits = self.logits(images)
        return {"logits": logits, "classes": tf.argmax(logits, axis=1)}


def accuracy(model: Dnn, x: np.ndarray, y: np.ndarray) -> float:
    correct = 0
    for start in range(0, len(x), 2000):
        predicted = tf.argmax(model.logits(x[start:start + 2000]), axis=1).numpy()
        correct += int((predicted == y[start:start + 2000]).sum())
    return correct / max(1, len(x))


def serve_as_task(config: dict) -> int:
    """A worker or ps task of a parameter-server job: serves until the job stops it."""
    task = config["task"]
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    server = tf.distribute.Server(resolver.cluster_spec(), job_name=task["type"],
                                  task_index=int(task.get("index", 0)), protocol="grpc", start=True)
    print("%s %s serving at %s" % (task["type"], task.get("index", 0), server.target), flush=True)
    server.join()
    return 0


def train_with_parameter_servers(args, run, x_train, y_train, x_test, y_test) -> int:
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    workers = len(resolver.cluster_spec().as_dict().get("worker", []))
    print("TensorFlow %s; %d training and %d test images; ParameterServerStrategy over %d "
          "worker(s) and %d parameter server(s)"
          % (tf.__version__, len(x_train), len(x_test), workers,
             len(resolver.cluster_spec().as_dict().get("ps", []))), flush=True)
    with strategy.scope():
        model = Dnn(args.first_layer_neurons, args.second_layer_neurons, args.seed)
        optimizer = tf.keras.optimizers.SGD(learning_rate=args.learning_rate, momentum=0.9)
    variables = [model.w1, model.b1, model.w2, model.b2, model.w3, model.b3]

    def dataset_fn():
        data = tf.data.Dataset.from_tensor_slices((x_train, y_train))
        return data.shuffle(len(x_train), seed=args.seed).repeat().batch(args.batch_size)

    @tf.function
    def worker_step(iterator):
        def replica_step(batch):
            x, y = batch
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=y, logits=model.logits(x)))
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables))
            return loss
        return strategy.run(replica_step, args=(next(iterator),))

    iterator = iter(coordinator.create_per_worker_dataset(dataset_fn))
    steps_per_epoch = (len(x_train) + args.batch_size - 1) // args.batch_size
    validation_acc = 0.0
    for epoch in range(args.epochs):
        started = time.time()
        for _ in range(steps_per_epoch):
            coordinator.schedule(worker_step, args=(iterator,))
        coordinator.join()
        training_acc = accuracy(model, x_train[:2000], y_train[:2000])
        validation_acc = accuracy(model, x_test, y_test)
        run.log("training_acc", float(training_acc))
        run.log("validation_acc", float(validation_acc))
        print("epoch %d: training_acc %.4f validation_acc %.4f (%.1fs)"
              % (epoch + 1, training_acc, validation_acc, time.time() - started), flush=True)
    final_acc = accuracy(model, x_test, y_test)
    run.log("final_acc", float(final_acc))
    # A plain copy of the trained values, saved without the strategy.
    plain = Dnn(args.first_layer_neurons, args.second_layer_neurons, args.seed)
    for mine, trained in zip([plain.w1, plain.b1, plain.w2, plain.b2, plain.w3, plain.b3], variables):
        mine.assign(trained.read_value())
    save(plain, args, final_acc, workers)
    return 0


def save(model, args, final_acc, world) -> None:
    os.makedirs(args.output_dir, exist_ok=True)
    tf.saved_model.save(model, args.output_dir, signatures={"serving_default": model.serve})
    with open(os.path.join(args.output_dir, "model.json"), "w") as f:
        json.dump({"framework": "tensorflow", "tensorflow_version": tf.__version__,
                   "signature": "serving_default", "inputs": {"images": [None, INPUT_DIM]},
                   "outputs": {"logits": [None, NUM_CLASSES], "classes": [None]},
                   "layers": [INPUT_DIM, args.first_layer_neurons, args.second_layer_neurons,
                              NUM_CLASSES],
                   "final_acc": final_acc, "workers": world}, f, indent=2)
    print("final_acc %.4f; SavedModel in %s" % (final_acc, args.output_dir), flush=True)


def strategy_and_rank():
    """(strategy or None, this worker's index, worker count) from TF_CONFIG."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    workers = (config.get("cluster") or {}).get("worker") or []
    chiefs = (config.get("cluster") or {}).get("chief") or []
    if len(workers) + len(chiefs) <= 1:
        return None, 0, 1
    task = config.get("task") or {}
    index = int(task.get("index", 0)) + (len(chiefs) if task.get("type") == "worker" else 0)
    return tf.distribute.MultiWorkerMirroredStrategy(), index, len(workers) + len(chiefs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-folder", required=True, help="folder with the four IDX files")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--first-layer-neurons", type=int, default=256)
    p.add_argument("--second-layer-neurons", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--limit", type=int, default=0, help="use only the first N images of each set")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--output-dir", default="./outputs/model")
    args = p.parse_args(argv)

    from azureml.core.run import Run  # Gantry's SDK (or Azure's), as the seed imports it

    run = Run.get_context()
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if (config.get("cluster") or {}).get("ps"):
        if (config.get("task") or {}).get("type") in ("worker", "ps"):
            return serve_as_task(config)
        return train_with_parameter_servers(args, run, *load(args.data_folder, args.limit))
    strategy, rank, world = strategy_and_rank()
    chief = rank == 0
    x_train, y_train, x_test, y_test = load(args.data_folder, args.limit)
    if chief:
        print("TensorFlow %s; %d training and %d test images from %s; %d worker(s)"
              % (tf.__version__, len(x_train), len(x_test), args.data_folder, world), flush=True)

    scope = strategy.scope() if strategy else tf.name_scope("single")
    with scope:
        model = Dnn(args.first_layer_neurons, args.second_layer_neurons, args.seed)
        optimizer = tf.keras.optimizers.SGD(learning_rate=args.learning_rate, momentum=0.9)

    def loss_of(x, y, global_size):
        per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model.logits(x))
        return tf.reduce_sum(per_example) / tf.cast(global_size, tf.float32)

    variables = [model.w1, model.b1, model.w2, model.b2, model.w3, model.b3]

    @tf.function
    def step(x, y, global_size):
        with tf.GradientTape() as tape:
            loss = loss_of(x, y, global_size)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    rng = np.random.default_rng(args.seed)
    steps_per_epoch = (len(x_train) + args.batch_size - 1) // args.batch_size
    training_acc = 0.0
    for epoch in range(args.epochs):
        started = time.time()
        order = rng.permutation(len(x_train))
        for s in range(steps_per_epoch):
            batch = order[s * args.batch_size:(s + 1) * args.batch_size]
            # Each worker its shard of the same global batch (every world-th image).
            shard = batch[rank::world]
            if strategy:
                strategy.run(step, args=(x_train[shard], y_train[shard], len(batch)))
            else:
                step(x_train[shard], y_train[shard], len(batch))
        last = order[(steps_per_epoch - 1) * args.batch_size:]
        training_acc = accuracy(model, x_train[last], y_train[last])
        validation_acc = accuracy(model, x_test, y_test)
        if chief:
            run.log("training_acc", float(training_acc))
            run.log("validation_acc", float(validation_acc))
            print("epoch %d: training_acc %.4f validation_acc %.4f (%.1fs)"
                  % (epoch + 1, training_acc, validation_acc, time.time() - started), flush=True)

    final_acc = accuracy(model, x_test, y_test)
    if not chief:
        # Every worker saves (saving may need them all); the others into a scratch folder.
        scratch = os.path.join(os.environ.get("TMPDIR", "/tmp"), "tf_mnist-worker-%d" % rank)
        tf.saved_model.save(model, scratch, signatures={"serving_default": model.serve})
        return 0
    run.log("final_acc", float(final_acc))
    save(model, args, final_acc, world)
    return 0


if __name__ == "__main__":
    sys.exit(main())
