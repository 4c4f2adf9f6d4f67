"""A tiny stand-in training script: fits y = 3x + 1 by gradient descent, logging as it goes."""
import argparse
import os

from gantry import Run

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--out", default="outputs/model")
args = parser.parse_args()

run = Run.get_context()
xs = [i / 10 for i in range(-20, 21)]
ys = [3 * x + 1 for x in xs]
w, b = 0.0, 0.0
for epoch in range(200):
    gw = sum(2 * (w * x + b - y) * x for x, y in zip(xs, ys)) / len(xs)
    gb = sum(2 * (w * x + b - y) for x, y in zip(xs, ys)) / len(xs)
    w -= args.lr * 10 * gw
    b -= args.lr * 10 * gb
    loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
    if epoch % 20 == 0:
        run.log("loss", loss)
        print(f"epoch {epoch:3d}  loss {loss:.5f}  w {w:.3f}  b {b:.3f}", flush=True)
run.log("final_loss", loss)
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "model.txt"), "w") as f:
    f.write(f"w={w}\nb={b}\n")
print(f"saved model to {args.out}")
