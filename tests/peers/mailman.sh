# tests/peers/mailman.sh: a private Mailman 3 core for the tests, on
# loopback, from Debian's mailman3 package.  Sourced after tests/lib.sh.
#
# One mailman.cfg in a directory of the test's names every path (the
# SQLite database, queues, logs, the Postfix maps it writes), the LMTP
# runner's port (where the MTA hands it list mail) and the SMTP server it
# sends through.  Mailman refuses to run as root, so everything runs as
# user list through setpriv, which execs: the master's PID is the one the
# test started, and SIGTERM reaches it directly.  (runuser forks, passes
# the signal on and kills the master two seconds later, which leaves a
# stale master lock behind.)  The master starts its runners, each a
# python process of its own; poll for the LMTP runner's port.

MAILMAN_MASTER=/usr/lib/mailman3/bin/master

mailman_available() {
	[ -x "$MAILMAN_MASTER" ] && command -v mailman > /dev/null &&
	    command -v setpriv > /dev/null && id list > /dev/null 2>&1
}

# mailman_setup DIR LMTP-PORT REST-PORT SMTP-PORT: write a Mailman whose
# LMTP runner listens on 127.0.0.1:LMTP-PORT, REST API on REST-PORT
# (restadmin:restpass), and which sends its mail to 127.0.0.1:SMTP-PORT.
mailman_setup() {
	_mm_dir=$1
	mkdir -p "$_mm_dir/var"
	# Only the runners that take, process and send list mail (and REST,
	# for looking at held messages).  All thirteen took 6-7 s to listen
	# on two CPUs, and one stop in four more than 20 s; these six listen
	# in 3 s and stop in 1 s.
	cat > "$_mm_dir/mailman.cfg" <<EOF
[mailman]
site_owner: owner@test.example
layout: syncomtest

[paths.syncomtest]
var_dir: $_mm_dir/var
queue_dir: \$var_dir/queue
bin_dir: /usr/lib/mailman3/bin
list_data_dir: \$var_dir/lists
log_dir: \$var_dir/logs
lock_dir: \$var_dir/locks
data_dir: \$var_dir/data
cache_dir: \$var_dir/cache
etc_dir: \$var_dir/etc
ext_dir: \$var_dir/ext
messages_dir: \$var_dir/messages
archive_dir: \$var_dir/archives
template_dir: \$var_dir/templates
pid_file: \$var_dir/master.pid
lock_file: \$lock_dir/master.lck

[database]
class: mailman.database.sqlite.SQLiteDatabase
url: sqlite:///\$DATA_DIR/mailman.db

[webservice]
hostname: 127.0.0.1
port: $3
use_https: no
admin_user: restadmin
admin_pass: restpass

[mta]
incoming: mailman.mta.postfix.LMTP
outgoing: mailman.mta.deliver.deliver
smtp_host: 127.0.0.1
smtp_port: $4
lmtp_host: 127.0.0.1
lmtp_port: $2
configuration: python:mailman.config.postfix

[runner.archive]
start: no
[runner.bounces]
start: no
[runner.command]
start: no
[runner.digest]
start: no
[runner.nntp]
start: no
[runner.retry]
start: no
[runner.task]
start: no
EOF
	chown -R list:list "$_mm_dir/var"
	MAILMAN_LMTP=$2
	MAILMAN_REST=$3
}

# mailman_cmd DIR ARGS...: the mailman command on that instance, as list.
mailman_cmd() {
	_mc_dir=$1
	shift
	(cd "$_mc_dir" && setpriv --reuid=list --regid=list --init-groups \
	    mailman -C "$_mc_dir/mailman.cfg" "$@")
}

# mailman_list DIR LIST MEMBER...: make LIST on that instance, its owner
# owner@test.example, with these members ("Name <address>" or an address);
# before or after the master starts.  What the commands said is appended
# to DIR/list.out.
mailman_list() {
	_ml_dir=$1
	_ml_list=$2
	shift 2
	mailman_cmd "$_ml_dir" create -o owner@test.example "$_ml_list" \
	    >> "$_ml_dir/list.out" 2>&1 &&
	    printf '%s\n' "$@" | mailman_cmd "$_ml_dir" addmembers -W - \
	    "$_ml_list" >> "$_ml_dir/list.out" 2>&1
}

# mailman_start DIR: start the master; sets MAILMAN_PID.  Does not wait:
# mailman_wait does, so that the test can set up the rest meanwhile.
mailman_start() {
	(cd "$1" && exec setpriv --reuid=list --regid=list --init-groups \
	    "$MAILMAN_MASTER" --force -C "$1/mailman.cfg") \
	    > "$1/master.out" 2>&1 &
	MAILMAN_PID=$!
	started_pids="$started_pids $MAILMAN_PID"
}

# mailman_wait: wait (at most 60 s) for the LMTP runner and the REST API.
mailman_wait() {
	wait_for 60 listening "$MAILMAN_LMTP" &&
	    wait_for 20 listening "$MAILMAN_REST"
}

# mailman_runners PID: the PIDs of that master's children, from /proc
# (procps may be missing).
mailman_runners() {
	_mr_parent=$1
	for _mr_f in /proc/[0-9]*/stat; do
		read -r _mr_line 2>/dev/null < "$_mr_f" || continue
		# "pid (comm) state ppid ...", and comm may hold blanks.
		set -- ${_mr_line##*) }
		if [ "${2:-}" = "$_mr_parent" ]; then
			_mr_pid=${_mr_f#/proc/}
			echo "${_mr_pid%/stat}"
		fi
	done
}

# mailman_stop: SIGTERM to the master, which stops its runners and
# waits for them, and wait (at most 20 s); if it is still there then, it
# and its runners are killed by PID.
mailman_stop() {
	[ -n "${MAILMAN_PID:-}" ] || return 0
	kill -TERM "$MAILMAN_PID" 2>/dev/null
	if ! wait_exit "$MAILMAN_PID" 20; then
		for _ms_pid in $(mailman_runners "$MAILMAN_PID") \
		    "$MAILMAN_PID"; do
			kill -KILL "$_ms_pid" 2>/dev/null
		done
	fi
	wait "$MAILMAN_PID" 2>/dev/null
	MAILMAN_PID=
}
