"""CPU threads for torch, sized to the cores this process may use and shared with the other runs on the machine.

Torch's OpenMP threads spin while they wait for work. Two fits that each take every core spend most of their time
spinning against each other (on two cores, an epoch 20x slower than alone). So each fit registers itself in a
folder of live runs (one file per process, named by its pid) and takes ``cores // live runs`` threads, checked again
every epoch so that a run started earlier gives cores back when another starts. When other work keeps a core busy as
``synth`` loads, it also asks OpenMP to sleep instead of spin when it waits (``OMP_WAIT_POLICY=PASSIVE``:
``choose_wait_policy``, which ``synth/__init__.py`` runs before torch loads) unless the environment already says
otherwise. On an idle machine OpenMP keeps its own wait, a short spin: a training step is thousands of small kernels,
and waking the threads for each one makes a fit's epochs up to twice as slow.
``SYNTH_CPU_SHARE=off`` turns both off, for a process that manages its own threads."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = [
    "BUSY_CORES", "REGISTRY", "CpuShare", "busy_cores", "choose_wait_policy", "sharing_enabled", "usable_cores",
    "wait_policy",
]  # fmt: skip

log = logging.getLogger(__name__)

#: Where live runs register; every process of one user on the machine sees the same folder.
REGISTRY = Path(tempfile.gettempdir()) / f"synth-cpu-runs-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def sharing_enabled() -> bool:
    """False when ``SYNTH_CPU_SHARE`` is ``off`` (or ``0``/``false``): torch's threads are left as they are."""
    return os.environ.get("SYNTH_CPU_SHARE", "on").strip().lower() not in ("off", "0", "false", "no")


#: Cores that other work keeps busy, as ``synth`` loads, from which torch's waiting threads sleep.
BUSY_CORES = 0.5
#: How long ``busy_cores`` watches the machine.
SAMPLE_SECONDS = 0.1
_PROC_STAT = Path("/proc/stat")


def wait_policy(busy: float) -> str | None:
    """``PASSIVE`` when other work keeps a core busy (``busy``: cores in use by other processes), else None (OpenMP's
    own).

    Threads that spin while a neighbour needs the core make both crawl (two fits each taking every core: 21x), so a
    busy machine gets sleeping threads; fits of ``synth`` itself are kept apart by the run registry instead.
    """
    return "PASSIVE" if busy >= BUSY_CORES else None


def _cpu_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU time so far, in clock ticks summed over its CPUs (``/proc/stat``)."""
    fields = [int(v) for v in _PROC_STAT.read_text().split("\n", 1)[0].split()[1:9]]  # user ... steal
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def busy_cores(seconds: float = SAMPLE_SECONDS) -> float | None:
    """Cores that other processes keep busy now: the machine's busy share over ``seconds`` times its CPUs, less this
    process's own use; None where ``/proc/stat`` cannot be read (not Linux).

    Read now rather than from the load average, which trails by about a minute: a machine whose last job has just
    ended is idle, and sleeping threads there would make a fit's epochs up to twice as slow.
    """
    try:
        busy_before, total_before = _cpu_ticks()
        own_before, wall_before = time.process_time(), time.monotonic()
        time.sleep(seconds)
        busy_after, total_after = _cpu_ticks()
    except (OSError, ValueError, IndexError):
        return None
    own = (time.process_time() - own_before) / max(time.monotonic() - wall_before, 1e-9)
    if total_after <= total_before:
        return None
    machine = (busy_after - busy_before) / (total_after - total_before) * (os.cpu_count() or 1)
    return max(machine - own, 0.0)


def choose_wait_policy() -> None:
    """Set ``OMP_WAIT_POLICY`` from the cores other work keeps busy (``busy_cores``; the 1-minute load average where
    that cannot be read), unless the environment chose one or sharing is off. OpenMP reads it once, when torch loads,
    so this runs before anything imports torch; the policy changes only speed, never a result."""
    if not sharing_enabled() or "OMP_WAIT_POLICY" in os.environ:
        return
    busy = busy_cores()
    if busy is None:
        if not hasattr(os, "getloadavg"):
            return
        busy = os.getloadavg()[0]
    policy = wait_policy(busy)
    if policy is not None:
        os.environ["OMP_WAIT_POLICY"] = policy


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (containers) and by
    ``OMP_NUM_THREADS`` when the user set it."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        cores = min(cores, max(1, int(quota)))
    user = os.environ.get("OMP_NUM_THREADS", "")
    if user.isdigit() and int(user) > 0:
        cores = min(cores, int(user))
    return max(1, cores)


def _cgroup_quota() -> float | None:
    """CPUs a cgroup v2 quota allows (``cpu.max``: "quota period"), or None when there is none."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else float(quota) / float(period)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class CpuShare:
    """A context in which this process counts as one live run and torch uses its share of the cores.

    ``refresh()`` re-reads the registry (cheap: one folder listing) and changes torch's thread count when the
    number of live runs changed. Leaving the context removes the registration and restores the thread count.
    Threads are set for the calling thread, which is the one that trains.
    """

    def __init__(self, registry: Path = REGISTRY) -> None:
        self.registry = registry
        self.threads = 0

    def __enter__(self) -> CpuShare:
        import torch  # here, not at import: ``choose_wait_policy`` must run before torch loads

        self._before = torch.get_num_threads()
        self._entry: Path | None = None
        if not sharing_enabled():
            return self
        self.registry.mkdir(parents=True, exist_ok=True)
        self._entry = self.registry / f"{os.getpid()}-{id(self):x}"
        self._entry.touch()
        self.refresh()
        return self

    def live_runs(self) -> int:
        """Registered runs whose process is alive (this one included); stale entries are removed."""
        count = 0
        for entry in self.registry.iterdir():
            pid = entry.name.split("-", 1)[0]
            if pid.isdigit() and _alive(int(pid)):
                count += 1
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()
        return max(1, count)

    def refresh(self) -> int:
        """Set torch's threads to this run's share of the cores; returns the thread count."""
        import torch

        if self._entry is None:  # sharing is off
            return torch.get_num_threads()
        runs = self.live_runs()
        threads = max(1, usable_cores() // runs)
        if threads != self.threads:
            torch.set_num_threads(threads)
            log.info("torch threads: %d (%d usable cores, %d live runs)", threads, usable_cores(), runs)
            self.threads = threads
        return threads

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        import torch

        if self._entry is None:
            return
        with contextlib.suppress(OSError):
            self._entry.unlink()
        torch.set_num_threads(self._before)
