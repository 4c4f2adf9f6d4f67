"""azureml.telemetry on Gantry: nothing is ever sent anywhere.

``set_diagnostics_collection(send_diagnostics=True)`` is the second cell of Azure's notebooks.
Gantry collects no diagnostics and has nowhere to send them, so the call changes nothing and
prints one line saying so.
"""

import sys

__all__ = ["set_diagnostics_collection", "get_diagnostics_collection_info"]


def set_diagnostics_collection(send_diagnostics: bool = True, verbose: bool = True,
                               reset: bool = False, path=None) -> None:
    """Does nothing: Gantry sends no diagnostics, whatever ``send_diagnostics`` says. With
    ``verbose`` (the default, as in Azure) prints a line saying so."""
    if verbose:
        sys.stdout.write("Gantry collects no diagnostics: nothing is sent (send_diagnostics=%r "
                         "changes nothing).\n" % (bool(send_diagnostics),))


def get_diagnostics_collection_info(component_name=None, path=None) -> dict:
    """``{"send_diagnostics": False}``: Gantry never sends any."""
    return {"send_diagnostics": False}
