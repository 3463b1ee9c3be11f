"""When planned maintenance falls due: pure rules without I/O, unit-tested alone.

- ``localtime``: the organization's wall clock (IANA zone) to instants and back, with one rule
  for the times a DST change skips or repeats;
- ``calendar``: calendar triggers (every N days, weeks, months, years; fixed or floating), the
  forecast and the lead time;
- ``meters``: counter-meter triggers (every N units) and the readings a counter accepts;
- ``conditions``: gauge readings against limits, one excursion per burst;
- ``compliance``: on-time PM orders, PM compliance, planned-maintenance percentage, overdue;
- ``keys``: the idempotency key of an occurrence, the same in every scheduler replica.
"""
