"""JSON logs with the request id on every line; phone and ID numbers are masked before output
(by ``backend.services.masking.redact``, the rules publication masking uses too)."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.services.masking import redact

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

SHANGHAI = ZoneInfo("Asia/Shanghai")
_CONTEXT_FIELDS = ("agency_id", "case_id", "notification_id", "credential_id", "job_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, SHANGHAI).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "msg": redact(record.getMessage()),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or request_id_var.get()
        return redact(f"{record.levelname} [{rid}] {record.name}: {record.getMessage()}")


_factory_installed = False


def install_request_id_factory() -> None:
    """Stamp the request id on each record when it is created, not when it is formatted:
    handlers may format later, outside the request's context."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def configure_logging(level: str = "INFO", json_format: bool = True) -> None:
    install_request_id_factory()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The Aliyun SDK logs request parameters (phone numbers) at DEBUG; keep it quiet.
    logging.getLogger("aliyunsdkcore").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("tortoise").setLevel(max(root.level, logging.WARNING))
