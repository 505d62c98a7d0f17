"""Shared foundations every wing stands on: configuration, database, clock, ids, bus, errors."""
