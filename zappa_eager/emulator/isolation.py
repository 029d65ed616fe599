"""What an environment can see: its own empty /tmp, a read-only task root, a bare runtime dir.

* **/tmp** - Lambda gives every execution environment an empty, private /tmp. We run the
  process in a private mount namespace (``unshare --mount``) and bind-mount a fresh host
  directory over /tmp. Files that live under the host's /tmp (the task root of a test, a
  virtualenv in /tmp) would vanish behind that mount, so everything the environment needs
  is reachable outside /tmp: the task root is bind-mounted (read-only, as /var/task is) at a
  path inside the emulator's work directory, and the runtime directory is a *copy* there
  (symlinks into the tooling venv would dangle if the venv lives in /tmp).
* **Runtime dir** - Lambda's /var/runtime: awslambdaric and its dependencies only, after
  the task root on ``sys.path``; the interpreter runs with ``-S`` so the tooling venv's
  site-packages (Django, zappa, boto3...) are invisible, as they are on Lambda.
* **Fallback** - without mount namespaces, TMPDIR points at the fresh directory and
  ``isolated_tmp`` is False.
* **Ephemeral storage** - with a size (``ephemeral_storage_mb``), the fresh directory is a
  tmpfs of that size, mounted on the host side so its content can still be inspected after
  the environment's process is gone; :meth:`Sandbox.release_tmp` unmounts it. Mounting needs
  root (or CAP_SYS_ADMIN); without it the environment does not start and the error says so.
  Without a size, /tmp is still a tmpfs where mounting works (capped at Lambda's largest
  ephemeral storage, ``tmp_required=False``), else a host directory: a host disk is not what
  Lambda's /tmp is, and a virtual disk's speed varies with what ran before (writing the same
  8,000 files took 0.6 s in one folder and 4.3 s in another on a 2-core VM), and deleting the
  files afterwards took longer than writing them.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Lambda's /var/runtime for Python, minus boto3: the runtime interface client and its deps.
RUNTIME_CLIENT_MODULES: tuple[str, ...] = ("awslambdaric", "simplejson", "snapshot_restore_py", "runtime_client")

# $1 task root (host path), $2 where the environment sees it, $3 fresh /tmp source, $4 "ro" or "",
# then the command. The byte written to fd 0 tells the emulator the runtime is being exec'd, so
# Init Duration excludes the namespace setup (Lambda's excludes sandbox creation too).
_WRAPPER = (
    'MOUNT --bind "$1" "$2" || exit 97\n'
    '[ "$4" = ro ] && { MOUNT -o remount,bind,ro "$2" || true; }\n'
    'MOUNT --bind "$3" /tmp || exit 97\n'
    'cd "$2" || exit 97\n'
    "printf x >&0\n"
    "shift 4\n"
    'exec "$@" 0</dev/null\n'
)


def is_under(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def build_runtime_dir(dest: Path, modules: tuple[str, ...] = RUNTIME_CLIENT_MODULES) -> Path:
    """Copy the runtime interface client (with its bytecode caches) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed in the tooling environment (pip install zappa-eager[bench])")
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
            shutil.copytree(source, dest / source.name, dirs_exist_ok=True, symlinks=True)
            continue
        source = Path(spec.origin)
        shutil.copy2(source, dest / source.name)
        if spec.cached and Path(spec.cached).exists():
            (dest / "__pycache__").mkdir(exist_ok=True)
            shutil.copy2(spec.cached, dest / "__pycache__" / Path(spec.cached).name)
    return dest


def interpreter() -> str:
    """The tooling's interpreter binary itself (not the venv's symlink, whose venv may sit in /tmp)."""
    return os.path.realpath(sys.executable)


@dataclass
class Sandbox:
    """How to launch one environment's process."""

    task_root: Path  # on the host
    task_mount: Path  # the task root as the environment sees it (cwd, LAMBDA_TASK_ROOT)
    tmp_dir: Path  # host directory that is the environment's /tmp (or TMPDIR)
    isolated: bool
    read_only: bool = True
    unshare: str = "unshare"
    mount: str = "mount"
    tmp_size_mb: int | None = None  # a tmpfs of this size as /tmp (Lambda's ephemeral storage)
    #: False: a tmpfs that cannot be mounted falls back to a host directory (the default /tmp)
    tmp_required: bool = True

    @property
    def cwd(self) -> Path:
        return self.task_mount if self.isolated else self.task_root

    def prepare_tmp(self) -> None:
        """Create the environment's empty /tmp (a sized tmpfs if ``tmp_size_mb``), sticky and world-writable."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        if self.tmp_size_mb is not None and not os.path.ismount(self.tmp_dir):
            done = subprocess.run([self.mount, "-t", "tmpfs", "-o", f"size={self.tmp_size_mb}m,mode=1777",
                                   "zappa-emu-tmp", str(self.tmp_dir)], capture_output=True, text=True, timeout=30)
            if done.returncode != 0 and not self.tmp_required:
                self.tmp_size_mb = None  # a host directory after all; nothing to unmount later
            elif done.returncode != 0:
                raise RuntimeError(
                    f"ephemeral_storage_mb={self.tmp_size_mb}: could not mount a tmpfs on {self.tmp_dir} "
                    f"({done.stderr.strip() or f'exit status {done.returncode}'}); it needs root or "
                    "CAP_SYS_ADMIN - leave ephemeral_storage_mb unset to use the host disk"
                )
        os.chmod(self.tmp_dir, 0o1777)

    def release_tmp(self) -> None:
        """Unmount a sized /tmp (its files go with it). Idempotent; a no-op without ``tmp_size_mb``."""
        if self.tmp_size_mb is not None and os.path.ismount(self.tmp_dir):
            umount = shutil.which("umount") or "umount"
            subprocess.run([umount, "-l", str(self.tmp_dir)], capture_output=True, timeout=30)

    def command(self, argv: list[str]) -> list[str]:
        if not self.isolated:
            return argv
        return [self.unshare, "--mount", "--propagation", "private", "/bin/sh", "-c",
                _WRAPPER.replace("MOUNT", shlex.quote(self.mount)), "zappa-emu-sandbox",
                str(self.task_root), str(self.task_mount), str(self.tmp_dir), "ro" if self.read_only else "", *argv]


def namespaces_available(work_dir: Path) -> tuple[bool, str]:
    """Can we give an environment a private /tmp? Tries exactly what a launch does."""
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if not unshare or not mount:
        return False, "unshare or mount not found"
    if is_under(work_dir, Path("/tmp")):
        return False, f"work dir {work_dir} is under /tmp and would be hidden by the private /tmp"
    probe = work_dir / ".probe"
    (probe / "src").mkdir(parents=True, exist_ok=True)
    (probe / "dst").mkdir(exist_ok=True)
    (probe / "tmp").mkdir(exist_ok=True)
    sandbox = Sandbox(probe / "src", probe / "dst", probe / "tmp", True, True, unshare, mount)
    marker_r, marker_w = os.pipe()
    try:
        done = subprocess.run(sandbox.command(["/bin/sh", "-c", "test -z \"$(ls -A /tmp)\""]),
                              stdin=marker_w, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=10, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    finally:
        os.close(marker_r)
        os.close(marker_w)
        if not os.path.ismount(probe / "dst"):
            shutil.rmtree(probe, ignore_errors=True)
    if done.returncode != 0:
        return False, done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
    return True, ""
