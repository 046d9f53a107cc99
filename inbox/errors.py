"""The domain's refusals: a request that is well-formed but that the state of things refuses.

Their message is an English message id that agents read translated (the pages' catalog). One
handler answers them for the whole app (``inbox.web.refusals``): the API with the status
below and the reason, a page with a translated flash on the page it came from.
"""

from __future__ import annotations


class Conflict(Exception):
    """The ticket's or the record's state does not allow it (409)."""

    status = 409


class Invalid(Conflict):
    """It names something that does not exist or may not be chosen here (422)."""

    status = 422
