"""Alerts and notices: who must hear about what, and the record that they were told."""
