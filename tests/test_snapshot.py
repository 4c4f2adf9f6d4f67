"""Snapshots honour ignore files and re-submitting an unchanged project sends nothing."""
import re

from conftest import submitted_name, write_job


def test_ignore_files_and_resubmission(server, tmp_path):
    files = {
        "main.py": "import os\nfor r, d, f in sorted(os.walk('.')):\n    [print(os.path.join(r, x)) for x in sorted(f)]\n",
        "secret.key": "do not upload",
        ".amlignore": "secret.key\nbig/\n",
        "big/blob.bin": "x" * 1000,
        "pkg/mod.py": "X = 1\n",
        "pkg/.gitignore": "*.tmp\n",
        "pkg/scratch.tmp": "junk",
    }
    yml = write_job(tmp_path, "python main.py", files=files)
    first = server.cli("job", "create", "--file", str(yml), "--stream", check=True)
    listed = first.stdout
    assert "./main.py" in listed and "./pkg/mod.py" in listed
    assert "secret.key" not in listed and "blob.bin" not in listed and "scratch.tmp" not in listed
    m = re.search(r"uploaded (\d+) new files", first.stderr)
    assert m and int(m.group(1)) > 0
    second = server.cli("job", "create", "--file", str(yml), check=True)
    assert "uploaded 0 new files (0 bytes)" in second.stderr
    run1 = server.run(submitted_name(first))
    run2 = server.run(submitted_name(second))
    assert run1["snapshot_id"] == run2["snapshot_id"]
