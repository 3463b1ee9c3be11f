"""Reading ahead and looking back: the forecast, overdue PM orders, PM compliance, gauges."""
