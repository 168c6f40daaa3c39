"""An agency's disclosure registers (事前公开, R-D1, R-D3, R-D4): its own facts (主体资格), entrusted
organisations, power lists, random-inspection items, service guides and flowcharts — one model, one
kind each (``RegisterKind``).

- ``versions``: the life of a version. A change is a new version with the date it takes effect
  (append-only; content never edited); it is submitted, reviewed by a legal reviewer who is not its
  author (who, when, outcome, opinion: its ``approve``/``return`` step), then published (REGISTER_ITEM
  table); each step a ``RegisterEvent`` and a leaf of the transparency log. A retirement is a version
  too (``retirement``): from its effective date the public no longer lists the item.
  A change must be public within 20 working days of the day it was made (``publish_due_on``, on the
  official calendar; recomputed by ``services/clocks.py`` when a year is loaded); the overdue view.
- ``public``: what anyone may read: published versions only, the one in effect on a day marked.

Not to be confused with ``services/disclosure/officer_list.py``: the public list of officers (R-D2).
"""
