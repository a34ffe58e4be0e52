"""An emulated multi-cluster Kubernetes API for the collection's tests (see README.md)."""
