"""azureml.core.webservice.aci: AciWebservice (see gantry.webservice)."""

from gantry.webservice import AciServiceDeploymentConfiguration, AciWebservice

__all__ = ["AciWebservice", "AciServiceDeploymentConfiguration"]
