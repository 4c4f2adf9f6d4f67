"""A trivial trial: 'trains' for --epochs epochs and logs accuracy each epoch.

The accuracy climbs towards a peak that depends on the learning rate and batch size, so a
sweep has something to find; --fail-below makes a trial fail on purpose (tests)."""
import argparse
import math
import sys

from azureml.core import Run

p = argparse.ArgumentParser()
p.add_argument("--learning-rate", type=float, default=0.01)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--fail-batch-size", type=int, default=-1)
args = p.parse_args()

run = Run.get_context()
if args.batch_size == args.fail_batch_size:
    print("batch size %d is the one that fails" % args.batch_size)
    sys.exit(3)
peak = 0.95 - abs(math.log10(args.learning_rate) + 2) * 0.1 - abs(args.batch_size - 64) / 640
for epoch in range(1, args.epochs + 1):
    acc = peak * (1 - 0.5 ** epoch)
    run.log("accuracy", acc)
    print("epoch %d accuracy %.4f" % (epoch, acc))
run.complete()
