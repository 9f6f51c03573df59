"""Attachment bytes on disk, content-addressed: ``<root>/<sha256>``.

A file is written to a temporary name in the same directory, flushed, and renamed into place,
so a reader never sees half a file; the same content uploaded twice is stored once. The
database says which names refer to which file; a file no row refers to any more is removed
after the transaction that dropped the last reference commits (``remove_unreferenced``).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from sophrosyne.errors import NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AttachmentStore:
    """Files under one directory (created on first write, mode 0700)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):  # never a path from outside the store
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256

    def put(self, sha256: str, data: bytes) -> Path:
        """Store ``data`` under its digest (the caller computed it); idempotent."""
        path = self.path_of(sha256)
        if path.is_file() and path.stat().st_size == len(data):
            return path
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def open_path(self, sha256: str) -> Path:
        """The file to serve; ``NotFound`` if it is missing from the data directory."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFound("attachment content", sha256)
        return path

    def remove(self, sha256: str) -> None:
        self.path_of(sha256).unlink(missing_ok=True)

    def count(self) -> int:
        """How many files are stored (for tests and housekeeping)."""
        if not self.root.is_dir():
            return 0
        return sum(1 for p in self.root.iterdir() if _SHA256.match(p.name))
