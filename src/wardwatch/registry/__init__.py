"""The org tree, facilities, zones with placement rules, cameras, doors and the rollout registry."""
