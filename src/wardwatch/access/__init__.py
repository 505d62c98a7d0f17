"""The access wing: practitioner register, door terminals, door events, entry ledger, schedule."""
