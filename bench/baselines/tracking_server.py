"""Baseline metric-tracking server built the way MLflow's tracking server works: a Python
WSGI app over SQLite, one transaction per log-batch request, one row per metric.

MLflow itself is not packaged in Debian and there is no PyPI here, so this stand-in uses the
same architecture with the standard library only (wsgiref + sqlite3, threaded). It accepts
Gantry's batch body ({"metrics": [{"key", "value", "step", "timestamp"}]}) at
POST /api/v1/runs/<run>/metrics so that the same load generator drives both.
"""
import json
import sqlite3
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def make_app(db_path):
    local = threading.local()

    def conn():
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(db_path, timeout=30)
            local.db.execute("PRAGMA journal_mode=WAL")
            local.db.execute("PRAGMA synchronous=NORMAL")
        return local.db

    db = conn()
    db.execute("CREATE TABLE IF NOT EXISTS metrics (run TEXT, key TEXT, value REAL, step INTEGER, ts INTEGER)")
    db.execute("CREATE INDEX IF NOT EXISTS m_idx ON metrics(run, key, step)")
    db.commit()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if environ["REQUEST_METHOD"] == "GET":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status": "ok"}']
        run = path.split("/")[4]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(size))
        rows = [(run, m["key"], m["value"], m.get("step", 0), m.get("timestamp", 0)) for m in body["metrics"]]
        c = conn()
        with c:
            c.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)
        out = json.dumps({"accepted": len(rows)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]

    return app


if __name__ == "__main__":
    db_path, port_file = sys.argv[1], sys.argv[2]
    server = make_server("127.0.0.1", 0, make_app(db_path), server_class=ThreadingWSGIServer,
                         handler_class=QuietHandler)
    with open(port_file, "w") as f:
        f.write(str(server.server_port))
    server.serve_forever()
