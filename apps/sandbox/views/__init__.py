"""Views of the simulated systems, one module per system."""
