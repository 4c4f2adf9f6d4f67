"""azureml.core.webservice.aks: AksWebservice (see gantry.webservice)."""

from gantry.webservice import AksServiceDeploymentConfiguration, AksWebservice

__all__ = ["AksWebservice", "AksServiceDeploymentConfiguration"]
