"""Compute targets: a local cluster of a VM shape runs at most max_nodes jobs at once."""
import json

from conftest import submitted_name, write_job


def test_cluster_lifecycle_and_capacity(server, tmp_path):
    created = server.cli("compute", "create", "--name", "gpu-cluster", "--size", "standard_nc6",
                         "--max-instances", "1", check=True)
    assert "STANDARD_NC6" in created.stdout and "6 CPUs" in created.stdout
    dup = server.cli("compute", "create", "--name", "gpu-cluster", "--size", "STANDARD_NC6")
    assert dup.returncode == 5
    bad = server.cli("compute", "create", "--name", "x", "--size", "STANDARD_BOGUS")
    assert bad.returncode == 3 and "STANDARD_BOGUS" in bad.stderr
    bad2 = server.cli("compute", "create", "--name", "y", "--max-instances", "0")
    assert bad2.returncode == 2 and "max_nodes" in bad2.stderr
    listing = server.cli("compute", "list", check=True).stdout
    assert "local" in listing and "gpu-cluster" in listing
    shown = json.loads(server.cli("compute", "show", "-n", "gpu-cluster", check=True).stdout)
    assert shown["node"] == {"cpus": 6, "memory_gb": 56.0, "gpus": 1}

    gate = tmp_path / "gate"
    yml = write_job(tmp_path, f"bash -c 'echo node $GANTRY_VM_SIZE $GANTRY_NODE_CPUS; "
                              f"while [ ! -e {gate} ]; do sleep 0.02; done'",
                    extra="compute: azureml:gpu-cluster\n")
    # write_job writes `compute: local`; a YAML key may appear once, so drop that one.
    yml.write_text(yml.read_text().replace("compute: local\n", ""))
    names = [submitted_name(server.cli("job", "create", "--file", str(yml), check=True)) for _ in range(2)]
    server.wait_for(names[0], lambda r, log: "node STANDARD_NC6 6" in log)
    assert server.run(names[1])["status"] == "Queued"  # max_nodes 1
    busy = server.cli("compute", "delete", "-n", "gpu-cluster")
    assert busy.returncode == 5 and "cancel them first" in busy.stderr
    gate.write_text("go")
    assert [server.wait_terminal(n)["status"] for n in names] == ["Completed", "Completed"]
    server.cli("compute", "delete", "-n", "gpu-cluster", check=True)
    gone = server.cli("job", "create", "--file", str(yml))
    assert gone.returncode == 3 and "gpu-cluster" in gone.stderr


def test_slurm_target_keeps_the_nodes_view_of_an_https_server(server):
    # Where the nodes reach an HTTPS server and find its CA file: both stored on the target.
    p = server.cli("compute", "create", "--name", "hpc", "--type", "slurm",
                   "--server-url", "https://gantry.lab:8765", "--node-ca-file", "/shared/gantry/ca.pem",
                   "-o", "json", check=True)
    target = json.loads(p.stdout)
    assert target["properties"]["server_url"] == "https://gantry.lab:8765"
    assert target["properties"]["ca_file"] == "/shared/gantry/ca.pem"
    bad = server.cli("compute", "create", "--name", "hpc2", "--type", "slurm",
                     "--node-ca-file", "relative/ca.pem")
    assert bad.returncode == 2 and "ca_file must be an absolute path" in bad.stderr, bad.stderr
