"""Citizen records in the API: search, detail, confirm a ticket's citizen, merge and undo."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel
from sqlmodel import Session, col, select

from inbox import citizens
from inbox.api import load_ticket
from inbox.deps import AccessDep, CurrentAgent, Db, Registry
from inbox.models import Citizen, CitizenMerge, ContactPoint, Ticket
from inbox.schemas import TicketPublic

router = APIRouter(prefix="/api/v1")


class ContactPublic(BaseModel):
    kind: str
    value: str


class CitizenPublic(BaseModel):
    id: int
    first_name: str
    last_name: str
    birth_name: str
    display_name: str
    birth_date: str
    address: str
    postcode: str
    city: str
    external_id: str | None
    merged_into_id: int | None
    contacts: list[ContactPublic] = []
    score: float | None = None


class CitizenDetail(CitizenPublic):
    tickets: list[TicketPublic]


class ConfirmIn(BaseModel):
    citizen_id: int | Literal["new"]


class MergeIn(BaseModel):
    other_id: int


class MergePublic(BaseModel):
    id: int
    survivor_id: int
    merged_id: int
    ticket_ids: list[int]
    contact_ids: list[int]
    undone: bool


def _public(session: Session, citizen: Citizen, score: float | None = None) -> CitizenPublic:
    contacts = session.exec(select(ContactPoint).where(ContactPoint.citizen_id == citizen.id))
    return CitizenPublic(
        **citizen.model_dump(include=set(CitizenPublic.model_fields) - {"contacts", "score"}),
        contacts=[ContactPublic(kind=c.kind, value=c.value) for c in contacts],
        score=score,
    )


def _citizen(session: Session, citizen_id: int) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such citizen")
    return citizen


def _merge_public(record: CitizenMerge) -> MergePublic:
    return MergePublic(
        id=record.id or 0,
        survivor_id=record.survivor_id,
        merged_id=record.merged_id,
        ticket_ids=record.ticket_ids,
        contact_ids=record.contact_ids,
        undone=record.undone_at is not None,
    )


@router.get("/citizens", response_model=list[CitizenPublic])
def search_citizens(
    agent: CurrentAgent,
    db: Db,
    registry: Registry,
    q: Annotated[str, Query(min_length=2, max_length=200, description="name, e-mail or phone")],
) -> list[CitizenPublic]:
    with db.read() as session:
        return [_public(session, c, score) for c, score in citizens.search(session, registry, q)]


@router.get("/citizens/{citizen_id}", response_model=CitizenDetail)
def citizen_detail(citizen_id: int, access: AccessDep, db: Db) -> CitizenDetail:
    """The record and the tickets this agent may see (a confidential team's stay hidden)."""
    with db.read() as session:
        citizen = _citizen(session, citizen_id)
        tickets = session.exec(
            select(Ticket)
            .where(Ticket.citizen_id == citizen_id, access.tickets())
            .order_by(col(Ticket.id).desc())
        ).all()
        return CitizenDetail(
            **_public(session, citizen).model_dump(),
            tickets=[TicketPublic.model_validate(t, from_attributes=True) for t in tickets],
        )


@router.post("/tickets/{ticket_key}/citizen", response_model=CitizenPublic)
def confirm_citizen(
    ticket_key: str, body: ConfirmIn, access: AccessDep, db: Db, registry: Registry
) -> CitizenPublic:
    with db.write() as session:
        ticket = access.act(load_ticket(session, ticket_key, access))
        citizen = citizens.confirm(
            session, access.agent, ticket, None if body.citizen_id == "new" else body.citizen_id
        )
        public = _public(session, citizen)
    registry.reload([public.id])
    return public


@router.post("/citizens/{citizen_id}/merge", response_model=MergePublic, status_code=201)
def merge_citizens(
    citizen_id: int, body: MergeIn, agent: CurrentAgent, db: Db, registry: Registry
) -> MergePublic:
    with db.write() as session:
        survivor, merged = _citizen(session, citizen_id), _citizen(session, body.other_id)
        record = citizens.merge(session, agent, survivor, merged)
        public = _merge_public(record)
    registry.reload([public.survivor_id, public.merged_id])
    return public


@router.post("/citizens/merges/{merge_id}/undo", response_model=MergePublic)
def undo_merge(merge_id: int, agent: CurrentAgent, db: Db, registry: Registry) -> MergePublic:
    with db.write() as session:
        record = session.get(CitizenMerge, merge_id)
        if record is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "No such merge")
        citizens.undo_merge(session, agent, record)
        public = _merge_public(record)
    registry.reload([public.survivor_id, public.merged_id])
    return public
