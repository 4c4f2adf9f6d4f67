"""azureml.core.webservice: Gantry's web services (see gantry.webservice)."""

from gantry.webservice import (AciWebservice, AksWebservice, LocalWebservice, Webservice,
                               WebserviceDeploymentConfiguration)

__all__ = ["Webservice", "AciWebservice", "AksWebservice", "LocalWebservice",
           "WebserviceDeploymentConfiguration"]
