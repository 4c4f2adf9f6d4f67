"""Baseline for the TensorFlow model: served the way Azure ML's inference server serves the
notebook's entry script — a Flask app under gunicorn calling a score.py-style init()/run()
that loads the SavedModel with tf.saved_model.load. Runs in the TensorFlow environment's
interpreter (MODEL_DIR names the SavedModel)."""
import json
import os

import numpy as np
import tensorflow as tf
from flask import Flask, Response, request

model = tf.saved_model.load(os.environ["MODEL_DIR"])
infer = model.signatures["serving_default"]
app = Flask(__name__)


def run(raw_data):
    data = np.array(json.loads(raw_data)["instances"], dtype=np.float32)
    out = infer(images=tf.constant(data))
    return {"predictions": out["logits"].numpy().tolist()}


@app.route("/v1/models/<name>:predict", methods=["POST"])
def predict(name):
    return Response(json.dumps(run(request.get_data())), mimetype="application/json")
