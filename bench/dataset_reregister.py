"""Registering the four MNIST-format files again with unchanged content (the seed's
`Dataset.File.from_files(web_paths).register(..., create_new_version=True)`), against the
first registration, which fetches and hashes them. Uses Debian's Fashion-MNIST files as
file:// URLs and a local HTTP server serving the same files (http://), as the seed does."""
import http.server
import json
import os
import sys
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GantryServer, percentile  # noqa: E402

DATA = os.environ.get("BENCH_DATA", "/usr/share/datasets/fashion-mnist")
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def register(server, name, urls):
    body = json.dumps({"name": name, "urls": urls, "create_new_version": True}).encode()
    req = urllib.request.Request(server.url + "/api/v1/datasets", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **server.headers()})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        version = json.loads(r.read())["version"]
    return (time.perf_counter() - t) * 1000, version


def main():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(Quiet, directory=DATA)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    server = GantryServer()
    for scheme, urls in [("file://", ["file://%s/%s" % (DATA, f) for f in FILES]),
                         ("http://", ["http://127.0.0.1:%d/%s" % (httpd.server_address[1], f) for f in FILES])]:
        name = "mnist-" + scheme.rstrip(":/")
        cold, v1 = register(server, name, urls)
        warm = [register(server, name, urls) for _ in range(20)]
        assert all(v == v1 for _, v in warm), "unchanged content must keep its version"
        p50 = percentile([ms for ms, _ in warm], 50)
        print(f"{scheme:8} first registration {cold:7.1f} ms; again, unchanged: p50 {p50:5.1f} ms "
              f"(max {max(ms for ms, _ in warm):5.1f}); ratio {cold / p50:.0f}x")
    total = sum(os.path.getsize(os.path.join(DATA, f)) for f in FILES)
    print(f"four files, {total / 1e6:.1f} MB; 20 re-registrations each")
    server.stop()
    httpd.shutdown()


if __name__ == "__main__":
    main()
