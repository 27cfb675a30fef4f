# milter/local.mk: the daemon. Adapts libmilter callbacks to the engine.
MILTER_FILES = milter/main.c milter/log.c milter/log.h milter/reply.c milter/reply.h \
	milter/socket.c milter/socket.h milter/callbacks.c milter/callbacks.h milter/trace.c \
	milter/trace.h milter/quarantine.c milter/quarantine.h milter/stats.c milter/stats.h \
	milter/privileges.c milter/privileges.h milter/reload.c milter/reload.h milter/signals.c \
	milter/signals.h milter/quarantine_admin.c milter/quarantine_admin.h
sbin_PROGRAMS += stagemilter
stagemilter_SOURCES = $(MILTER_FILES) $(MILTER_DELEGATION_FILES)
stagemilter_CFLAGS = $(AM_CFLAGS) $(MILTER_CFLAGS) $(OPENSSL_CFLAGS)
stagemilter_LDADD = $(POLICY_LIBS) $(MILTER_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)

# Milter-protocol tests: the built daemon driven by miltertest scripts.
MILTER_TEST_LUA = tests/milter/lib.lua tests/milter/negotiate.lua \
	tests/milter/envelope.lua tests/milter/eom.lua tests/milter/quarantine.lua \
	tests/milter/hold.lua tests/milter/storehold.lua tests/milter/macros.lua
MILTER_TEST_POLICY_FILES = tests/milter/policies/negotiate.yaml \
	tests/milter/policies/envelope.yaml tests/milter/policies/eom.yaml \
	tests/milter/policies/quarantine.yaml tests/milter/policies/hold.yaml \
	tests/milter/policies/storehold.yaml tests/milter/policies/macros.yaml
TESTS += tests/milter/run.t
EXTRA_DIST += tests/milter/run.t $(MILTER_TEST_LUA) $(MILTER_TEST_POLICY_FILES)

# --trace golden outputs: NAME.yaml + NAME.eml + NAME.args -> NAME.out.
TESTS += tests/trace/run.t
EXTRA_DIST += tests/trace/run.t \
	tests/trace/accept.yaml tests/trace/accept.eml tests/trace/accept.args tests/trace/accept.out \
	tests/trace/connect-reject.yaml tests/trace/connect-reject.eml tests/trace/connect-reject.args tests/trace/connect-reject.out \
	tests/trace/delegate.yaml tests/trace/delegate.eml tests/trace/delegate.args tests/trace/delegate.out \
	tests/trace/faccept.yaml tests/trace/faccept.eml tests/trace/faccept.args tests/trace/faccept.out \
	tests/trace/quarantine.yaml tests/trace/quarantine.eml tests/trace/quarantine.args tests/trace/quarantine.out \
	tests/trace/on-error.yaml tests/trace/on-error.eml tests/trace/on-error.args tests/trace/on-error.out

# Unit tests of the daemon's parts that need no MTA.
check_PROGRAMS += tests/milter/test_quarantine
TESTS += tests/milter/test_quarantine
tests_milter_test_quarantine_SOURCES = tests/milter/test_quarantine.c milter/quarantine.c \
	milter/log.c milter/reply.c milter/stats.c
tests_milter_test_quarantine_CFLAGS = $(TEST_UNIT_FLAGS) $(MILTER_CFLAGS)
tests_milter_test_quarantine_LDADD = $(TEST_UNIT_LIBS) $(MILTER_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/milter/test_stats
TESTS += tests/milter/test_stats
tests_milter_test_stats_SOURCES = tests/milter/test_stats.c milter/stats.c
tests_milter_test_stats_CFLAGS = $(TEST_UNIT_FLAGS) $(MILTER_CFLAGS)
tests_milter_test_stats_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/milter/test_quarantine_admin
TESTS += tests/milter/test_quarantine_admin
tests_milter_test_quarantine_admin_SOURCES = tests/milter/test_quarantine_admin.c \
	milter/quarantine_admin.c milter/privileges.c milter/log.c milter/stats.c
tests_milter_test_quarantine_admin_CFLAGS = $(TEST_UNIT_FLAGS) $(MILTER_CFLAGS)
tests_milter_test_quarantine_admin_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)

# Operations end-to-end tests (reload, stop, privileges, statistics,
# quarantine release): run by tests/run like the other tests/e2e/*.t,
# listed here so that `make dist` ships them.
EXTRA_DIST += tests/lib/ops.sh tests/lib/smtp_client.py \
	tests/e2e/30-reload.t tests/e2e/31-reload-load.t tests/e2e/32-sigterm.t \
	tests/e2e/33-privileges.t tests/e2e/34-stats.t tests/e2e/35-quarantine-release.t \
	tests/e2e/36-reload-storm.t tests/e2e/policies/ops-storm.yaml \
	tests/e2e/policies/reload-old.yaml tests/e2e/policies/reload-new.yaml \
	tests/e2e/policies/reload-broken.yaml tests/e2e/policies/reload-a.yaml \
	tests/e2e/policies/reload-b.yaml tests/e2e/policies/ops-accept.yaml \
	tests/e2e/policies/ops-secret.yaml tests/e2e/policies/ops-stats.yaml
