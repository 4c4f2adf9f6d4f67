"""Write-then-rename: a file (or link) appears at its name complete or not at all.

Every place the SDK writes a file that others read (the snapshot hash cache, downloaded
tree and run files) goes through :func:`write_atomically`; a link put in place the same way
goes through :func:`link_atomically`. The content goes to a new temporary entry beside the
target first (created ``O_EXCL | O_NOFOLLOW``, mode 0o600, so it never opens something that
was already there), then is renamed over the name, replacing a file or a link there rather
than writing through it. When anything fails, the temporary entry is removed and the target
is untouched.

With ``dir_fd`` (an open folder), names are relative to that folder: the caller opened
the folder without following links, and nothing here resolves a path again, so a folder
swapped for a link in the meantime cannot redirect the write. Without it, ``name`` is a path
and the temporary file sits in the same folder, so the rename never crosses file systems.
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Callable, Optional

__all__ = ["write_atomically", "link_atomically", "unlink_quietly"]

_CREATE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_BINARY", 0))


def unlink_quietly(name: str, dir_fd: Optional[int] = None) -> None:
    """Removes a temporary entry left by a failed write; one already gone is fine."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


def _temp_beside(name: str, dir_fd: Optional[int], prefix: str) -> str:
    temp = prefix + secrets.token_hex(8)
    return temp if dir_fd is not None else os.path.join(os.path.dirname(name), temp)


def _rename_into_place(temp: str, name: str, dir_fd: Optional[int],
                       check: Optional[Callable[[], None]]) -> None:
    try:
        if check is not None:
            check()  # may raise to refuse the rename, e.g. when something appeared at name
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        unlink_quietly(temp, dir_fd)
        raise


def write_atomically(name: str, fill: Callable[[Any], None], dir_fd: Optional[int] = None,
                     mode: Optional[int] = None, check: Optional[Callable[[], None]] = None,
                     prefix: str = ".gantry-tmp-") -> None:
    """Writes the file ``name`` (a path, or a plain name inside the folder ``dir_fd``):
    ``fill(fileobj)`` writes the bytes to a binary file object and may raise to abandon
    them. ``mode`` (masked to 0o777) is set before the rename; None leaves 0o600.
    ``check()``, called just before the rename, may raise to refuse it. The temporary
    file is ``prefix`` plus 16 random hex digits."""
    temp = _temp_beside(name, dir_fd, prefix)
    fd = os.open(temp, _CREATE_FLAGS, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            if mode is not None:
                os.fchmod(f.fileno(), int(mode) & 0o777)
    except BaseException:
        unlink_quietly(temp, dir_fd)
        raise
    _rename_into_place(temp, name, dir_fd, check)


def link_atomically(name: str, target: str, dir_fd: Optional[int] = None,
                    check: Optional[Callable[[], None]] = None,
                    prefix: str = ".gantry-tmp-") -> None:
    """Puts a symlink to ``target`` at ``name``, as :func:`write_atomically` puts a file."""
    temp = _temp_beside(name, dir_fd, prefix)
    os.symlink(target, temp, dir_fd=dir_fd)
    _rename_into_place(temp, name, dir_fd, check)
