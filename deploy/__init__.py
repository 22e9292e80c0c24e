"""Deployment files; healthcheck.py is the container HEALTHCHECK (a module, so it is tested)."""
