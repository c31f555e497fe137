#!/bin/sh
# pgtmp.sh - run a command against a throwaway PostgreSQL cluster.
#   tests/lib/pgtmp.sh COMMAND [ARG...]
#   tests/lib/pgtmp.sh ctl stop|start   (from inside COMMAND: stop or start
#                                        that cluster again, waiting)
# Creates a cluster in a temp dir (initdb; as root it runs as the postgres
# user), listening only on a unix socket in that dir, waits until it
# accepts connections, runs COMMAND with DATABASE_URL set to a libpq
# keyword/value connection string for the "postgres" database (trust auth,
# user postgres), then stops the cluster and removes the dir. Exits with
# COMMAND's status, or 77 (CTest's skip code, SKIP_RETURN_CODE) with a
# sentence when PostgreSQL is not installed here.
set -eu

PGBIN=${WA_PGBIN:-}
if [ -z "$PGBIN" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && PGBIN=$d
	done
fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
	echo "pgtmp: skipped: PostgreSQL server binaries (initdb) are not" \
	     "installed; install postgresql-15 (packaging/install-deps.sh --test)." >&2
	exit 77
fi
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

# As root, the server runs as postgres (initdb refuses root).
as_pg() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		echo "pgtmp: skipped: running as root but there is no postgres" \
		     "user to run the server as." >&2
		exit 77
	fi
	as_pg() { runuser -u postgres -- "$@"; }
fi

# A port only names the socket file: the server listens on no TCP port.
# Throwaway data: no fsync, unless WA_PG_DURABLE=1 (benchmarks).
port=5432
durability="-c fsync=off -c full_page_writes=off"
[ "${WA_PG_DURABLE:-0}" = 1 ] && durability="-c synchronous_commit=on"
pg_ctl_do() { # DIR stop|start
	as_pg "$PGBIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 \
		-o "-c listen_addresses= -c unix_socket_directories=$1 -p $port \
		$durability -c max_connections=100" \
		-m fast "$2" >/dev/null
}
if [ "$1" = "ctl" ]; then
	[ -n "${WA_PG_DIR:-}" ] || { echo "pgtmp: ctl outside pgtmp.sh" >&2; exit 2; }
	pg_ctl_do "$WA_PG_DIR" "$2"
	exit $?
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/wa-pg-XXXXXX")
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
chmod 700 "$dir"
started=0
cleanup() {
	if [ "$started" -eq 1 ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust \
	--no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
	echo "pgtmp: initdb failed:" >&2
	cat "$dir/initdb.log" >&2
	exit 1
fi
started=1
if ! pg_ctl_do "$dir" start; then
	echo "pgtmp: the server did not start:" >&2
	cat "$dir/server.log" >&2
	exit 1
fi
# Readiness: pg_ctl -w waited for it; confirm it accepts connections.
n=0
until "$PGBIN/pg_isready" -q -h "$dir" -p "$port"; do
	n=$((n + 1))
	if [ "$n" -ge 600 ]; then
		echo "pgtmp: the server never became ready:" >&2
		cat "$dir/server.log" >&2
		exit 1
	fi
	sleep 0.1
done

export DATABASE_URL="host=$dir port=$port user=postgres dbname=postgres"
export WA_PG_DIR="$dir" WA_PGBIN="$PGBIN"
WA_PGTMP=$(realpath "$0")
export WA_PGTMP
rc=0
"$@" || rc=$?
exit "$rc"
