"""One exclusive lock per execution environment, for work in the /tmp its processes share.

On Lambda Managed Instances the Python runtime runs several processes in one execution
environment (``AWS_LAMBDA_MAX_CONCURRENCY``), each with its own INIT, all at once, and they share
one /tmp. What one of them writes there - the slim_handler project folder - the others must not
write at the same time, nor trust half-written. :func:`environment_lock` is ``flock(LOCK_EX)`` on a
small file in that /tmp: the first process takes it, the others block until it is released, then
see the finished work and reuse it.

* A process that dies holding the lock (killed, out of memory) releases it with its last file
  descriptor: the kernel drops a ``flock`` when the file closes, so nobody waits on a dead holder.
* The lock file is removed by its holder on release, so a clean /tmp holds nothing of it. The
  classic race of that (a waiter locking the removed file while a newcomer locks a new one) is
  closed the usual way: after taking the lock a process checks that the path still names the file
  it locked, and starts over if not. A holder that died leaves the file; the next holder removes it.
* Cheap where nobody waits (one process per environment, everywhere but Lambda Managed
  Instances): open, ``flock``, two ``stat``, ``unlink``, close - a few microseconds.

Runtime module: standard library only (``fcntl`` is POSIX; where it is missing - a Windows machine
importing the handler for a test - the lock is a no-op, there is no second process to exclude).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

#: The lock file's name in /tmp: ``.zappa-eager-lock-<name>`` (never a partial folder's prefix).
LOCK_PREFIX = ".zappa-eager-lock-"


@dataclass
class Held:
    """A lock as its holder got it: how long it waited, and whether another process held it meanwhile."""

    path: str
    waited_ms: float = 0.0
    contended: bool = False


def lock_path(tmp_root: str, name: str) -> str:
    """Where the lock named ``name`` lives in ``tmp_root`` (the /tmp the environment's processes share)."""
    return os.path.join(tmp_root, f"{LOCK_PREFIX}{name}")


def _same_file(fd: int, path: str) -> bool:
    """The path still names the file ``fd`` locked (its holder did not remove it meanwhile)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


@contextmanager
def environment_lock(tmp_root: str, name: str) -> Iterator[Held]:
    """Hold the environment's exclusive lock ``name`` for the ``with`` block; blocks while another process holds it.

    Not re-entrant, and a lock between processes only: threads of one process must not take the
    same lock at once (the runtime takes it once per INIT, from the INIT thread).
    """
    path = lock_path(tmp_root, name)
    held = Held(path)
    if fcntl is None:  # pragma: no cover - not POSIX
        yield held
        return
    started = time.perf_counter()
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.contended = True
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            break
        os.close(fd)  # locked a file its holder removed on release: take the lock file that is there now
    held.waited_ms = (time.perf_counter() - started) * 1000.0
    try:
        yield held
    finally:
        try:
            os.unlink(path)  # while still holding it: a waiter on this file finds it gone and starts over
        except OSError:
            pass
        os.close(fd)
