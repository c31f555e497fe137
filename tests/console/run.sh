#!/bin/sh
# run.sh - the console in a real browser: Debian's chromium, headless, driven
# by playwright-core (npm, installed once into the build tree; it never
# downloads a browser). Exit 77 (skipped) with a sentence when chromium or
# npm is not available.
set -u
here=$(dirname "$0")
chromium=${WA_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "SKIPPED: $chromium is not installed (apt-get install chromium); the console was not tested in a browser"
	exit 77
fi
dir=${WA_NPM_DIR:?WA_NPM_DIR must be set (run through ctest)}
sh "$here/../lib/npm_install.sh" "$dir" playwright-core@1 \
	node -e "require('$dir/node_modules/playwright-core')"
rc=$?
if [ $rc -eq 77 ]; then
	echo "SKIPPED: playwright-core could not be installed (npm or its registry unavailable); the console was not tested in a browser"
	exit 77
fi
[ $rc -eq 0 ] || exit 1
NODE_PATH="$dir/node_modules" WA_CHROMIUM="$chromium" exec node "$here/console.test.mjs"
