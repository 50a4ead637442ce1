from tests.support.notifications import gateway, smtp_sink  # noqa: F401
