"""The environment lock: one process at a time in the /tmp a Lambda Managed Instances environment shares.

Real processes (``python -c``) take the lock and install the archive; they signal through pipes,
never through sleeps. A process killed while holding the lock, or mid-unpack, is SIGKILLed for real.
"""

from __future__ import annotations

import fcntl
import io
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from zappa_eager.runtime.archive import MARKER_NAME, PARTIAL_PREFIX, install_project_archive
from zappa_eager.runtime.envlock import LOCK_PREFIX, environment_lock, lock_path

REPO = Path(__file__).resolve().parents[2]
URL = "s3://bucket/dev_djsite_current_project.tar.gz"

#: Takes the lock, says "held", keeps it until its stdin closes (or it is killed).
HOLDER = """
import sys
from zappa_eager.runtime.envlock import environment_lock
with environment_lock(sys.argv[1], "djsite") as held:
    print("held", held.contended, flush=True)
    sys.stdin.read()
"""

#: Installs the archive; its opener appends a line to the count file, and with "stall" hands out half
#: the archive, says "stalled" and blocks on stdin (the unpack is then half done), else the whole.
INSTALLER = """
import io, os, sys
from zappa_eager.runtime.archive import install_project_archive
tmp_root, tarball, count, mode = sys.argv[1:5]
data = open(tarball, "rb").read()

class Stalling(io.RawIOBase):
    def __init__(self):
        self.sent = 0
    def readable(self):
        return True
    def readinto(self, buffer):
        if self.sent >= len(data) // 2:
            print("stalled", flush=True)
            sys.stdin.read()
            return 0
        chunk = data[self.sent:self.sent + min(len(buffer), 4096)]
        buffer[:len(chunk)] = chunk
        self.sent += len(chunk)
        return len(chunk)

def opener(bucket, key):
    with open(count, "a") as handle:
        handle.write(f"{os.getpid()}\\n")
    return io.BufferedReader(Stalling()) if mode == "stall" else io.BytesIO(data)

print("start", flush=True)
result = install_project_archive(sys.argv[5], "djsite", tmp_root=tmp_root, open_archive=opener)
print("done", result.reused, result.attempts, flush=True)
"""


def tarball(count: int = 400) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for index in range(count):
            data = os.urandom(2048)  # incompressible: the half the stall hands out is half the files
            info = tarfile.TarInfo(f"djsite/mod_{index}.py")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)


def waiters(path: str) -> int:
    """Processes blocked in flock on ``path`` (``/proc/locks`` lists them with ``->``)."""
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return 0
    with open("/proc/locks", encoding="ascii") as locks:
        return sum(1 for row in locks if "->" in row and row.split()[-3].endswith(f":{inode}"))


def wait_until(predicate: object, what: str) -> None:
    """Poll a condition the processes make true (each look is a /proc read; the deadline only stops a hang)."""
    import time

    deadline = time.monotonic() + 30
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.fixture
def tmp_root(tmp_path: Path) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    return root


def test_uncontended_lock_is_cheap_and_leaves_nothing(tmp_root: Path) -> None:
    with environment_lock(str(tmp_root), "djsite") as held:
        assert not held.contended and held.waited_ms < 50
        assert os.path.exists(lock_path(str(tmp_root), "djsite"))
    assert list(tmp_root.iterdir()) == []  # the holder removes the lock file on release
    assert not lock_path(str(tmp_root), "djsite").startswith(os.path.join(str(tmp_root), PARTIAL_PREFIX))
    assert os.path.basename(lock_path(str(tmp_root), "djsite")) == f"{LOCK_PREFIX}djsite"


def test_a_second_process_waits_for_the_holder(tmp_root: Path) -> None:
    holder = spawn(HOLDER, str(tmp_root))
    try:
        assert holder.stdout is not None and holder.stdout.readline().split() == ["held", "False"]
        path = lock_path(str(tmp_root), "djsite")
        with open(path, "rb") as probe, pytest.raises(BlockingIOError):
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # taken: a newcomer would block
        second = spawn(HOLDER, str(tmp_root))
        wait_until(lambda: waiters(path) == 1, "the second process to block on the lock")
        assert holder.stdin is not None
        holder.stdin.close()  # the holder releases (and removes the file it locked)
        assert second.stdout is not None and second.stdout.readline().split() == ["held", "True"]
        assert second.stdin is not None
        second.stdin.close()
        assert second.wait(10) == 0
        assert holder.wait(10) == 0  # it released, then exited on its own
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
    assert list(tmp_root.iterdir()) == []


def test_a_holder_killed_releases_the_lock(tmp_root: Path) -> None:
    holder = spawn(HOLDER, str(tmp_root))
    assert holder.stdout is not None and holder.stdout.readline().startswith("held")
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    path = lock_path(str(tmp_root), "djsite")
    assert os.path.exists(path)  # a dead holder could not remove it...
    with environment_lock(str(tmp_root), "djsite") as held:
        assert not held.contended  # ...but the kernel released its lock
    assert list(tmp_root.iterdir()) == []  # the next holder removed it


def test_concurrent_installs_download_once(tmp_root: Path, tmp_path: Path) -> None:
    archive = tmp_path / "project.tar.gz"
    archive.write_bytes(tarball(200))
    count = tmp_path / "opens"
    count.touch()
    first = spawn(INSTALLER, str(tmp_root), str(archive), str(count), "stall", URL)
    others: list[subprocess.Popen[str]] = []
    try:
        assert first.stdout is not None and first.stdout.readline() == "start\n"
        assert first.stdout.readline() == "stalled\n"  # holds the lock, half unpacked
        others = [spawn(INSTALLER, str(tmp_root), str(archive), str(count), "whole", URL) for _ in range(3)]
        path = lock_path(str(tmp_root), "djsite")
        wait_until(lambda: waiters(path) == 3, "three processes to block on the lock")
        assert first.stdin is not None
        first.stdin.close()  # the stalled stream ends: the first install fails (truncated), the lock is released
        first.wait(30)
        finished = [proc.communicate(timeout=60)[0].splitlines()[-1] for proc in others]
    finally:
        for proc in [first, *others]:
            proc.kill()
            proc.wait(10)
    # The first process's truncated stream is a corrupt archive (fatal, no retry); one of the others fetched
    # it again under the lock and the other two reused that one: two opens in all, one per lock holder.
    assert len(count.read_text().split()) == 2
    assert sorted(finished) == ["done False 1", "done True 0", "done True 0"]
    assert sorted(p.name for p in tmp_root.iterdir()) == ["djsite"]
    assert (tmp_root / "djsite" / MARKER_NAME).is_file()


def test_a_process_killed_mid_unpack_leaves_nothing_trusted(tmp_root: Path, tmp_path: Path) -> None:
    archive = tmp_path / "project.tar.gz"
    archive.write_bytes(tarball(400))
    count = tmp_path / "opens"
    count.touch()
    first = spawn(INSTALLER, str(tmp_root), str(archive), str(count), "stall", URL)
    second: subprocess.Popen[str] | None = None
    try:
        assert first.stdout is not None and first.stdout.readline() == "start\n"
        assert first.stdout.readline() == "stalled\n"
        partial = [p for p in tmp_root.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
        assert len(partial) == 1 and not (tmp_root / "djsite").exists()  # half written, never at the project path
        second = spawn(INSTALLER, str(tmp_root), str(archive), str(count), "whole", URL)
        wait_until(lambda: waiters(lock_path(str(tmp_root), "djsite")) == 1, "the second process to block")
        assert partial[0].exists()  # the waiter does not touch the holder's work in progress
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        out, _ = second.communicate(timeout=60)
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.kill()
                proc.wait(10)
    assert out.splitlines()[-1] == "done False 1"  # fetched again: the dead one's half unpack is not trusted
    assert len(count.read_text().split()) == 2
    assert sorted(p.name for p in tmp_root.iterdir()) == ["djsite"]  # partial folder and lock file gone
    result = install_project_archive(URL, "djsite", tmp_root=str(tmp_root),
                                     open_archive=lambda bucket, key: pytest.fail("must reuse"))  # type: ignore
    assert result.reused and result.members == 400
