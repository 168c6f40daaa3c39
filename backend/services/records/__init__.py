"""The full-process record (R-R1..R-R5): who worked a case (``case_officers``), each step with its
rules (``steps``: the table; ``entries``: append-only writing and the timeline), the evidence files
(``evidence``) and the supervisor's retrieval of it all, logged (``full_record``)."""
