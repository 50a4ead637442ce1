"""An e-mail link is signed over the appointment's start: once the appointment is moved, the
old cancel link cancels nothing (409 ``link_superseded``), the new one works."""

from __future__ import annotations

from uuid import uuid4

import pytest

from aggregates.appointment import Appointment
from hub.notifications.links import sign
from hub.notifications.replies import LinkSuperseded, Replies
from hub.scheduling.service import Scheduling
from tests.support.scheduling import Setup, patient

SECRET = "link-secret-0123456789abcdef"


def test_a_link_sent_before_a_reschedule_no_longer_cancels(app: Scheduling) -> None:
    world = Setup(app)
    booked = app.book(world.slot, world.consult, patient(1), "emr")
    before = app.load(Appointment, booked.id, "appointment").start
    old_link = sign(SECRET, "cancel", booked.id, uuid4(), before)
    app.reschedule(booked.id, world.open_slot(hours=120))
    moved = app.load(Appointment, booked.id, "appointment")
    replies = Replies(app, SECRET)

    head = app.head()
    with pytest.raises(LinkSuperseded):
        replies.follow_link(old_link)
    assert app.head() == head and app.load(Appointment, booked.id, "appointment").active

    new_link = sign(SECRET, "cancel", booked.id, uuid4(), moved.start)
    assert replies.follow_link(new_link).outcome == "cancelled"
