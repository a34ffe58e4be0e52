"""Controllers: every module here with a setup(emulator) function is loaded at start (builtin first)."""
