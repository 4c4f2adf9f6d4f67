"""azureml.core.runconfig: Gantry's distributed job configurations (see gantry.distributed).

RunConfiguration is not there yet: importing it raises an ImportError that says so.
"""

from gantry.distributed import MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration

from ._missing import unavailable as _unavailable

__all__ = ["MpiConfiguration", "PyTorchConfiguration", "TensorflowConfiguration"]


def __getattr__(name):
    if name == "RunConfiguration":
        raise _unavailable(__name__ + "." + name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
