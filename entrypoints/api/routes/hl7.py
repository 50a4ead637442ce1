"""HL7 v2 over HTTP: ``POST /v1/hl7`` (ER7 in, ACK out) and the clinic's HL7 senders (CONTRACT)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from aggregates.emr import Hl7Sender
from connectors.hl7v2.mllp import decode
from entrypoints.api.deps import Admin, Reader, SchedulingDep, Writer, require_clinic, require_role
from entrypoints.api.errors import responses
from entrypoints.api.hl7_lane import inbox_for
from hub.access.tokens import Principal, Role
from hub.emr.feeds import EmrFeeds

router = APIRouter(tags=["hl7v2"])
EmrOrAdmin = Annotated[Principal, Depends(require_role(Role.EMR, Role.ADMIN))]
NAMESPACE_ID = r"^[^|^~\\&\r\n]+$"


class SenderIn(BaseModel):
    """MSH-3 (sending application) and MSH-4 (sending facility) namespace ids."""

    model_config = {"extra": "forbid", "str_strip_whitespace": True,
                    "json_schema_extra": {"examples": [{"sending_application": "OMNIMED",
                                                        "sending_facility": "CLIN01"}]}}
    sending_application: str = Field(min_length=1, max_length=227, pattern=NAMESPACE_ID)
    sending_facility: str = Field(min_length=1, max_length=227, pattern=NAMESPACE_ID)


class SubscriptionIn(BaseModel):
    """Where the hub sends this clinic's appointments as SIU (MLLP)."""

    model_config = {"extra": "forbid", "str_strip_whitespace": True}
    host: str = Field(min_length=1, max_length=253, examples=["emr.clinique.local"])
    port: int = Field(ge=1, le=65535, examples=[2576])


class SenderOut(BaseModel):
    id: UUID
    clinic_id: UUID
    sending_application: str
    sending_facility: str
    outbound: dict[str, str | int] | None = None
    position: int | None = None


def sender_out(sender: Hl7Sender, position: int | None = None) -> SenderOut:
    return SenderOut(id=sender.id, clinic_id=sender.clinic_id,
                     sending_application=sender.application, sending_facility=sender.facility,
                     outbound=sender.outbound, position=position)


@router.post("/v1/hl7", response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {}},
                              "description": "the ACK (MSA-1 AA, AE or AR; MSA-2 = MSH-10)"},
                        **responses(401, 403, 413)},
             openapi_extra={"requestBody": {"required": True, "content": {"text/plain": {
                 "schema": {"type": "string"},
                 "example": "MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20261125090000||SIU^S12^SIU_S12|"
                            "MSG1|P|2.5.1\rSCH|...\rPID|...\rAIS|...\rAIP|..."}}}})
async def receive_hl7(request: Request, principal: EmrOrAdmin, scheduling: SchedulingDep) -> Response:
    """One HL7 v2 message (ER7) from a registered sender; the answer is always an ACK.

    SIU S12 book, S13 reschedule, S14 modify, S15 cancel, S17 delete, S26 no-show, S23/S24
    block/open a slot. A resent MSH-10 gets the first ACK again and changes nothing.
    (Its common case is answered by ``entrypoints.api.hl7_lane`` with the same inbox.)"""
    text = decode(await request.body())
    ack = await request.app.state.services.commands.run(
        inbox_for(request.app.state, scheduling).receive, text, "http", principal.acts_for)
    return PlainTextResponse(ack, media_type="text/plain; charset=utf-8")


@router.post("/v1/clinics/{clinic_id}/hl7-senders", status_code=status.HTTP_201_CREATED,
             response_model=SenderOut, responses=responses(401, 403, 404, 409, 422, 503))
def register_sender(clinic_id: UUID, body: SenderIn, principal: Writer,
                    scheduling: SchedulingDep, response: Response) -> SenderOut:
    """Register an EMR feed: SIU with this MSH-3/MSH-4 apply to this clinic (200 if known)."""
    require_clinic(principal, clinic_id)
    written, created = EmrFeeds(scheduling).register_sender(
        clinic_id, body.sending_application, body.sending_facility)
    if not created:
        response.status_code = status.HTTP_200_OK
    return sender_out(scheduling.load(Hl7Sender, written.id, "hl7 sender"), written.position)


@router.get("/v1/clinics/{clinic_id}/hl7-senders", response_model=list[SenderOut],
            responses=responses(401, 403, 422, 503))
def list_senders(clinic_id: UUID, principal: Reader, scheduling: SchedulingDep) -> list[SenderOut]:
    """The EMR feeds registered for this clinic."""
    require_clinic(principal, clinic_id)
    return [sender_out(s) for s in EmrFeeds(scheduling).senders(clinic_id)]


@router.post("/v1/clinics/{clinic_id}/hl7-senders/{sender_id}/subscription",
             response_model=SenderOut, responses=responses(401, 403, 404, 409, 422, 503))
def subscribe(clinic_id: UUID, sender_id: UUID, body: SubscriptionIn, principal: Admin,
              scheduling: SchedulingDep) -> SenderOut:
    """Send this clinic's appointments (from now on) as SIU to the EMR's MLLP port (admin)."""
    written = EmrFeeds(scheduling).subscribe(clinic_id, sender_id, body.host, body.port)
    return sender_out(scheduling.load(Hl7Sender, written.id, "hl7 sender"), written.position)


@router.delete("/v1/clinics/{clinic_id}/hl7-senders/{sender_id}/subscription",
               response_model=SenderOut, responses=responses(401, 403, 404, 409, 422, 503))
def unsubscribe(clinic_id: UUID, sender_id: UUID, principal: Admin,
                scheduling: SchedulingDep) -> SenderOut:
    """Stop sending SIU to this EMR."""
    written = EmrFeeds(scheduling).unsubscribe(clinic_id, sender_id)
    return sender_out(scheduling.load(Hl7Sender, written.id, "hl7 sender"), written.position)
