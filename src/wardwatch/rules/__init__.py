"""The rule engine: versioned rule files, event-time windows, and the built-in rule pack."""
