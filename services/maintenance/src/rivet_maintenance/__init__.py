"""Rivet maintenance service: preventive maintenance plans, meters and readings, and the
schedule that decides when a plan's next work order opens (schema ``maintenance``)."""
