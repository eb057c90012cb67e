# tests/peers/inn.sh: a private INN 2.7 for the tests, on loopback, from
# Debian's inn2 binaries.  Sourced after tests/lib.sh.
#
# INN takes every path from the inn.conf that INNCONF names, so a whole
# server lives in one directory of the test's: its config, history,
# spool and logs.  innd starts as root (to bind), runs as news, and is
# stopped with "ctlinnd shutdown": a bare SIGTERM can leave it waiting in
# select() for minutes.

INN_BIN=/usr/lib/news/bin

inn_available() {
	[ -x "$INN_BIN/innd" ] && [ -x "$INN_BIN/ctlinnd" ] && id news >/dev/null 2>&1
}

# inn_setup DIR PORT PATHHOST [FEED-SITE FEED-PORT]: write a tree whose
# innd listens on 127.0.0.1:PORT, takes feeds from loopback, and feeds
# pirates.* to the site FEED-SITE (whose Path identity that must be) at
# 127.0.0.1:FEED-PORT through innfeed.  It carries the groups named in
# INN_GROUPS (default: the test channels' two) from the start: creating
# them later with ctlinnd newgroup restarts innfeed, and an article that
# arrives meanwhile is dropped.
inn_setup() {
	dir=$1
	port=$2
	pathhost=$3
	feedsite=${4:-}
	feedport=${5:-}
	mkdir -p "$dir/etc" "$dir/db" "$dir/run" "$dir/log/OLD" "$dir/http" \
	    "$dir/spool/articles" "$dir/spool/overview" \
	    "$dir/spool/incoming/tmp" "$dir/spool/incoming/bad" \
	    "$dir/spool/outgoing" "$dir/spool/archive" "$dir/spool/innfeed"
	# The stock files (readers.conf, storage.conf, expire.ctl, ...),
	# then ours over them.
	cp -a /etc/news/. "$dir/etc/"
	cat > "$dir/etc/inn.conf" <<EOF
domain: test.example
pathhost: $pathhost
organization: "Syncom test peer"
server: 127.0.0.1
port: $port
bindaddress: 127.0.0.1
mta: "/bin/true %s"
mailcmd: /bin/true
ovmethod: tradindexed
hismethod: hisv6
enableoverview: true
artcutoff: 0
pgpverify: false
docancels: require-auth
remembertrash: false
runasuser: news
runasgroup: news
readerswhenstopped: true
logipaddr: true
maxconnections: 50
# nnrpd refuses readers ("400 load at N") above a load average of 16 by
# default; a test machine running benchmarks beside the tests gets there.
nnrpdloadlimit: 0
pathnews: /usr/lib/news
pathbin: /usr/lib/news/bin
pathcontrol: /usr/lib/news/bin/control
pathfilter: /etc/news/filter
pathetc: $dir/etc
pathdb: $dir/db
pathrun: $dir/run
pathlog: $dir/log
pathhttp: $dir/http
pathspool: $dir/spool
patharticles: $dir/spool/articles
pathoverview: $dir/spool/overview
pathincoming: $dir/spool/incoming
pathtmp: $dir/spool/incoming/tmp
pathoutgoing: $dir/spool/outgoing
patharchive: $dir/spool/archive
EOF
	# Loopback connections are feeding peers; readers say MODE READER.
	cat > "$dir/etc/incoming.conf" <<EOF
streaming: true
max-connections: 8
peer loopback {
	hostname: "localhost, 127.0.0.1"
	patterns: "*"
}
EOF
	printf 'ME:*::\n' > "$dir/etc/newsfeeds"
	if [ -n "$feedsite" ]; then
		# The site name is the peer's Path identity: INN sends it no
		# article whose Path already names it, which stops echoes.
		cat >> "$dir/etc/newsfeeds" <<EOF
$feedsite:!*,pirates.*:Tm:innfeed!
innfeed!:!*:Tc,Wnm*:$INN_BIN/innfeed
EOF
		# Retry a refused peer soon: tests stop and start it.  With
		# debug-level 1 innfeed logs to log/innfeed.log, not syslog.
		cat > "$dir/etc/innfeed.conf" <<EOF
debug-level: 1
peer $feedsite {
	ip-name: 127.0.0.1
	port-number: $feedport
	initial-reconnect-time: 1
	max-reconnect-time: 2
}
EOF
	fi
	printf 'control 0000000000 0000000001 n\ncontrol.cancel 0000000000 0000000001 n\njunk 0000000000 0000000001 n\n' > "$dir/db/active"
	: > "$dir/db/newsgroups"
	: > "$dir/db/active.times"
	for g in ${INN_GROUPS:-pirates.de.test pirates.de.etc.syncom.technik}; do
		printf '%s 0000000000 0000000001 y\n' "$g" >> "$dir/db/active"
		printf '%s %s test\n' "$g" "$(date +%s)" >> "$dir/db/active.times"
	done
	: > "$dir/db/history"
	chown -R news:news "$dir"
	# Some files innd wants root's and readable by group news.
	chown -R root:news "$dir/etc"
	chmod -R g+r "$dir/etc"
	su news -s /bin/sh -c "INNCONF=$dir/etc/inn.conf $INN_BIN/makedbz -i -o"
}

# inn_start DIR: start innd and wait for it; sets INN_PID.
inn_start() {
	INNCONF=$1/etc/inn.conf "$INN_BIN/innd" -f > "$1/log/innd.out" 2>&1 &
	INN_PID=$!
	started_pids="$started_pids $INN_PID"
	wait_for 20 env INNCONF="$1/etc/inn.conf" "$INN_BIN/ctlinnd" -s mode
}

# inn_ctl DIR ARGS...: ctlinnd on that server.
inn_ctl() {
	_ic_dir=$1
	shift
	INNCONF=$_ic_dir/etc/inn.conf "$INN_BIN/ctlinnd" -s "$@"
}

# inn_stop DIR: shut it down and wait (at most 20 s).
inn_stop() {
	inn_ctl "$1" -t 10 shutdown "test done" >/dev/null 2>&1
	wait_exit "$INN_PID" 20 || kill -KILL "$INN_PID" 2>/dev/null
	wait "$INN_PID" 2>/dev/null
}
