"""Re-submitting an unchanged 5,000-file, 500 MB project (wall time of `gantry job create`),
against the first, cold submission of the same project (hash everything, upload all).
"""
import os
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GantryServer, percentile  # noqa: E402

FILES = int(os.environ.get("BENCH_FILES", "5000"))
TOTAL_MB = int(os.environ.get("BENCH_MB", "500"))


def main():
    server = GantryServer(slots=0)  # runs queue; only submission is measured
    project = server.tmp / "big"
    src = project / "src"
    size = TOTAL_MB * 1024 * 1024 // FILES
    for i in range(FILES):
        d = src / f"pkg{i // 100:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"file{i:05d}.bin").write_bytes(os.urandom(size))
    old = time.time() - 3600  # files written long ago: the hash cache may vouch for them
    for p in src.rglob("*.bin"):
        os.utime(p, (old, old))
    (project / "job.yml").write_text(textwrap.dedent("""\
        command: "true"
        code: ./src
        compute: local
        """))
    env_cache = server.tmp / "cache"
    os.environ["XDG_CACHE_HOME"] = str(env_cache)

    def submit():
        t = time.perf_counter()
        server.cli("job", "create", "--file", str(project / "job.yml"))
        return (time.perf_counter() - t) * 1000

    cold = submit()
    warm = [submit() for _ in range(10)]
    server.stop()
    p50 = percentile(warm, 50)
    print(f"project: {FILES} files, {TOTAL_MB} MB")
    print(f"first submission (hash + upload everything): {cold:.0f} ms")
    print(f"unchanged re-submission, whole CLI command:  p50 {p50:.0f} ms, max {max(warm):.0f} ms")
    print(f"ratio cold / warm: {cold / p50:.0f}x")


if __name__ == "__main__":
    main()
