"""Citizen records on the agents' pages: search, one record with every contact and ticket,
edit, merge two records compared side by side, and undo a merge.

Tickets are always listed through ``Access.tickets()``: a confidential team's files stay absent
for outsiders, even on the page of a citizen everyone may see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from inbox import citizens
from inbox.api import load_ticket
from inbox.deps import AccessDep, Db, Registry
from inbox.models import Agent, Citizen, CitizenMerge, ContactPoint, Ticket
from inbox.permissions import Access
from inbox.queries import citizen_name
from inbox.web.catalog import gettext
from inbox.web.labels import channel_names
from inbox.web.refusals import on_refusal
from inbox.web.render import PARIS, flash, language, page

router = APIRouter()
KINDS = ("email", "phone", "handle")
SEARCH_MIN = 2
FormText = Annotated[str | None, Form(max_length=1000)]  # None: not sent, left unchanged


def field_labels(lang: str) -> dict[str, str]:
    return {
        "first_name": gettext(lang, "First name"),
        "last_name": gettext(lang, "Last name"),
        "birth_name": gettext(lang, "Birth name"),
        "display_name": gettext(lang, "Display name"),
        "birth_date": gettext(lang, "Birth date"),
        "address": gettext(lang, "Address"),
        "postcode": gettext(lang, "Postcode"),
        "city": gettext(lang, "City"),
    }


def contact_kinds(lang: str) -> dict[str, str]:
    return {
        "email": gettext(lang, "E-mails"),
        "phone": gettext(lang, "Phones"),
        "handle": gettext(lang, "Other addresses"),
    }


def _citizen(session: Session, citizen_id: int) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such citizen")
    return citizen


def _to(citizen_id: int, suffix: str = "") -> RedirectResponse:
    return RedirectResponse(f"/citizens/{citizen_id}{suffix}", status_code=303)


def contacts_of(session: Session, ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """Each citizen's contact points by kind (e-mail, phone, handle), oldest first."""
    out: dict[int, dict[str, list[str]]] = {i: {kind: [] for kind in KINDS} for i in ids}
    if ids:
        points = session.exec(
            select(ContactPoint)
            .where(col(ContactPoint.citizen_id).in_(ids))
            .order_by(col(ContactPoint.id))
        )
        for point in points:
            out[point.citizen_id].setdefault(point.kind, []).append(point.value)
    return out


def visible_tickets(session: Session, access: Access, citizen_id: int) -> list[Ticket]:
    """The citizen's tickets this agent may see, newest first."""
    return list(
        session.exec(
            select(Ticket)
            .where(Ticket.citizen_id == citizen_id, access.tickets())
            .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        )
    )


def _ticket_count(session: Session, access: Access, citizen_id: int) -> int:
    query = select(func.count()).where(Ticket.citizen_id == citizen_id, access.tickets())
    return int(session.exec(query).one())


def _merges(session: Session, citizen_id: int) -> list[dict[str, Any]]:
    """The merges this record took part in, newest first, with both records' names."""
    rows = session.exec(
        select(CitizenMerge, Agent)
        .join(Agent, col(Agent.id) == CitizenMerge.actor_agent_id, isouter=True)
        .where(or_(CitizenMerge.survivor_id == citizen_id, CitizenMerge.merged_id == citizen_id))
        .order_by(col(CitizenMerge.id).desc())
    ).all()
    ids = {i for m, _ in rows for i in (m.survivor_id, m.merged_id)}
    names = {
        c.id: citizen_name(c) for c in session.exec(select(Citizen).where(col(Citizen.id).in_(ids)))
    }
    return [
        {
            "merge": m,
            "actor": a.name if a else "",
            "survivor": names.get(m.survivor_id, ""),
            "merged": names.get(m.merged_id, ""),
        }
        for m, a in rows
    ]


@router.get("/citizens", response_class=HTMLResponse)
def search_page(
    request: Request,
    access: AccessDep,
    db: Db,
    registry: Registry,
    q: Annotated[str, Query(max_length=200)] = "",
    for_ticket: Annotated[str, Query(alias="for", max_length=30)] = "",
    merge_into: int | None = None,
) -> HTMLResponse:
    """Find a record by name, e-mail or phone; to open it, to attach it to the ticket under
    review (``for``) or to merge it into another record (``merge_into``)."""
    lang = language(request)
    q = q.strip()
    ticket, target, may_attach = None, None, False
    with db.read() as session:
        if for_ticket:
            ticket = load_ticket(session, for_ticket, access)
            may_attach = access.may_act(ticket)
        if merge_into is not None:
            target = _citizen(session, merge_into)
        found = citizens.search(session, registry, q) if len(q) >= SEARCH_MIN else []
        contacts = contacts_of(session, [c.id or 0 for c, _ in found])
    results = [
        {
            "citizen": c,
            "name": citizen_name(c),
            "score": None if score is None else round(score * 100),
            "contacts": contacts.get(c.id or 0, {}),
        }
        for c, score in found
    ]
    return page(
        request,
        "citizens.html",
        access.agent,
        title=gettext(lang, "Citizens"),
        q=q,
        too_short=0 < len(q) < SEARCH_MIN,
        results=results,
        ticket=ticket,
        may_attach=may_attach,
        target=target,
        target_name=citizen_name(target),
    )


@router.get("/citizens/{citizen_id}", response_class=HTMLResponse)
def citizen_page(request: Request, citizen_id: int, access: AccessDep, db: Db) -> HTMLResponse:
    lang = language(request)
    with db.read() as session:
        citizen = _citizen(session, citizen_id)
        survivor = session.get(Citizen, citizen.merged_into_id) if citizen.merged_into_id else None
        contacts = contacts_of(session, [citizen_id])[citizen_id]
        tickets = visible_tickets(session, access, citizen_id)
        merges = _merges(session, citizen_id)
    display = citizen_name(citizen) or gettext(lang, "Unknown")
    return page(
        request,
        "citizen.html",
        access.agent,
        title=display,
        citizen=citizen,
        display=display,
        survivor=survivor,
        survivor_name=citizen_name(survivor),
        contacts=contacts,
        tickets=tickets,
        merges=merges,
        labels=field_labels(lang),
        fields=citizens.EDITABLE_FIELDS,
        kinds=contact_kinds(lang),
        channels=channel_names(lang),
    )


@router.post("/citizens/{citizen_id}")
def edit_citizen(
    request: Request,
    citizen_id: int,
    access: AccessDep,
    db: Db,
    registry: Registry,
    first_name: FormText = None,
    last_name: FormText = None,
    birth_name: FormText = None,
    display_name: FormText = None,
    birth_date: FormText = None,
    address: FormText = None,
    postcode: FormText = None,
    city: FormText = None,
) -> RedirectResponse:
    lang = language(request)
    submitted = {
        "first_name": first_name,
        "last_name": last_name,
        "birth_name": birth_name,
        "display_name": display_name,
        "birth_date": birth_date,
        "address": address,
        "postcode": postcode,
        "city": city,
    }
    today = datetime.now(PARIS).date()
    with db.write() as session:
        citizen = _citizen(session, citizen_id)
        on_refusal(request, f"/citizens/{citizen_id}", "This record was merged into another one.")
        try:
            changes = citizens.edit_changes(citizen, submitted, today=today)
            citizens.edit(session, access.agent, citizen, changes)
        except citizens.InvalidEdit as exc:
            labels = field_labels(lang)
            wrong = ", ".join(labels[f] for f in exc.fields)
            flash(
                request,
                gettext(lang, "Not saved, please check: %(fields)s.", fields=wrong),
                "error",
            )
            return _to(citizen_id, "#edit")
    if changes:
        registry.reload([citizen_id])
        flash(request, gettext(lang, "Record saved."))
    else:
        flash(request, gettext(lang, "Nothing changed."))
    return _to(citizen_id)


@router.get("/citizens/{citizen_id}/merge", response_class=HTMLResponse)
def merge_page(
    request: Request, citizen_id: int, access: AccessDep, db: Db, other: int | None = None
) -> HTMLResponse:
    """Both records side by side before a merge (without ``other``: a search to choose it)."""
    lang = language(request)
    with db.read() as session:
        kept = _citizen(session, citizen_id)
        merged = _citizen(session, other) if other is not None else None
        ids = [citizen_id] + ([other] if other is not None else [])
        contacts = contacts_of(session, ids)
        counts = {i: _ticket_count(session, access, i) for i in ids}
    labels = field_labels(lang)
    rows = []
    if merged is not None:
        rows = [(labels[f], getattr(kept, f), getattr(merged, f)) for f in citizens.EDITABLE_FIELDS]
        rows += [
            (label, ", ".join(contacts[citizen_id][kind]), ", ".join(contacts[other or 0][kind]))
            for kind, label in contact_kinds(lang).items()
        ]
    mergeable = (
        merged is not None
        and kept.id != merged.id
        and kept.merged_into_id is None
        and merged.merged_into_id is None
    )
    return page(
        request,
        "citizen_merge.html",
        access.agent,
        title=gettext(lang, "Merge two records"),
        kept=kept,
        kept_name=citizen_name(kept) or gettext(lang, "Unknown"),
        merged=merged,
        merged_name=citizen_name(merged) or gettext(lang, "Unknown"),
        contacts=contacts,
        rows=rows,
        counts=counts,
        mergeable=mergeable,
    )


@router.post("/citizens/{citizen_id}/merge")
def merge(
    request: Request,
    citizen_id: int,
    access: AccessDep,
    db: Db,
    registry: Registry,
    other_id: Annotated[int, Form()],
) -> RedirectResponse:
    """Fold ``other_id`` into this record; the flash offers to undo it at once."""
    lang = language(request)
    with db.write() as session:
        survivor, merged = _citizen(session, citizen_id), _citizen(session, other_id)
        back = f"/citizens/{citizen_id}/merge?other={other_id}"
        on_refusal(request, back, "These two records cannot be merged.")
        record = citizens.merge(session, access.agent, survivor, merged)
        merge_id = record.id
    registry.reload([citizen_id, other_id])
    undo = (f"/citizens/merges/{merge_id}/undo", gettext(lang, "Undo the merge"))
    flash(request, gettext(lang, "Records merged."), action=undo)
    return _to(citizen_id)


@router.post("/citizens/merges/{merge_id}/undo")
def undo_merge(
    request: Request, merge_id: int, access: AccessDep, db: Db, registry: Registry
) -> RedirectResponse:
    lang = language(request)
    with db.write() as session:
        record = session.get(CitizenMerge, merge_id)
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such merge")
        ids = [record.survivor_id, record.merged_id]
        on_refusal(request, f"/citizens/{ids[0]}", "This merge was already undone.")
        citizens.undo_merge(session, access.agent, record)
    registry.reload(ids)
    flash(request, gettext(lang, "Merge undone: the two records are separate again."))
    return _to(ids[0])
