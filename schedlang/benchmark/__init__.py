"""`schedlang bench`: a reproducible benchmark for agents that write scheduling policies.

The suite runner writes a result directory (scores.json, raw outputs, policies), bundle.py
seals it (sha256 manifest, ed25519 signature) and report.py turns bundles into one HTML page.
"""
