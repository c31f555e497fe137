#!/bin/sh
# run.sh - build the libFuzzer targets with clang in their own build dir and run each for a bounded time
#
#   tests/fuzz/run.sh [target ...]        (make fuzz)
#
# Fails when any target finds a crash, leak, timeout or property violation;
# prints executions per target. Environment (defaults in brackets):
#   FUZZ_TIME     seconds per target [20]      FUZZ_JOBS  targets run at once [nproc]
#   FUZZ_BUILD    build directory [build-fuzz]
#   FUZZ_RSS_MB   -rss_limit_mb [2048]         FUZZ_TIMEOUT  -timeout per input [10]
#   FUZZ_MAX_LEN  -max_len [8192]
# New inputs libFuzzer finds go to $FUZZ_BUILD/fuzz-corpus/<target>/ (the
# committed seeds in tests/fuzz/corpus/ are only read); a crashing input is
# written to $FUZZ_BUILD/fuzz-artifacts/. Copy it into
# tests/fuzz/corpus/<target>/ once fixed: fuzz_regress_<target> in the normal
# test suite then replays it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
time_s=${FUZZ_TIME:-20}
jobs=${FUZZ_JOBS:-$(nproc)}
rss=${FUZZ_RSS_MB:-2048}
tmo=${FUZZ_TIMEOUT:-10}
max_len=${FUZZ_MAX_LEN:-8192}
all="request phone config twilio_response twilio_callback evolution_response
evolution_callback cloudapi_response cloudapi_callback twilio_inbound
evolution_inbound cloudapi_inbound btree"
targets=${*:-$all}
start=$(date +%s)

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: clang is not installed (make test-deps installs clang and libclang-rt-14-dev)" >&2
	exit 1
fi

bins=""
for t in $targets; do
	bins="$bins fuzz_$t"
done
echo "fuzz: building$bins in $build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DWA_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $bins >"$build/fuzz-build.log" 2>&1 || {
	tail -n 40 "$build/fuzz-build.log" >&2
	echo "fuzz: build failed (full log: $build/fuzz-build.log)" >&2
	exit 1
}
built=$(date +%s)

logs=$build/fuzz-logs
arts=$build/fuzz-artifacts
mkdir -p "$logs" "$arts"

dict_of() {
	case $1 in
	phone) ;;
	config) echo "$here/dict/config.dict" ;;
	twilio_callback | twilio_inbound) echo "$here/dict/form.dict" ;;
	*) echo "$here/dict/json.dict" ;;
	esac
}

run_one() {
	t=$1
	work=$build/fuzz-corpus/$t
	d=$(dict_of "$t")
	mkdir -p "$work"
	rm -f "$logs/$t.rc"
	set +e
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$time_s" \
		-rss_limit_mb="$rss" -timeout="$tmo" -max_len="$max_len" \
		-print_final_stats=1 -artifact_prefix="$arts/$t-" \
		${d:+-dict="$d"} "$work" "$here/corpus/$t" >"$logs/$t.log" 2>&1
	echo $? >"$logs/$t.rc"
	set -e
}

echo "fuzz: running each target for ${time_s}s, $jobs at a time"
pids=""
n=0
for t in $targets; do
	run_one "$t" &
	pids="$pids $!"
	n=$((n + 1))
	if [ "$n" -ge "$jobs" ]; then
		for p in $pids; do wait "$p" || true; done
		pids=""
		n=0
	fi
done
for p in $pids; do wait "$p" || true; done

failed=""
printf '%-20s %12s %10s %8s %8s  %s\n' target executions exec/s cov corpus result
for t in $targets; do
	log=$logs/$t.log
	rc=$(cat "$logs/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	corp=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	if [ "$rc" = 0 ]; then
		res=ok
	else
		res="FAILED (exit $rc, log $log)"
		failed="$failed $t"
	fi
	printf '%-20s %12s %10s %8s %8s  %s\n' "$t" "${execs:--}" "${rate:--}" \
		"${cov:--}" "${corp:--}" "$res"
done
end=$(date +%s)
echo "fuzz: build $((built - start))s, total $((end - start))s"
nt=$(echo $targets | wc -w)
nf=$(echo $failed | wc -w)

if [ -n "$failed" ]; then
	for t in $failed; do
		echo "---- $t (last lines of $logs/$t.log)"
		tail -n 30 "$logs/$t.log"
	done
	echo "fuzz: FAILED:$failed; crashing inputs are in $arts/"
	echo "fuzz: $((nt - nf)) passed, $nf failed"
	exit 1
fi
echo "fuzz: no findings"
echo "fuzz: $nt passed, 0 failed"
