"""An MLServer custom runtime for the TorchScript MNIST DNN (MLServer has no TorchScript
runtime of its own; a custom runtime is how its users serve one). Open Inference v2."""
import os

import torch
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class TorchScriptRuntime(MLModel):
    async def load(self) -> bool:
        torch.set_num_threads(1)
        self.model = torch.jit.load(os.path.join(os.environ["MODEL_DIR"], "model.pt")).eval()
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0])
        with torch.no_grad():
            y = self.model(torch.from_numpy(x).float()).numpy()
        return InferenceResponse(model_name=self.name,
                                 outputs=[NumpyCodec.encode_output(name="logits", payload=y)])
