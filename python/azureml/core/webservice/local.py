"""azureml.core.webservice.local: LocalWebservice (see gantry.webservice)."""

from gantry.webservice import LocalWebservice, LocalWebserviceDeploymentConfiguration

__all__ = ["LocalWebservice", "LocalWebserviceDeploymentConfiguration"]
