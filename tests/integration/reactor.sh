#!/bin/sh
#
# syncd-reactor as a filter: SynFU's test messages with SynFU's own
# configuration, exit codes and empty output where nothing may be gated,
# LF or CRLF output, the blacklist, a 50 MB message, and a From field
# built to run a command in a shell (SynFU's postfilter did).

. "$(dirname "$0")/../lib.sh"

R=$builddir/smtp/syncd-reactor
corpus=${SYNCOM_CORPUS:-$srcdir/../shared/corpus}/synfu

if [ -d "$corpus" ]; then
	"$R" -c "$corpus/synfu.conf" -t Test < "$corpus/fucore_02_filter_headers_02.msg" > "$T/02" 2> "$T/02.err"
	check_eq "SynFU's config and test message: exit 0" 0 $?
	check "outlook_hacks from synfu.conf rewrote the prefixes" grep -q "^Subject: Fwd: Re: Fwd: Re: Fwd: Re: Fwd: Test Header \[ignore\]$" "$T/02"
	"$R" -t Test < "$corpus/fucore_02_filter_headers_02.msg" > "$T/02b"
	check "without it they stay" grep -q "^Subject: Fwd: Aw: Wg: Reply: Wtr: Antwort: Wtr.: Test Header \[ignore\]$" "$T/02b"
	"$R" < "$corpus/fucore_02_filter_headers_00.msg" > "$T/00"
	check "the tag comes from List-Id" grep -q "^Subject: Test Header \[ignore\]$" "$T/00"
	check "output lines end in LF" sh -c "! grep -q \"\$(printf '\r')\" '$T/00'"
	"$R" --crlf < "$corpus/fucore_02_filter_headers_00.msg" > "$T/00crlf"
	check_eq "--crlf ends every line in CRLF" "$(wc -l < "$T/00crlf")" "$(grep -c "$(printf '\r')$" "$T/00crlf")"
	"$R" < "$corpus/fucore_00_detect_cancel_00.msg" > "$T/cancel" 2> "$T/cancel.err"
	check_eq "a cancel: exit 0" 0 $?
	check "and no output" test ! -s "$T/cancel"
	check "and the reason on stderr" grep -q "a control message is never gated" "$T/cancel.err"
else
	for t in 1 2 3 4 5 6 7 8 9; do
		skip "SynFU corpus case $t" "no corpus at $corpus"
	done
fi

printf 'From: a@example.org\nSubject: x\n\nno colon\0here\n' | "$R" > "$T/bad" 2> "$T/bad.err"
check_eq "not a message: exit 65" 65 $?
check "with the reason" grep -q "refused: message contains a NUL byte" "$T/bad.err"

printf 'outlook_hacks: maybe\n' > "$T/noreactor.conf"
"$R" -c "$T/noreactor.conf" < /dev/null > /dev/null 2> "$T/conf.err"
check_eq "a synfu.conf without a reactor document: exit 78" 78 $?
check "says so" grep -q "no synfu/reactor document" "$T/conf.err"
printf -- '--- !<tag:news.piratenpartei.de,2009:synfu/reactor>\nsettings:\n    outlook_hacks : maybe\n' > "$T/bad.conf"
"$R" -c "$T/bad.conf" < /dev/null > /dev/null 2> "$T/conf.err"
check_eq "a bad setting: exit 78" 78 $?
check "names file, line and setting" grep -q "bad.conf:3: outlook_hacks: \"maybe\" is not yes or no" "$T/conf.err"
"$R" --frobnicate < /dev/null > /dev/null 2>&1
check_eq "an unknown option: exit 64" 64 $?

printf 'troll@example.org; d\nquiet@example.org; n\n' > "$T/blacklist"
printf 'From: Troll <troll@example.org>\nSubject: hi\n\nb\n' | "$R" -b "$T/blacklist" > "$T/dropped" 2>&1
check "a dropped sender gets nothing written" sh -c "! grep -q Subject '$T/dropped'"
printf 'From: quiet@example.org\nSubject: hi\n\nb\n' | "$R" -b "$T/blacklist" > "$T/quiet"
check "a no-archive sender gets X-No-Archive" grep -q "^X-No-Archive: yes$" "$T/quiet"
"$R" -b "$T/missing" < /dev/null > /dev/null 2> "$T/bl.err"
check_eq "a missing blacklist: exit 78" 78 $?

# A sender built for a shell: it must come out as text and run nothing.
printf 'From: "$(touch %s/pwned)" <`touch %s/pwned2`@example.org>\nSubject: ;touch %s/pwned3\nMessage-ID: <sh@example.org>\n\nb\n' "$T" "$T" "$T" | "$R" -t x > "$T/shell"
check "shell syntax in From passes through as text" grep -q 'touch' "$T/shell"
check "and runs nothing" test ! -e "$T/pwned" -a ! -e "$T/pwned2" -a ! -e "$T/pwned3"

# A 50 MB message: cleaned, footer and all, in reasonable time.
{
	printf 'From: a@example.org\nSubject: [Test] big\nMessage-ID: <big@example.org>\nDate: Sun, 29 Nov 2026 10:00:00 +0000\n\n'
	head -c 37000000 /dev/zero | base64 -w 76
	printf '\n_______________________________________________\nTest mailing list -- test@lists.example.org\nTo unsubscribe send an email to test-leave@lists.example.org\n'
} > "$T/big"
start=$(date +%s)
"$R" -t Test < "$T/big" > "$T/big.out"
check_eq "a 50 MB message: exit 0" 0 $?
check "its footer is gone" sh -c "! grep -q 'test-leave@' '$T/big.out'"
check "its tag is gone" grep -q "^Subject: big$" "$T/big.out"
secs=$(($(date +%s) - start))
check "in under 60 s (took ${secs}s)" test "$secs" -lt 60
rm -f "$T/big" "$T/big.out"

done_testing
