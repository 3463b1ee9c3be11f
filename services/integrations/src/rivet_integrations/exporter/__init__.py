"""The exporter: every exported event of the domain streams, copied unchanged to its
organization's stream (``ORG_<org id hex>``, subjects ``org.<org_id>.<subject>``)."""
