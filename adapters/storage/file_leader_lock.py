"""ports.leader.LeaderLock for one host: a non-blocking exclusive flock on ``<data_dir>/state.lock``.

The same file JsonStorage locks, so a second instance on the same DATA_DIR stays passive until the first
exits: the kernel drops a flock when its file description is closed, including when the process is killed
(-9 too), so the lock is free at once. While this lock is held, open the storage with
``JsonStorage.open(data_dir, lock=this_lock)``: flock locks belong to an open file description, so a
second flock on the file, even from this process, would be refused. Close the storage before release().
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from pathlib import Path

from ports.storage import StorageUnavailableError

log = logging.getLogger(__name__)

LOCK_FILE = "state.lock"


class FileLeaderLock:
    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILE
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"FileLeaderLock({str(self.data_dir)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return self._fd is not None

    async def try_acquire(self) -> bool:
        """Take the flock if no other open file (in any process) has it. Creates the directory.
        Raises StorageUnavailableError when the directory or file cannot be opened at all."""
        if self._fd is not None:
            return True
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise StorageUnavailableError(f"cannot open the lock file in {self.data_dir} ({error})") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise StorageUnavailableError(f"cannot lock {self.path} ({error})") from error
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        log.info("LEADER_ACQUIRED", extra={"lock": "file", "dir": self.data_dir, "pid": os.getpid()})
        return True

    async def heartbeat(self) -> bool:
        """True while our descriptor is open: nobody else can take a flock from us."""
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        os.close(fd)  # closing the only descriptor of the file description drops the flock
        log.info("LEADER_RELEASED", extra={"lock": "file", "dir": self.data_dir})

    def guards(self, data_dir: Path | str) -> bool:
        """Whether this lock is held and is the flock on ``<data_dir>/state.lock`` (the same file, by
        device and inode, however the path is spelled)."""
        if self._fd is None:
            return False
        try:
            mine, theirs = os.fstat(self._fd), os.stat(Path(data_dir) / LOCK_FILE)
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)
