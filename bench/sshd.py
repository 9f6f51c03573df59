"""A real OpenSSH server on a loopback high port, for the SSH benchmark.

It gets a fresh ed25519 host key and accepts one fresh ed25519 user key, for the user running
the benchmark, and nothing else (no passwords, no PAM). Everything (keys, config, pid file,
log) lives in the given directory; the server is stopped on exit.

sshd's defaults limit concurrent connections: ``MaxStartups 10:30:100`` starts refusing 30 %
of new connections once 10 are unauthenticated at the same moment, which 16 parallel
connections reach on a small machine; ``MaxSessions 10`` caps sessions per connection (the
executor opens one per connection, so it does not bind here). The benchmark raises both, so
it measures Sophrosyne and not sshd's flood protection, and says so in its output.

Sessions get ``SHLVL=1`` (``SetEnv``). sshd runs every command through the user's login
shell, and Debian's bash reads ``~/.bashrc`` when sshd starts it at shell level 1; the
benchmark logs in as whoever runs it (often root on a test machine), whose ``.bashrc`` may do
anything (on the machine of docs/performance.md it runs ``pyenv init``: 250 ms per command).
At level 2 bash skips it, so the remote command costs what starting ``true`` costs.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import servers
from servers import BenchError

SSHD = "/usr/sbin/sshd"  # sshd refuses to start unless run by its absolute path
#: No random refusals below 256 unauthenticated connections (default "10:30:100").
MAX_STARTUPS = "256"
#: Sessions per connection (default 10).
MAX_SESSIONS = 64


@dataclass(frozen=True)
class Sshd:
    """A running sshd and what a client needs to reach it."""

    host: str
    port: int
    user: str
    #: OpenSSH private key text (no passphrase) that the server accepts for ``user``.
    user_private_key: str
    #: The server's host key as a client trusts it: "ssh-ed25519 AAAA...".
    host_public_key: str
    max_startups: str
    max_sessions: int
    log: Path


def version() -> str:
    """OpenSSH's version (``sshd -V`` prints it on stderr); also checks sshd is installed."""
    if not Path(SSHD).exists():
        raise BenchError(f"{SSHD} is missing: install openssh-server (scripts/system-deps.sh)")
    done = subprocess.run([SSHD, "-V"], capture_output=True, text=True, check=False)
    return (done.stderr or done.stdout).strip().split(",")[0]


def keypair(path: Path, comment: str) -> tuple[str, str]:
    """A new ed25519 key pair at ``path``: (private key text, "ssh-ed25519 AAAA...")."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    public = " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])
    return path.read_text(), public


def _config(directory: Path, port: int, max_startups: str, max_sessions: int) -> Path:
    config = directory / "sshd_config"
    lines = [
        f"ListenAddress {servers.LOOPBACK}",
        f"Port {port}",
        f"HostKey {directory / 'host_ed25519'}",
        f"PidFile {directory / 'sshd.pid'}",
        f"AuthorizedKeysFile {directory / 'authorized_keys'}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",  # the key files live in a temporary directory
        "PermitRootLogin prohibit-password",  # the benchmark may run as root: keys only
        f"MaxStartups {max_startups}",
        f"MaxSessions {max_sessions}",
        "SetEnv SHLVL=1",
        "LogLevel INFO",
        "",
    ]
    config.write_text("\n".join(lines))
    return config


def _answers(port: int) -> bool:
    """True once the port sends an SSH banner."""
    try:
        with socket.create_connection((servers.LOOPBACK, port), timeout=0.5) as sock:
            sock.settimeout(1.0)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


@contextmanager
def sshd(
    directory: Path, *, max_startups: str = MAX_STARTUPS, max_sessions: int = MAX_SESSIONS
) -> Iterator[Sshd]:
    """Start sshd on a free loopback port; yield once it answers; stop it on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    _, host_public = keypair(directory / "host_ed25519", "sophrosyne-bench-host")
    user_private, user_public = keypair(directory / "id_ed25519", "sophrosyne-bench-user")
    (directory / "authorized_keys").write_text(user_public + "\n")
    # sshd checks that its privilege separation directory exists even if it never uses it.
    os.makedirs("/run/sshd", exist_ok=True)
    port = servers.free_port()
    config = _config(directory, port, max_startups, max_sessions)
    log = directory / "sshd.log"
    cmd = [SSHD, "-D", "-e", "-f", str(config)]
    with servers.running(cmd, env=dict(os.environ), log=log) as proc:

        def up() -> bool:
            if proc.poll() is not None:
                raise BenchError(f"sshd exited with {proc.returncode}:\n{servers.tail(log)}")
            return _answers(port)

        servers.retry("sshd to answer", up, timeout=10, every=0.05)
        yield Sshd(
            host=servers.LOOPBACK,
            port=port,
            user=getpass.getuser(),
            user_private_key=user_private,
            host_public_key=host_public,
            max_startups=max_startups,
            max_sessions=max_sessions,
            log=log,
        )
