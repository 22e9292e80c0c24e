"""deploy/'s container and service files: compose.yaml's structure (and `docker-compose config`
where it is installed), the Dockerfile's stages, deploy/nginx/compose.conf under `nginx -t`, the
systemd units under `systemd-analyze verify` and `security`, and the container healthcheck.
Docker's daemon is not needed by any of these (it is absent on the development machines)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from honcho.manager import KILL_WAIT

from deploy.healthcheck import allowed_host
from tests.deploy import NGINX, certificate, compose_nginx_render, nginx_start
from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ENCORE = ("migrate", "web", "worker", "beat")  # the services that run Encore's image
LONG_RUNNING = [name for name in SERVICES if name != "migrate"]
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


# --- compose.yaml ---------------------------------------------------------------------------


def test_compose_runs_each_part_of_encore_once_with_exactly_one_beat() -> None:
    assert set(SERVICES) == {"postgres", "redis", "migrate", "web", "worker", "beat", "nginx"}
    beats = [name for name, service in SERVICES.items() if "beat" in service.get("command", [])]
    assert beats == ["beat"]
    assert SERVICES["beat"]["deploy"]["replicas"] == 1
    assert SERVICES["web"].get("command") is None  # the image's: uvicorn
    assert SERVICES["worker"]["command"][:4] == ["celery", "--app", "config", "worker"]
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_service_is_hardened(name: str) -> None:
    service = SERVICES[name]
    assert service["security_opt"] == ["no-new-privileges:true"]
    assert service["cap_drop"] == ["ALL"]
    assert "cap_add" not in service  # none starts as root, so none needs one back
    assert "privileged" not in service
    assert service["read_only"] is True
    assert any(mount.split(":")[0] == "/tmp" for mount in service["tmpfs"])  # noqa: S108
    limits = service["deploy"]["resources"]["limits"]
    assert limits["memory"]
    assert float(limits["cpus"]) > 0
    assert service["logging"]["options"]["max-size"]
    if name in ENCORE:
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    else:  # third-party images run as their own unprivileged user, not root
        assert service["user"] in ("postgres", "redis", "nginx")


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_restart_and_have_a_healthcheck(name: str) -> None:
    service = SERVICES[name]
    assert service["restart"] == "unless-stopped"
    check = service["healthcheck"]
    assert not check.get("disable")
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert check["interval"]
    assert check["retries"] >= 3


def test_migrations_run_once_before_encore_starts() -> None:
    assert SERVICES["migrate"]["restart"] == "no"  # a one-off: restarting would loop
    for name in ("web", "worker", "beat"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    assert SERVICES["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert SERVICES["nginx"]["depends_on"]["web"] == {"condition": "service_healthy"}


def test_encore_services_share_settings_volumes_and_the_music_read_only() -> None:
    for name in ENCORE:
        service = SERVICES[name]
        assert service["env_file"] == [".env"]
        environment = service["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://encore:")
        assert environment["DATABASE_URL"].endswith("@postgres:5432/encore")
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["MEDIA_ACCEL"] == "nginx"
        assert environment["MUSIC_ROOT"] == "/music"
        assert environment["DATA_DIR"] == "/data"
        assert "data:/data" in service["volumes"]
        assert "${MUSIC_DIR:-/mnt/Music}:/music:ro" in service["volumes"]
    assert "${MUSIC_DIR:-/mnt/Music}:/music:ro" in SERVICES["nginx"]["volumes"]
    nginx_conf = (DEPLOY / "nginx" / "compose.conf").read_text()
    assert "alias /music/;" in nginx_conf  # the internal media location reads MUSIC_ROOT
    assert "server web:8000;" in nginx_conf


def test_persistent_data_lives_in_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    assert declared == {"postgres", "redis", "data"}
    used = set()
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".", "$")):  # a named volume, not a host path
                used.add(source)
    assert used == declared
    assert "postgres:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "redis:/data" in SERVICES["redis"]["volumes"]


def test_only_nginx_is_reachable_from_outside() -> None:
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"nginx"}


def test_third_party_images_are_pinned_by_digest() -> None:
    for name in ("postgres", "redis"):
        assert DIGEST.search(SERVICES[name]["image"]), name


DOCKER_COMPOSE = shutil.which("docker-compose")


@pytest.fixture
def compose_project(tmp_path: Path) -> Path:
    """A copy of deploy/compose.yaml with the deploy/.env a user would write."""
    project = tmp_path / "deploy"
    project.mkdir()
    shutil.copy(DEPLOY / "compose.yaml", project)
    (project / ".env").write_text(
        "POSTGRES_PASSWORD=compose-test-password\nSECRET_KEY=compose-test-key\n"
    )
    return project


@pytest.mark.skipif(DOCKER_COMPOSE is None, reason="docker-compose is not installed (Debian: apt-get install docker-compose); the YAML structure is checked above")  # fmt: skip
def test_docker_compose_accepts_the_file_and_refuses_it_without_a_database_password(
    compose_project: Path,
) -> None:
    assert DOCKER_COMPOSE is not None
    rendered = subprocess.run(
        [DOCKER_COMPOSE, "config"], cwd=compose_project, capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    config = yaml.safe_load(rendered.stdout)
    web = config["services"]["web"]
    assert web["environment"]["DATABASE_URL"] == (
        "postgres://encore:compose-test-password@postgres:5432/encore"
    )
    assert web["environment"]["SECRET_KEY"] == "compose-test-key"  # from env_file
    assert config["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == (
        "compose-test-password"
    )

    (compose_project / ".env").write_text("SECRET_KEY=compose-test-key\n")
    refused = subprocess.run(
        [DOCKER_COMPOSE, "config"], cwd=compose_project, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD in deploy/.env" in refused.stderr


# --- Dockerfile -----------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """deploy/Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """Each stage's base image (ARG defaults substituted) and its instructions."""
    args: dict[str, str] = {}
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for instruction, arguments in dockerfile_instructions():
        if instruction == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            args[name] = default
        elif instruction == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda match: args[match.group(1)], arguments)
            stages.append((image, []))
        else:
            stages[-1][1].append((instruction, arguments))
    return stages


def test_dockerfile_builds_in_stages_from_images_pinned_by_digest() -> None:
    stages = dockerfile_stages()
    names = [image.split(" AS ")[1] for image, _ in stages]
    assert names == ["python-deps", "frontend", "static", "nginx", "app"]
    for image, _ in stages:
        base = image.split(" AS ")[0]
        if base not in names:  # a stage built on an earlier one needs no digest of its own
            assert DIGEST.search(base), base
    python_bases = {image.split(" AS ")[0] for image, _ in stages if image.startswith("python:")}
    assert len(python_bases) == 1  # build and runtime on the same Python
    assert python_bases.pop().startswith("python:3.11-slim-bookworm@sha256:")
    frontend = dict(stages[1][1])
    assert frontend["RUN"].startswith("npm ci ")


def test_the_application_image_runs_uvicorn_unprivileged_with_a_healthcheck() -> None:
    _, app = dockerfile_stages()[-1]
    user = [arguments for instruction, arguments in app if instruction == "USER"]
    assert user == ["10001:10001"]  # numeric: `runAsNonRoot` checks can tell it is not root
    (healthcheck,) = [arguments for instruction, arguments in app if instruction == "HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["python", "deploy/healthcheck.py"]')
    (command,) = [arguments for instruction, arguments in app if instruction == "CMD"]
    assert json.loads(command)[0] == "uvicorn"
    env = " ".join(arguments for instruction, arguments in app if instruction == "ENV")
    for setting in ("DATA_DIR=/data", "MUSIC_ROOT=/music", "PYTHONDONTWRITEBYTECODE=1"):
        assert setting in env


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (relative to the repository) out of the context."""
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").replace("**/", "")
        parts = Path(path).parts
        if any(Path(*parts[:n]).match(pattern) for n in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    sources = []
    for _, instructions in dockerfile_stages():
        for instruction, arguments in instructions:
            if instruction == "COPY" and "--from=" not in arguments:
                sources += arguments.split()[:-1]
    assert "requirements.txt" in sources
    for source in sources:
        if source != ".":
            assert (ROOT / source).exists(), source
            assert not dockerignored(source), source
    for secret_or_local in (".env", ".git", ".venv", "node_modules", "var", "music", "deploy/.env"):
        assert dockerignored(secret_or_local), secret_or_local


@pytest.mark.parametrize(
    ("setting", "host"),
    [
        ("encore.example.org", "encore.example.org"),
        (" *, music.example.org", "music.example.org"),
        (".example.org", "example.org"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_healthcheck_names_a_host_django_accepts(setting: str, host: str) -> None:
    assert allowed_host(setting) == host


# --- nginx in compose -----------------------------------------------------------------------


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)")
def test_compose_nginx_runs_answers_its_healthcheck_and_serves_static_files(
    tmp_path: Path,
) -> None:
    assert NGINX is not None
    prefix, static = tmp_path / "nginx", tmp_path / "static"
    prefix.mkdir()
    (static / "css").mkdir(parents=True)
    (static / "css" / "app.css").write_text("body { color: teal }")
    http_port, https_port = free_port(), free_port()
    cert, key = certificate(tmp_path)
    conf = compose_nginx_render(
        prefix=prefix,
        upstream=f"127.0.0.1:{free_port()}",  # nothing there: nginx alone must answer these
        http_port=http_port,
        https_port=https_port,
        certificate=(cert, key),
        static_root=static,
        music_root=tmp_path,
    )
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr

    proc = nginx_start(conf, prefix, https_port)
    try:
        health = httpx.get(f"http://127.0.0.1:{http_port}/nginx-health")
        redirect = httpx.get(f"http://127.0.0.1:{http_port}/library/?a=1")
        trust = ssl.create_default_context(cafile=cert)
        css = httpx.get(f"https://127.0.0.1:{https_port}/static/css/app.css", verify=trust)
        down = httpx.get(f"https://127.0.0.1:{https_port}/library/", verify=trust)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert health.status_code == 204  # compose.yaml's healthcheck: curl --fail
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "https://127.0.0.1/library/?a=1"
    assert css.status_code == 200
    assert css.text == "body { color: teal }"
    assert css.headers["strict-transport-security"] == "max-age=31536000"
    assert down.status_code == 502  # web is down: nginx says so rather than hanging


# --- systemd --------------------------------------------------------------------------------

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (Debian: apt-get install systemd)",
)
UNITS = sorted((DEPLOY / "systemd").iterdir())
SERVICE_UNITS = [unit for unit in UNITS if unit.suffix == ".service"]


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """Each Key= of the unit file with its values, in order."""
    settings: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


@pytest.fixture
def rendered_units(tmp_path: Path) -> list[Path]:
    """The units with ExecStart= pointing at this machine's virtualenv: systemd-analyze checks
    that each command exists and is executable."""
    rendered = []
    for unit in UNITS:
        text = unit.read_text().replace("/srv/encore/.venv/bin/", f"{Path(sys.executable).parent}/")
        path = tmp_path / unit.name
        path.write_text(text)
        rendered.append(path)
    return rendered


@needs_systemd_analyze
def test_systemd_accepts_the_units(rendered_units: list[Path]) -> None:
    assert SYSTEMD_ANALYZE is not None
    verified = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *map(str, rendered_units)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""  # no warnings either (unknown keys, bad values)


@needs_systemd_analyze
@pytest.mark.parametrize("unit", [unit.name for unit in SERVICE_UNITS])
def test_systemd_rates_each_service_well_hardened(rendered_units: list[Path], unit: str) -> None:
    assert SYSTEMD_ANALYZE is not None
    (path,) = [path for path in rendered_units if path.name == unit]
    rated = subprocess.run(
        # --threshold is the exposure level times ten: fail above 2.5 ("OK" ends at 4.9).
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--threshold=25", "--no-pager", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rated.returncode == 0, rated.stdout + rated.stderr
    assert "Overall exposure level" in rated.stdout


@pytest.mark.parametrize("unit", SERVICE_UNITS, ids=lambda unit: unit.name)
def test_each_service_runs_as_encore_with_its_settings_and_only_the_data_dir_writable(
    unit: Path,
) -> None:
    settings = unit_settings(unit)
    assert settings["User"] == ["encore"]
    assert settings["EnvironmentFile"] == ["/etc/encore/encore.env"]
    assert settings["ProtectSystem"] == ["strict"]
    assert settings["ReadWritePaths"] == ["/srv/encore/var"]
    assert settings["CapabilityBoundingSet"] == [""]
    assert settings["SystemCallFilter"] == ["@system-service"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices"):
        assert settings[key] == ["yes"], key
    assert settings["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert settings["PartOf"] == ["encore.target"]
    assert settings["WantedBy"] == ["encore.target"]
    assert settings["Restart"] == ["on-failure"]


def test_the_target_starts_web_worker_and_one_beat() -> None:
    settings = unit_settings(DEPLOY / "systemd" / "encore.target")
    assert settings["Wants"] == ["encore-web.service encore-worker.service encore-beat.service"]
    commands = {unit.name: unit_settings(unit)["ExecStart"][0] for unit in SERVICE_UNITS}
    assert commands["encore-web.service"].startswith("/srv/encore/.venv/bin/uvicorn ")
    assert " worker " in commands["encore-worker.service"]
    assert [name for name, command in commands.items() if " beat " in command] == [
        "encore-beat.service"
    ]


# --- the web server's command, everywhere --------------------------------------------------


def web_commands() -> dict[str, list[str]]:
    """The web server's command line in the Procfile (scripts/run), the image and the unit."""
    procfile = (ROOT / "Procfile").read_text().splitlines()
    (web,) = [line.removeprefix("web:") for line in procfile if line.startswith("web:")]
    _, app = dockerfile_stages()[-1]
    (image,) = [arguments for instruction, arguments in app if instruction == "CMD"]
    (unit,) = unit_settings(DEPLOY / "systemd" / "encore-web.service")["ExecStart"]
    return {"Procfile": shlex.split(web), "image": json.loads(image), "unit": shlex.split(unit)}


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def stop_timeouts() -> dict[str, float]:
    """How long whoever stops each web server waits before it kills it."""
    unit = unit_settings(DEPLOY / "systemd" / "encore-web.service")
    return {
        "Procfile": KILL_WAIT,  # honcho, after Ctrl-C
        "image": float(SERVICES["web"].get("stop_grace_period", "10s").removesuffix("s")),
        "unit": float(unit["TimeoutStopSec"][0].removesuffix("s")),
    }


@pytest.mark.parametrize("where", ["Procfile", "image", "unit"])
def test_every_web_command_runs_uvicorn_quietly_and_stops_before_it_is_killed(where: str) -> None:
    command = web_commands()[where]
    assert Path(command[0]).name == "uvicorn"
    assert command[-1] == "config.asgi:application"
    assert "--no-access-log" in command  # it would log media URLs with their tokens
    assert "--access-log" not in command
    assert option(command, "--lifespan") == "off"
    # Event streams and WebSockets never end by themselves: shutdown cuts them in time.
    assert int(option(command, "--timeout-graceful-shutdown")) < stop_timeouts()[where]


def test_only_the_deployed_web_servers_believe_their_proxy() -> None:
    commands = web_commands()
    # On its own, the client's address and scheme as they are (Django's TRUSTED_PROXY_COUNT).
    assert "--no-proxy-headers" in commands["Procfile"]
    assert "--proxy-headers" not in commands["Procfile"]
    # nginx or Apache on the same machine.
    assert "--proxy-headers" in commands["unit"]
    assert option(commands["unit"], "--host") == "127.0.0.1"
    assert option(commands["unit"], "--forwarded-allow-ips") == "127.0.0.1"
    # nginx's container, at an address Docker picks, is the only peer: the web has no ports.
    assert "--proxy-headers" in commands["image"]
    assert option(commands["image"], "--forwarded-allow-ips") == "*"
    assert "ports" not in SERVICES["web"]
    # Idle connections outlive nginx's upstream keepalive (60 s): none closes under a request.
    for where in ("unit", "image"):
        assert int(option(commands[where], "--timeout-keep-alive")) > 60
