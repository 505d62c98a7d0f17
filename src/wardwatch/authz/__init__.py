"""Accounts, roles bound on the org tree, sessions, MFA and the provisioning workflow."""
