"""``POST /v1/hl7``'s lane (``entrypoints.api.hl7_lane``): an EMR's remembered token gets the
same answers as through the route (AA, a resend's first ACK, AR/AE writing nothing, a sender of
another clinic refused), and whatever the lane does not answer itself (no or unknown token,
another role, ``Idempotency-Key``, a body over the limit) still goes through the application."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from entrypoints.api.hl7_lane import Hl7Lane
from tests.e2e.test_hl7_http import clinic_with_sender, post_hl7
from tests.support.emr_sim import SimulatedEmr, read_ack
from tests.support.http import Headers, clinic_body
from tests.support.scheduling import future


def lane_of(client: TestClient) -> Hl7Lane:
    layer = client.app.middleware_stack
    while not isinstance(layer, Hl7Lane):
        layer = layer.app
    return layer


def remembered(client: TestClient, headers: Headers) -> Headers:
    """Headers of a token the server now remembers (it hears every token change)."""
    services = client.app.state.services
    assert services.token_changes is not None and services.token_changes.wait_listening(10)
    secret = headers["Authorization"].split(" ", 1)[1]
    services.authenticate(secret)
    deadline = time.monotonic() + 10
    while services.remembered(secret) is None and time.monotonic() < deadline:
        time.sleep(0.05)
        services.authenticate(secret)
    assert services.remembered(secret) is not None
    return headers


def without_stamps(ack: str) -> list[list[str]]:
    """The ACK's fields but its own time (MSH-7) and control id (MSH-10)."""
    segments = [s.split("|") for s in ack.split("\r")]
    segments[0][6] = segments[0][9] = ""
    return segments


def test_the_lane_answers_an_emr_as_the_route_does(client: TestClient, admin: Headers,
                                                    auth: Callable[..., Headers]) -> None:
    clinic = clinic_with_sender(client, admin)
    emr, start = SimulatedEmr(), future(48)
    lane = lane_of(client)
    app = client.app.state.services.scheduling
    booking = emr.siu("S12", "FL1", start)
    no_patient = emr.siu("S12", "FL2", start, patient=False)
    unknown_sender = SimulatedEmr(application="OTHER").siu("S12", "FL3", start)
    cases = [("booked", booking), ("replayed", booking), ("AE", no_patient),
             ("AR", unknown_sender), ("AR", "not hl7 at all")]

    through_route = []
    for _, message in cases:  # a fresh token each time: not remembered yet, so the route answers
        answered, head = lane.answered, app.head()
        answer = post_hl7(client, auth("emr", clinic), message)
        assert answer.status_code == 200 and lane.answered == answered
        through_route.append((answer.headers["content-type"], without_stamps(answer.text),
                              app.head() - head))

    token = remembered(client, auth("emr", clinic))
    for (word, message), (content_type, route_ack, written) in zip(cases, through_route,
                                                                   strict=True):
        if word == "booked":  # the route booked FL1 already: book another the same way
            message = emr.siu("S12", "FL9", future(50))
        answered, head = lane.answered, app.head()
        answer = post_hl7(client, token, message)
        assert answer.status_code == 200 and lane.answered == answered + 1, word
        assert answer.headers["content-type"] == content_type
        ack = without_stamps(answer.text)
        assert (app.head() - head > 0) == (written > 0), word
        if word == "booked":
            assert read_ack(answer.text).code == "AA" and "booked" in read_ack(answer.text).text
        else:
            assert ack == route_ack, word


def test_what_the_lane_does_not_answer_goes_through_the_application(
        client: TestClient, admin: Headers, auth: Callable[..., Headers]) -> None:
    clinic = clinic_with_sender(client, admin)
    other = client.post("/v1/clinics", json=clinic_body("Autre"), headers=admin).json()["id"]
    lane = lane_of(client)
    app = client.app.state.services.scheduling
    emr = SimulatedEmr()
    message = emr.siu("S12", "FL1", future(48))
    portal = remembered(client, auth("portal", clinic))
    foreign = remembered(client, auth("emr", other))
    head, answered = app.head(), lane.answered

    assert post_hl7(client, {}, message).status_code == 401
    assert post_hl7(client, {"Authorization": "Bearer nope"}, message).status_code == 401
    refused = post_hl7(client, portal, message)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    big = client.post("/v1/hl7", content=b"x" * 2_000_000, headers=portal)
    assert big.status_code == 413
    assert lane.answered == answered and app.head() == head

    not_theirs = read_ack(post_hl7(client, foreign, message).text)  # the lane: an AR, nothing written
    assert not_theirs.code == "AR" and "does not act for" in not_theirs.text
    assert lane.answered == answered + 1 and app.head() == head

    emr_token = remembered(client, auth("emr", clinic))
    keyed = {**emr_token, "Idempotency-Key": "siu-1"}
    first = post_hl7(client, keyed, message)
    again = post_hl7(client, keyed, message)
    assert read_ack(first.text).code == "AA" and again.text == first.text
    assert lane.answered == answered + 1  # both through the Idempotency middleware and route
