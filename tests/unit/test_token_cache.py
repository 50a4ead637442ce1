"""``RememberedTokens``: a live API token is read once, then remembered while changes are
heard; a change, the end of the memory or the token's expiry makes it read again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.accessstore import MemoryAccessStore, TokenRecord
from hub.access.token_cache import RememberedTokens
from hub.access.tokens import hash_secret, issue, revoke


class CountingStore(MemoryAccessStore):
    """A memory store that counts token reads and can act while one is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.during_read = lambda: None

    def token(self, token_hash: str) -> TokenRecord | None:
        self.reads += 1
        found = super().token(token_hash)
        self.during_read()
        return found


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0
        self.wall = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.wall += timedelta(seconds=seconds)


def _tokens(store: CountingStore, clock: Clock, listening: list[bool], seconds: float = 10.0
            ) -> RememberedTokens:
    return RememberedTokens(store, seconds, listening=lambda: listening[0],
                            monotonic=clock.monotonic, now=clock.now)


def test_a_live_token_is_read_once_then_remembered_until_a_change_is_heard() -> None:
    store, clock = CountingStore(), Clock()
    tokens = _tokens(store, clock, [True])
    principal, secret = issue(store, "admin")
    assert tokens.authenticate(secret) == principal
    assert tokens.authenticate(secret) == principal
    assert tokens.remembered(secret) == principal and store.reads == 1
    revoke(store, principal.subject)  # elsewhere: the server hears it as a change
    tokens.forget()
    assert tokens.remembered(secret) is None
    assert tokens.authenticate(secret) is None
    assert tokens.authenticate(secret) is None and store.reads == 3  # refusals are not kept


def test_nothing_is_remembered_while_changes_are_not_heard() -> None:
    store, clock, listening = CountingStore(), Clock(), [False]
    tokens = _tokens(store, clock, listening)
    principal, secret = issue(store, "admin")
    assert tokens.authenticate(secret) == principal
    assert tokens.authenticate(secret) == principal and store.reads == 2
    listening[0] = True
    tokens.authenticate(secret)
    listening[0] = False  # the listener lost its connection: what it kept is not used
    assert tokens.remembered(secret) is None


def test_a_token_is_remembered_at_most_the_memory_and_never_past_its_expiry() -> None:
    store, clock = CountingStore(), Clock()
    tokens = _tokens(store, clock, [True], seconds=10)
    _, lasting = issue(store, "admin", now=clock.wall)
    _, brief = issue(store, "admin", expires_in=timedelta(minutes=1),
                     now=clock.wall - timedelta(seconds=57))  # 3 s left
    assert tokens.authenticate(lasting) is not None and tokens.authenticate(brief) is not None
    clock.advance(3)
    assert tokens.remembered(brief) is None and tokens.authenticate(brief) is None  # expired
    assert tokens.remembered(lasting) is not None
    clock.advance(7)
    assert tokens.remembered(lasting) is None  # read again after the memory's 10 s
    assert tokens.authenticate(lasting) is not None


def test_a_change_heard_while_a_token_is_read_keeps_that_read_out() -> None:
    store, clock = CountingStore(), Clock()
    tokens = _tokens(store, clock, [True])
    principal, secret = issue(store, "admin")
    store.during_read = tokens.forget  # e.g. its revocation committed meanwhile
    assert tokens.authenticate(secret) == principal  # what was read, this once
    store.during_read = lambda: None
    assert tokens.remembered(secret) is None


def test_unusable_secrets_are_refused_without_a_read() -> None:
    store, clock = CountingStore(), Clock()
    tokens = _tokens(store, clock, [True])
    assert tokens.authenticate("") is None and tokens.authenticate("x" * 201) is None
    assert store.reads == 0
    assert tokens.authenticate("hub_unknown") is None and store.reads == 1
    assert hash_secret("hub_unknown") not in {k for k in tokens._remembered}  # noqa: SLF001
