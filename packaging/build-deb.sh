#!/bin/sh
# build-deb.sh - build the wadispatch and wadispatch-dev .deb files from a
# clean copy of the working tree (tracked and new files, nothing ignored).
#   packaging/build-deb.sh [--out DIR] [--lintian]
#     --out DIR   where the .deb files go (default: build-deb/ in the tree)
#     --lintian   then run lintian --pedantic; fail on any error or warning
# The debian/ directory is kept in packaging/debian and copied into place in
# the scratch copy; the tree itself is never modified.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build-deb"
check=0
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--lintian) check=1; shift ;;
	*) echo "build-deb: unknown argument: $1" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wadispatch-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
src="$scratch/wadispatch-$version"
mkdir -p "$src"

# The file list: git's view of the working tree when there is one (so files
# not committed yet are included and build directories are not), else
# everything but build output.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$root" ls-files -z --cached --others --exclude-standard |
		(cd "$root" && xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$root" --exclude=./.git --exclude='./build*' --exclude=./debian --exclude='*.deb' \
		-cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -a "$root/packaging/debian" "$src/debian"

jobs=$(nproc 2>/dev/null || echo 2)
echo "build-deb: building wadispatch $version in $src" >&2
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b) >"$scratch/build.log" 2>&1 || {
	tail -n 60 "$scratch/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log above)" >&2
	exit 1
}

for f in "$scratch"/*.deb "$scratch"/*.ddeb "$scratch"/*.changes "$scratch"/*.buildinfo; do
	[ -e "$f" ] && cp "$f" "$out/"
done
ls "$out"/*.deb >&2

if [ "$check" = 1 ]; then
	changes=$(ls "$out"/wadispatch_"$version"_*.changes | head -n 1)
	lintian --pedantic --fail-on error,warning "$changes"
fi
