from tests.notifications_fixtures import gateway, smtp_sink  # noqa: F401
