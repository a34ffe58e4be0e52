# Two commands for users and CI: `make test` (every quality gate) and `make demo` (the main job).
SHELL := /bin/bash

.PHONY: test demo setup lint sanity units integration molecule clean

setup:
	scripts/setup

test: setup
	scripts/test

demo: setup
	scripts/demo

# Single stages, for development (setup must have run once)
lint sanity units integration molecule release:
	scripts/test $@

clean:
	-scripts/emulator down 2>/dev/null
	rm -rf .build .emulator reports inventories/*/reports tests/output
