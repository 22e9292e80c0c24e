"""deploy/nginx/encore.conf as nginx reads and serves it (when nginx is installed), and the shape of
deploy/apache/encore.conf (Apache is not installed here: read as text)."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.deploy import certificate, site_nginx_render
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx")
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)"
)
# Spaces, a question mark, a percent sign and bytes that are not UTF-8: X-Accel-Redirect quotes them.
TRACK = b"Artist/50% Who? \xe9t\xe9.flac"
TOKEN = "secret-token-value"


@dataclass(frozen=True)
class Site:
    conf: Path
    prefix: Path
    music: Path
    static: Path
    http_port: int
    https_port: int
    upstream_port: int
    certificate: Path

    def nginx(self, *extra: str) -> list[str]:
        return [str(NGINX), "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.prefix / "error.log"), *extra]  # fmt: skip


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """deploy/nginx/encore.conf rendered for this test: TLS with a self-signed certificate, files
    under tmp_path, the web server's place taken by a port the test serves."""
    prefix, music, static = tmp_path / "nginx", tmp_path / "music", tmp_path / "static"
    for folder in (prefix, music, static):
        folder.mkdir()
    http_port, https_port, upstream_port = free_port(), free_port(), free_port()
    cert, key = certificate(tmp_path)
    conf = site_nginx_render(
        prefix=prefix,
        upstream=f"127.0.0.1:{upstream_port}",
        http_port=http_port,
        https_port=https_port,
        certificate=(cert, key),
        static_root=static,
        music_root=music,
    )
    return Site(conf, prefix, music, static, http_port, https_port, upstream_port, cert)


@needs_nginx
def test_nginx_accepts_the_site_config(site: Site) -> None:
    checked = subprocess.run(site.nginx("-t"), capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


class Upstream(http.server.BaseHTTPRequestHandler):
    """Stands in for Encore: /media/ answers as with MEDIA_ACCEL=nginx; requests are recorded."""

    protocol_version = "HTTP/1.1"  # nginx keeps upstream connections alive
    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers)))
        self.send_response(200)
        if self.path.startswith("/media/"):
            self.send_header("X-Accel-Redirect", "/internal-media/" + quote(TRACK))
            self.send_header("Content-Type", "audio/flac")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("X-Content-Type-Options", "nosniff")
            body = b""
        else:
            self.send_header("Content-Type", "text/html")
            body = b"a page"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(site: Site) -> Iterator[Site]:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", site.upstream_port), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    Upstream.seen = []
    proc = subprocess.Popen(site.nginx(), stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{site.http_port}/", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                threading.Event().wait(0.05)
        yield site
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


@pytest.mark.slow
@needs_nginx
def test_nginx_sends_media_by_x_accel_redirect_and_logs_no_token(served: Site) -> None:
    data = bytes(range(256)) * 400
    track = os.path.join(os.fsencode(served.music), TRACK)
    os.makedirs(os.path.dirname(track))
    with open(track, "wb") as out:
        out.write(data)
    (served.static / "app.css").write_text("body { color: teal }")
    url = f"/media/tracks/7?token={TOKEN}"
    trust = ssl.create_default_context(cafile=served.certificate)
    with httpx.Client(base_url=f"https://127.0.0.1:{served.https_port}", verify=trust) as client:
        whole = client.get(url)
        part = client.get(url, headers={"Range": "bytes=1000-"})
        hidden = client.get("/internal-media/" + quote(TRACK))
        css = client.get("/static/app.css")
        page = client.get("/library/")
    redirect = httpx.get(f"http://127.0.0.1:{served.http_port}{url}")

    assert whole.status_code == 200
    assert whole.content == data
    assert part.status_code == 206
    assert part.content == data[1000:]
    assert part.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    for response in (whole, part):
        assert response.headers["content-type"] == "audio/flac"
        assert response.headers.get_list("cache-control") == ["no-store"]
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]
        assert "strict-transport-security" in response.headers
    assert "bytes" in whole.headers.get_list("accept-ranges")
    assert hidden.status_code == 404  # internal: only Encore's answer leads there
    assert css.status_code == 200
    assert css.text == "body { color: teal }"
    assert page.text == "a page"
    assert redirect.status_code == 301
    assert redirect.headers["location"] == f"https://127.0.0.1{url}"

    media_seen = [headers for path, headers in Upstream.seen if path == url]
    assert media_seen
    assert media_seen[0]["X-Forwarded-Proto"] == "https"
    assert media_seen[0]["X-Forwarded-For"] == "127.0.0.1"
    log = (served.prefix / "access.log").read_text()
    assert "GET /media/tracks/7 HTTP/" in log
    assert TOKEN not in log
    assert "/library/" in log  # other URLs are logged whole


APACHE = (ROOT / "deploy" / "apache" / "encore.conf").read_text()


def apache_directives(name: str) -> list[str]:
    """The arguments of each `name` directive of deploy/apache/encore.conf, as text."""
    return re.findall(rf"^\s*{name}\s+(.+?)\s*$", APACHE, re.MULTILINE | re.IGNORECASE)


def test_apache_config_proxies_to_the_web_server_and_sends_media_with_xsendfile() -> None:
    passes = apache_directives("ProxyPass")
    assert passes.index("/static/ !") < passes.index("/ http://127.0.0.1:8000/")
    assert any(p.startswith("/events ") and "flushpackets=on" in p for p in passes)
    assert any(p.startswith("/ws/ ") and "upgrade=websocket" in p for p in passes)
    assert apache_directives("ProxyPreserveHost") == ["On"]
    assert apache_directives("RequestHeader") == ['set X-Forwarded-Proto "https"']
    assert apache_directives("XSendFile") == ["On"]
    assert apache_directives("XSendFilePath") == ["/mnt/Music"]
    assert apache_directives("Alias") == ["/static/ /srv/encore/var/static/"]


def test_apache_config_limits_bodies_to_1_mib_but_uploads_to_1_gib() -> None:
    # REQUEST_MAX_BODY_KB for the virtual host, IMPORT_MAX_UPLOAD_MB for the upload page only.
    assert apache_directives("LimitRequestBody") == [str(1024 * 2**10), str(1024 * 2**20)]
    (upload,) = re.findall(
        r'<LocationMatch "\^/imports/\$">\s*LimitRequestBody (\d+)\s*</LocationMatch>', APACHE
    )
    assert int(upload) == 1024 * 2**20


def test_apache_config_logs_media_urls_without_their_query() -> None:
    (media_format,) = [f for f in apache_directives("LogFormat") if f.endswith(" encore_media")]
    assert "%U" in media_format
    assert "%r" not in media_format
    assert "%q" not in media_format
    assert apache_directives("SetEnvIf").count('Request_URI "^/media/" encore_media') == 2
    logs = apache_directives("CustomLog")
    assert len(logs) == 4
    for log in logs:  # each request in one log line: media ones without the query
        assert log.endswith(("combined env=!encore_media", "encore_media env=encore_media"))
