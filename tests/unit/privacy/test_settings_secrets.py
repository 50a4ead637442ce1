"""Weak secrets are refused at start-up, with a message naming the variable (SPEC T3)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from hub.settings import Settings


@pytest.mark.parametrize("value", ["CHANGE_ME", "changeme", "s3cret", "aaaaaaaaaaaaaaaaaaaa",
                                   "0123456789abcdef"])
def test_weak_link_secrets_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="HUB_LINK_SECRET is too weak"):
        Settings(link_secret=value)


def test_empty_means_off_and_strong_is_accepted() -> None:
    assert Settings(link_secret="").link_secret.get_secret_value() == ""
    strong = "q7Vh2m9KpX4tR8wZ1nB6"
    assert Settings(link_secret=strong, gateway_webhook_secret=strong).link_secret.get_secret_value() == strong


def test_the_server_does_not_start_with_a_placeholder_secret(tmp_path) -> None:
    env = {"HUB_LINK_SECRET": "CHANGE_ME", "HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "entrypoints", "serve", "--port", "1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "HUB_LINK_SECRET is too weak" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
