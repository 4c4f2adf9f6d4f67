"""RunDetails: follow a submitted run's status and metrics (azureml.widgets' shape).

::

    from azureml.widgets import RunDetails
    RunDetails(run).show()

In Jupyter (an IPython kernel, whose ``IPython.display`` is there) ``show()`` renders an HTML
table (status, duration, the run's URL on its server, each metric's latest value and how
many points it has) and returns at once; a background thread redraws it in place as the
run moves on, until it ends. Anywhere else (a terminal, a script) ``show()`` prints each
status change and each new metric value as they arrive and returns when the run has ended,
with one closing line. Standard library only: IPython is used when it is already there,
never required.
"""

from __future__ import annotations

import html
import sys
import threading
from typing import Any, Dict, List, Optional, TextIO, Tuple

from .errors import DeadlineExceededError, UnavailableError

__all__ = ["RunDetails"]

_WAIT_MS = 2000  # a long poll: answers at once on news, so this only bounds metric latency
_TERMINAL = frozenset(["Completed", "Failed", "Canceled"])


def _jupyter_display() -> Optional[Tuple[Any, Any]]:
    """``(display, HTML)`` from IPython.display when running in a Jupyter kernel, else None."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    if shell is None or not (hasattr(shell, "kernel") or
                             type(shell).__name__ == "ZMQInteractiveShell"):
        return None
    try:
        from IPython.display import HTML, display
    except ImportError:
        return None
    return display, HTML


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return "%.6g" % value
    return str(value)


class RunDetails:
    """Shows ``run_instance`` (a submitted run: what ``Experiment.submit`` returns)."""

    def __init__(self, run_instance: Any):
        if not all(callable(getattr(run_instance, m, None))
                   for m in ("_client", "_path", "get_portal_url")):
            raise TypeError("RunDetails needs a submitted run (what Experiment.submit returns), "
                            "got %s" % type(run_instance).__name__)
        self._run = run_instance
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._since = 0   # status events seen
        self._offset = 0  # output bytes passed over

    # -- what the run looks like now

    def _poll(self, client: Any) -> Tuple[Dict[str, Any], List[Dict[str, Any]],
                                           Dict[str, List[Any]]]:
        """Waits for news (a status change or output: at most ``_WAIT_MS``), then returns
        ``(run, new status events, metrics)``."""
        ev = client.get(self._run._path("/events"), {
            "since": self._since, "offset": self._offset, "wait_ms": _WAIT_MS}) or {}
        self._since = int(ev.get("next", self._since))
        self._offset = int(ev.get("offset", self._offset))  # the output itself is not shown
        run = client.get(self._run._path()) or {}
        metrics = (client.get(self._run._path("/metrics")) or {}).get("metrics") or {}
        return run, list(ev.get("events") or []), metrics

    def _html(self, run: Dict[str, Any], metrics: Dict[str, List[Any]]) -> str:
        url = self._run.get_portal_url()
        rows = [("Run", html.escape(run.get("name", ""))),
                ("Experiment", html.escape(run.get("experiment_name", ""))),
                ("Status", "<b>%s</b>" % html.escape(run.get("status", ""))),
                ("Target", html.escape(run.get("compute", "local"))),
                ("Web View", '<a href="%s" target="_blank">%s</a>' % (html.escape(url, True),
                                                                       html.escape(url)))]
        if run.get("error"):
            rows.append(("Error", "<pre>%s</pre>" % html.escape(run["error"])))
        out = ['<div class="gantry-run-details"><table>']
        out += ["<tr><th style=\"text-align:left\">%s</th><td style=\"text-align:left\">%s</td></tr>"
                % (k, v) for k, v in rows]
        out.append("</table>")
        if metrics:
            out.append("<table><tr><th>Metric</th><th>Latest</th><th>Points</th></tr>")
            for key in sorted(metrics):
                points = metrics[key]
                last = points[-1].get("value") if points else ""
                out.append("<tr><td>%s</td><td>%s</td><td>%d</td></tr>"
                           % (html.escape(key), html.escape(_shown(last)), len(points)))
            out.append("</table>")
        out.append("</div>")
        return "".join(out)

    # -- showing it

    def show(self) -> None:
        """Renders the run in Jupyter (and keeps it current from a background thread), or
        follows it in the terminal until it ends (see the module's doc)."""
        jupyter = _jupyter_display()
        if jupyter is not None:
            self._show_html(*jupyter)
        else:
            self._follow_text(sys.stdout)

    def _show_html(self, display: Any, html_type: Any) -> None:
        client = self._run._client(timeout=_WAIT_MS / 1000 + 30)
        run, _, metrics = self._poll(client)
        handle = display(html_type(self._html(run, metrics)), display_id=True)
        if run.get("status") in _TERMINAL or handle is None:
            return

        def redraw() -> None:
            while not self._stop.is_set():
                try:
                    now, _, latest = self._poll(client)
                except (UnavailableError, DeadlineExceededError):
                    if self._stop.wait(1):  # the server is away: try again shortly
                        return
                    continue
                handle.update(html_type(self._html(now, latest)))
                if now.get("status") in _TERMINAL:
                    return

        self._thread = threading.Thread(target=redraw, name="gantry-run-details", daemon=True)
        self._thread.start()

    def _follow_text(self, out: TextIO) -> None:
        client = self._run._client(timeout=_WAIT_MS / 1000 + 30)
        out.write("Run %s: %s\n" % (self._run.id, self._run.get_portal_url()))
        out.flush()
        printed: Dict[str, int] = {}  # metric -> how many of its points are printed
        while True:
            try:
                run, events, metrics = self._poll(client)
            except (UnavailableError, DeadlineExceededError):
                out.write("(the server does not answer; waiting for it to come back)\n")
                out.flush()
                if self._stop.wait(1):
                    return
                continue
            for e in events:
                detail = e.get("detail") or ""
                out.write("[%s] %s%s\n" % (e.get("time", ""), e.get("status", ""),
                                           "  (%s)" % detail if detail else ""))
            for key in sorted(metrics):
                points = metrics[key]
                for p in points[printed.get(key, 0):]:
                    step = p.get("step")
                    out.write("  %s = %s%s\n" % (key, _shown(p.get("value")),
                                                 "" if step is None else "  (step %s)" % step))
                printed[key] = len(points)
            out.flush()
            status = run.get("status", "")
            if status in _TERMINAL and not events:
                error = run.get("error") or ""
                out.write("Run %s ended %s%s\n" % (self._run.id, status,
                                                  ": " + error if error else ""))
                out.flush()
                return

    def __repr__(self) -> str:
        return "RunDetails(%r)" % (self._run,)
