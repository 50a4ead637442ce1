"""``hub users ...`` as an administrator runs it, on SQLite and PostgreSQL; the printed secret
code and reset link work once in the server's use cases on the same store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from aggregates.errors import DomainError
from hub.bootstrap import UserAccess, bootstrap, user_access
from hub.settings import Settings
from tests.integration.test_cli import hub
from tests.support.users import FAST_PASSWORDS, PASSWORD

EMAIL = "martin.macfly@clinique.example"


@pytest.fixture
def access(store_url: str) -> Iterator[UserAccess]:
    settings = Settings(database_url=store_url)
    app = bootstrap(settings, configure_logs=False)
    built = user_access(app, settings, passwords=FAST_PASSWORDS)
    yield built
    built.close()
    app.close()


def _refused(code: str, command, *args) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as refused:
        command(*args)
    assert refused.value.code == code


def test_users_commands(store_url: str, access: UserAccess) -> None:
    created = hub("users", "create", "--email", EMAIL, "--title", "monsieur", "--first-name",
                  "Martin", "--last-name", "MacFly", "--role", "info_sante_811", url=store_url)
    assert created.returncode == 0, created.stderr
    first_code = created.stdout.splitlines()[-1]
    again = hub("users", "create", "--email", EMAIL.upper(), "--title", "monsieur",
                "--first-name", "M", "--last-name", "M", "--role", "info_sante_811", url=store_url)
    assert again.returncode == 1 and "(email_taken)" in again.stderr
    unknown_role = hub("users", "create", "--email", "x@clinique.example", "--title", "madame",
                       "--first-name", "X", "--last-name", "Y", "--role", "surgeon", url=store_url)
    assert unknown_role.returncode == 1 and "roles must be one of" in unknown_role.stderr
    assert "Traceback" not in again.stderr + unknown_role.stderr

    listed = [json.loads(line) for line in
              hub("users", "list", "--json", url=store_url).stdout.splitlines()]
    assert [(u["email"], u["roles"], u["enrolled"]) for u in listed] == [
        (EMAIL, ["info_sante_811"], False)]
    assert EMAIL not in hub("users", "list", url=store_url).stderr  # no e-mail in log lines

    renewed = hub("users", "secret-code", EMAIL, url=store_url)
    assert renewed.returncode == 0, renewed.stderr
    new_code = renewed.stdout.splitlines()[-1]
    users = access.users
    _refused("secret_code_invalid", users.enroll, EMAIL, first_code, PASSWORD)  # the old code
    users.enroll(EMAIL, new_code, PASSWORD)
    _refused("secret_code_used", users.enroll, EMAIL, new_code, PASSWORD)
    assert access.sessions.sign_in(EMAIL, PASSWORD).principal.channels == {"811"}

    reset = hub("users", "reset-password", EMAIL, url=store_url)
    assert reset.returncode == 0 and "no e-mail sent" in reset.stdout, reset.stderr
    token = parse_qs(urlsplit(reset.stdout.splitlines()[-1]).query)["token"][0]
    users.reset_password(token, "a brand new passphrase")
    _refused("reset_link_used", users.reset_password, token, "a brand new passphrase")
    _refused("invalid_credentials", access.sessions.sign_in, EMAIL, PASSWORD)
    access.sessions.sign_in(EMAIL, "a brand new passphrase")

    deactivated = hub("users", "deactivate", EMAIL, url=store_url)
    assert deactivated.returncode == 0, deactivated.stderr
    _refused("invalid_credentials", access.sessions.sign_in, EMAIL, "a brand new passphrase")
