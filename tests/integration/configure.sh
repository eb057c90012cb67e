#!/bin/sh
#
# configure: a missing library is named with the Debian package that
# provides it, and configure fails; the options land in config.mk.

. "$(dirname "$0")/../lib.sh"

mkdir "$T/b1" "$T/b2"
(cd "$T/b1" && PKG_CONFIG=false "$srcdir/configure") > "$T/out1" 2>&1
rc=$?
check "configure fails when pkg-config finds nothing" test "$rc" -ne 0
check "it names the packages to install" grep -q "^  apt-get install libevent-dev libssl-dev libsqlite3-dev$" "$T/out1"
check "it writes no Makefile then" test ! -e "$T/b1/Makefile"

(cd "$T/b2" && "$srcdir/configure" --prefix=/opt/syncom --sysconfdir=/etc/syncom \
    --localstatedir=/var --runstatedir=/run/syncd) > "$T/out2" 2>&1
rc=$?
check_eq "configure succeeds here" 0 "$rc"
check "--prefix reaches config.mk" grep -q "^sbindir = /opt/syncom/sbin$" "$T/b2/config.mk"
check "--sysconfdir reaches config.mk" grep -q "^sysconfdir = /etc/syncom$" "$T/b2/config.mk"
check "--localstatedir reaches config.mk" grep -q "^localstatedir = /var$" "$T/b2/config.mk"
check "--runstatedir reaches config.mk" grep -q "^runstatedir = /run/syncd$" "$T/b2/config.mk"
(cd "$T/b2" && "$srcdir/configure" --frobnicate) > "$T/out3" 2>&1
check "an unknown option is refused" grep -q "unknown option: --frobnicate" "$T/out3"
(cd "$T/b2" && "$srcdir/configure" --enable-asan) > /dev/null 2>&1
check "--enable-asan turns the sanitizers on" grep -q "fsanitize=address,undefined" "$T/b2/config.mk"

done_testing
