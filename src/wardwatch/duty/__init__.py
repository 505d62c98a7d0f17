"""Duty wing: the roster of shifts, coverage gaps, the logbook, handovers and breach reports.

The guidance demands a named person or team watching every facility around the clock, a
logbook handed over at every change of shift, and breaches taken at once to the
facility's manager. This wing is where that duty is planned, taken, written down and
followed up.
"""
