"""Analyses of a built block: graph and counts, latency, reparameterization, guidelines."""
