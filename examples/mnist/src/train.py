"""Trains a small DNN on MNIST-format data (MNIST or Fashion-MNIST) with PyTorch on CPU.

Gantry's port of the Azure ML walkthrough's training script (``tf_mnist.py``): the same
arguments, ``784 -> first -> ReLU -> second -> ReLU -> 10``, metrics logged through the
run context, and the trained model saved under ``--output-dir`` (``outputs/model``)::

    /usr/bin/python3 train.py --data-folder /usr/share/datasets/fashion-mnist \\
        --batch-size 64 --first-layer-neurons 256 --second-layer-neurons 128 \\
        --learning-rate 0.01

``--data-folder`` holds the four IDX files under MNIST's names, gzipped or not:
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte`` (``.gz`` optional; ``-idx3-ubyte`` may also be spelled
``.idx3-ubyte``). Subfolders are searched when the folder itself has none.

Written to ``--output-dir``:

``model.pt``        TorchScript module: float32 ``input`` [N, 784] (pixels in [0, 1],
                    row-major 28x28) -> ``logits`` [N, 10]; loadable from libtorch with
                    ``torch::jit::load``. [N, 28, 28] and [N, 1, 28, 28] are flattened.
``state_dict.pt``   the ``nn.Module`` state dict (``fc1``, ``fc2``, ``fc3``).
``model.json``      what the model is: framework, versions, shapes, layer sizes, accuracy.

The optimizer is SGD with momentum 0.9 (the walkthrough's TensorFlow script uses plain
gradient descent; momentum reaches the same accuracy in far fewer epochs).

Distributed (PyTorch DDP): launched with ``WORLD_SIZE`` above 1 and ``RANK``, ``MASTER_ADDR``,
``MASTER_PORT`` set (what a Gantry or Azure ML job with ``distribution: {type: pytorch}``
gives each process), the script joins ``init_process_group("gloo")`` and trains a
``DistributedDataParallel`` model. ``--batch-size`` stays the *global* batch and the
learning rate is unchanged: each step, every rank draws the same shuffled batch of
``--batch-size`` images and takes every WORLD_SIZE-th of them (the shard a
``DistributedSampler`` with the same permutation gives, at ``batch/world`` images per
process), and its summed loss is scaled so that DDP's gradient average equals the mean over
the whole batch. Every rank thus takes the same steps as one process would on the same
batches, so the accuracy matches the single-process run's (up to floating-point summation
order), with each rank doing a WORLD_SIZE-th of the work. Rank 0 alone evaluates, logs
metrics, prints the per-epoch lines and writes ``--output-dir``; ``model.json`` then also
records ``world_size``. Without ``WORLD_SIZE`` (or with 1) nothing of this happens and the
script runs exactly as before.
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
import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 10
IMAGE_ROWS = IMAGE_COLS = 28
INPUT_DIM = IMAGE_ROWS * IMAGE_COLS

# IDX magic numbers: 0x00 0x00, type 0x08 (unsigned byte), number of dimensions.
IDX_UBYTE_3D = 0x00000803
IDX_UBYTE_1D = 0x00000801


# ----------------------------------------------------------------------------- run context

def get_run():
    """Returns the run context: Azure ML's API via Gantry's shim, Gantry's SDK, or a printer.

    Inside a Gantry run the runner puts Gantry's ``python/`` on PYTHONPATH. Run standalone
    from a checkout, the script looks for ``python/`` three folders up; failing that it
    logs by printing, so the script also runs where neither package is installed.
    """
    try:
        from azureml.core import Run  # Gantry's azureml shim, or the real Azure ML SDK
        return Run.get_context()
    except ImportError:
        pass
    try:
        from gantry import Run
        return Run.get_context()
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    sdk = os.path.normpath(os.path.join(here, "..", "..", "..", "python"))
    if os.path.isfile(os.path.join(sdk, "gantry", "run.py")):
        sys.path.insert(0, sdk)
        try:
            from gantry import Run
            return Run.get_context()
        except ImportError:
            pass
    return _PrintRun()


class _PrintRun:
    """Stand-in run context: prints what it would log."""

    def log(self, name, value, description=""):
        print("Attempted to log scalar metric %s:\n%s" % (name, value), flush=True)

    def log_list(self, name, value, description=""):
        print("Attempted to log list metric %s:\n%s" % (name, list(value)), flush=True)

    def flush(self):
        pass


# ----------------------------------------------------------------------------- data

DATA_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _candidates(base):
    # train-images-idx3-ubyte, train-images.idx3-ubyte (some mirrors), each with .gz or not
    names = [base, base.replace("-idx", ".idx")]
    return [n + ext for n in names for ext in (".gz", "")]


def find_data_files(folder):
    """Maps each DATA_FILES key to a path under ``folder``; raises FileNotFoundError."""
    if not os.path.isdir(folder):
        raise FileNotFoundError("--data-folder %r is not a folder" % folder)
    dirs = [folder] + sorted(
        os.path.join(root, d)
        for root, subdirs, _ in os.walk(folder, followlinks=True)
        for d in subdirs)
    for d in dirs:  # the first folder that holds all four files
        found = {}
        for key, base in DATA_FILES.items():
            for name in _candidates(base):
                path = os.path.join(d, name)
                if os.path.isfile(path):
                    found[key] = path
                    break
        if len(found) == len(DATA_FILES):
            return found
    missing = [base for key, base in DATA_FILES.items()
               if not any(os.path.isfile(os.path.join(folder, n)) for n in _candidates(base))]
    raise FileNotFoundError(
        "--data-folder %r: no folder in it holds all four MNIST files; missing in the top "
        "folder: %s (each may end in .gz)" % (folder, ", ".join(missing)))


def _read_bytes(path):
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open  # detect gzip by content, not name
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as e:
        raise ValueError("%s: cannot read: %s" % (path, e)) from e


def read_idx(path, magic, limit=None):
    """Reads an IDX file of unsigned bytes; returns a uint8 array shaped by its header."""
    data = _read_bytes(path)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError("%s: %d bytes, too short for an IDX header" % (path, len(data)))
    got = struct.unpack(">I", data[:4])[0]
    if got != magic:
        raise ValueError("%s: IDX magic number is 0x%08x, expected 0x%08x (unsigned bytes, "
                         "%d dimension(s))" % (path, got, magic, ndim))
    dims = struct.unpack(">%dI" % ndim, data[4:header])
    size = int(np.prod(dims, dtype=np.int64))
    if len(data) - header != size:
        raise ValueError("%s: header says %s = %d bytes of data, file has %d"
                         % (path, "x".join(map(str, dims)), size, len(data) - header))
    arr = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
    return arr[:limit] if limit is not None else arr


def load_split(images_path, labels_path, limit=None):
    """Returns (float32 tensor [N, 784] in [0, 1], int64 tensor [N])."""
    images = read_idx(images_path, IDX_UBYTE_3D, limit)
    labels = read_idx(labels_path, IDX_UBYTE_1D, limit)
    if images.shape[1:] != (IMAGE_ROWS, IMAGE_COLS):
        raise ValueError("%s: images are %s, expected %dx%d"
                         % (images_path, "x".join(map(str, images.shape[1:])), IMAGE_ROWS, IMAGE_COLS))
    if len(images) != len(labels):
        raise ValueError("%s has %d images but %s has %d labels"
                         % (images_path, len(images), labels_path, len(labels)))
    if len(labels) and labels.max() >= NUM_CLASSES:
        raise ValueError("%s: label %d out of range 0..%d" % (labels_path, labels.max(), NUM_CLASSES - 1))
    x = torch.from_numpy(images.reshape(len(images), INPUT_DIM).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# ----------------------------------------------------------------------------- model

class DNN(nn.Module):
    """784 -> first -> ReLU -> second -> ReLU -> 10 logits."""

    def __init__(self, first: int, second: int):
        super().__init__()
        self.fc1 = nn.Linear(INPUT_DIM, first)
        self.fc2 = nn.Linear(first, second)
        self.fc3 = nn.Linear(second, NUM_CLASSES)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input.reshape(input.shape[0], -1)  # [N, 784]; also flattens [N, 28, 28]
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


@torch.no_grad()
def evaluate(model, x, y, batch=10000):
    """Returns the accuracy of ``model`` (any callable [N, 784] -> [N, 10]) on (x, y)."""
    if len(y) == 0:
        return float("nan")
    correct = 0
    for i in range(0, len(y), batch):
        correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return correct / len(y)


# ----------------------------------------------------------------------------- main

def positive_int(s):
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer, got %s" % s)
    return v


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-folder", required=True,
                   help="folder with the four MNIST IDX files (.gz or not)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--first-layer-neurons", type=positive_int, default=256)
    p.add_argument("--second-layer-neurons", type=positive_int, default=128)
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=positive_int, default=None,
                   help="use only the first N training and N test images (quick tests)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="torch intra-op threads (default 1: at batch 64 the matrices are "
                        "too small to split, and on a 2-core machine 2 threads measured "
                        "5-13x slower per step)")
    p.add_argument("--output-dir", default=os.path.join("outputs", "model"))
    return p.parse_args(argv)


def distributed_world():
    """Returns (rank, world size) from the launcher's variables; (0, 1) when not distributed."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return 0, 1
    return int(os.environ["RANK"]), world


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)  # the same on every rank: DDP also broadcasts rank 0's weights
    torch.set_num_threads(args.threads)
    rank, world = distributed_world()
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo")  # env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    lead = rank == 0
    run = get_run() if lead else None

    try:  # data errors end the run with one line naming the file, not a traceback
        files = find_data_files(args.data_folder)
        x_train, y_train = load_split(files["train_images"], files["train_labels"], args.limit)
        x_test, y_test = load_split(files["test_images"], files["test_labels"], args.limit)
        if len(y_train) == 0:
            raise ValueError("%s: no training images" % files["train_images"])
    except (OSError, ValueError) as e:
        sys.exit("train.py: error: %s" % e)
    if world > 1:
        print("DDP: rank %d of %d (gloo), %d of every global batch of %d per step"
              % (rank, world, args.batch_size // world + (rank < args.batch_size % world),
                 args.batch_size), flush=True)
    if not lead:
        return train_follower(args, x_train, y_train, rank, world)
    print("Data: %d train, %d test images from %s" % (len(y_train), len(y_test),
          os.path.dirname(files["train_images"])), flush=True)
    print("Model: %d -> %d -> %d -> %d; SGD lr %g momentum %g, batch %d, %d epochs, "
          "torch %s, %d threads" % (INPUT_DIM, args.first_layer_neurons, args.second_layer_neurons,
                                    NUM_CLASSES, args.learning_rate, args.momentum, args.batch_size,
                                    args.epochs, torch.__version__, torch.get_num_threads()),
          flush=True)

    model, opt, gen = make_training(args, world)
    acc = float("nan")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        train_loss = train_epoch(args, model, opt, gen, x_train, y_train, rank, world)
        model.eval()
        acc = evaluate(model, x_test, y_test)
        secs = time.perf_counter() - t0
        print("epoch %2d/%d  train loss %.4f  test accuracy %.4f  %.2fs"
              % (epoch, args.epochs, train_loss, acc, secs), flush=True)
        run.log("loss", train_loss)
        run.log("accuracy", acc)
    elapsed = time.perf_counter() - start

    run.log("final_accuracy", acc)
    print("Training time: %.1fs (%.2fs per epoch)" % (elapsed, elapsed / args.epochs), flush=True)
    print("Test accuracy: %.4f" % acc, flush=True)
    if world > 1:
        finish_distributed()
        model = model.module  # save the plain module, not the DDP wrapper

    # -- save: TorchScript for serving, the state dict, and a description
    os.makedirs(args.output_dir, exist_ok=True)
    model.eval()
    scripted = torch.jit.script(model)
    model_path = os.path.join(args.output_dir, "model.pt")
    scripted.save(model_path)
    torch.save(model.state_dict(), os.path.join(args.output_dir, "state_dict.pt"))

    loaded = torch.jit.load(model_path)  # check that what was saved reproduces the accuracy
    loaded.eval()
    reloaded_acc = evaluate(loaded, x_test, y_test)
    if len(y_test) and reloaded_acc != acc:
        raise RuntimeError("%s reloaded scores %.4f, the trained model %.4f"
                           % (model_path, reloaded_acc, acc))

    info = {
        "framework": "PyTorch",
        "framework_version": torch.__version__,
        "format": "TorchScript",
        "model_file": "model.pt",
        "state_dict_file": "state_dict.pt",
        "inputs": [{"name": "input", "dtype": "float32", "shape": [-1, INPUT_DIM],
                    "description": "28x28 grayscale pixels, row-major, scaled to [0, 1]"}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": [-1, NUM_CLASSES],
                     "description": "unnormalized class scores; argmax is the label"}],
        "layers": [INPUT_DIM, args.first_layer_neurons, args.second_layer_neurons, NUM_CLASSES],
        "activation": "relu",
        "hyperparameters": {"batch_size": args.batch_size, "learning_rate": args.learning_rate,
                            "momentum": args.momentum, "epochs": args.epochs, "seed": args.seed,
                            "limit": args.limit},
        "train_images": len(y_train),
        "test_images": len(y_test),
        "test_accuracy": None if acc != acc else acc,  # NaN (no test images) -> null
    }
    if world > 1:
        info["world_size"] = world
    with open(os.path.join(args.output_dir, "model.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print("Saved %s (model.pt, state_dict.pt, model.json); reloaded model.pt scores %.4f"
          % (args.output_dir, reloaded_acc), flush=True)
    flush = getattr(run, "flush", None)
    if callable(flush):
        flush()
    return 0


def make_training(args, world):
    """Returns (model, optimizer, shuffling generator); under DDP the model is wrapped."""
    model = DNN(args.first_layer_neurons, args.second_layer_neurons)
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=args.learning_rate, momentum=args.momentum)
    # Every rank draws the same permutation: that is what keeps their shards disjoint.
    gen = torch.Generator().manual_seed(args.seed)
    return model, opt, gen


def train_epoch(args, model, opt, gen, x_train, y_train, rank, world):
    """One epoch of shuffled mini-batches; returns the mean training loss over every image.

    Under DDP each rank takes every world-th image of each global batch; the number of
    steps is the same on every rank (DDP needs that), even where a rank's share is empty.
    """
    model.train()
    n = len(y_train)
    perm = torch.randperm(n, generator=gen)
    total = torch.zeros(())
    for i in range(0, n, args.batch_size):
        batch = perm[i:i + args.batch_size]
        if world == 1:
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            summed = loss.detach() * len(batch)
        else:
            idx = batch[rank::world]
            summed = F.cross_entropy(model(x_train[idx]), y_train[idx], reduction="sum")
            # DDP averages gradients over ranks: scaling by world / len(batch) turns that
            # average into the mean over the whole global batch, as in one process.
            loss = summed * (world / len(batch))
            summed = summed.detach()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += summed
    if world > 1:
        import torch.distributed as dist
        dist.all_reduce(total)  # every rank's share of the loss
    return float(total) / n


def train_follower(args, x_train, y_train, rank, world):
    """A rank other than 0: trains its shards in step with rank 0, logs and writes nothing."""
    model, opt, gen = make_training(args, world)
    for _ in range(args.epochs):
        train_epoch(args, model, opt, gen, x_train, y_train, rank, world)
    finish_distributed()
    print("rank %d done" % rank, flush=True)
    return 0


def finish_distributed():
    import torch.distributed as dist
    dist.barrier()  # rank 0 has finished its last evaluation; nobody needs the group now
    dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
