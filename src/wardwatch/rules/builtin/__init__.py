"""The built-in rule pack (YAML files, one rule each)."""
