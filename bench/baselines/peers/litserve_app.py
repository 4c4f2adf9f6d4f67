"""LitServe (Lightning AI's Python-native model server) serving the TorchScript MNIST DNN:
POST /predict with {"instances": rows} -> {"predictions": rows}. Usage: python litserve_app.py
MODEL_DIR PORT WORKERS."""
import os
import sys

import litserve as ls
import torch


class MnistApi(ls.LitAPI):
    def setup(self, device):
        torch.set_num_threads(1)
        self.model = torch.jit.load(os.path.join(sys.argv[1], "model.pt")).eval()

    def decode_request(self, request):
        return torch.tensor(request["instances"], dtype=torch.float32)

    def predict(self, x):
        with torch.no_grad():
            return self.model(x)

    def encode_response(self, output):
        return {"predictions": output.tolist()}


if __name__ == "__main__":
    server = ls.LitServer(MnistApi(), accelerator="cpu", workers_per_device=int(sys.argv[3]))
    server.run(port=int(sys.argv[2]), host="127.0.0.1", generate_client_file=False)
