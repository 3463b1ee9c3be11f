"""Rivet work orders service: the work order lifecycle, equipment-first creation, timelines,
stats and maintenance KPIs (schema ``workorders``)."""
