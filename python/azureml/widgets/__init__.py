"""azureml.widgets on Gantry: RunDetails (see gantry.run_details).

``RunDetails(run).show()`` renders the run as HTML in Jupyter, kept current as it runs, and
follows it with status changes and metrics in a terminal. The real azureml-widgets needs
azureml-core's internals, so Gantry ships its own.
"""

from gantry.run_details import RunDetails

__all__ = ["RunDetails"]
