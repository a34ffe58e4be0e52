"""Registration hook of the simulated mesh (the code lives in emulator/mesh/, see its README.md)."""

from emulator.mesh.core import setup  # noqa: F401  pylint: disable=unused-import
