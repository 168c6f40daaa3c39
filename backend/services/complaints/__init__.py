"""Complaints, reports and suggestions from the public (R-X1, R-X2), one concept per module:
photos (uploads checked, decoded off the event loop, re-encoded without metadata), intake (what a
complaint is about, the verified phone, the receipt, the complainant's view and rating), handling
(the agency's steps through the COMPLAINT table, limits, escalation, the supervisor's views) and
steps (each step a full-process record and a transparency-log leaf, and the complainant's SMS)."""
