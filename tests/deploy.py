"""Helpers for the deploy tests: deploy/nginx/compose.conf rendered for this machine, a
self-signed certificate, which nginx is installed, and starting it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.media import nginx_main_render, nginx_site_render

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_NGINX = ROOT / "deploy" / "nginx" / "compose.conf"
NGINX = shutil.which("nginx")


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
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
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def nginx_version() -> tuple[int, ...]:
    """The installed nginx's version, e.g. (1, 22, 1)."""
    assert NGINX is not None
    out = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    assert match, out
    return tuple(int(part) for part in match.groups())


def site_nginx_render(
    *,
    prefix: Path,
    upstream: str,
    http_port: int,
    https_port: int,
    certificate: tuple[Path, Path],
    static_root: Path,
    music_root: Path,
) -> Path:
    """deploy/nginx/encore.conf as this machine's nginx can run it, over TLS with `certificate`
    (as bench/media.py renders it: logs in `prefix`); returns the main configuration file."""
    cert, key = certificate
    site = nginx_site_render(
        upstream=upstream,
        music_root=music_root,
        static_root=static_root,
        log_dir=prefix,
        listen=f"127.0.0.1:{http_port}",
        tls=(f"127.0.0.1:{https_port}", cert, key),
    )
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_main_render(prefix=prefix, http=site))
    return conf


def compose_nginx_render(
    *,
    prefix: Path,
    upstream: str,
    http_port: int,
    https_port: int,
    certificate: tuple[Path, Path],
    static_root: Path,
    music_root: Path,
) -> Path:
    """deploy/nginx/compose.conf as this machine's nginx can run it (`nginx -p prefix -c
    the returned file`, in the foreground): the container's paths, ports and `web` upstream
    replaced by these, its access log written to prefix/access.log. Workers run as this user,
    as in the container (there: `nginx`), so that they can read the test's folders."""
    text = COMPOSE_NGINX.read_text()

    def once(old: str, new: str) -> None:
        nonlocal text
        if text.count(old) != 1:
            raise ValueError(f"deploy/nginx/compose.conf: {old!r} found {text.count(old)} times")
        text = text.replace(old, new)

    cert, key = certificate
    once("server web:8000;", f"server {upstream};")
    once("listen 8080 default_server;", f"listen 127.0.0.1:{http_port} default_server;")
    once("listen 8443 ssl default_server;", f"listen 127.0.0.1:{https_port} ssl default_server;")
    once("/etc/nginx/tls/fullchain.pem", str(cert))
    once("/etc/nginx/tls/privkey.pem", str(key))
    once("alias /srv/encore/static/;", f"alias {static_root}/;")
    once("alias /music/;", f"alias {music_root}/;")
    once("access_log /dev/stdout encore;", f"access_log {prefix / 'access.log'} encore;")
    once("pid /tmp/nginx.pid;", f"pid {prefix / 'nginx.pid'};")
    text = re.sub(r"(_temp_path) /tmp/", rf"\1 {prefix}/", text)
    if nginx_version() < (1, 25, 1):  # older nginx: `listen ... http2` instead; HTTP/1.1 here
        once("        http2 on;\n", "")
    if not Path("/etc/nginx/mime.types").is_file():
        once("include /etc/nginx/mime.types;", "types { text/css css; }")
    user = pwd.getpwuid(os.geteuid()).pw_name
    conf = prefix / "nginx.conf"
    conf.write_text(f"daemon off;\nuser {user};\n{text}")
    return conf


def nginx_start(conf: Path, prefix: Path, port: int) -> subprocess.Popen[bytes]:
    """nginx in the foreground with `conf`, once it accepts TLS connections on `port`; its
    own messages go to prefix/stderr.log."""
    with (prefix / "stderr.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(NGINX), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
            stderr=log,
        )
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, (prefix / "stderr.log").read_text()
        try:
            httpx.get(f"https://127.0.0.1:{port}/", verify=False, timeout=1)  # noqa: S501
            return proc
        except httpx.TransportError:
            assert time.monotonic() < deadline, (prefix / "stderr.log").read_text()
            time.sleep(0.05)
