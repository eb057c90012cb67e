# tests/lib.sh: what the integration tests share.  Sourced, not run.
#
# Each test script prints TAP ("ok N - what", "not ok N - what") and ends
# with done_testing.  It starts the real binaries from SYNCOM_BUILDDIR in a
# private directory under /tmp (short, for unix socket paths), and every
# process it starts is stopped by PID when the script exits.

srcdir=${SYNCOM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${SYNCOM_BUILDDIR:-$srcdir}
SYNCD=$builddir/syncd/syncd
SYNCCTL=$builddir/syncd/syncctl

tap_n=0
tap_failed=0
started_pids=

T=$(mktemp -d /tmp/syncom-test.XXXXXX) || exit 1
chmod 755 "$T"

cleanup() {
	for pid in $started_pids; do
		kill -KILL "$pid" 2>/dev/null
	done
	if [ "$tap_failed" -gt 0 ] && [ -n "${SYNCOM_KEEP:-}" ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# check DESCRIPTION COMMAND...: ok if the command succeeds; returns its
# success, for a diag after a failure.
check() {
	desc=$1
	shift
	if "$@"; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	return 1
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   expected: $2"
		echo "#   got:      $3"
	fi
}

diag() {
	echo "$*" | sed 's/^/# /'
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# wait_for SECONDS COMMAND...: poll (every 0.05 s) until the command
# succeeds; 1 if it never did.
wait_for() {
	_wf_limit=$(( $1 * 20 ))
	shift
	_wf_i=0
	while [ $_wf_i -lt $_wf_limit ]; do
		"$@" > /dev/null 2>&1 && return 0
		sleep 0.05
		_wf_i=$((_wf_i + 1))
	done
	return 1
}

# write_conf FILE [EXTRA-LINES]: a config for a private syncd under $T,
# with two channels and Maildir transports for every side.
write_conf() {
	cat > "$1" <<EOF
hostname gw.test.example
data-dir $T/data
pidfile $T/run/syncd.pid
control-socket $T/run/syncd.sock
log-level debug
retry-min 1s
retry-max 2s
deliver news maildir $T/out/news
deliver list maildir $T/out/list
deliver forum maildir $T/out/forum
${2:-}

channel test {
	newsgroup pirates.de.test
	list pirates-test@lists.test.example
	board test
}

channel technik {
	newsgroup pirates.de.etc.syncom.technik
	list syncom-technik@lists.test.example
	board technik
}
EOF
}

# start_syncd CONF [LOG]: start syncd -f in the background and wait for
# its control socket; sets SYNCD_PID.
start_syncd() {
	log=${2:-$T/syncd.log}
	"$SYNCD" -f "$1" >> "$log" 2>&1 &
	SYNCD_PID=$!
	started_pids="$started_pids $SYNCD_PID"
	if ! wait_for 10 "$SYNCCTL" -c "$1" status >/dev/null; then
		diag "syncd did not come up; its log:"
		diag "$(tail -20 "$log")"
		return 1
	fi
}

# stop_syncd: SIGTERM, then wait (at most 10 s) for the exit; sets
# SYNCD_STATUS.
# wait_exit PID SECONDS: wait until the process is gone, at most SECONDS;
# succeeds if it is.
wait_exit() {
	_we_i=0
	while kill -0 "$1" 2>/dev/null && [ $_we_i -lt $(($2 * 20)) ]; do
		sleep 0.05
		_we_i=$((_we_i + 1))
	done
	! kill -0 "$1" 2>/dev/null
}

# crash_syncd: SIGKILL, as a power cut or the OOM killer would, and reap it.
crash_syncd() {
	kill -KILL "$SYNCD_PID" 2>/dev/null
	wait "$SYNCD_PID" 2>/dev/null
}

# random_below N: a random number from 0 to N-1.
random_below() {
	echo $(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % $1 ))
}

stop_syncd() {
	kill -TERM "$SYNCD_PID" 2>/dev/null
	wait_exit "$SYNCD_PID" 10
	wait "$SYNCD_PID" 2>/dev/null
	SYNCD_STATUS=$?
}

# msg FILE MESSAGE-ID [HEADER-LINE...]: write a small test message.
msg() {
	f=$1
	id=$2
	shift 2
	{
		printf 'From: Tester <tester@example.org>\r\n'
		printf 'Subject: test %s\r\n' "$id"
		printf 'Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n'
		printf 'Message-ID: %s\r\n' "$id"
		for h in "$@"; do
			printf '%s\r\n' "$h"
		done
		printf '\r\nBody of %s.\r\n' "$id"
	} > "$f"
}

# count_in DIR PATTERN: how many files under DIR contain PATTERN.
count_in() {
	[ -d "$1" ] || { echo 0; return; }
	grep -rlF -- "$2" "$1" 2>/dev/null | wc -l
}

# has_count DIR PATTERN N: exactly N files under DIR contain PATTERN.
has_count() {
	[ "$(count_in "$1" "$2")" -eq "$3" ]
}

# absent REGEX FILE...: no line of the files matches REGEX (grep -E).
absent() {
	! grep -qE "$@"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() {
	/usr/bin/python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null
}

# tap_import FILE: take a helper's TAP into ours, renumbered.
tap_import() {
	while IFS= read -r _ti_line; do
		case $_ti_line in
		"ok "*" - "*) ok "${_ti_line#* - }" ;;
		"not ok "*" - "*) not_ok "${_ti_line#* - }" ;;
		"#"*) echo "$_ti_line" ;;
		"1.."*) ;;
		*) diag "$_ti_line" ;;
		esac
	done < "$1"
}
