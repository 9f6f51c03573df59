"""A real OpenSSH server on loopback, for tests of the executors that speak SSH.

``start_sshd(directory)`` generates a host key and a user key in ``directory``, writes an
``sshd_config`` that accepts only that user key, starts ``/usr/sbin/sshd -D -e`` on a free
port of 127.0.0.1 and waits until it answers. ``SshServer.stop()`` ends it. The ``sshd``
fixture does both around a test module::

    from tests.executors.sshd import SshServer, sshd  # noqa: F401  (fixture import)

Needs the ``openssh-server`` Debian package (``scripts/system-deps.sh`` installs it).
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"  # sshd refuses to start unless run by its absolute path
SSH_KEYGEN = "ssh-keygen"


@dataclass
class SshServer:
    """A running sshd and everything a client needs to reach it."""

    host: str
    port: int
    user: str
    #: The user's private key, OpenSSH PEM text without a passphrase.
    user_private_key: str
    #: The user's public key, "ssh-ed25519 AAAA..." (no comment).
    user_public_key: str
    #: The server's host key as a client trusts it: "ssh-ed25519 AAAA..." (no comment).
    host_public_key: str
    directory: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        """Everything sshd has logged so far (it logs to stderr with ``-e``)."""
        return self.log_path.read_text(errors="replace")

    def authorize(self, public_key: str) -> None:
        """Let ``public_key`` ("ssh-ed25519 AAAA...") log in too; sshd reads it per login."""
        with (self.directory / "authorized_keys").open("a") as keys:
            keys.write(public_key + "\n")

    def stop(self) -> None:
        """Terminate sshd, then kill it if it lingers; bounded."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def generate_key(
    path: Path,
    comment: str = "sophrosyne-test",
    *,
    passphrase: str = "",
    key_type: str = "ed25519",
    key_format: str | None = None,
) -> tuple[str, str]:
    """Create a key pair at ``path``; return (private, public) text, public without comment.

    ``key_format="PEM"`` writes the legacy PEM format (not for ed25519), whose encryption
    needs no bcrypt; OpenSSH's own format, the default, needs bcrypt to decrypt.
    """
    argv = [SSH_KEYGEN, "-q", "-t", key_type, "-N", passphrase, "-C", comment, "-f", str(path)]
    subprocess.run(
        argv + (["-m", key_format] if key_format else []),
        check=True,
        capture_output=True,
        timeout=30,
    )
    public = " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])
    return path.read_text(), public


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_config(directory: Path, port: int, host_key: Path, authorized: Path) -> Path:
    config = directory / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {host_key}",
                f"PidFile {directory / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin yes",
                "Subsystem sftp internal-sftp",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    return config


def _wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], within: float) -> bool:
    """True once ``host:port`` sends an SSH banner; False if sshd died or time ran out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5) as sock:
                sock.settimeout(1.0)
                if sock.recv(4).startswith(b"SSH-"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def start_sshd(directory: Path, attempts: int = 3) -> SshServer:
    """Start sshd in ``directory`` (keys, config, pid file and log all live there)."""
    directory.mkdir(parents=True, exist_ok=True)
    host_key = directory / "ssh_host_ed25519_key"
    user_key = directory / "id_ed25519"
    _, host_public = generate_key(host_key, "sophrosyne-test-host")
    user_private, user_public = generate_key(user_key)
    authorized = directory / "authorized_keys"
    authorized.write_text(user_public + "\n")
    # sshd checks for its privilege separation directory even when it never chroots there.
    os.makedirs("/run/sshd", exist_ok=True)
    log_path = directory / "sshd.log"
    last_log = ""
    for _ in range(attempts):  # another process may take the free port before sshd binds it
        port = free_port()
        config = _write_config(directory, port, host_key, authorized)
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        if _wait_for_port("127.0.0.1", port, process, within=10.0):
            return SshServer(
                host="127.0.0.1",
                port=port,
                user=getpass.getuser(),
                user_private_key=user_private,
                user_public_key=user_public,
                host_public_key=host_public,
                directory=directory,
                log_path=log_path,
                process=process,
            )
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        last_log = log_path.read_text(errors="replace")
    raise RuntimeError(f"sshd did not start after {attempts} attempts:\n{last_log}")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """One sshd for the test module; stopped afterwards."""
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()
