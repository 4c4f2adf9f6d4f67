"""azureml.core.webservice.webservice: Webservice (see gantry.webservice)."""

from gantry.webservice import Webservice, WebserviceDeploymentConfiguration

__all__ = ["Webservice", "WebserviceDeploymentConfiguration"]
