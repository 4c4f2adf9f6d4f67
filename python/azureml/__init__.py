"""Gantry's stand-in for the ``azureml`` namespace: ``azureml.core`` v1 on a Gantry server.

``from azureml.core import Workspace, Experiment, Run, ScriptRunConfig`` gives Gantry's
classes (the very objects of the ``gantry`` package), so notebook and training-script code
written for Azure ML runs on Gantry with only its workspace config changed. Inside every
Gantry run this package is on ``PYTHONPATH``; elsewhere ``pip install ./python`` installs it
next to ``gantry``, which makes it shadow a real ``azureml-core`` in the same environment:
install one or the other.

Other ``azureml.*`` distributions installed alongside (e.g. ``azureml.widgets``) stay
importable: this package's path is extended with theirs.
"""

import pkgutil as _pkgutil

__path__ = _pkgutil.extend_path(__path__, __name__)
