# tests/unit/local.mk: table-driven unit tests (cmocka, TAP output), one
# binary per module, run by `make check` and by tests/run.
TEST_EXTENSIONS = .t
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
T_LOG_DRIVER = $(LOG_DRIVER)
AM_TESTS_ENVIRONMENT = CMOCKA_MESSAGE_OUTPUT=TAP; export CMOCKA_MESSAGE_OUTPUT; \
	top_srcdir='$(top_srcdir)'; top_builddir='$(top_builddir)'; export top_srcdir top_builddir;
TEST_UNIT_FLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
TEST_UNIT_LIBS = $(POLICY_LIBS) $(CMOCKA_LIBS)

include tests/unit/loader.mk
include tests/unit/match.mk
include tests/unit/mime.mk
include tests/unit/engine.mk
include tests/unit/milter.mk
include tests/unit/tables.mk
include tests/unit/verbs.mk
include tests/unit/state.mk
include tests/unit/edit.mk

# Unit tests under valgrind and rebuilt with sanitizers (tests/run calls
# them; not part of make check: they take half a minute) and the
# suppressions valgrind needs.
EXTRA_DIST += tests/unit/memcheck.t tests/unit/asan.t tests/valgrind.supp
