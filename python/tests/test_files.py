"""gantry._files: write-then-rename leaves the whole file or the old one, never a part."""

import os
import stat

import pytest

from gantry._files import link_atomically, write_atomically


def _names(folder):
    return sorted(os.listdir(folder))


def test_a_path_is_replaced_whole_and_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "cache.json"
    write_atomically(str(target), lambda f: f.write(b"one"))
    assert target.read_bytes() == b"one" and stat.S_IMODE(target.stat().st_mode) == 0o600

    def fail(f):
        f.write(b"half")
        raise RuntimeError("the network went away")

    with pytest.raises(RuntimeError):
        write_atomically(str(target), fail)
    assert target.read_bytes() == b"one" and _names(tmp_path) == ["cache.json"]


def test_in_a_folder_fd_the_mode_is_masked_and_a_refused_rename_leaves_nothing(tmp_path):
    fd = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        write_atomically("run.sh", lambda f: f.write(b"#!/bin/sh\n"), dir_fd=fd, mode=0o4755)
        assert stat.S_IMODE((tmp_path / "run.sh").stat().st_mode) == 0o755  # never setuid

        def refuse():
            raise FileExistsError("something appeared there")

        with pytest.raises(FileExistsError):
            write_atomically("run.sh", lambda f: f.write(b"other"), dir_fd=fd, check=refuse)
    finally:
        os.close(fd)
    assert (tmp_path / "run.sh").read_bytes() == b"#!/bin/sh\n" and _names(tmp_path) == ["run.sh"]


def test_a_link_at_the_name_is_replaced_not_written_through(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "f").symlink_to(outside)
    fd = os.open(str(folder), os.O_RDONLY | os.O_DIRECTORY)
    try:
        write_atomically("f", lambda f: f.write(b"new"), dir_fd=fd)
        link_atomically("g", "f", dir_fd=fd)
        link_atomically("g", "f2", dir_fd=fd)
    finally:
        os.close(fd)
    assert outside.read_bytes() == b"keep me"
    assert not (folder / "f").is_symlink() and (folder / "f").read_bytes() == b"new"
    assert os.readlink(str(folder / "g")) == "f2" and _names(folder) == ["f", "g"]
