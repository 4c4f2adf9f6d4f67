"""CondaDependencies: build a conda environment file in code (azureml.core v1's shape).

::

    from azureml.core.runconfig import CondaDependencies

    cd = CondaDependencies.create(pip_packages=["azureml-defaults"], conda_packages=["numpy"])
    cd.add_pip_package("tensorflow-cpu==2.21.0")
    cd.save_to_file(base_directory="./", conda_file_path="myenv.yml")
    env = Environment.from_conda_specification(name="myenv", file_path="myenv.yml")

What it writes is the conda environment YAML that ``conda env create -f`` and the Gantry
server read::

    name: project_environment
    channels:
      - conda-forge
    dependencies:
      - python=3.11
      - numpy
      - pip
      - pip:
          - azureml-defaults

``create``'s ``python_version`` defaults to the major.minor of the Python running the SDK
(Azure's default is an old 3.x that the machines running Gantry rarely have). Unlike Azure,
``create`` adds no pinned ``azureml-defaults``: Gantry's own SDK stands in for the
``azureml-*`` packages in a run or a deployment. The reader understands the files this
class writes and the usual hand-written ones (block lists, ``key: value``, comments); it is
no general YAML parser: anchors, flow collections and multi-line strings are refused with
an InvalidArgumentError naming the line.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from .errors import InvalidArgumentError, NotFoundError

__all__ = ["CondaDependencies"]

_DEFAULT_NAME = "project_environment"
_NAME_END = re.compile(r"[\s=<>!~\[;@]")


def _package_name(spec: str) -> str:
    """``numpy`` of ``numpy==1.2``, ``numpy>=1``, ``conda-forge::numpy=1.2``, ``numpy[extra]``."""
    spec = spec.strip().split("::", 1)[-1]
    return _NAME_END.split(spec, 1)[0].lower()


def _check_package(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError("%s must be a non-empty string, got %r" % (what, value))
    if "\n" in value or value.strip().startswith(("#", "-", "{", "[")):
        raise InvalidArgumentError("%s %r is not a package specification" % (what, value))
    return value.strip()


def _scalar(text: str, line_no: int) -> str:
    text = text.strip()
    if text[:1] in ("'", '"'):
        quote = text[0]
        if len(text) < 2 or text[-1] != quote:
            raise InvalidArgumentError("line %d: unterminated quoted string %s" % (line_no, text))
        return text[1:-1]
    if text[:1] in ("&", "*", "{", "[", "|", ">", "!"):
        raise InvalidArgumentError("line %d: %r is more YAML than a conda file needs; write "
                                   "plain block lists" % (line_no, text))
    return text


def _strip_comment(line: str) -> str:
    # A '#' starts a comment at the line's start or after a space (not inside 'a#b').
    out, quote = [], ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def _parse(text: str) -> Dict[str, Any]:
    """The conda file ``text`` as ``{"name", "channels": [...], "dependencies": [str |
    {"pip": [...]}], ...}``."""
    result: Dict[str, Any] = {}
    key: Optional[str] = None         # the top-level key whose list is being read
    pip: Optional[List[str]] = None   # the pip list being read inside dependencies
    pip_indent = -1
    for line_no, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise InvalidArgumentError("line %d: indent with spaces, not tabs" % line_no)
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent == 0 and not body.startswith("-"):
            name, sep, value = body.partition(":")
            if not sep or not name.strip():
                raise InvalidArgumentError("line %d: expected 'key: value', got %r" % (line_no, body))
            key, pip = name.strip(), None
            value = value.strip()
            result[key] = _scalar(value, line_no) if value else []
            continue
        if not body.startswith("-") or key is None or not isinstance(result.get(key), list):
            raise InvalidArgumentError("line %d: expected a list item ('- ...') under a key, "
                                       "got %r" % (line_no, body))
        item = body[1:].strip()
        if pip is not None and indent > pip_indent:
            pip.append(_scalar(item, line_no))
            continue
        pip = None
        if key == "dependencies" and re.match(r"^pip\s*:", item):
            rest = item.split(":", 1)[1].strip()
            if rest:
                raise InvalidArgumentError("line %d: list pip packages below '- pip:'" % line_no)
            pip, pip_indent = [], indent
            result[key].append({"pip": pip})
            continue
        result[key].append(_scalar(item, line_no))
    return result


class CondaDependencies:
    """A conda environment file: its ``name``, ``channels``, conda packages (the Python
    version among them, as ``python=X.Y``) and pip packages.

    ``CondaDependencies()`` is an empty one (just ``name``); ``conda_dependencies_file_path``
    reads an existing file (NotFoundError when absent, InvalidArgumentError when it is not a
    conda file).
    """

    def __init__(self, conda_dependencies_file_path: Optional[str] = None,
                 _underlying_structure: Optional[Dict[str, Any]] = None):
        if conda_dependencies_file_path is not None:
            path = os.fspath(conda_dependencies_file_path)
            try:
                with open(path, "r", encoding="utf-8") as f:
                    structure = _parse(f.read())
            except OSError as e:
                raise NotFoundError("cannot read the conda file %s: %s" % (path, e.strerror)) from None
        elif _underlying_structure is not None:
            structure = dict(_underlying_structure)
        else:
            structure = {"name": _DEFAULT_NAME}
        self._name = str(structure.get("name") or _DEFAULT_NAME)
        self._channels: List[str] = [str(c) for c in structure.get("channels") or []]
        self._conda: List[str] = []
        self._pip: List[str] = []
        self._extra = {k: v for k, v in structure.items()
                       if k not in ("name", "channels", "dependencies")}
        for dep in structure.get("dependencies") or []:
            if isinstance(dep, dict):
                self._pip.extend(str(p) for p in dep.get("pip") or [])
            elif str(dep) != "pip":  # written back whenever there are pip packages
                self._conda.append(str(dep))

    @staticmethod
    def create(pip_indexurl: Optional[str] = None, pip_packages: Optional[Sequence[str]] = None,
               conda_packages: Optional[Sequence[str]] = None,
               python_version: Optional[str] = None, pin_sdk_version: bool = True) -> "CondaDependencies":
        """A new file with ``python=python_version`` (default: this interpreter's
        major.minor), then ``conda_packages`` and ``pip_packages``; ``pip_indexurl`` becomes
        ``--index-url URL`` first among the pip entries. ``pin_sdk_version`` is accepted for
        Azure's signature: Gantry's SDK is always the one a run or deployment gets."""
        cd = CondaDependencies()
        if python_version is None:
            python_version = "%d.%d" % sys.version_info[:2]
        cd.set_python_version(python_version)
        if pip_indexurl:
            cd._pip.append("--index-url " + _check_package("pip_indexurl", pip_indexurl))
        for p in conda_packages or []:
            cd.add_conda_package(p)
        for p in pip_packages or []:
            cd.add_pip_package(p)
        return cd

    # -- reading

    @property
    def conda_packages(self) -> Iterator[str]:
        """The conda packages, the ``python=`` entry included."""
        return iter(list(self._conda))

    @property
    def pip_packages(self) -> Iterator[str]:
        return iter([p for p in self._pip if not p.startswith("-")])

    @property
    def conda_channels(self) -> Iterator[str]:
        return iter(list(self._channels))

    def get_python_version(self) -> Optional[str]:
        """The ``X.Y[.Z]`` of the ``python=`` entry, or None."""
        for p in self._conda:
            if _package_name(p) == "python":
                version = p.strip()[len("python"):].lstrip("=<>!~ ")
                return version or None
        return None

    # -- changing

    def set_python_version(self, version: str) -> None:
        """Replaces the ``python=`` entry (first among the conda packages)."""
        version = _check_package("python_version", str(version))
        if not re.match(r"^\d+(\.\d+){0,2}$", version):
            raise InvalidArgumentError("python_version %r must look like 3.11 or 3.11.2" % version)
        self._conda = [p for p in self._conda if _package_name(p) != "python"]
        self._conda.insert(0, "python=" + version)

    def add_conda_package(self, conda_package: str) -> None:
        """Adds ``conda_package`` (``numpy`` or ``numpy=1.26``), replacing an entry for the
        same package."""
        spec = _check_package("conda_package", conda_package)
        name = _package_name(spec)
        self._conda = [p for p in self._conda if _package_name(p) != name]
        self._conda.append(spec)

    def remove_conda_package(self, conda_package: str) -> None:
        name = _package_name(_check_package("conda_package", conda_package))
        self._conda = [p for p in self._conda if _package_name(p) != name]

    def add_pip_package(self, pip_package: str) -> None:
        """Adds ``pip_package`` (``tensorflow==2.2.0``), replacing an entry for the same
        package."""
        spec = _check_package("pip_package", pip_package)
        name = _package_name(spec)
        self._pip = [p for p in self._pip if p.startswith("-") or _package_name(p) != name]
        self._pip.append(spec)

    def remove_pip_package(self, pip_package: str) -> None:
        name = _package_name(_check_package("pip_package", pip_package))
        self._pip = [p for p in self._pip if p.startswith("-") or _package_name(p) != name]

    def add_channel(self, channel: str) -> None:
        """Adds a conda channel (``conda-forge``) unless it is there already."""
        channel = _check_package("channel", channel)
        if channel not in self._channels:
            self._channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        self._channels = [c for c in self._channels if c != channel]

    # -- writing

    def _as_dict(self) -> Dict[str, Any]:
        deps: List[Any] = list(self._conda)
        if self._pip:
            if not any(_package_name(p) == "pip" for p in deps):
                deps.append("pip")
            deps.append({"pip": list(self._pip)})
        out: Dict[str, Any] = {"name": self._name}
        if self._channels:
            out["channels"] = list(self._channels)
        out["dependencies"] = deps
        out.update(self._extra)
        return out

    def serialize_to_string(self) -> str:
        """The conda environment YAML (see the module's doc)."""
        def quoted(value: str) -> str:
            # Plain YAML unless the text would read as something else.
            if re.match(r"^(?:[A-Za-z0-9_.]|--)[A-Za-z0-9_.\-+=<>!~*,:/@\[\] ]*$", value) \
                    and ": " not in value and not value.endswith(":"):
                return value
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

        d = self._as_dict()
        lines = ["name: " + quoted(d["name"])]
        if d.get("channels"):
            lines.append("channels:")
            lines += ["  - " + quoted(c) for c in d["channels"]]
        lines.append("dependencies:")
        for dep in d["dependencies"]:
            if isinstance(dep, dict):
                lines.append("  - pip:")
                lines += ["      - " + quoted(p) for p in dep["pip"]]
            else:
                lines.append("  - " + quoted(dep))
        for k, v in self._extra.items():
            if isinstance(v, list):
                lines.append("%s:" % k)
                lines += ["  - " + quoted(str(x)) for x in v]
            else:
                lines.append("%s: %s" % (k, quoted(str(v))))
        return "\n".join(lines) + "\n"

    def save_to_file(self, base_directory: Union[str, "os.PathLike[str]"],
                     conda_file_path: Optional[str] = None) -> str:
        """Writes :meth:`serialize_to_string` to ``base_directory/conda_file_path`` (default
        ``conda_dependencies.yml``), creating folders as needed; returns the file's path."""
        path = os.path.join(os.fspath(base_directory), conda_file_path or "conda_dependencies.yml")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.serialize_to_string())
        return os.path.normpath(path)

    def save(self, path: Optional[str] = None) -> str:
        """Writes the file to ``path`` (default ``conda_dependencies.yml``); returns it."""
        return self.save_to_file(".", path)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, CondaDependencies) and self._as_dict() == other._as_dict()

    def __repr__(self) -> str:
        return "CondaDependencies(%r)" % (self._as_dict(),)
