"""Distributed job configurations become the job spec's resources and distribution."""

import pytest

from gantry import (MpiConfiguration, PyTorchConfiguration, ScriptRunConfig,
                    TensorflowConfiguration)
from gantry.errors import InvalidArgumentError


def spec_of(config):
    return ScriptRunConfig("src", "train.py", distributed_job_config=config)._job_spec("exp")[0]


def placement(config):
    spec = spec_of(config)
    return spec["resources"], spec["distribution"]


def test_no_config_sends_neither_field():
    spec = spec_of(None)
    assert "resources" not in spec and "distribution" not in spec


def test_mpi():
    assert placement(MpiConfiguration(process_count_per_node=2, node_count=3)) == (
        {"instance_count": 3}, {"type": "mpi", "process_count_per_instance": 2})
    assert placement(MpiConfiguration()) == (
        {"instance_count": 1}, {"type": "mpi", "process_count_per_instance": 1})


def test_pytorch():
    assert placement(PyTorchConfiguration(process_count=8, node_count=2)) == (
        {"instance_count": 2}, {"type": "pytorch", "process_count_per_instance": 4})
    # process_count defaults to one per node
    assert placement(PyTorchConfiguration(node_count=3)) == (
        {"instance_count": 3}, {"type": "pytorch", "process_count_per_instance": 1})
    # communication_backend is not part of the command job's distribution
    assert placement(PyTorchConfiguration(communication_backend="Gloo", process_count=2)) == (
        {"instance_count": 1}, {"type": "pytorch", "process_count_per_instance": 2})


def tensorflow(workers, servers):
    return {"type": "tensorflow", "worker_count": workers, "parameter_server_count": servers}


def test_tensorflow_places_one_task_per_instance():
    assert placement(TensorflowConfiguration(worker_count=2, parameter_server_count=1)) == (
        {"instance_count": 3}, tensorflow(2, 1))
    assert placement(TensorflowConfiguration(worker_count=4, parameter_server_count=0)) == (
        {"instance_count": 4}, tensorflow(4, 0))
    assert placement(TensorflowConfiguration()) == ({"instance_count": 2}, tensorflow(1, 1))


def test_attributes_set_after_construction_are_sent():
    mpi = MpiConfiguration()
    mpi.process_count_per_node = 2
    mpi.node_count = 2
    assert (mpi.process_count_per_node, mpi.node_count) == (2, 2)
    assert placement(mpi) == ({"instance_count": 2},
                              {"type": "mpi", "process_count_per_instance": 2})

    pt = PyTorchConfiguration(process_count=3)
    pt.node_count = 2  # 3 processes on 2 nodes for now: checked when the spec is made, not here
    pt.process_count = 6
    pt.communication_backend = "gloo"
    assert placement(pt) == ({"instance_count": 2},
                             {"type": "pytorch", "process_count_per_instance": 3})

    tf = TensorflowConfiguration()
    tf.worker_count, tf.parameter_server_count = 3, 2
    assert placement(tf)[0] == {"instance_count": 5}

    src = ScriptRunConfig("src", "train.py")
    src.distributed_job_config = MpiConfiguration(node_count=4)
    assert src._job_spec("exp")[0]["resources"] == {"instance_count": 4}
    src.distributed_job_config = None
    assert "distribution" not in src._job_spec("exp")[0]


@pytest.mark.parametrize("make, field", [
    (lambda: MpiConfiguration(process_count_per_node=0), "MpiConfiguration.process_count_per_node"),
    (lambda: MpiConfiguration(node_count=-1), "MpiConfiguration.node_count"),
    (lambda: MpiConfiguration(node_count=1.5), "MpiConfiguration.node_count"),
    (lambda: MpiConfiguration(node_count=True), "MpiConfiguration.node_count"),
    (lambda: MpiConfiguration(node_count="2"), "MpiConfiguration.node_count"),
    (lambda: PyTorchConfiguration(node_count=0), "PyTorchConfiguration.node_count"),
    (lambda: PyTorchConfiguration(process_count=0), "PyTorchConfiguration.process_count"),
    (lambda: TensorflowConfiguration(worker_count=0), "TensorflowConfiguration.worker_count"),
    (lambda: TensorflowConfiguration(parameter_server_count=-1),
     "TensorflowConfiguration.parameter_server_count"),
])
def test_bad_counts_name_the_field(make, field):
    with pytest.raises(InvalidArgumentError, match=field.replace(".", r"\.") + " must be"):
        make()


def test_setting_a_bad_count_fails_and_keeps_the_old_value():
    mpi = MpiConfiguration(process_count_per_node=2)
    with pytest.raises(InvalidArgumentError, match="process_count_per_node must be a positive int"):
        mpi.process_count_per_node = 0
    assert mpi.process_count_per_node == 2


def test_pytorch_process_count_must_divide_by_node_count():
    with pytest.raises(InvalidArgumentError, match=r"process_count \(5\).*node_count \(2\)"):
        PyTorchConfiguration(process_count=5, node_count=2)
    pt = PyTorchConfiguration(process_count=4, node_count=2)
    pt.node_count = 3
    with pytest.raises(InvalidArgumentError, match=r"process_count \(4\).*node_count \(3\)"):
        spec_of(pt)


def test_pytorch_backend_is_nccl_or_gloo():
    assert PyTorchConfiguration().communication_backend == "Nccl"
    with pytest.raises(InvalidArgumentError,
                       match="communication_backend must be one of 'Nccl', 'Gloo', got 'mpi'"):
        PyTorchConfiguration(communication_backend="mpi")


def test_distributed_job_config_of_another_kind_is_refused():
    with pytest.raises(TypeError, match="distributed_job_config must be"):
        ScriptRunConfig("src", "train.py", distributed_job_config={"type": "mpi"})
    src = ScriptRunConfig("src", "train.py")
    src.distributed_job_config = 2
    with pytest.raises(TypeError, match="got int"):
        src._job_spec("exp")


def test_azureml_names():
    import gantry
    from azureml.core.runconfig import (MpiConfiguration as M, PyTorchConfiguration as P,
                                        TensorflowConfiguration as T)
    import azureml.core.runconfig
    assert (M, P, T) == (gantry.MpiConfiguration, gantry.PyTorchConfiguration,
                         gantry.TensorflowConfiguration)
    assert azureml.core.runconfig.MpiConfiguration is M
    from azureml.core.runconfig import RunConfiguration
    assert RunConfiguration is gantry.run_config.RunConfiguration
    with pytest.raises(ImportError, match="cannot import name"):
        exec("from azureml.core.runconfig import NoSuchThing", {})
