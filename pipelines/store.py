"""A catalog root on any pyarrow filesystem: a local folder or an object-store URL (s3://, gs://, ...)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from pipelines.errors import ConfigError, PublishError

__all__ = ["DELETING", "STALE_S", "Store", "default_root", "owner_alive", "owner_tag"]

DEFAULT_ROOT = "data/published"
DELETING = ".deleting-"  # a folder renamed out of sight before it is removed


def default_root() -> str:
    """Where published datasets live when no root is given: ``$SYNTH_ROOT``, else ``data/published``."""
    return os.environ.get("SYNTH_ROOT") or DEFAULT_ROOT


@dataclass(frozen=True, slots=True)
class Store:
    """Paths under ``root`` on ``fs``; every catalog read and write goes through here."""

    fs: pafs.FileSystem
    root: str

    @classmethod
    def open(cls, location: str | Path) -> Store:
        """A local path (relative ones from the working directory) or a URL pyarrow knows (s3://, gs://, hdfs://)."""
        text = str(location)
        if "://" not in text:
            return cls(pafs.LocalFileSystem(), Path(text).resolve().as_posix())
        try:
            fs, path = pafs.FileSystem.from_uri(text)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise ConfigError(f"cannot open the output root {text}: {exc}") from None
        return cls(fs, path.rstrip("/"))

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def show(self, *parts: str) -> str:
        """A location to print: a plain path for local folders, the URL-like path otherwise."""
        return self.path(*parts) if self.is_local else f"{self.fs.type_name}://{self.path(*parts)}"

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def children(self, *parts: str) -> list[pafs.FileInfo]:
        """Entries directly inside a folder, by name; none when the folder does not exist."""
        selector = pafs.FileSelector(self.path(*parts), allow_not_found=True)
        return sorted(self.fs.get_file_info(selector), key=lambda info: info.base_name)

    def files(self, *parts: str) -> list[str]:
        """Every file below a folder, as paths relative to it."""
        base = self.path(*parts)
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        return sorted(
            info.path[len(base) + 1 :] for info in self.fs.get_file_info(selector) if info.type == pafs.FileType.File
        )

    def read_bytes(self, *parts: str) -> bytes:
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            data: bytes = stream.read()
            return data

    def write_bytes(self, data: bytes, *parts: str) -> None:
        with self.fs.open_output_stream(self.path(*parts)) as stream:
            stream.write(data)

    def upload(self, local: Path, *parts: str) -> None:
        """Copy a local file or folder to ``parts``."""
        if local.is_dir():
            for child in sorted(local.rglob("*")):
                if child.is_file():
                    self.upload(child, *parts, *child.relative_to(local).parts)
            return
        self.fs.create_dir(self.path(*parts[:-1]), recursive=True)
        pafs.copy_files(
            local.as_posix(),
            self.path(*parts),
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.fs,
        )

    def make_dir(self, *parts: str) -> None:
        self.fs.create_dir(self.path(*parts), recursive=True)

    def delete_dir(self, *parts: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_dir(self.path(*parts))

    def remove_if_empty(self, *parts: str) -> None:
        if self.exists(*parts) and not self.children(*parts):
            self.delete_dir(*parts)

    def move_dir(self, source: tuple[str, ...], target: tuple[str, ...]) -> None:
        """Rename a folder; refuses to replace anything. Atomic on local disks; a copy then delete elsewhere."""
        if self.exists(*target):
            raise PublishError(f"{self.show(*target)} already exists; published versions are never replaced")
        if self.is_local:
            os.rename(self.path(*source), self.path(*target))
        else:
            self.fs.move(self.path(*source), self.path(*target))

    def discard_dir(self, *parts: str) -> None:
        """Delete a folder so that no reader ever sees part of it: renamed out of sight first, then removed."""
        *parent, name = parts
        hidden = (*parent, f"{DELETING}{name}-{secrets.token_hex(4)}")
        self.move_dir(parts, hidden)
        self.delete_dir(*hidden)

    def age_s(self, *parts: str) -> float:
        """Seconds since the entry was last modified (0 when the filesystem does not say)."""
        info = self.fs.get_file_info(self.path(*parts))
        return 0.0 if info.mtime_ns is None else max(0.0, time.time() - info.mtime_ns / 1e9)

    @contextlib.contextmanager
    def claim(self, *parts: str) -> Iterator[bool]:
        """Try to take an exclusive marker file; yields whether this caller holds it, and removes it after.

        Local disks give a true exclusive create. Object stores have none: there the marker carries a random
        token, and of the markers written for the same name the earliest (then the smallest token) wins. A marker
        left by a publisher that died (its process is gone, or it is older than ``STALE_S``) is removed, so a kill
        never blocks a name for good.
        """
        if self.is_local:
            self.make_dir(*parts[:-1])
            try:
                descriptor = os.open(self.path(*parts), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                self._remove_if_stale(*parts)
                yield False
                return
            with os.fdopen(descriptor, "w") as marker:
                marker.write(owner_tag())
            try:
                yield True
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path(*parts))
            return
        *parent, name = parts
        token = secrets.token_hex(8)
        mine = (*parent, f"{name}.{token}")
        self.write_bytes(token.encode(), *mine)
        rivals = []
        for info in self.children(*parent):
            if not info.base_name.startswith(f"{name}."):
                continue
            if info.base_name != mine[-1] and self.age_s(*parent, info.base_name) > STALE_S:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.delete_file(info.path)  # a dead publisher's marker
                continue
            rivals.append(info)
        first = min(rivals, key=lambda info: (info.mtime_ns or 0, info.base_name), default=None)
        try:
            yield first is not None and first.base_name == mine[-1]
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.fs.delete_file(self.path(*mine))

    def _remove_if_stale(self, *parts: str) -> None:
        """Remove a local claim whose owner process is gone, that is empty for a minute, or older than ``STALE_S``."""
        try:
            owner = Path(self.path(*parts)).read_text(encoding="utf-8").strip()
        except OSError:
            return
        age = self.age_s(*parts)
        # an empty claim: its writer died between creating and writing it (a live one writes within microseconds)
        if age > STALE_S or (owner and not owner_alive(owner)) or (not owner and age > EMPTY_CLAIM_S):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path(*parts))


#: A publisher holds a claim or a staging folder for seconds to minutes; one older than this belongs to a dead one.
STALE_S = 24 * 3600.0
EMPTY_CLAIM_S = 60.0


def owner_tag() -> str:
    """Who holds a claim or a staging folder: a short hash of the host name and the process id."""
    host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
    return f"{host}-{os.getpid()}"


def owner_alive(tag: str) -> bool:
    """Whether the process a tag names may still run: False only when it ran on this host and is gone."""
    host, _, pid = tag.partition("-")
    if host != owner_tag().partition("-")[0] or not pid.isdigit():
        return True  # another machine's process (or an unreadable tag): only age can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
