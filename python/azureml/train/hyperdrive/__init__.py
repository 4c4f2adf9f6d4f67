"""azureml.train.hyperdrive on Gantry: sweeps decided by the Gantry server (see gantry.hyperdrive)."""

from gantry.hyperdrive import (BanditPolicy, BayesianParameterSampling, GridParameterSampling,
                               HyperDriveConfig, HyperDriveRun, MedianStoppingPolicy,
                               NoTerminationPolicy, PrimaryMetricGoal, RandomParameterSampling,
                               TruncationSelectionPolicy, choice, lognormal, loguniform, normal,
                               qlognormal, qloguniform, qnormal, quniform, randint, uniform)

__all__ = ["BanditPolicy", "BayesianParameterSampling", "GridParameterSampling",
           "HyperDriveConfig", "HyperDriveRun", "MedianStoppingPolicy", "NoTerminationPolicy",
           "PrimaryMetricGoal", "RandomParameterSampling", "TruncationSelectionPolicy", "choice",
           "lognormal", "loguniform", "normal", "qlognormal", "qloguniform", "qnormal", "quniform",
           "randint", "uniform"]
