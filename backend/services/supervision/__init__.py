"""What the supervising body does and sees beyond complaints and reviews (R-X3, R-X4): orders to
rectify (``rectifications``) and the views of enforcement activity (``activity``: zero enforcement
in a year, repeated inspections of one enterprise)."""
