"""WardWatch: governed camera supervision and compliance rules for health facilities."""

__version__ = "0.1.0"
