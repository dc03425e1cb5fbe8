"""Simulated external systems (CRM, billing, network, payment, credit, regulator, notify) over real protocols.

Nothing outside this package imports it (an import-linter contract): connectors reach these systems
only over the network, at configured base URLs, exactly as they reach real ones.
"""
