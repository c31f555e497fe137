#!/bin/sh
# npm_install.sh - install one npm package into a cache dir (once) for a test
#
# usage: npm_install.sh DIR PACKAGE CHECK...
#   PACKAGE  e.g. @stoplight/prism-cli@5 or playwright-core@1
#   CHECK    a command run with DIR/node_modules/.bin on PATH that succeeds
#            when the package is usable (e.g. "prism --version")
# Exit 0 when usable; 77 when node/npm or the npm registry is unavailable (the
# caller skips); 1 on any other failure. Safe to run concurrently.
set -u
dir=${1:?usage: npm_install.sh DIR PACKAGE CHECK...}
pkg=${2:?usage: npm_install.sh DIR PACKAGE CHECK...}
shift 2

usable() { PATH="$dir/node_modules/.bin:$PATH" NODE_PATH="$dir/node_modules" "$@" >/dev/null 2>&1; }

mkdir -p "$dir" || exit 1
if usable "$@"; then
	exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "npm_install: node/npm not installed" >&2
	exit 77
fi
# One installer at a time; the others wait and then find it installed.
exec 9>"$dir/.install.lock"
if command -v flock >/dev/null 2>&1; then
	flock 9
fi
if usable "$@"; then
	exit 0
fi
echo "npm_install: installing $pkg into $dir (first run only)" >&2
if ! timeout 240 npm install --prefix "$dir" --no-audit --no-fund --no-save \
		--loglevel=error "$pkg" >"$dir/npm-install.log" 2>&1; then
	cat "$dir/npm-install.log" >&2
	if ! timeout 30 npm ping >/dev/null 2>&1; then
		echo "npm_install: the npm registry is unreachable" >&2
		exit 77
	fi
	echo "npm_install: npm install $pkg failed (registry reachable)" >&2
	exit 1
fi
if ! usable "$@"; then
	echo "npm_install: installed $pkg, but '$*' fails" >&2
	exit 1
fi
exit 0
