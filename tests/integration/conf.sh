#!/bin/sh
#
# syncd -n: canonical output (golden files), print-then-parse round trips
# for every example and test config, and file:line errors.

. "$(dirname "$0")/../lib.sh"

for f in "$srcdir"/etc/*.conf "$srcdir"/tests/conf/*.in; do
	name=${f#"$srcdir"/}
	case $name in tests/conf/bad-*) continue ;; esac
	if ! "$SYNCD" -n "$f" > "$T/once" 2> "$T/err"; then
		not_ok "syncd -n accepts $name"
		diag "$(cat "$T/err")"
		continue
	fi
	ok "syncd -n accepts $name"
	if "$SYNCD" -n "$T/once" > "$T/twice" 2> "$T/err" &&
	    cmp -s "$T/once" "$T/twice"; then
		ok "$name: printing the canonical form again gives the same text"
	else
		not_ok "$name: printing the canonical form again gives the same text"
		diag "$(cat "$T/err"; diff "$T/once" "$T/twice")"
	fi
	golden=${f%.in}.out
	case $f in *.in)
		if cmp -s "$golden" "$T/once"; then
			ok "$name: matches ${golden#"$srcdir"/}"
		else
			not_ok "$name: matches ${golden#"$srcdir"/}"
			diag "$(diff "$golden" "$T/once")"
		fi
	esac
done

for f in "$srcdir"/tests/conf/bad-*.in; do
	name=${f#"$srcdir"/}
	expect=$f:$(sed -n '1s/^# expect: //p' "$f")
	"$SYNCD" -n "$f" > "$T/out" 2> "$T/err"
	rc=$?
	check_eq "$name: refused with exit status 1" 1 "$rc"
	check_eq "$name: the error names file and line" "$expect" "$(cat "$T/err")"
	check_eq "$name: nothing on stdout" "" "$(cat "$T/out")"
done

"$SYNCD" -n "$T/no-such.conf" > /dev/null 2> "$T/err"
rc=$?
check_eq "a missing file is refused" "1 $T/no-such.conf: No such file or directory" "$rc $(cat "$T/err")"

done_testing
