"""RunDetails: follow a submitted run's status and metrics (azureml.widgets' shape).

::

    from azureml.widgets import RunDetails
    RunDetails(run).show()

In Jupyter (an IPython kernel, whose ``IPython.display`` is there) ``show()`` renders an HTML
table (status, duration, the run's URL on its server, each metric's latest value and how
many points it has) and returns at once; a background thread redraws it in place as the
run moves on, until it ends. Anywhere else (a terminal, a script) ``show()`` prints each
status change and each new metric value as they arrive and returns when the run has ended,
with one closing line. For a sweep (a HyperDriveRun) both also show its trials: a table with
each trial's values, status, primary metric and why a policy stopped it in Jupyter, a line
per trial change in a terminal, and the best trial. Standard library only: IPython is used
when it is already there, never required.
"""

from __future__ import annotations

import html
import sys
import threading
from typing import Any, Dict, List, Optional, TextIO, Tuple

from . import _paths
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
        ``(run, new status events, metrics)``. A sweep's run also carries ``trials``, its
        trials table (``GET /sweeps/NAME``), and ``primary_metric``."""
        ev = client.get(self._run._path("/events"), {
            "since": self._since, "offset": self._offset, "wait_ms": _WAIT_MS}) or {}
        self._since = int(ev.get("next", self._since))
        self._offset = int(ev.get("offset", self._offset))  # the output itself is not shown
        run = client.get(self._run._path()) or {}
        if run.get("kind") == "sweep":
            # A sweep's log (a line per trial started, ended, stopped) wakes the poll above.
            run = client.get(_paths.sweep(self._run.id)) or run
        metrics = (client.get(self._run._path("/metrics")) or {}).get("metrics") or {}
        return run, list(ev.get("events") or []), metrics

    @staticmethod
    def _trials_html(run: Dict[str, Any]) -> List[str]:
        """The trials table: one row per trial with its values, status, primary metric and
        why a policy stopped it; the best trial in bold."""
        trials = run.get("trials") or []
        metric = (run.get("primary_metric") or {}).get("name", "primary metric")
        names: List[str] = []
        for t in trials:
            names += [k for k in (t.get("values") or {}) if k not in names]
        head = ["Trial", "Status"] + names + [metric, "Intervals", "Stopped by policy / error"]
        out = ['<table class="gantry-trials"><tr>%s</tr>'
               % "".join("<th>%s</th>" % html.escape(h) for h in head)]
        best = run.get("best_child_run_id") or ""
        for t in trials:
            values = t.get("values") or {}
            why = (t.get("stopped_by_policy") or {}).get("reason") or t.get("error") or ""
            score = t.get("primary_metric")
            cells = [t.get("name", ""), t.get("status", "")]
            cells += [_shown(values[n]) if n in values else "" for n in names]
            cells += ["" if score is None else _shown(score), str(t.get("intervals", 0)), why]
            row = "".join("<td>%s</td>" % html.escape(str(c)) for c in cells)
            style = ' style="font-weight:bold"' if t.get("name") == best else ""
            out.append("<tr%s>%s</tr>" % (style, row))
        out.append("</table>")
        return out

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
        if run.get("kind") == "sweep":
            counts = run.get("trial_counts") or {}
            rows.append(("Trials", html.escape(", ".join(
                "%s %d" % (k, counts[k]) for k in sorted(counts)) or "none yet")))
            if run.get("best_child_run_id"):
                rows.append(("Best trial", html.escape("%s (%s %s)" % (
                    run["best_child_run_id"], (run.get("primary_metric") or {}).get("name", ""),
                    _shown(run.get("score"))))))
        out = ['<div class="gantry-run-details"><table>']
        out += ["<tr><th style=\"text-align:left\">%s</th><td style=\"text-align:left\">%s</td></tr>"
                % (k, v) for k, v in rows]
        out.append("</table>")
        if run.get("kind") == "sweep":
            out += self._trials_html(run)
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
        trial_lines: Dict[str, str] = {}  # trial -> the line last printed for it
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
            for line_of in (run.get("trials") or []):
                line = self._trial_line(run, line_of)
                if trial_lines.get(line_of.get("name", "")) != line:
                    trial_lines[line_of.get("name", "")] = line
                    out.write(line + "\n")
            out.flush()
            status = run.get("status", "")
            if status in _TERMINAL and not events:
                error = run.get("error") or ""
                out.write("Run %s ended %s%s\n" % (self._run.id, status,
                                                  ": " + error if error else ""))
                if run.get("best_child_run_id"):
                    out.write("Best trial: %s (%s %s)\n" % (
                        run["best_child_run_id"], (run.get("primary_metric") or {}).get("name", ""),
                        _shown(run.get("score"))))
                out.flush()
                return

    @staticmethod
    def _trial_line(run: Dict[str, Any], t: Dict[str, Any]) -> str:
        """``  trial NAME  STATUS  METRIC=VALUE  {values}  (why it stopped)``."""
        metric = (run.get("primary_metric") or {}).get("name", "primary metric")
        score = t.get("primary_metric")
        values = ", ".join("%s=%s" % (k, _shown(v)) for k, v in (t.get("values") or {}).items())
        why = (t.get("stopped_by_policy") or {}).get("reason") or t.get("error") or ""
        if t.get("stopped_by_policy") and t.get("status") not in ("Canceled", "CancelRequested"):
            why = "it ended before the policy's stop: " + why
        return "  trial %s  %s%s  {%s}%s" % (
            t.get("name", ""), t.get("status", ""),
            "" if score is None else "  %s=%s" % (metric, _shown(score)), values,
            "  (%s)" % why.splitlines()[0] if why else "")

    def __repr__(self) -> str:
        return "RunDetails(%r)" % (self._run,)
