"""Overview wing: live counts per org node for the console's home screen.

It owns no tables. It asks the other wings' services, each with the caller's own scope,
and sums what they answer up the caller's part of the org tree, so the console needs one
call per refresh however many facilities the caller supervises.
"""
