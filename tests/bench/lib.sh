# tests/bench/lib.sh: what the benchmarks share.  Sourced after
# tests/lib.sh.  Not a test: nothing here asserts.
#
# One run of "make bench" (tests/bench/all) writes one file,
# tests/bench/RESULTS.md in the build directory: a header with the date
# and the machine, a summary table (figure, target, ours, the peer's,
# ratio, met or missed), then each benchmark's section with its details,
# and, when a target was missed, tests/bench/PROFILES.md: the profiles
# of the missed targets, kept in the source tree.
# The scripts write their parts under tests/bench/parts/ (sections.md,
# summary.tsv); RESULTS.md is made from them at the end.  A script run
# alone starts the parts afresh and writes RESULTS.md itself, so the
# file always holds the figures of one run.
#
# BENCH_QUICK=1: one run of each figure and small sizes, to see that the
# benchmarks work; the figures are not the ones to quote.  A size set in
# the environment wins over both.

BENCH_DIR=$builddir/tests/bench
RESULTS=$BENCH_DIR/RESULTS.md
PARTS=$BENCH_DIR/parts

quick() {
	[ "${BENCH_QUICK:-0}" != 0 ]
}

# pick QUICK FULL: the size for this run
pick() {
	if quick; then echo "$1"; else echo "$2"; fi
}

# median: the median of the numbers on stdin
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B [FORMAT]: A / B, "-" if B is 0
ratio() {
	awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { printf (b > 0 ? f : "-"), a / b }'
}

# rss_kb PID: the process's resident set now, in KB
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# machine: one line about this machine
machine() {
	printf '%s, %s cores, %s MB RAM, Linux %s' \
	    "$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)" \
	    "$(nproc)" \
	    "$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)" \
	    "$(uname -r)"
}

# bench_begin: the parts afresh, unless tests/bench/all collects them
bench_begin() {
	mkdir -p "$PARTS"
	if [ -z "${BENCH_ALL:-}" ]; then
		: > "$PARTS/sections.md"
		: > "$PARTS/summary.tsv"
		date -u +%Y-%m-%dT%H:%MZ > "$PARTS/started"
	fi
}

# out TEXT: a line of this benchmark's section, also to the terminal
out() {
	printf '%s\n' "$*" | tee -a "$PARTS/sections.md"
}

# section NAME: a section's heading, with the date
section() {
	out ""
	# The machine may be shared: how busy it was is part of the figure.
	out "## $1, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	quick && out "BENCH_QUICK: one run each, small sizes; not figures to quote"
	return 0
}

# summary FIGURE TARGET OURS PEER RATIO VERDICT: a row of the table at
# the top ("-" where there is none)
summary() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
	    >> "$PARTS/summary.tsv"
}

# verdict TEST: "met" if the awk condition TEST holds, else "missed"
verdict() {
	if awk "BEGIN { exit !($1) }"; then echo met; else echo missed; fi
}

# bench_end: RESULTS.md from the parts, unless tests/bench/all does it
bench_end() {
	[ -n "${BENCH_ALL:-}" ] || bench_report
}

bench_report() {
	{
		echo "# Syncom benchmarks, $(cat "$PARTS/started" 2>/dev/null)"
		echo ""
		echo "Machine: $(machine)."
		if quick; then
			echo "BENCH_QUICK=1: one run of each figure at small sizes;" \
			    "these figures only show that the benchmarks run."
		else
			echo "Each figure is a median of several runs (the" \
			    "sections say how many); ratio = ours / the peer's."
		fi
		echo ""
		echo "Where a target is missed, the profile that shows where" \
		    "the time goes is at the end (tests/bench/PROFILES.md)."
		echo ""
		echo "| figure | target | ours | peer | ratio | target met |"
		echo "|---|---|---|---|---|---|"
		awk -F '\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' \
		    "$PARTS/summary.tsv"
		cat "$PARTS/sections.md"
		# A missed target is read with its profile.
		if cut -f6 "$PARTS/summary.tsv" | grep -q '^missed'; then
			echo ""
			echo "---"
			echo ""
			# its headings one level down, not the lines of its
			# fenced blocks
			awk '/^```/ { f = !f } !f && /^#/ { $0 = "#" $0 } { print }' \
			    "$srcdir/tests/bench/PROFILES.md"
		fi
	} > "$RESULTS.new" && mv "$RESULTS.new" "$RESULTS"
	echo "figures in $RESULTS"
}
