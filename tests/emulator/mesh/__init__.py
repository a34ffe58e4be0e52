"""Simulated mesh controllers for the emulator: SPIRE server and controller manager, Gloo Operator -> istiod/ztunnel/
istio-cni, istiod's namespace/gateway/peering controllers, license endpoint, mesh faults (see README.md).

Registered by emulator/controllers/mesh.py (the core's controller discovery)."""
