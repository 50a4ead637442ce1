"""``SearchAnswers`` keeps the answers of the newest log head only, per caller's scope."""

from __future__ import annotations

from uuid import uuid4

from connectors.fhir.answers import AnswerKey, SearchAnswers


def _key(clinic: object = None, online: bool = False, pairs: tuple = (("status", "free"),)) -> AnswerKey:
    return AnswerKey("Slot", None if clinic is None else frozenset({clinic}), online,
                     "http://hub/fhir/r4", pairs)


def test_an_answer_is_found_again_at_the_same_head_only() -> None:
    answers = SearchAnswers()
    answers.put(7, _key(), b"seven")
    assert answers.get(7, _key()) == b"seven"
    assert answers.get(8, _key()) is None  # a write moved the head
    assert answers.get(7, _key()) is None  # and the older answers are gone
    assert len(answers) == 0


def test_a_request_that_saw_an_older_head_keeps_nothing() -> None:
    answers = SearchAnswers()
    assert answers.get(9, _key()) is None
    answers.put(8, _key(), b"eight")  # computed by a request that began before head 9
    assert answers.get(9, _key()) is None
    assert answers.get(8, _key()) is None


def test_each_scope_and_query_has_its_own_answer() -> None:
    answers = SearchAnswers()
    mine, theirs = uuid4(), uuid4()
    answers.put(3, _key(mine), b"mine")
    assert answers.get(3, _key(theirs)) is None
    assert answers.get(3, _key(mine, online=True)) is None
    assert answers.get(3, _key()) is None  # all clinics is another scope too
    assert answers.get(3, _key(mine, pairs=(("status", "busy"),))) is None
    assert answers.get(3, _key(mine)) == b"mine"


def test_the_least_recently_used_answers_go_first() -> None:
    answers = SearchAnswers(max_answers=2)
    first, second, third = (_key(pairs=(("_offset", str(n)),)) for n in range(3))
    answers.put(1, first, b"1")
    answers.put(1, second, b"2")
    assert answers.get(1, first) == b"1"
    answers.put(1, third, b"3")
    assert answers.get(1, second) is None
    assert answers.get(1, first) == b"1" and answers.get(1, third) == b"3"


def test_the_answers_kept_fit_in_their_bytes() -> None:
    answers = SearchAnswers(max_bytes=100)
    small = [_key(pairs=(("_offset", str(n)),)) for n in range(5)]
    for key in small:
        answers.put(1, key, b"x" * 25)
    assert [answers.get(1, k) is not None for k in small] == [False, True, True, True, True]
    answers.put(1, small[1], b"y" * 20)  # replaced: counted once
    answers.put(1, _key(), b"z" * 26)  # more than a quarter of the room: not kept
    assert answers.get(1, _key()) is None and len(answers) == 4
