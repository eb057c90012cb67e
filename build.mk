# build.mk: Syncom's one Makefile, included by the Makefile that configure
# writes into the build directory (in the source tree or outside it).
#
# Objects land beside the build directory's copy of the source layout
# (common/log.o for $(srcdir)/common/log.c), so one source tree can feed a
# normal build and an --enable-asan build at the same time.

.SUFFIXES:

datadir = $(prefix)/share
docdir = $(datadir)/doc/syncom

CPPFLAGS = -I$(srcdir)/common -I$(srcdir)/syncd -I$(srcdir)/nntp \
	-I$(srcdir)/smtp -I$(srcdir)/migrate -I$(srcdir)/forum \
	-D_GNU_SOURCE -DSYNCOM_VERSION='"$(VERSION)"' \
	-DSYNCOM_SYSCONFDIR='"$(sysconfdir)"' \
	-DSYNCOM_LOCALSTATEDIR='"$(localstatedir)"' \
	-DSYNCOM_RUNSTATEDIR='"$(runstatedir)"' \
	-DSYNCOM_DOCDIR='"$(docdir)"'
ALL_CFLAGS = $(CPPFLAGS) $(EVENT_CFLAGS) $(SQLITE_CFLAGS) $(ETPAN_CFLAGS) \
	$(SSL_CFLAGS) $(CFLAGS) -MMD -MP

COMMON_OBJS = common/file.o common/log.o common/xmalloc.o common/msg.o \
	common/msgid.o common/rfc2047.o common/mime.o
# Everything of the daemon but main(), so the unit tests link the same code.
SYNCD_OBJS = syncd/conf.o syncd/store.o syncd/router.o syncd/outbox.o \
	syncd/control.o syncd/maildir.o syncd/worker.o syncd/tls.o \
	syncd/dotdata.o syncd/listen.o syncd/cron.o syncd/notice.o \
	syncd/jobs.o syncd/metrics.o syncd/describe.o

# The news side.
NNTP_OBJS = nntp/wildmat.o nntp/nntp_auth.o nntp/nntp_article.o \
	nntp/nntp_feed.o nntp/nntp_server.o

# The mail side.
SMTP_OBJS = smtp/blacklist.o smtp/footer.o smtp/reactor.o \
	smtp/smtp_server.o smtp/mailout.o smtp/smtp_client.o smtp/smtp_check.o

# The forum.
FORUM_OBJS = forum/forum_render.o forum/forum_db.o forum/forum.o \
	forum/forum_http.o

# The migration tool.
MIGRATE_OBJS = migrate/mig_conf.o migrate/mig_state.o migrate/mig_imap.o \
	migrate/mig_sync.o migrate/mig_tls.o

PROGRAMS = syncd/syncd syncd/syncctl smtp/syncd-reactor smtp/syncd-milter \
	migrate/syncmigrate

# Unit tests of common/ link only libcommon; those of syncd/ link both.
COMMON_TESTS = tests/unit/test_file tests/unit/test_log tests/unit/test_msg \
	tests/unit/test_msgid tests/unit/test_rfc2047 tests/unit/test_mime
SYNCD_TESTS = tests/unit/test_conf tests/unit/test_store \
	tests/unit/test_router tests/unit/test_outbox tests/unit/test_maildir \
	tests/unit/test_worker tests/unit/test_wildmat tests/unit/test_nntp \
	tests/unit/test_blacklist tests/unit/test_reactor tests/unit/test_mailout \
	tests/unit/test_smtp_check tests/unit/test_forum_render \
	tests/unit/test_metrics tests/unit/test_cron tests/unit/test_describe \
	tests/unit/test_dotdata tests/unit/test_forum_db
# Those of migrate/ link its objects.
MIGRATE_TESTS = tests/unit/test_migrate
UNIT_TESTS = $(COMMON_TESTS) $(SYNCD_TESTS) $(MIGRATE_TESTS)

FUZZ_TARGETS = tests/fuzz/fuzz_msg tests/fuzz/fuzz_conf tests/fuzz/fuzz_nntp \
	tests/fuzz/fuzz_reactor tests/fuzz/fuzz_smtp tests/fuzz/fuzz_check \
	tests/fuzz/fuzz_migrate tests/fuzz/fuzz_forum tests/fuzz/fuzz_describe \
	tests/fuzz/fuzz_imap

DAEMON_LIBS = $(EVENT_LIBS) $(SQLITE_LIBS) $(ETPAN_LIBS) $(CRYPT_LIBS) \
	$(SSL_LIBS) -lpthread

all: $(PROGRAMS)

# One rule per folder: a pattern without a slash would match on the file
# name alone and put the folder in front of $(srcdir).
common/%.o: $(srcdir)/common/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

syncd/%.o: $(srcdir)/syncd/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

nntp/%.o: $(srcdir)/nntp/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

smtp/%.o: $(srcdir)/smtp/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

forum/%.o: $(srcdir)/forum/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

migrate/%.o: $(srcdir)/migrate/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/bench/%: $(srcdir)/tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

tests/fuzz/%.o: $(srcdir)/tests/fuzz/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(srcdir)/tests/migrate -c -o $@ $<

tests/unit/%.o: $(srcdir)/tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(srcdir)/tests/migrate $(CMOCKA_CFLAGS) -c -o $@ $<

# The scripted IMAP server of syncmigrate's unit tests and fuzz_imap.
IMAP_SCRIPT = tests/migrate/imap_script.o
tests/migrate/%.o: $(srcdir)/tests/migrate/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

common/libcommon.a: $(COMMON_OBJS)
	rm -f $@
	ar rcs $@ $(COMMON_OBJS)

syncd/libsyncd.a: $(SYNCD_OBJS)
	rm -f $@
	ar rcs $@ $(SYNCD_OBJS)

nntp/libnntp.a: $(NNTP_OBJS)
	rm -f $@
	ar rcs $@ $(NNTP_OBJS)

smtp/libsmtp.a: $(SMTP_OBJS)
	rm -f $@
	ar rcs $@ $(SMTP_OBJS)

forum/libforum.a: $(FORUM_OBJS)
	rm -f $@
	ar rcs $@ $(FORUM_OBJS)

# The sides' libraries come before the core's: they call into it.
SIDE_LIBS = forum/libforum.a nntp/libnntp.a smtp/libsmtp.a

syncd/syncd: syncd/syncd.o $(SIDE_LIBS) syncd/libsyncd.a common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ syncd/syncd.o $(SIDE_LIBS) \
		syncd/libsyncd.a common/libcommon.a $(DAEMON_LIBS)

syncd/syncctl: syncd/syncctl.o syncd/conf.o syncd/cron.o common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ syncd/syncctl.o syncd/conf.o \
		syncd/cron.o common/libcommon.a $(ETPAN_LIBS)

smtp/syncd-reactor: smtp/syncd-reactor.o smtp/libsmtp.a common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ smtp/syncd-reactor.o smtp/libsmtp.a \
		common/libcommon.a $(ETPAN_LIBS) $(SSL_LIBS)

# libmilter runs the milter's threads; the reactor finds the From address.
smtp/syncd-milter: smtp/syncd-milter.o smtp/libsmtp.a common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ smtp/syncd-milter.o smtp/libsmtp.a \
		common/libcommon.a $(ETPAN_LIBS) $(SSL_LIBS) $(MILTER_LIBS)

migrate/syncmigrate: migrate/syncmigrate.o $(MIGRATE_OBJS) common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ migrate/syncmigrate.o $(MIGRATE_OBJS) \
		common/libcommon.a $(SQLITE_LIBS) $(ETPAN_LIBS) $(SSL_LIBS)

$(COMMON_TESTS): %: %.o common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< common/libcommon.a \
		$(ETPAN_LIBS) $(CMOCKA_LIBS)

$(MIGRATE_TESTS): %: %.o $(IMAP_SCRIPT) $(MIGRATE_OBJS) common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(IMAP_SCRIPT) $(MIGRATE_OBJS) \
		common/libcommon.a $(SQLITE_LIBS) $(ETPAN_LIBS) $(SSL_LIBS) \
		$(CMOCKA_LIBS)

$(SYNCD_TESTS): %: %.o $(SIDE_LIBS) syncd/libsyncd.a common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SIDE_LIBS) syncd/libsyncd.a \
		common/libcommon.a $(DAEMON_LIBS) $(CMOCKA_LIBS)

tests/fuzz/fuzz_migrate: %: %.o $(MIGRATE_OBJS) common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(MIGRATE_OBJS) \
		common/libcommon.a $(SQLITE_LIBS) $(ETPAN_LIBS) $(SSL_LIBS)

tests/fuzz/fuzz_imap: %: %.o $(IMAP_SCRIPT) $(MIGRATE_OBJS) common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(IMAP_SCRIPT) \
		$(MIGRATE_OBJS) common/libcommon.a $(SQLITE_LIBS) $(ETPAN_LIBS) \
		$(SSL_LIBS)

tests/fuzz/%: tests/fuzz/%.o $(SIDE_LIBS) syncd/libsyncd.a \
		common/libcommon.a
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(SIDE_LIBS) \
		syncd/libsyncd.a common/libcommon.a $(DAEMON_LIBS)

check: all check-build
	SYNCOM_SRCDIR=$(srcdir) SYNCOM_BUILDDIR=$$(pwd) \
		$(srcdir)/tests/run

check-build: $(UNIT_TESTS)
	@if [ "$(HAVE_CMOCKA)" != yes ]; then \
		echo "make check needs cmocka: apt-get install libcmocka-dev," \
		     "then rerun ./configure" >&2; exit 1; fi

# "make fuzz" runs every target for FUZZ_SECONDS each (default 60) on its
# seed corpus; it needs a build configured with --enable-fuzz.
FUZZ_SECONDS = 60
fuzz: $(FUZZ_TARGETS)
	@if [ "$(ENABLE_FUZZ)" != yes ]; then \
		echo "make fuzz needs ./configure --enable-fuzz" >&2; exit 1; fi
	SYNCOM_SRCDIR=$(srcdir) SYNCOM_BUILDDIR=$$(pwd) \
		$(srcdir)/tests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# "make bench" measures Syncom beside the real peers (tests/bench/run
# for NNTP against INN, tests/bench/mail against Postfix,
# tests/bench/migrate for syncmigrate against mbsync and doveadm backup
# between two Dovecots) and the forum's pages under wrk on their own
# (tests/bench/forum); benchmarks print figures, they are no tests.
BENCH_TOOLS = tests/bench/nntp_bench
# Every benchmark in one run, its figures in tests/bench/RESULTS.md here
# (tests/bench/all).  BENCH_QUICK=1 for one run of each at small sizes.
bench: all $(BENCH_TOOLS)
	SYNCOM_SRCDIR=$(srcdir) SYNCOM_BUILDDIR=$$(pwd) \
		BENCH_QUICK=$(BENCH_QUICK) $(srcdir)/tests/bench/all

install: all
	mkdir -p $(DESTDIR)$(bindir) $(DESTDIR)$(sbindir) \
		$(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man5 \
		$(DESTDIR)$(mandir)/man8 $(DESTDIR)$(docdir)/examples
	install -m 755 syncd/syncd syncd/syncctl smtp/syncd-milter \
		migrate/syncmigrate $(DESTDIR)$(sbindir)/
	install -m 755 smtp/syncd-reactor $(DESTDIR)$(bindir)/
	install -m 644 $(srcdir)/man/syncd-reactor.1 $(DESTDIR)$(mandir)/man1/
	install -m 644 $(srcdir)/man/syncd.conf.5 $(DESTDIR)$(mandir)/man5/
	install -m 644 $(srcdir)/man/syncd.8 $(srcdir)/man/syncctl.8 \
		$(srcdir)/man/syncd-milter.8 $(srcdir)/man/syncmigrate.8 \
		$(DESTDIR)$(mandir)/man8/
	install -m 644 $(srcdir)/etc/*.conf $(srcdir)/etc/example.eml \
		$(srcdir)/etc/syncd.service \
		$(DESTDIR)$(docdir)/examples/
	install -m 644 $(srcdir)/README $(srcdir)/CHANGES $(DESTDIR)$(docdir)/

uninstall:
	rm -f $(DESTDIR)$(sbindir)/syncd $(DESTDIR)$(sbindir)/syncctl \
		$(DESTDIR)$(bindir)/syncd-reactor \
		$(DESTDIR)$(sbindir)/syncd-milter \
		$(DESTDIR)$(mandir)/man8/syncd-milter.8 \
		$(DESTDIR)$(sbindir)/syncmigrate \
		$(DESTDIR)$(mandir)/man8/syncmigrate.8 \
		$(DESTDIR)$(mandir)/man1/syncd-reactor.1 \
		$(DESTDIR)$(mandir)/man5/syncd.conf.5 \
		$(DESTDIR)$(mandir)/man8/syncd.8 \
		$(DESTDIR)$(mandir)/man8/syncctl.8
	rm -rf $(DESTDIR)$(docdir)

clean:
	rm -f $(PROGRAMS) $(UNIT_TESTS) $(FUZZ_TARGETS) $(BENCH_TOOLS) \
		common/libcommon.a syncd/libsyncd.a $(SIDE_LIBS)
	find . -name '*.[od]' -type f -exec rm -f {} +

distclean: clean
	rm -f config.mk Makefile

.PHONY: all check check-build fuzz bench install uninstall clean distclean

-include $(COMMON_OBJS:.o=.d) $(SYNCD_OBJS:.o=.d) $(NNTP_OBJS:.o=.d) \
	$(SMTP_OBJS:.o=.d) $(FORUM_OBJS:.o=.d) syncd/syncd.d smtp/syncd-reactor.d \
	smtp/syncd-milter.d $(MIGRATE_OBJS:.o=.d) migrate/syncmigrate.d \
	syncd/syncctl.d $(UNIT_TESTS:=.d) $(FUZZ_TARGETS:=.d)
