# tests/peers/dovecot.sh: a private Dovecot 2.3 IMAP server for the
# tests, on loopback, from Debian's dovecot-core and dovecot-imapd.
# Sourced after tests/lib.sh.
#
# One dovecot.conf in a directory of the test's names everything the
# server reads and writes: base_dir (its unix sockets, so the directory
# must stay short), state_dir, the logs, the users' passwd-file and the
# mail under DIR/home/USER/Maildir.  Users are virtual: each one's mail
# belongs to uid/gid 5000, which needs no /etc/passwd entry.  Several
# instances can run side by side, one per directory; each instance's PID
# is kept in DIR/dovecot.pid, so the functions take the directory.
#
# The master runs in the foreground ("dovecot -F"), so its PID is the one
# the test started; SIGTERM to it stops its children too.  doveadm works
# on a running instance with "doveadm -c DIR/dovecot.conf ...": it looks
# users up through the instance's auth socket in base_dir.

DOVECOT=/usr/sbin/dovecot

dovecot_available() {
	[ -x "$DOVECOT" ] && [ -x /usr/lib/dovecot/imap ] &&
	    command -v doveadm > /dev/null && command -v doveconf > /dev/null &&
	    id dovecot > /dev/null 2>&1 && id dovenull > /dev/null 2>&1
}

# dovecot_require NAME: unless Dovecot is installed and we are root (it
# starts as root), report the test NAME as skipped, saying why, and end.
dovecot_require() {
	if ! dovecot_available; then
		skip "$1" "Dovecot (dovecot-imapd) is not installed"
	elif [ "$(id -u)" -ne 0 ]; then
		skip "$1" "starting Dovecot needs root"
	else
		return 0
	fi
	done_testing
	exit 0
}

# dovecot_setup DIR PORT NAME SEPARATOR: write a Dovecot named NAME whose
# IMAP listens on 127.0.0.1:PORT without TLS and takes plaintext logins
# of the users in DIR/users (dovecot_user) and, as "USER*MASTER", of the
# master users in DIR/masters (dovecot_master).  The mail is Maildir++
# and the inbox namespace's hierarchy separator SEPARATOR ('/' or '.');
# on disk Maildir++ always uses '.', so with '/' a mailbox name cannot
# contain a '.'.
dovecot_setup() {
	_dv_dir=$1
	case $4 in
	/ | .) ;;
	*)
		diag "dovecot_setup: separator must be / or ., not '$4'"
		return 1
		;;
	esac
	mkdir -p "$_dv_dir/run" "$_dv_dir/state" "$_dv_dir/log" "$_dv_dir/home"
	chown 5000:5000 "$_dv_dir/home"
	# The auth process (user dovecot) reads the passwd-files; it
	# rereads one whenever its mtime changes, so users can be added to a
	# running server.
	: > "$_dv_dir/users"
	: > "$_dv_dir/masters"
	chgrp dovecot "$_dv_dir/users" "$_dv_dir/masters"
	chmod 640 "$_dv_dir/users" "$_dv_dir/masters"
	cat > "$_dv_dir/dovecot.conf" <<EOF
# A private Dovecot for Syncom's tests (tests/peers/dovecot.sh).
instance_name = $3
base_dir = $_dv_dir/run
state_dir = $_dv_dir/state
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests try wrong passwords on purpose: answer at once, not after 2 s.
auth_failure_delay = 0
log_path = $_dv_dir/log/dovecot.log
info_log_path = $_dv_dir/log/dovecot.log
# A peer in a test need not survive a power cut: no fsync per message.
mail_fsync = never

first_valid_uid = 5000
last_valid_uid = 5000
mail_home = $_dv_dir/home/%u
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = $4
}

# "USER*MASTER" with MASTER's password logs in as USER.  The master
# passdb succeeds only if the normal one below knows USER too
# (result_success = continue looks USER up there without a password).
auth_master_user_separator = *
passdb {
  driver = passwd-file
  master = yes
  result_success = continue
  args = scheme=PLAIN username_format=%u $_dv_dir/masters
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $_dv_dir/users
}
userdb {
  driver = static
  args = uid=5000 gid=5000 home=$_dv_dir/home/%u
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $2
  }
  inet_listener imaps {
    port = 0
  }
}
protocol imap {
  # A migration may open many connections per user.
  mail_max_userip_connections = 50
}
EOF
	if ! doveconf -c "$_dv_dir/dovecot.conf" -n > /dev/null 2> "$_dv_dir/log/doveconf.err"; then
		diag "doveconf rejects $_dv_dir/dovecot.conf:"
		diag "$(cat "$_dv_dir/log/doveconf.err")"
		return 1
	fi
	echo "$2" > "$_dv_dir/port"
}

# dovecot_tls DIR CERT KEY IMAPS-PORT: offer STARTTLS on the IMAP port
# and TLS from the first byte on IMAPS-PORT, with the PEM certificate
# chain CERT and its key KEY (read at start, as root).
dovecot_tls() {
	sed -i "s|^ssl = no\$|ssl = yes\nssl_cert = <$2\nssl_key = <$3|" \
	    "$1/dovecot.conf"
	sed -i "/inet_listener imaps {/,/}/s|port = 0|address = 127.0.0.1\n    port = $4|" \
	    "$1/dovecot.conf"
	doveconf -c "$1/dovecot.conf" -n > /dev/null 2> "$1/log/doveconf.err" ||
	    { diag "$(cat "$1/log/doveconf.err")"; return 1; }
}

# dovecot_migrate_conf FILE OLD-PORT NEW-PORT USER...: a syncmigrate
# configuration from the Dovecot on OLD-PORT to the one on NEW-PORT, plain
# IMAP on loopback, each USER logging in as "old-USER" and "new-USER" (the
# passwords the tests give dovecot_user), the state beside FILE.
dovecot_migrate_conf() {
	_dm_file=$1
	{
		echo "old 127.0.0.1:$2 plain"
		echo "new 127.0.0.1:$3 plain"
		echo "state $(dirname "$_dm_file")/state.db"
		shift 3
		for _dm_user in "$@"; do
			echo "account $_dm_user $_dm_user old-$_dm_user $_dm_user new-$_dm_user"
		done
	} > "$_dm_file"
}

# dovecot_user DIR NAME PASSWORD: add a user (or another line for one).
dovecot_user() {
	printf '%s:{PLAIN}%s\n' "$2" "$3" >> "$1/users"
}

# dovecot_master DIR NAME PASSWORD: add a master user, who logs in as
# any user USER of DIR/users as "USER*NAME" with PASSWORD.
dovecot_master() {
	printf '%s:{PLAIN}%s\n' "$2" "$3" >> "$1/masters"
}

# dovecot_start DIR: start the server in the foreground and wait (at
# most 10 s) for its IMAP port; sets DOVECOT_PID and DIR/dovecot.pid.
dovecot_start() {
	"$DOVECOT" -F -c "$1/dovecot.conf" > "$1/log/dovecot.out" 2>&1 &
	DOVECOT_PID=$!
	started_pids="$started_pids $DOVECOT_PID"
	echo "$DOVECOT_PID" > "$1/dovecot.pid"
	if ! wait_for 10 listening "$(cat "$1/port")"; then
		diag "dovecot in $1 did not come up; its log:"
		diag "$(tail -10 "$1/log/dovecot.out" "$1/log/dovecot.log" 2>/dev/null)"
		return 1
	fi
}

# dovecot_stop DIR: SIGTERM to the master, which ends its children, and
# wait (at most 10 s; it takes about 3), then SIGKILL.
dovecot_stop() {
	[ -s "$1/dovecot.pid" ] || return 0
	_dv_pid=$(cat "$1/dovecot.pid")
	kill -TERM "$_dv_pid" 2>/dev/null
	wait_exit "$_dv_pid" 10 || kill -KILL "$_dv_pid" 2>/dev/null
	wait "$_dv_pid" 2>/dev/null
	rm -f "$1/dovecot.pid"
}
