"""The parties' side of the mini-program (issue 12, R-X*): who is signed in (``sessions``), which
party of which case they are (``bindings``), and what they may see of it (``progress``, with the
deadlines that matter to them in ``deadlines``)."""
