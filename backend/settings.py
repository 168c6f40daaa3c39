"""One typed Settings object, read from the environment once and passed in (never a global)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from backend.proxies import Network, parse_trusted_proxies

PREFIX = "YANGGUANG_"
N = TypeVar("N", int, float)

# Event -> Aliyun template code. Working defaults so four Aliyun settings switch SMS on.
DEFAULT_SMS_TEMPLATES: dict[str, str] = {
    "decision_published": "SMS_YG_PUBLISHED",
    "decision_corrected": "SMS_YG_CORRECTED",
    "decision_withdrawn": "SMS_YG_WITHDRAWN",
    "agency_notice": "SMS_YG_NOTICE",
    "complaint_update": "SMS_YG_COMPLAINT",
    "complaint_phone_code": "SMS_YG_COMPLAINT_CODE",
    # Without appeal text: decisions that are not penalties, coercion or collection (permits, …).
    "decision_published_plain": "SMS_YG_PUBLISHED_PLAIN",
    "decision_corrected_plain": "SMS_YG_CORRECTED_PLAIN",
    # The mini-program binding: a verification code, and the notice that messages moved to WeChat.
    "binding_sms_code": "SMS_YG_BINDING_CODE",
    "binding_changed": "SMS_YG_BINDING_CHANGED",
    "binding_ended": "SMS_YG_BINDING_ENDED",  # the bound WeChat account unbound itself
}

# How long a decision stays public, in months (minimum, maximum) per decision type. The maximum
# ends the publication by itself; a credit repair (信用修复) may end it early, never before the
# minimum. Penalties: 3 months to 1 year, the general case of 《失信行为纠正后的信用信息修复管理办法
# （试行）》; a severe one (严重失信, 1 to 3 years) needs YANGGUANG_PUBLICATION_PERIODS.
DEFAULT_PUBLICATION_PERIODS: dict[str, tuple[int, int]] = {
    "penalty": (3, 12), "permit": (0, 36), "coercion": (3, 12), "inspection": (0, 12), "collection": (0, 12),
    "other": (0, 12),
}


def _event_loop(value: str | None) -> bool:
    if value not in (None, "uvloop", "asyncio"):
        raise SettingsError(f"{PREFIX}EVENT_LOOP must be uvloop or asyncio, got {value!r}")
    return value != "asyncio"


class SettingsError(ValueError):
    """A configuration value cannot be used; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "an integer")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def _number(env: Mapping[str, str], name: str, default: N, cast: Callable[[str], N], what: str) -> N:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name} must be {what}, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str | None = None
    public_base_url: str = "http://127.0.0.1:8080"
    # Requests larger than this are refused with 413 before the handler runs.
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    uvloop: bool = True  # serve and worker on uvloop where installed (YANGGUANG_EVENT_LOOP=asyncio: asyncio's)
    # Slow clients: a request's head, and its body, must arrive within these seconds.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    # A body that keeps arriving keeps its connection: every chunk moves the body deadline on by
    # len(chunk) / body_min_rate seconds (never more than body_timeout ahead). 16 KiB/s = 128 kbit/s,
    # below a weak phone uplink: a 2 GiB video at that rate takes 36 hours but is not cut off.
    body_min_rate: float = 16 * 1024
    # Evidence files (audio/video, photos, documents): larger uploads get 413 evidence_too_large.
    evidence_max_bytes: int = 2 * 1024**3
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR blocks); none by default.
    trusted_proxies: tuple[Network, ...] = ()
    # Working days of a legal review, share of legal reviewers (R-L4, R-L6).
    reviewer_ratio_percent: int = 5
    # Two on-site visits of one enterprise within this many days are a repeated inspection (R-X4).
    repeated_inspection_days: int = 30
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com/"
    wechat_templates: dict[str, str] = field(default_factory=dict)
    # WeChat's message push (消息推送) to /wechat/v1/push: the console's Token and EncodingAESKey.
    wechat_push_token: str | None = None
    wechat_push_aes_key: str | None = None  # set: safe mode (安全模式) only
    # A mini-program sign-in (POST /mp/v1/session) lasts this many seconds, then the party signs in again.
    mp_session_ttl: int = 7 * 24 * 3600
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: str | None = None
    aliyun_sms_sign_name: str | None = None
    aliyun_sms_templates: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SMS_TEMPLATES))
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    # Per-agency budget for agency-initiated notices (R-N4), per hour.
    agency_notice_per_hour: int = 200
    # Public scan endpoints: token bucket per client (R-C6).
    scan_rate_per_minute: int = 60
    # With Redis: each serving process's lease on the scan cache (VerifyCache), renewed every third of
    # it. A credential change waits at most this long for a process that died without giving it back.
    scan_lease_seconds: float = 3.0
    # Notification delivery (R-N2): seconds between attempts, as data; tests shorten it.
    notify_retry_schedule: tuple[float, ...] = (5, 30, 120, 600, 1800, 7200)
    notify_job_timeout: float = 30.0  # one delivery attempt, SDK calls included
    notify_sdk_timeout: float = 5.0  # each provider HTTP call (<= 10 s)
    # A row claimed ("sending") longer than this belongs to a dead worker: the sweeper rescues it.
    notify_stuck_after: float = 45.0
    # A pending row handed to the queue but not claimed within this is handed over again.
    notify_requeue_after: float = 30.0
    notify_daily_cap: int = 50  # per recipient and template (Aliyun's own limit)
    notify_concurrency: int = 32  # jobs per worker process
    notify_embedded_worker: bool = True  # run the in-process worker when Redis is not configured
    publication_periods: dict[str, tuple[int, int]] = field(
        default_factory=lambda: dict(DEFAULT_PUBLICATION_PERIODS))
    # The transparency log's origin: first line of every checkpoint and the signing key's name (C2SP).
    log_origin: str = "yangguang.local/log"
    # GET /metrics: answered with this Bearer token on the service's own port; without it, 404 there.
    metrics_token: str | None = None
    # A separate (private) listen address for /metrics alone, answered without the token.
    metrics_listen: tuple[str, int] | None = None
    # bench/search_bench.py only: answer GET /mp/v1/decisions by a plain LIKE scan of the names instead
    # of the index (YANGGUANG_SEARCH_BASELINE=like), so both are measured on the same server.
    search_baseline_like: bool = False

    @property
    def database_is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sms_configured(self) -> bool:
        return bool(self.aliyun_access_key_id and self.aliyun_access_key_secret and self.aliyun_sms_sign_name)

    @property
    def wechat_configured(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name)
            return value if value else None

        data_dir = Path(get("DATA_DIR") or "./var").resolve()
        database_url = get("DATABASE_URL") or f"sqlite://{data_dir / 'yangguang.sqlite3'}"
        if not database_url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
            raise SettingsError(f"{PREFIX}DATABASE_URL must be sqlite:// or postgres://, got {database_url!r}")
        if database_url.startswith("postgresql://"):
            database_url = "postgres://" + database_url.removeprefix("postgresql://")

        sms_templates = dict(DEFAULT_SMS_TEMPLATES)
        sms_templates.update(_json_map(env, "ALIYUN_SMS_TEMPLATES"))
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=get("REDIS_URL"),
            public_base_url=(get("PUBLIC_BASE_URL") or "http://127.0.0.1:8080").rstrip("/"),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 64 * 1024),
            log_level=(get("LOG_LEVEL") or "INFO").upper(),
            log_json=(get("LOG_FORMAT") or "json") == "json",
            uvloop=_event_loop(get("EVENT_LOOP")),
            header_timeout=_positive(env, "HEADER_TIMEOUT", 10.0),
            body_timeout=_positive(env, "BODY_TIMEOUT", 30.0),
            body_min_rate=_positive(env, "BODY_MIN_RATE", 16 * 1024.0, "bytes per second"),
            evidence_max_bytes=_positive_int(env, "EVIDENCE_MAX_BYTES", 2 * 1024**3),
            trusted_proxies=_proxies(env, "TRUSTED_PROXIES"),
            reviewer_ratio_percent=_int(env, "REVIEWER_RATIO_PERCENT", 5),
            repeated_inspection_days=_window_days(env, "REPEATED_INSPECTION_DAYS", 30),
            wechat_appid=get("WECHAT_APPID"),
            wechat_secret=get("WECHAT_SECRET"),
            wechat_api_base=(get("WECHAT_API_BASE") or "https://api.weixin.qq.com/").rstrip("/") + "/",
            wechat_templates=_json_map(env, "WECHAT_TEMPLATES"),
            wechat_push_token=_push_token(env, "WECHAT_PUSH_TOKEN"),
            wechat_push_aes_key=_push_aes_key(env, "WECHAT_PUSH_AES_KEY", get("WECHAT_APPID"),
                                              get("WECHAT_PUSH_TOKEN")),
            mp_session_ttl=_positive_int(env, "MP_SESSION_TTL", 7 * 24 * 3600),
            aliyun_access_key_id=get("ALIYUN_ACCESS_KEY_ID"),
            aliyun_access_key_secret=get("ALIYUN_ACCESS_KEY_SECRET"),
            aliyun_sms_sign_name=get("ALIYUN_SMS_SIGN_NAME"),
            aliyun_sms_templates=sms_templates,
            aliyun_sms_endpoint=(get("ALIYUN_SMS_ENDPOINT") or "https://dysmsapi.aliyuncs.com").rstrip("/"),
            agency_notice_per_hour=_int(env, "AGENCY_NOTICE_PER_HOUR", 200),
            scan_rate_per_minute=_int(env, "SCAN_RATE_PER_MINUTE", 60),
            scan_lease_seconds=_lease(env, "SCAN_LEASE_SECONDS", 3.0),
            notify_retry_schedule=_floats(env, "NOTIFY_RETRY_SCHEDULE", (5, 30, 120, 600, 1800, 7200)),
            notify_job_timeout=_float(env, "NOTIFY_JOB_TIMEOUT", 30.0),
            notify_sdk_timeout=min(10.0, _float(env, "NOTIFY_SDK_TIMEOUT", 5.0)),
            notify_stuck_after=_float(env, "NOTIFY_STUCK_AFTER", 45.0),
            notify_requeue_after=_float(env, "NOTIFY_REQUEUE_AFTER", 30.0),
            notify_daily_cap=_int(env, "NOTIFY_DAILY_CAP", 50),
            notify_concurrency=_int(env, "NOTIFY_CONCURRENCY", 32),
            log_origin=_origin(env, "LOG_ORIGIN", "yangguang.local/log"),
            metrics_token=_token(env, "METRICS_TOKEN"),
            metrics_listen=_listen_address(env, "METRICS_LISTEN"),
            publication_periods=_periods(env, "PUBLICATION_PERIODS"),
            search_baseline_like=_search_baseline(env),
        )


def _push_token(env: Mapping[str, str], name: str) -> str | None:
    """The message push Token as the mini-program console takes it: 3 to 32 letters or digits."""
    value = env.get(PREFIX + name) or None
    if value is not None and not (3 <= len(value) <= 32 and value.isascii() and value.isalnum()):
        raise SettingsError(f"{PREFIX}{name} must be 3 to 32 letters or digits (the Token of 消息推送)")
    return value


def _push_aes_key(env: Mapping[str, str], name: str, appid: str | None, token: str | None) -> str | None:
    """The EncodingAESKey: 43 characters of base64 (a 32-byte key); decrypting checks the appid."""
    value = env.get(PREFIX + name) or None
    if value is None:
        return None
    if len(value) != 43 or not value.isascii() or not all(ch.isalnum() or ch in "+/" for ch in value):
        raise SettingsError(f"{PREFIX}{name} must be the 43-character EncodingAESKey of 消息推送")
    if not appid or not token:
        raise SettingsError(f"{PREFIX}{name} needs {PREFIX}WECHAT_APPID and {PREFIX}WECHAT_PUSH_TOKEN too "
                            "(the decrypted message names the appid; the signature needs the Token)")
    return value


def _search_baseline(env: Mapping[str, str]) -> bool:
    value = env.get(f"{PREFIX}SEARCH_BASELINE", "").strip()
    if value not in ("", "like"):
        raise SettingsError(f"{PREFIX}SEARCH_BASELINE: only 'like' (a benchmark's baseline) or unset")
    return value == "like"


def _positive(env: Mapping[str, str], name: str, default: float, unit: str = "seconds") -> float:
    value = _float(env, name, default)
    if not value > 0:
        raise SettingsError(f"{PREFIX}{name} must be a positive number of {unit}, got {value!r}")
    return value


def _window_days(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if not 1 <= value <= 366:
        raise SettingsError(f"{PREFIX}{name} must be a number of days from 1 to 366, got {value!r}")
    return value


def _lease(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0.3 <= value <= 60:
        raise SettingsError(f"{PREFIX}{name} must be between 0.3 and 60 seconds, got {value!r}")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value <= 0:
        raise SettingsError(f"{PREFIX}{name} must be a positive integer, got {value!r}")
    return value


def _origin(env: Mapping[str, str], name: str, default: str) -> str:
    """A C2SP log origin, also a signed-note key name: printable, no spaces, no '+'."""
    value = env.get(PREFIX + name) or default
    if len(value) > 200 or not value.isprintable() or any(ch.isspace() or ch == "+" for ch in value):
        raise SettingsError(f"{PREFIX}{name} must be a schema-less URL without spaces or '+' "
                            f"(e.g. zfgs.example.gov.cn/log), got {value!r}")
    return value


def _token(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(PREFIX + name) or None
    if value is not None and (len(value) < 16 or len(value) > 256 or not value.isascii()
                              or any(ch.isspace() or not ch.isprintable() for ch in value)):
        raise SettingsError(f"{PREFIX}{name} must be 16 to 256 printable ASCII characters without spaces "
                            "(e.g. the output of: openssl rand -hex 32)")
    return value


def _listen_address(env: Mapping[str, str], name: str) -> tuple[str, int] | None:
    """``host:port`` or ``[v6]:port``."""
    raw = env.get(PREFIX + name) or ""
    if not raw:
        return None
    host, sep, port = raw.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise SettingsError(f"{PREFIX}{name} must be host:port (e.g. 127.0.0.1:9108), got {raw!r}")
    return host, int(port)


def _proxies(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    try:
        return parse_trusted_proxies(env.get(PREFIX + name) or "")
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name}: {exc} (expected comma-separated addresses or CIDR blocks)") from exc


def _floats(env: Mapping[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """A comma-separated list of seconds, e.g. ``5,30,120``."""
    raw = env.get(PREFIX + name)
    if not raw:
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name} must be comma-separated seconds, got {raw!r}") from exc
    if not values or any(v < 0 for v in values):
        raise SettingsError(f"{PREFIX}{name} must be non-negative seconds")
    return values


def _periods(env: Mapping[str, str], name: str) -> dict[str, tuple[int, int]]:
    """``{"penalty": [3, 12], ...}``: months (minimum, maximum) per decision type, over the defaults."""
    periods = dict(DEFAULT_PUBLICATION_PERIODS)
    raw = env.get(PREFIX + name)
    if not raw:
        return periods
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{PREFIX}{name} must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise SettingsError(f"{PREFIX}{name} must be a JSON object of decision type -> [min, max] months")
    for key, pair in value.items():
        if key not in periods:
            raise SettingsError(f"{PREFIX}{name}: unknown decision type {key!r} (one of {', '.join(periods)})")
        if (not isinstance(pair, list) or len(pair) != 2 or not all(type(m) is int for m in pair)
                or not 0 <= pair[0] <= pair[1] or not 1 <= pair[1] <= 120):
            raise SettingsError(f"{PREFIX}{name}: {key} must be [min, max] whole months, 0 <= min <= max, "
                                f"1 <= max <= 120, got {pair!r}")
        periods[key] = (pair[0], pair[1])
    return periods


def _json_map(env: Mapping[str, str], name: str) -> dict[str, str]:
    raw = env.get(PREFIX + name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{PREFIX}{name} must be a JSON object: {exc}") from exc
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise SettingsError(f"{PREFIX}{name} must be a JSON object of strings")
    return {str(k): v for k, v in value.items()}
