"""``CitizenIndex``: the register in memory, and the link / review / new decision."""

from __future__ import annotations

from collections.abc import Hashable

from matching.blocking import candidates
from matching.fields import extract, is_household_line
from matching.identity import Identity
from matching.match import Decision, Match
from matching.score import P_KNOWN
from matching.scoring import (
    EMAIL,
    HANDLE,
    HOUSEHOLD_LINE,
    PHONE,
    Context,
    Scored,
    explain_levels,
    score_candidate,
)
from matching.store import Rec, Store, get

__all__ = ["CitizenIndex"]

TOP = 5


class CitizenIndex:
    """Citizens by id (any hashable: the product passes ints), matchable by any identity fields.

    ``link_threshold`` and ``review_threshold`` are posterior probabilities (see
    ``matching.score``): link when the best candidate reaches ``link_threshold``, no rule caps
    it and the runner-up is at least ``link_margin`` behind; otherwise review when the
    candidates together are at least ``review_threshold`` likely to hold the sender; otherwise
    the sender is new. ``default_region`` is used to read national phone numbers.
    """

    def __init__(
        self,
        link_threshold: float = 0.99,
        review_threshold: float = 0.3,
        *,
        link_margin: float = 0.5,
        default_region: str = "FR",
    ) -> None:
        if not 0.0 < review_threshold <= link_threshold <= 1.0:
            raise ValueError("need 0 < review_threshold <= link_threshold <= 1")
        self.link_threshold = link_threshold
        self.review_threshold = review_threshold
        self.link_margin = link_margin
        self.default_region = default_region
        self._store = Store()

    def __len__(self) -> int:
        return len(self._store.recs)

    def __contains__(self, citizen_id: object) -> bool:
        return citizen_id in self._store.recs

    def add(self, citizen_id: Hashable, identity: Identity) -> None:
        """Add a citizen, or merge into it: contact points accumulate (several addresses and
        numbers per citizen), non-empty identity fields replace the old values."""
        self._store.upsert(citizen_id, extract(identity, self.default_region, readings=False))

    def remove(self, citizen_id: Hashable) -> None:
        """Forget a citizen. Raises KeyError if unknown."""
        self._store.remove(citizen_id)

    def match(self, identity: Identity) -> Match:
        """Find the citizen an incoming identity belongs to."""
        store = self._store
        q = extract(identity, self.default_region, readings=True)
        hits: dict[Rec, int] = {}
        for phone in q.phones:
            bit = HOUSEHOLD_LINE if is_household_line(phone) else PHONE
            for rec in get(store.phones, phone):
                hits[rec] = hits.get(rec, 0) | bit
        for bit, index, keys in (
            (EMAIL, store.emails, q.emails),
            (HANDLE, store.handles, q.handles),
        ):
            for key in keys:
                for rec in get(index, key):
                    hits[rec] = hits.get(rec, 0) | bit
        found, left_out = candidates(store, q, hits)
        if not found:
            return Match("new", None, [], 0.0)
        ctx = Context(store, q)
        scored = [score_candidate(ctx, rec, hits.get(rec, 0)) for rec in found]
        return self._decide(ctx, hits, scored, left_out)

    def _decide(
        self, ctx: Context, hits: dict[Rec, int], scored: list[Scored], left_out: int
    ) -> Match:
        top_bits = max(s.bits for s in scored)
        # Posterior over "one of these candidates, or someone new", computed relative to the
        # best weight so that 2**bits never overflows. Plausible records left unscored (a
        # surname shared by thousands) are counted as if each weighed like the weakest scored.
        weights = [2.0 ** max(s.bits - top_bits, -1000.0) for s in scored]
        total = sum(weights) + left_out * min(weights)
        total += (1.0 - P_KNOWN) * 2.0 ** min(max(-top_bits, -1000.0), 1000.0)
        capped = self.link_threshold - 0.01
        ranked = []
        for s, w in zip(scored, weights, strict=True):
            posterior = w / total
            ranked.append((min(posterior, capped) if s.cap else posterior, posterior, s))
        ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
        best, _, best_s = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        decision: Decision
        if best >= self.link_threshold and not best_s.cap and best - runner_up >= self.link_margin:
            decision = "link"
        elif sum(r[1] for r in ranked) >= self.review_threshold:
            decision = "review"
        else:
            decision = "new"
        top = ranked[:TOP]
        return Match(
            decision,
            best_s.rec.cid if decision == "link" else None,
            [(s.rec.cid, round(score, 6)) for score, _, s in top],
            round(best, 6),
            {s.rec.cid: explain_levels(ctx, s, hits.get(s.rec, 0)) for _, _, s in top},
            {s.rec.cid: s.cap for _, _, s in top if s.cap},
        )
