"""The fake providers of tests/notifications, for the mini-program's sign-in and SMS binding."""

from tests.notifications.conftest import (  # noqa: F401 (fixtures)
    aliyun_server,
    fake_aliyun,
    fake_wechat,
    make_client,
    wechat_server,
)
