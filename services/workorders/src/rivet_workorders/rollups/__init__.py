"""Stats rollups: kept from the service's own wo.* events, plus the equipment health score."""
