"""Deployments: the snapshot of a project, its lifecycle (PENDING → DEPLOYING → SUCCESS |
FAILED) with leases, the in-process worker and the sweep, the diff of two snapshots, and the
notices that wake subscriptions. Below the resolvers, above the loaders and the store."""
