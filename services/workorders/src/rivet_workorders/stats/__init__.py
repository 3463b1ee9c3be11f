"""The stats endpoints: overview, equipment health, trends, summary and KPIs."""
