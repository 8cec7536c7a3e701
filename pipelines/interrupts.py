"""SIGTERM and SIGINT end a command cleanly: one ``Error:`` line, helper processes stopped, exit 128 + signal.

A CI job's timeout sends SIGTERM to the ``synth`` process alone; Python's default would die at once and leave
Prefect's temporary API server and any Dask workers running, orphaned. The handler stops them, runs the cleanups
the command registered (a half-written output file), and exits without waiting for training threads to notice.
Nothing half-written is ever published: versions move into the catalog whole, and a staging folder left behind is
removed by the next publisher of that name (``pipelines.publish.sweep_dead_publishers``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["on_interrupt", "reclaim_signals", "stop_cleanly_on_signals"]

_cleanups: list[Callable[[], None]] = []
_active = False  # inside stop_cleanly_on_signals


@contextlib.contextmanager
def on_interrupt(cleanup: Callable[[], None]) -> Iterator[None]:
    """Within the block, run ``cleanup`` if the command is interrupted (it must be quick)."""
    _cleanups.append(cleanup)
    try:
        yield
    finally:
        _cleanups.remove(cleanup)


@contextlib.contextmanager
def stop_cleanly_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT stop the command cleanly; the previous handlers come back after it.
    Python lets only the main thread set handlers; elsewhere the block changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _active
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    _active = True
    try:
        yield
    finally:
        _active = False
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def reclaim_signals() -> None:
    """Inside a flow started by the command line, take SIGTERM back from Prefect's engine.

    Prefect turns SIGTERM into an exception that unwinds the flow, and only then passes it on; a training thread
    or a blocking call can hold that up. Under ``synth run`` the process is ending anyway: stop at once instead.
    A flow that a Prefect worker or ``synth serve`` runs keeps Prefect's handling (it reports the cancellation).
    """
    if _active and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)


def _stop(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    sys.stderr.write(f"Error: interrupted by {name}; stopped before publishing anything half-written\n")
    sys.stderr.flush()
    for cleanup in _cleanups:
        with contextlib.suppress(Exception):  # an interrupted process still has to exit
            cleanup()
    _stop_helpers()
    os._exit(128 + signum)


def _stop_helpers() -> None:
    """Prefect's temporary API server and worker processes this process started (a Dask LocalCluster's)."""
    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is not None:
        for server in list(server_module.SubprocessASGIServer._instances.values()):
            server.stop()
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
    for pid in _child_pids():  # anything else started here (subprocess, not multiprocessing)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def _child_pids() -> list[int]:
    """Direct children of this process, from /proc (none where there is no /proc)."""
    me, found = os.getpid(), []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with (
                contextlib.suppress(OSError, ValueError, IndexError),
                open(f"/proc/{entry}/stat", encoding="utf-8") as stat,
            ):
                # the parent pid is the 2nd field after the command name, which is in parentheses
                if int(stat.read().rpartition(")")[2].split()[1]) == me:
                    found.append(int(entry))
    return found
