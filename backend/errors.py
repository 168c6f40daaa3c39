"""Domain exceptions carrying a stable code and a Chinese message.

Services raise these; one middleware (``backend.http.middleware``) turns them into
``{"error": {"code", "message"}}`` with the status given here.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    code: str = "bad_request"
    message: str = "请求无效"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Any = None) -> None:
        self.message = message or type(self).message
        if code:
            self.code = code
        self.details = details
        super().__init__(self.message)


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"
    message = "请求参数不符合要求"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    message = "缺少或无效的访问密钥"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "当前身份无权执行此操作"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "未找到该资源"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "与现有数据冲突"


class IllegalTransition(DomainError):
    status = 409
    code = "illegal_transition"
    message = "当前状态下不允许此操作"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    message = "请求过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class BodyTimeout(DomainError, TimeoutError):
    """The client did not send its request body in time (a slow or stalled upload).

    Also a ``TimeoutError``, so aiohttp's lingering read after a response treats it as the timeout it is."""

    status = 408
    code = "body_timeout"
    message = "请求体发送超时"
