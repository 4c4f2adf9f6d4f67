"""A TorchServe handler for the TorchScript MNIST DNN: {"instances": rows} -> {"predictions":
rows}, one request per call (no TorchServe batching, as gantry serve's default)."""
import json
import os

import torch
from ts.torch_handler.base_handler import BaseHandler


class MnistHandler(BaseHandler):
    def initialize(self, context):
        torch.set_num_threads(1)
        model_dir = context.system_properties.get("model_dir")
        self.model = torch.jit.load(os.path.join(model_dir, "model.pt")).eval()
        self.initialized = True

    def handle(self, data, context):
        answers = []
        for row in data:
            body = row.get("body") or row.get("data")
            if isinstance(body, (bytes, bytearray)):
                body = json.loads(body)
            with torch.no_grad():
                y = self.model(torch.tensor(body["instances"], dtype=torch.float32))
            answers.append({"predictions": y.tolist()})
        return answers
