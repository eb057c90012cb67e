#!/bin/sh
#
# make install honours DESTDIR and puts programs, manual pages and the
# example configurations where the prefix says; the installed syncd works.

. "$(dirname "$0")/../lib.sh"

prefix=$(sed -n 's/^prefix = //p' "$builddir/config.mk")
sbindir=$(sed -n 's/^sbindir = //p' "$builddir/config.mk")
bindir=$(sed -n 's/^bindir = //p' "$builddir/config.mk")
mandir=$(sed -n 's/^mandir = //p' "$builddir/config.mk")
root=$T/root
if ! make -C "$builddir" -s install DESTDIR="$root" > "$T/install.log" 2>&1; then
	not_ok "make install DESTDIR=..."
	diag "$(tail -20 "$T/install.log")"
	done_testing
	exit 1
fi
ok "make install DESTDIR=..."
for f in "$sbindir/syncd" "$sbindir/syncctl" "$sbindir/syncd-milter" \
    "$sbindir/syncmigrate" "$bindir/syncd-reactor"; do
	check "installs $f, executable" test -x "$root$f"
done
for f in man1/syncd-reactor.1 man5/syncd.conf.5 man8/syncd.8 man8/syncctl.8 \
    man8/syncd-milter.8 man8/syncmigrate.8; do
	check "installs $mandir/$f" test -s "$root$mandir/$f"
done
for f in syncd.conf syncd-demo.conf example.eml syncd.service; do
	check "installs the example $f" test -s "$root$prefix/share/doc/syncom/examples/$f"
done
check_eq "everything lands under DESTDIR and the prefix" "" "$(find "$root" -type f ! -path "$root$prefix/*")"
check_eq "the installed syncd runs" "$("$SYNCD" -V)" "$("$root$sbindir/syncd" -V)"
valid() { "$root$sbindir/syncd" -n "$1" > /dev/null; }
check "the installed example config is valid" valid "$root$prefix/share/doc/syncom/examples/syncd.conf"
check "and so is the demo's" valid "$root$prefix/share/doc/syncom/examples/syncd-demo.conf"

# Every manual page renders without a warning.
for f in "$root$mandir"/man*/*; do
	LC_ALL=C.UTF-8 groff -ww -man -Tutf8 "$f" > /dev/null 2> "$T/groff.err"
	check_eq "$(basename "$f") renders with groff -ww -man, no warning" "" "$(cat "$T/groff.err")"
done

# The systemd unit, pointed at the installed syncd.
if command -v systemd-analyze > /dev/null; then
	sed "s|/usr/sbin/syncd|$root$sbindir/syncd|g" \
	    "$root$prefix/share/doc/syncom/examples/syncd.service" > "$T/syncd.service"
	systemd-analyze verify --man=no "$T/syncd.service" > "$T/unit.log" 2>&1
	check_eq "systemd-analyze verify accepts the unit" "0: " \
	    "$?: $(cat "$T/unit.log")"
else
	skip "systemd-analyze verify accepts the unit" "no systemd-analyze"
fi
make -C "$builddir" -s uninstall DESTDIR="$root" > /dev/null 2>&1
check_eq "make uninstall removes the files" "" "$(find "$root" -type f)"

done_testing
