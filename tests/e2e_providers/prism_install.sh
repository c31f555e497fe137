#!/bin/sh
# prism_install.sh - install @stoplight/prism-cli@5 into DIR (once) for the
# Prism tests. Exit 0 usable, 77 npm unavailable (skip), 1 failure.
exec sh "$(dirname "$0")/../lib/npm_install.sh" "${1:?usage: prism_install.sh DIR}" \
	@stoplight/prism-cli@5 prism --version
