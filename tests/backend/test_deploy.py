"""The files an operator copies from deploy/: the systemd units parse (systemd-analyze verify), the nginx
front parses (nginx -t) and agrees with the service's settings, and the environment file is valid."""

from __future__ import annotations

import configparser
import datetime
import re
import shutil
import stat
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backend.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BINARY = "/opt/yangguang/venv/bin/yangguang"
UNITS = ["yangguang.service", "yangguang-worker@.service", "yangguang-backup.service", "yangguang-backup.timer"]


def _env_file() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "yangguang.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def test_the_environment_file_is_valid_settings_and_matches_the_front():
    env = _env_file()
    settings = Settings.from_env(env)
    assert not settings.database_is_sqlite and settings.redis_url  # production: PostgreSQL + Redis
    assert any(str(net) in ("127.0.0.1/32", "::1/128") for net in settings.trusted_proxies)
    assert settings.metrics_listen == ("127.0.0.1", 9108) and settings.metrics_token is None
    assert env["PROMETHEUS_MULTIPROC_DIR"] == "/run/yangguang/metrics"
    assert "/run/yangguang/metrics" in (DEPLOY / "tmpfiles.d-yangguang.conf").read_text()
    nginx = (DEPLOY / "nginx" / "yangguang.conf").read_text()
    evidence = nginx[nginx.index("location ~ ^/api/v1/cases/[^/]+/evidence$"):]
    assert re.search(r"client_max_body_size 2g;", evidence) and settings.evidence_max_bytes == 2 * 1024**3
    assert f"client_max_body_size {settings.max_body_bytes // 1024}k;" in nginx
    assert "location = /metrics { return 404; }" in nginx
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx


def test_the_units_have_what_an_operator_relies_on():
    serve, worker, backup, timer = (_unit(name) for name in UNITS)
    assert re.fullmatch(rf"{BINARY} serve .*--workers \d+", serve["Service"]["ExecStart"])
    assert serve["Service"]["ExecStartPre"] == f"{BINARY} migrate"
    assert worker["Service"]["ExecStart"] == f"{BINARY} worker"
    for unit in (serve, worker, backup):
        assert unit["Service"]["User"] == "yangguang"
        assert unit["Service"]["EnvironmentFile"] == "/etc/yangguang/yangguang.env"
        assert unit["Service"]["UMask"] == "0077"  # backups and data hold personal data
        assert "postgresql.service" in unit["Unit"]["After"]
    assert "redis-server.service" in serve["Unit"]["Wants"] and "redis-server.service" in worker["Unit"]["Wants"]
    assert "backup create --out /var/backups/yangguang/" in backup["Service"]["ExecStart"]
    assert backup["Service"]["Type"] == "oneshot"
    assert timer["Timer"]["Unit"] == "yangguang-backup.service" and timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["OnCalendar"]
    assert "backup create --out" in (DEPLOY / "cron.d-yangguang").read_text()


def test_systemd_analyze_verifies_every_unit(tmp_path):
    # verify checks that each command exists: a stand-in executable where the venv's would be.
    stand_in = tmp_path / "yangguang"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(stat.S_IRWXU)
    for name in UNITS:
        (tmp_path / name).write_text((DEPLOY / "systemd" / name).read_text().replace(BINARY, str(stand_in)))
    instance = tmp_path / "yangguang-worker@1.service"
    shutil.copy(tmp_path / "yangguang-worker@.service", instance)
    paths = [str(tmp_path / n) for n in UNITS if "@." not in n] + [str(instance)]
    out = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    problems = [line for line in out.stderr.splitlines() if "yangguang" in line]
    assert problems == [], problems


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zfgs.example.gov.cn")])
    start = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)  # fixed dates: no host clock
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start.replace(year=2100))
            .sign(key, hashes.SHA256()))
    crt, pem = folder / "fullchain.pem", folder / "privkey.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


def _nginx() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    assert found, "nginx is not installed (scripts/test installs it)"
    return found


def test_nginx_accepts_the_front(tmp_path):
    crt, pem = _self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "yangguang.conf").read_text() \
        .replace("/etc/ssl/yangguang/fullchain.pem", str(crt)).replace("/etc/ssl/yangguang/privkey.pem", str(pem))
    (tmp_path / "site.conf").write_text(site)
    temp = "\n".join(f"    {kind}_temp_path {tmp_path}/{kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n{temp}\n"
        f"    access_log off;\n    include {tmp_path}/site.conf;\n}}\n")
    nginx = _nginx()
    assert nginx is not None
    out = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "test is successful" in out.stderr
