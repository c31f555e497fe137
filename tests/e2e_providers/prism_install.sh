#!/bin/sh
# prism_install.sh - install @stoplight/prism-cli@5 into a cache dir (once) for the Prism e2e test
#
# usage: prism_install.sh DIR
# Exit 0 with DIR/node_modules/.bin/prism usable; 77 when node/npm or the npm registry
# is unavailable (the caller skips); 1 on any other failure. Safe to run concurrently.
set -u
dir=${1:?usage: prism_install.sh DIR}
bin="$dir/node_modules/.bin/prism"

usable() { [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; }

mkdir -p "$dir" || exit 1
if usable; then
	exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "prism_install: node/npm not installed" >&2
	exit 77
fi
# One installer at a time; the others wait and then find it installed.
exec 9>"$dir/.install.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi
if usable; then
	exit 0
fi
echo "prism_install: installing @stoplight/prism-cli@5 into $dir (first run only)" >&2
if ! timeout 240 npm install --prefix "$dir" --no-audit --no-fund --no-save \
		--loglevel=error @stoplight/prism-cli@5 >"$dir/npm-install.log" 2>&1; then
	cat "$dir/npm-install.log" >&2
	if ! timeout 30 npm ping >/dev/null 2>&1; then
		echo "prism_install: the npm registry is unreachable" >&2
		exit 77
	fi
	echo "prism_install: npm install failed (registry reachable)" >&2
	exit 1
fi
if ! usable; then
	echo "prism_install: installed, but $bin does not run" >&2
	exit 1
fi
exit 0
