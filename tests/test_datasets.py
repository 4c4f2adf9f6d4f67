"""Datasets: register from URLs (a local HTTP server of the test's own, under the seed's URL
paths), local folders and globs; versions pinned by content; failures register nothing;
jobs consume `azureml:NAME@latest` inputs read-only."""
import gzip
import json

import pytest

from conftest import serve_bytes, submitted_name, write_job

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def truncated(handler):
    """/exdb/mnist/truncated.gz promises 100000 bytes, sends 1000, then closes."""
    if handler.path != "/exdb/mnist/truncated.gz":
        return False
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b"x" * 1000)
    handler.close_connection = True
    return True


@pytest.fixture
def web(tmp_path):
    content = {f"/exdb/mnist/{name}": gzip.compress(name.encode() * 100) for name in FILES}
    with serve_bytes(content, special=truncated) as url:
        yield url + "/exdb/mnist/", content


def test_url_dataset_versions_and_failures(server, web, tmp_path):
    base, content = web
    paths = sum((["--path", base + f] for f in FILES), [])
    first = server.cli("data", "create", "--name", "mnist-dataset", *paths, "--description", "training and test dataset",
                       check=True)
    assert "version 1" in first.stdout
    again = server.cli("data", "create", "--name", "mnist-dataset", *paths, check=True)
    assert "version 1" in again.stdout  # same bytes: no new version
    shown = json.loads(server.cli("data", "show", "-n", "mnist-dataset", check=True).stdout)
    assert sorted(f["path"] for f in shown["files"]) == sorted(FILES)
    assert shown["sources"] == [base + f for f in FILES]

    dest = tmp_path / "dl"
    server.cli("data", "download", "-n", "mnist-dataset", "--download-path", str(dest), check=True)
    for f in FILES:
        assert (dest / f).read_bytes() == content[f"/exdb/mnist/{f}"]

    missing = server.cli("data", "create", "--name", "broken", "--path", base + FILES[0], "--path", base + "nope.gz")
    assert missing.returncode == 3 and "nope.gz" in missing.stderr and "404" in missing.stderr
    cut = server.cli("data", "create", "--name", "broken", "--path", base + "truncated.gz")
    assert cut.returncode == 4 and "truncated.gz" in cut.stderr
    refused = server.cli("data", "create", "--name", "broken", "--path", "http://127.0.0.1:9/x.gz")
    assert refused.returncode == 4 and "127.0.0.1:9" in refused.stderr
    listing = server.cli("data", "list", check=True).stdout
    assert "broken" not in listing and "mnist-dataset" in listing


def test_local_dataset_new_versions_and_job_input(server, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("one")
    assert "version 1" in server.cli("data", "create", "--name", "local-ds", "--path", str(data), check=True).stdout
    (data / "a.txt").write_text("two")
    refused = server.cli("data", "create", "--name", "local-ds", "--path", str(data), "--no-new-version")
    assert refused.returncode == 5 and "create_new_version" in refused.stderr
    assert "version 2" in server.cli("data", "create", "--name", "local-ds", "--path", str(data), check=True).stdout
    globbed = server.cli("data", "create", "--name", "globbed", "--type", "uri_file", "--path", str(data / "*.txt"),
                         check=True)
    assert "version 1" in globbed.stdout

    yml = write_job(tmp_path, "python -c \"import os,sys; d=sys.argv[1]; print(open(os.path.join(d,'a.txt')).read()); "
                              "print('writable' if os.access(os.path.join(d,'a.txt'), os.W_OK) and os.getuid() else 'read-only');"
                              "print(open(sys.argv[2]).read())\" ${{inputs.old}} ${{inputs.one}}",
                    extra="""
                    inputs:
                      old:
                        type: uri_folder
                        path: azureml:local-ds:1
                      one:
                        type: uri_file
                        path: gantry:globbed@latest
                    """)
    p = server.cli("job", "create", "--file", str(yml), "--stream")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "\none\n" in p.stdout and "two" in p.stdout
    run = server.run(submitted_name(p))
    assert {(d["name"], d["version"]) for d in run["datasets"]} == {("local-ds", 1), ("globbed", 1)}
    bad = write_job(tmp_path, "echo ${{inputs.x}}", name="bad.yml",
                    extra="inputs:\n  x:\n    type: uri_folder\n    path: azureml:no-such-ds@latest\n")
    failed = server.cli("job", "create", "--file", str(bad))
    assert failed.returncode == 3 and "no-such-ds" in failed.stderr
