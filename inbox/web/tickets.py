"""One ticket on one screen: the thread across channels, the composer, the citizen, the history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from gateway.core.blobs import BlobStore
from inbox import canned, citizens, routing, services
from inbox.api import detail, load_ticket
from inbox.deps import AccessDep, Db, Registry, SettingsDep, SupervisorAccess
from inbox.models import (
    Agent,
    Attachment,
    AuditEvent,
    Citizen,
    ContactPoint,
    Message,
    Team,
    Ticket,
    TicketStatus,
)
from inbox.permissions import Access
from inbox.queries import citizen_name
from inbox.web.catalog import gettext
from inbox.web.labels import channel_names
from inbox.web.refusals import on_refusal
from inbox.web.render import PAGE_HEADERS, flash, language, page

router = APIRouter()
PREVIEWABLE = {"image/png", "image/jpeg", "image/gif", "image/webp"}  # never SVG: it runs script
# The frame that shows an e-mail's HTML: nothing runs, nothing loads unless the agent asked.
FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:{remote}; frame-ancestors 'self'"
)
COMPARED = ("first_name", "last_name", "birth_date", "email", "phone")


def _url(ticket: Ticket, anchor: str = "") -> str:
    return f"/tickets/{ticket.reference}{anchor}"


def _redirect(ticket: Ticket, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(_url(ticket, anchor), status_code=303)


def _candidates(session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    """The review candidates, each with what agrees and what differs from the message."""
    ids = [int(c["citizen_id"]) for c in ticket.match_candidates]
    if not ids:
        return []
    out = []
    for candidate in ticket.match_candidates:
        citizen = session.get(Citizen, int(candidate["citizen_id"]))
        if citizen is None or citizen.merged_into_id is not None:
            continue
        points = session.exec(
            select(ContactPoint).where(ContactPoint.citizen_id == citizen.id)
        ).all()
        out.append(
            {
                "citizen": citizen,
                "name": citizen_name(citizen),
                "score": round(float(candidate.get("score", 0)) * 100),
                "emails": [p.value for p in points if p.kind == "email"],
                "phones": [p.value for p in points if p.kind == "phone"],
                "verdicts": _verdicts(candidate),
            }
        )
    return out


def _verdicts(candidate: dict[str, Any]) -> dict[str, str]:
    """Field-by-field verdicts the matcher stored for this candidate (none on older tickets)."""
    verdicts: dict[str, str] = candidate.get("verdicts") or {}
    return {field: verdicts.get(field, "missing") for field in COMPARED} if verdicts else {}


def _history(session: Session, ticket: Ticket) -> list[dict[str, Any]]:
    events = session.exec(
        select(AuditEvent, Agent)
        .join(Agent, col(Agent.id) == AuditEvent.actor_agent_id, isouter=True)
        .where(AuditEvent.ticket_id == ticket.id)
        .order_by(col(AuditEvent.id))
    ).all()
    return [{"event": e, "actor": a.name if a else ""} for e, a in events]


@router.get("/tickets/{reference}", response_class=HTMLResponse)
def ticket_page(
    request: Request,
    reference: str,
    access: AccessDep,
    db: Db,
    settings: SettingsDep,
) -> HTMLResponse:
    lang = language(request)
    canned_key = request.query_params.get("canned", "")
    images = request.query_params.get("images", "")
    with db.read() as session:
        ticket = load_ticket(session, reference, access)
        data = detail(session, ticket)
        citizen = session.get(Citizen, ticket.citizen_id) if ticket.citizen_id else None
        options = services.reply_options(session, settings, ticket)
        agents: list[Agent] = []
        teams: list[Team] = []
        if access.supervisor:
            agents = list(session.exec(select(Agent).where(col(Agent.active)).order_by(Agent.name)))
            teams = list(session.exec(select(Team).order_by(Team.name)))
        assignee = session.get(Agent, ticket.assignee_id) if ticket.assignee_id else None
        team = session.get(Team, ticket.team_id) if ticket.team_id else None
        candidates = _candidates(session, ticket) if ticket.needs_review else []
        history = _history(session, ticket)
    answers = canned.load(settings.inbox.canned_answers_file)
    category = routing.of(settings).categories.get(ticket.category)
    reasons = {
        "citizen_uncertain": gettext(lang, "the sender could be several citizens"),
        "reference_other_sender": gettext(
            lang, "it quotes the reference of another citizen's request"
        ),
    }
    draft = ""
    chosen = next((a for a in answers if a.key == canned_key), None)
    if chosen is not None:
        draft = chosen.text(
            lang,
            citizen_name=citizen_name(citizen) or gettext(lang, "Madam, Sir"),
            reference=ticket.reference,
            authority=settings.authority_name,
            agent_name=access.agent.name,
        )
    return page(
        request,
        "ticket.html",
        access.agent,
        title=f"{ticket.reference} — {ticket.subject}",
        ticket=ticket,
        data=data,
        citizen=citizen,
        citizen_display=citizen_name(citizen),
        options=options,
        answers=answers,
        canned_key=canned_key,
        draft=draft,
        may_act=access.may_act(ticket),
        supervisor=access.supervisor,
        agents=agents,
        teams=teams,
        assignee=assignee,
        team=team,
        candidates=candidates,
        history=history,
        category=getattr(category.label, lang) if category else ticket.category,
        reasons=[reasons.get(r, r) for r in ticket.review_reason.split(",") if r],
        images=images,
        channels=channel_names(lang),
        statuses=list(TicketStatus),
    )


@router.get("/tickets/{reference}/messages/{message_id}/html", response_class=HTMLResponse)
def message_html(
    request: Request, reference: str, message_id: int, access: AccessDep, db: Db
) -> HTMLResponse:
    """An e-mail's HTML, sanitized, shown in a sandboxed frame of the ticket page."""
    remote = request.query_params.get("images") == "1"
    with db.read() as session:
        ticket = load_ticket(session, reference, access)
        message = session.get(Message, message_id)
        if message is None or message.ticket_id != ticket.id or message.html is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such message")
        html = (message.html_remote if remote else None) or message.html
    headers = {
        **PAGE_HEADERS,
        "Content-Security-Policy": FRAME_CSP.format(remote=" https:" if remote else ""),
    }
    body = f'<!doctype html><meta charset="utf-8"><base target="_blank">{html}'
    return HTMLResponse(body, headers=headers)


@router.get("/attachments/{attachment_id}/preview")
def preview(attachment_id: int, access: AccessDep, db: Db, settings: SettingsDep) -> Response:
    """An image attachment shown inline (common raster formats only; anything else downloads)."""
    with db.read() as session:
        att = session.get(Attachment, attachment_id)
        message = session.get(Message, att.message_id) if att else None
        if att is None or message is None or att.content_type not in PREVIEWABLE:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such image")
        access.view(session.get(Ticket, message.ticket_id))
    data = BlobStore(settings.blob_dir).get(att.sha256)
    return Response(
        data,
        media_type=att.content_type,
        headers={**PAGE_HEADERS, "Content-Security-Policy": "default-src 'none'"},
    )


def _acting(session: Session, reference: str, access: Access) -> Ticket:
    return access.act(load_ticket(session, reference, access))


@router.post("/tickets/{reference}/take")
def take(request: Request, reference: str, access: AccessDep, db: Db) -> RedirectResponse:
    with db.write() as session:
        ticket = load_ticket(session, reference, access)
        if services.take(session, access.agent, ticket.id or 0) is None:
            flash(request, gettext(language(request), "Another agent took it first."), "error")
    return _redirect(ticket)


@router.post("/tickets/{reference}/reply")
def reply(
    request: Request,
    reference: str,
    access: AccessDep,
    db: Db,
    settings: SettingsDep,
    text: Annotated[str, Form(min_length=1, max_length=100_000)],
    target: Annotated[str, Form()] = "",
    then: Annotated[str, Form()] = TicketStatus.waiting_citizen,
) -> RedirectResponse:
    lang = language(request)
    channel, _, to = target.partition("|")
    next_status = TicketStatus(then) if then in TicketStatus.__members__ else None
    with db.write() as session:
        ticket = _acting(session, reference, access)
        on_refusal(request, _url(ticket, "#compose"), "Not sent: %(why)s")
        services.reply(
            session,
            settings,
            access.agent,
            ticket,
            text,
            next_status or TicketStatus.waiting_citizen,
            channel or None,
            to or None,
        )
    flash(request, gettext(lang, "Reply queued for sending."))
    return _redirect(ticket)


@router.post("/tickets/{reference}/note")
def note(
    request: Request,
    reference: str,
    access: AccessDep,
    db: Db,
    text: Annotated[str, Form(min_length=1, max_length=100_000)],
) -> RedirectResponse:
    with db.write() as session:
        ticket = load_ticket(session, reference, access)
        services.add_note(session, access.agent, ticket, text)
    flash(request, gettext(language(request), "Note added."))
    return _redirect(ticket)


@router.post("/tickets/{reference}/status")
def set_status(
    request: Request,
    reference: str,
    access: AccessDep,
    db: Db,
    value: Annotated[TicketStatus, Form(alias="status")],
) -> RedirectResponse:
    with db.write() as session:
        ticket = _acting(session, reference, access)
        services.set_status(session, access.agent, ticket, value)
    flash(request, gettext(language(request), "Status changed."))
    return _redirect(ticket)


@router.post("/tickets/{reference}/citizen")
def confirm_citizen(
    request: Request,
    reference: str,
    access: AccessDep,
    db: Db,
    registry: Registry,
    citizen: Annotated[str, Form()],
) -> RedirectResponse:
    """Settle an uncertain match: a candidate, another citizen found by search, or a new one."""
    lang = language(request)
    chosen = None if citizen == "new" else int(citizen) if citizen.isdigit() else -1
    with db.write() as session:
        ticket = _acting(session, reference, access)
        on_refusal(request, _url(ticket))
        record = citizens.confirm(session, access.agent, ticket, chosen)
        record_id = record.id or 0
    registry.reload([record_id])
    flash(request, gettext(lang, "Citizen confirmed."))
    return _redirect(ticket)


@router.post("/tickets/{reference}/assign")
def assign(
    request: Request,
    reference: str,
    access: SupervisorAccess,
    db: Db,
    settings: SettingsDep,
    agent_id: Annotated[str, Form()] = "",
    team_id: Annotated[str, Form()] = "",
) -> RedirectResponse:
    lang = language(request)
    with db.write() as session:
        ticket = load_ticket(session, reference, access)
        on_refusal(request, _url(ticket))
        services.assign(
            session,
            access.agent,
            ticket,
            int(agent_id) if agent_id.isdigit() else None,
            int(team_id) if team_id.isdigit() else None,
            settings.inbox.confidential_teams,
        )
    flash(request, gettext(lang, "Ticket reassigned."))
    return _redirect(ticket)
