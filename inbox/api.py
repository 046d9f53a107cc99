"""The inbox REST API under /api/v1. Permissions are declared by each route's dependencies."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlmodel import Session, col, select

from gateway.core.blobs import BlobStore
from gateway.core.models import JournalItem, JournalStatus, OutboxItem
from inbox import services
from inbox.deps import AccessDep, CurrentAgent, Db, SettingsDep, SupervisorAccess, SupervisorOnly
from inbox.models import Agent, Attachment, AuditEvent, Citizen, ContactPoint, Message, Ticket
from inbox.permissions import Access
from inbox.queries import TicketFilter, ticket_list
from inbox.schemas import (
    AgentPublic,
    AssignIn,
    AttachmentPublic,
    AuditPublic,
    CitizenSummary,
    MessagePublic,
    NoteIn,
    QuarantinePublic,
    ReplyIn,
    ReplyOption,
    StatusIn,
    TicketDetail,
    TicketPage,
    TicketPublic,
)

router = APIRouter(prefix="/api/v1")
QUARANTINE = (JournalStatus.quarantined, JournalStatus.failed)


def load_ticket(session: Session, ticket_key: str, access: Access) -> Ticket:
    """A ticket by numeric id or by public reference, if it exists for this agent (else 404)."""
    if ticket_key.isdigit():
        ticket = session.get(Ticket, int(ticket_key))
    else:
        ticket = session.exec(select(Ticket).where(Ticket.reference == ticket_key.upper())).first()
    return access.view(ticket)


def _encode_cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(str(ticket_id).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Invalid cursor") from exc


@router.get("/me", response_model=AgentPublic)
def me(agent: CurrentAgent) -> Agent:
    return agent


@router.get("/tickets", response_model=TicketPage)
def list_tickets(
    access: AccessDep,
    db: Db,
    status_: Annotated[str | None, Query(alias="status")] = None,
    assignee: Annotated[str | None, Query(description="agent id, 'me' or 'none'")] = None,
    team: int | None = None,
    channel: str | None = None,
    category: Annotated[str | None, Query(description="category key; empty for none")] = None,
    citizen: int | None = None,
    needs_review: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TicketPage:
    who: int | str | None = None
    if assignee == "me":
        who = access.agent.id
    elif assignee == "none" or assignee is None:
        who = assignee
    elif assignee.isdigit():
        who = int(assignee)
    else:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "assignee: id, 'me' or 'none'")
    f = TicketFilter(
        statuses=status_.split(",") if status_ else (),
        assignee=who,
        team=team,
        channel=channel,
        category=category,
        citizen=citizen,
        needs_review=needs_review,
        before_id=_decode_cursor(cursor) if cursor else None,
    )
    with db.read() as session:
        rows, more = ticket_list(session, access, f, limit)
    return TicketPage(
        items=[TicketPublic.model_validate(t, from_attributes=True) for t in rows],
        next_cursor=_encode_cursor(rows[-1].id or 0) if more and rows else None,
    )


def detail(session: Session, ticket: Ticket) -> TicketDetail:
    """A ticket with its citizen, its whole thread and each message's files and delivery."""
    citizen = session.get(Citizen, ticket.citizen_id) if ticket.citizen_id else None
    summary = None
    if citizen is not None:
        contacts = session.exec(
            select(ContactPoint.value).where(ContactPoint.citizen_id == citizen.id)
        ).all()
        summary = CitizenSummary(
            id=citizen.id or 0,
            display_name=citizen.display_name,
            first_name=citizen.first_name,
            last_name=citizen.last_name,
            contacts=list(contacts),
        )
    messages = session.exec(
        select(Message).where(Message.ticket_id == ticket.id).order_by(col(Message.id))
    ).all()
    ids = [m.id for m in messages]
    attachments: dict[int, list[AttachmentPublic]] = {}
    for a in session.exec(select(Attachment).where(col(Attachment.message_id).in_(ids))).all():
        attachments.setdefault(a.message_id, []).append(
            AttachmentPublic(
                id=a.id or 0,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                url=f"/api/v1/attachments/{a.id}",
            )
        )
    delivery = {
        o.message_id: o.status
        for o in session.exec(select(OutboxItem).where(col(OutboxItem.message_id).in_(ids))).all()
    }
    public = [
        MessagePublic(
            id=m.id or 0,
            direction=m.direction,
            channel=m.channel,
            sender=m.sender,
            agent_id=m.agent_id,
            subject=m.subject,
            text=m.text,
            quote_start=m.quote_start,
            html=m.html,
            created_at=m.created_at,
            delivery=m.delivery_status or delivery.get(m.id),
            delivery_error=m.delivery_error,
            attachments=attachments.get(m.id or 0, []),
        )
        for m in messages
    ]
    base = TicketPublic.model_validate(ticket, from_attributes=True)
    return TicketDetail(**base.model_dump(), citizen=summary, messages=public)


@router.get("/tickets/{ticket_key}", response_model=TicketDetail)
def ticket_detail(ticket_key: str, access: AccessDep, db: Db) -> TicketDetail:
    with db.read() as session:
        return detail(session, load_ticket(session, ticket_key, access))


@router.post(
    "/queue/next", response_model=TicketPublic, responses={204: {"description": "Queue empty"}}
)
def queue_next(access: AccessDep, db: Db) -> Ticket | Response:
    with db.write() as session:
        ticket = services.claim_next(session, access)
    if ticket is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ticket


@router.post("/tickets/{ticket_key}/assign", response_model=TicketPublic)
def assign_ticket(
    ticket_key: str, body: AssignIn, access: SupervisorAccess, db: Db, settings: SettingsDep
) -> Ticket:
    with db.write() as session:
        ticket = load_ticket(session, ticket_key, access)
        services.assign(
            session,
            access.agent,
            ticket,
            body.agent_id,
            body.team_id,
            settings.inbox.confidential_teams,
        )
        return ticket


@router.post("/tickets/{ticket_key}/reply", response_model=MessagePublic, status_code=201)
def reply_ticket(
    ticket_key: str, body: ReplyIn, access: AccessDep, db: Db, settings: SettingsDep
) -> MessagePublic:
    with db.write() as session:
        ticket = access.act(load_ticket(session, ticket_key, access))
        out = services.reply(
            session,
            settings,
            access.agent,
            ticket,
            body.text,
            body.status,
            body.channel,
            body.to,
        )
        return MessagePublic.model_validate(out, from_attributes=True).model_copy(
            update={"delivery": out.delivery_status}
        )


@router.get("/tickets/{ticket_key}/reply-options", response_model=list[ReplyOption])
def reply_options(
    ticket_key: str, access: AccessDep, db: Db, settings: SettingsDep
) -> list[ReplyOption]:
    """Where a reply to this ticket can go, the default first."""
    with db.read() as session:
        ticket = load_ticket(session, ticket_key, access)
        options = services.reply_options(session, settings, ticket)
        return [ReplyOption(channel=c, to=t) for c, t in options]


@router.post("/tickets/{ticket_key}/notes", response_model=MessagePublic, status_code=201)
def note_ticket(ticket_key: str, body: NoteIn, access: AccessDep, db: Db) -> MessagePublic:
    with db.write() as session:
        ticket = load_ticket(session, ticket_key, access)
        note = services.add_note(session, access.agent, ticket, body.text)
        return MessagePublic.model_validate(note, from_attributes=True)


@router.post("/tickets/{ticket_key}/status", response_model=TicketPublic)
def status_ticket(ticket_key: str, body: StatusIn, access: AccessDep, db: Db) -> Ticket:
    with db.write() as session:
        ticket = access.act(load_ticket(session, ticket_key, access))
        services.set_status(session, access.agent, ticket, body.status)
        return ticket


@router.get("/tickets/{ticket_key}/audit", response_model=list[AuditPublic])
def ticket_audit(ticket_key: str, access: SupervisorAccess, db: Db) -> list[AuditEvent]:
    with db.read() as session:
        ticket = load_ticket(session, ticket_key, access)
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.ticket_id == ticket.id)
                .order_by(col(AuditEvent.id))
            ).all()
        )


@router.get("/attachments/{attachment_id}")
def download_attachment(
    attachment_id: int, access: AccessDep, db: Db, settings: SettingsDep
) -> Response:
    with db.read() as session:
        att = session.get(Attachment, attachment_id)
        message = session.get(Message, att.message_id) if att else None
        if att is None or message is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such attachment")
        access.view(session.get(Ticket, message.ticket_id))
    data = BlobStore(settings.blob_dir).get(att.sha256)
    # Served as a download with sniffing off: an attachment is never rendered in our origin.
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(att.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@router.get("/quarantine", response_model=list[QuarantinePublic])
def list_quarantine(actor: SupervisorOnly, db: Db) -> list[QuarantinePublic]:
    with db.read() as session:
        items = session.exec(
            select(JournalItem)
            .where(col(JournalItem.status).in_(QUARANTINE))
            .order_by(col(JournalItem.id).desc())
        ).all()
        return [
            QuarantinePublic(
                id=i.id or 0,
                channel=i.channel,
                status=i.status,
                received_at=i.received_at,
                size=len(i.raw),
                attempts=i.attempts,
                error=i.error,
                raw_url=f"/api/v1/quarantine/{i.id}/raw",
            )
            for i in items
        ]


def _quarantined(session: Session, item_id: int) -> JournalItem:
    item = session.get(JournalItem, item_id)
    if item is None or item.status not in QUARANTINE:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such quarantined item")
    return item


@router.get("/quarantine/{item_id}/raw")
def quarantine_raw(item_id: int, actor: SupervisorOnly, db: Db) -> Response:
    with db.write() as session:
        item = _quarantined(session, item_id)
        services.audit(session, actor, "quarantine.downloaded", journal_id=item_id)
        return Response(
            item.raw,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename=journal-{item_id}.eml"},
        )


@router.post("/quarantine/{item_id}/replay", status_code=202)
def quarantine_replay(
    item_id: int, request: Request, actor: SupervisorOnly, db: Db
) -> dict[str, object]:
    with db.write() as session:
        item = _quarantined(session, item_id)
        item.status, item.attempts, item.error = JournalStatus.pending, 0, ""
        item.next_attempt_at = item.received_at
        session.add(item)
        services.audit(session, actor, "quarantine.replayed", journal_id=item_id)
    request.app.state.wake.set()
    return {"id": item_id, "status": "pending"}
