"""A worker of `gantry serve --backend python`: runs one Azure ML entry script.

Started by python_worker_pool.cc as `PYTHON -c <this file> ENTRY_SCRIPT SOURCE_DIR INDEX`
(the program is embedded in the gantry binary). Standard library only: it runs in the
user's interpreter. It imports the entry script, calls init() once, then answers frames
from fd 3 with frames on fd 4 until fd 3 closes (see worker_protocol.h for the frames).
The user's prints go to fd 1 and 2, which the server forwards to its log; a print can
never land in the protocol stream.
"""
import json
import os
import sys
import traceback

REQUESTS_FD, REPLIES_FD = 3, 4
SCORE, READY, INIT_FAILED, RESULT, RUN_ERROR = b"S", b"R", b"F", b"O", b"E"


def read_exactly(n):
    chunks = []
    while n > 0:
        chunk = os.read(REQUESTS_FD, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame():
    header = read_exactly(5)
    if header is None:
        return None, None
    payload = read_exactly(int.from_bytes(header[:4], "big"))
    if payload is None:
        return None, None
    return header[4:5], payload


def write_frame(kind, payload):
    data = len(payload).to_bytes(4, "big") + kind + payload
    view = memoryview(data)
    while view:
        view = view[os.write(REPLIES_FD, view):]


def user_traceback():
    """The traceback being handled, without this program's own frames."""
    exc = sys.exc_info()[1]
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if f.filename != "<string>" and not f.filename.startswith("<frozen ")])
    return "".join(te.format())


def error_text(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def load(entry_script):
    import importlib.util
    name = os.path.splitext(os.path.basename(entry_script))[0]
    spec = importlib.util.spec_from_file_location(name, entry_script)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {entry_script}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for fn in ("init", "run"):
        if not callable(getattr(module, fn, None)):
            raise AttributeError(f"the entry script {entry_script} defines no {fn}() function")
    return module


def main():
    entry_script, source_dir = sys.argv[1], sys.argv[2]
    # The user's code must not inherit the protocol pipes into its own subprocesses.
    os.set_inheritable(REQUESTS_FD, False)
    os.set_inheritable(REPLIES_FD, False)
    sys.argv = [entry_script]
    # `-c` put the working folder first on sys.path; the source folder takes its place.
    sys.path[0] = source_dir
    try:
        module = load(entry_script)
        module.init()
    except BaseException:  # SystemExit and KeyboardInterrupt in init() fail it too
        write_frame(INIT_FAILED, user_traceback().encode("utf-8", "replace"))
        return 1
    write_frame(READY, b"")
    while True:
        kind, payload = read_frame()
        if kind is None:  # the server closed the pipe: shut down
            return 0
        if kind != SCORE:
            print(f"gantry worker: unexpected frame {kind!r}", file=sys.stderr)
            return 2
        try:
            result = module.run(payload.decode("utf-8", "replace"))
        except Exception as exc:
            print(user_traceback(), end="", file=sys.stderr)
            write_frame(RUN_ERROR, error_text(exc).encode("utf-8", "replace"))
            continue
        try:
            body = json.dumps(result)
        except (TypeError, ValueError) as exc:
            write_frame(RUN_ERROR, (f"run() returned a value of type {type(result).__name__} "
                                    f"that json.dumps cannot encode: {exc}").encode("utf-8", "replace"))
            continue
        write_frame(RESULT, body.encode("utf-8"))


sys.exit(main())
