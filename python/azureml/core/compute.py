"""azureml.core.compute: Gantry's compute targets (see gantry.compute)."""

from gantry.compute import (AmlCompute, AmlComputeProvisioningConfiguration, AmlComputeStatus,
                            ComputeTarget, ComputeTargetException)

__all__ = ["ComputeTarget", "AmlCompute", "AmlComputeProvisioningConfiguration",
           "AmlComputeStatus", "ComputeTargetException"]
