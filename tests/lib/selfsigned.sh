#!/bin/sh
# selfsigned.sh DIR NAME [rsa] - a self-signed certificate for 127.0.0.1,
# valid one day, as DIR/NAME.pem with its key DIR/NAME.key: the tests' own
# CA, for a daemon serving HTTPS or a fake provider behind it. The key is
# EC P-256, or RSA 2048 with "rsa" (for a test of RSA cipher suites).
# Exit status: openssl's.
set -eu
if [ "${3:-}" = rsa ]; then
	set -- "$1" "$2" -newkey rsa:2048
else
	set -- "$1" "$2" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
fi
dir=$1 name=$2
shift 2
exec openssl req -x509 "$@" -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 \
	-keyout "$dir/$name.key" -out "$dir/$name.pem" 2>/dev/null
