"""Baseline model server built the way Azure ML's inference server works: a Flask app under
gunicorn running a score.py-style init()/run() with Debian's python3-torch."""
import json
import os

import torch
from flask import Flask, Response, request

torch.set_num_threads(1)
model = torch.jit.load(os.path.join(os.environ["MODEL_DIR"], "model.pt")).eval()
app = Flask(__name__)


@app.route("/v1/models/<name>:predict", methods=["POST"])
def predict(name):
    rows = request.get_json(force=True)["instances"]
    with torch.no_grad():
        out = model(torch.tensor(rows, dtype=torch.float32))
    return Response(json.dumps({"predictions": out.tolist()}), mimetype="application/json")
