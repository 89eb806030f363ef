"""A real IMAP server for the tests: Debian's dovecot (package `dovecot-imapd`) with a throwaway configuration.

`imap_server` starts `dovecot -F` listening on 127.0.0.1 (a plain port and an SSL port with a self-signed
certificate for 127.0.0.1), one user with a password, maildir storage, every file in a temporary directory.
It runs as the current user; started as root, dovecot's own unprivileged users (or `nobody`) run the login
and mail processes, as dovecot requires. Messages are put in with IMAP APPEND, like any mail client would.
"""

from __future__ import annotations

import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
USER = "sales@acme.test"
PASSWORD = "imap-secret-42"


@dataclass
class ImapServer:
    """A running dovecot: where it listens, who may log in, and helpers to put mail in its folders."""

    host: str
    port: int
    ssl_port: int
    user: str
    password: str
    cert_file: Path
    root: Path

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            status, data = client.append(_quote(folder), None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def create_folder(self, folder: str) -> None:
        client = self.client()
        try:
            client.create(_quote(folder))
        finally:
            client.logout()

    def recreate_folder(self, folder: str) -> None:
        """Delete and create `folder` again: the server gives it a new UIDVALIDITY."""
        client = self.client()
        try:
            client.delete(_quote(folder))
            status, data = client.create(_quote(folder))
            assert status == "OK", data
        finally:
            client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        client = self.client()
        try:
            status, data = client.status(_quote(folder), "(UIDVALIDITY)")
            assert status == "OK", data
            return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        client = self.client()
        try:
            client.select(_quote(folder), readonly=True)
            status, data = client.uid("FETCH", "1:*", "(FLAGS)")
            return [item for item in data if item]
        finally:
            client.logout()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def _user(*names: str) -> pwd.struct_passwd:
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"none of the users {names} exists")


def _config(root: Path, port: int, ssl_port: int, cert: Path, key: Path) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses to run its login processes as root; its Debian users do that job.
        internal, login = _user("dovecot", "nobody"), _user("dovenull", "nobody")
        mail_user = internal
        chroot = ""  # the default chroots work for root
    else:
        internal = login = mail_user = pwd.getpwuid(os.getuid())
        chroot = "  chroot =\n"
    (root / "mail").mkdir()
    (root / "home").mkdir()
    if os.geteuid() == 0:
        for path in (root / "mail", root / "home"):
            os.chown(path, mail_user.pw_uid, mail_user.pw_gid)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal.pw_name}
default_internal_group = {grp.getgrgid(internal.pw_gid).gr_name}
default_login_user = {login.pw_name}
first_valid_uid = {min(mail_user.pw_uid, 500)}
first_valid_gid = 0
mail_location = maildir:{root}/mail/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
{chroot}}}
service anvil {{
{chroot}}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/home/%u
}}
"""


def _wait_ready(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    process.kill()
    text = log.read_text(errors="replace") if log.exists() else ""
    pytest.fail(f"dovecot did not start on 127.0.0.1:{port}:\n{text}")


@pytest.fixture(name="imap_server")
def imap_server_fixture() -> Iterator[ImapServer]:
    if not os.access(DOVECOT, os.X_OK):
        pytest.fail(f"{DOVECOT} is missing: the IMAP tests need Debian's dovecot-imapd (scripts/test installs it)")
    root = Path(tempfile.mkdtemp(prefix="insidesales-dovecot-"))
    root.chmod(0o755)  # dovecot's own users must reach the mail and passwd files when started as root
    try:
        port, ssl_port = _free_port(), _free_port()
        cert, key = _self_signed(root)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (root / "passwd").chmod(0o644)
        (root / "dovecot.conf").write_text(_config(root, port, ssl_port, cert, key))
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=open(root / "stderr.log", "wb"),  # noqa: SIM115 - closed with the process
        )
        _wait_ready(process, port, root / "stderr.log")
        try:
            yield ImapServer(
                host="127.0.0.1",
                port=port,
                ssl_port=ssl_port,
                user=USER,
                password=PASSWORD,
                cert_file=cert,
                root=root,
            )
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
    finally:
        shutil.rmtree(root, ignore_errors=True)
