"""azureml.train on Gantry: hyperdrive (see gantry.hyperdrive)."""
