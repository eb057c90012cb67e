# tests/peers/postfix.sh: a private Postfix 3.7 for the tests, on
# loopback, from Debian's postfix binaries, and smtp-sink as the world
# outside.  Sourced after tests/lib.sh.
#
# Everything Postfix reads and writes lives in one directory of the
# test's: main.cf and master.cf in DIR/etc, the queue in DIR/spool, the
# log in DIR/log/maillog.  The master runs in the foreground
# ("master -s"), so its PID is the one the test started; "postfix
# start-fg" would leave a postfix-script parent between the two.
#
# Postfix reports errors to its log only, unless stderr is a terminal:
# after a failure look in DIR/log/maillog.

POSTFIX_MASTER=/usr/lib/postfix/sbin/master
POSTFIX_SINK=/usr/sbin/smtp-sink

postfix_available() {
	[ -x "$POSTFIX_MASTER" ] && [ -x "$POSTFIX_SINK" ] &&
	    command -v postfix > /dev/null && command -v postconf > /dev/null &&
	    id postfix > /dev/null 2>&1
}

# postfix_setup DIR PORT RELAY-PORT: write a Postfix whose smtpd listens on
# 127.0.0.1:PORT, takes mail from loopback only, delivers nothing locally
# and relays everything to 127.0.0.1:RELAY-PORT (the sink), unless
# transport_maps that postfix_conf adds say otherwise.
postfix_setup() {
	_pf_dir=$1
	mkdir -p "$_pf_dir/etc" "$_pf_dir/spool" "$_pf_dir/data" "$_pf_dir/log"
	chown postfix "$_pf_dir/data"
	# maillog_file must start with one of maillog_file_prefixes (else
	# fatal; the default allows /var and /dev/stdout only), so the
	# private directory becomes one.  No syslog is needed then: the
	# postlog service in master.cf writes the file.
	cat > "$_pf_dir/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $_pf_dir/etc
queue_directory = $_pf_dir/spool
data_directory = $_pf_dir/data
meta_directory = /etc/postfix
maillog_file_prefixes = $_pf_dir/log
maillog_file = $_pf_dir/log/maillog
myhostname = mx.test.example
mydomain = test.example
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:local delivery is off
relayhost = [127.0.0.1]:$3
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
# Tests stop and start peers: retry soon.
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
biff = no
smtputf8_enable = no
EOF
	# Debian's master.cf chroots its services into the queue; this one
	# does not.
	cat > "$_pf_dir/etc/master.cf" <<EOF
127.0.0.1:$2 inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
	POSTFIX_PORT=$2
}

# postfix_conf DIR 'NAME = VALUE'...: change main.cf.
postfix_conf() {
	_pc_dir=$1
	shift
	postconf -c "$_pc_dir/etc" -e "$@"
}

# postfix_lists DIR MMDATA GW-LMTP-PORT GATEWAY...: make the Postfix of
# DIR (postfix_setup) the lists' MTA: the lists' domain goes to Mailman
# as the maps Mailman writes in MMDATA say, mail for the GATEWAY
# addresses (domain gw.test.example, "+" as the extension's delimiter)
# to syncd's LMTP listener.  More main.cf lines may follow (postfix_conf).
postfix_lists() {
	_pl_dir=$1
	_pl_mm=$2
	printf 'gw.test.example lmtp:inet:127.0.0.1:%s\n' "$3" \
	    > "$_pl_dir/etc/transport"
	shift 3
	printf '%s OK\n' "$@" > "$_pl_dir/etc/gateways"
	postfix_conf "$_pl_dir" "recipient_delimiter = +" \
	    "relay_domains = gw.test.example, hash:$_pl_mm/postfix_domains" \
	    "transport_maps = texthash:$_pl_dir/etc/transport, hash:$_pl_mm/postfix_lmtp" \
	    "relay_recipient_maps = texthash:$_pl_dir/etc/gateways, hash:$_pl_mm/postfix_lmtp"
}

# postfix_start DIR: check the tree (which also makes the queue's
# directories), start the master and wait for smtpd; sets POSTFIX_PID.
postfix_start() {
	if ! postfix -c "$1/etc" check; then
		diag "postfix check failed; its log:"
		diag "$(tail -10 "$1/log/maillog" 2>/dev/null)"
		return 1
	fi
	"$POSTFIX_MASTER" -c "$1/etc" -s > "$1/log/master.out" 2>&1 &
	POSTFIX_PID=$!
	started_pids="$started_pids $POSTFIX_PID"
	wait_for 20 listening "$POSTFIX_PORT"
}

# postfix_stop: SIGTERM to the master, which ends its children, and wait
# (at most 20 s).
postfix_stop() {
	[ -n "${POSTFIX_PID:-}" ] || return 0
	kill -TERM "$POSTFIX_PID" 2>/dev/null
	wait_exit "$POSTFIX_PID" 20 || kill -KILL "$POSTFIX_PID" 2>/dev/null
	wait "$POSTFIX_PID" 2>/dev/null
	POSTFIX_PID=
}

# postfix_sink_start DIR PORT [OPTION...]: smtp-sink on 127.0.0.1:PORT,
# one file per mail transaction in DIR: X-Mail-Args and X-Rcpt-Args
# lines (the envelope), then the message.  The file grows while the
# message arrives, so wait for its last line, not for the file.  The
# options go to smtp-sink (-L for LMTP, -r/-f to refuse commands).  Sets
# SINK_PID.
postfix_sink_start() {
	_sk_dir=$1
	_sk_port=$2
	shift 2
	mkdir -p "$_sk_dir"
	chown postfix "$_sk_dir"
	"$POSTFIX_SINK" -u postfix -d "$_sk_dir/%Y%m%d%H%M%S." "$@" \
	    127.0.0.1:"$_sk_port" 100 > "$_sk_dir.out" 2>&1 &
	SINK_PID=$!
	started_pids="$started_pids $SINK_PID"
	wait_for 10 listening "$_sk_port"
}

# postfix_sink_stop: SIGTERM, wait (at most 5 s).
postfix_sink_stop() {
	[ -n "${SINK_PID:-}" ] || return 0
	kill -TERM "$SINK_PID" 2>/dev/null
	wait_exit "$SINK_PID" 5 || kill -KILL "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
	SINK_PID=
}
