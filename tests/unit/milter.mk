# tests/unit/milter.mk: unit tests of the daemon's parts that need no MTA.
check_PROGRAMS += tests/unit/test_quarantine
TESTS += tests/unit/test_quarantine
tests_unit_test_quarantine_SOURCES = tests/unit/test_quarantine.c milter/store/quarantine.c \
	milter/store/quarantine_admin.c milter/daemon/privileges.c milter/report/log.c milter/report/log_json.c \
	milter/mta/reply.c milter/report/stats.c
tests_unit_test_quarantine_CPPFLAGS = $(MILTER_CPPFLAGS)
tests_unit_test_quarantine_CFLAGS = $(TEST_UNIT_FLAGS) $(MILTER_CFLAGS)
tests_unit_test_quarantine_LDADD = $(TEST_UNIT_LIBS) $(MILTER_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/unit/test_stats
TESTS += tests/unit/test_stats
tests_unit_test_stats_SOURCES = tests/unit/test_stats.c milter/report/stats.c
tests_unit_test_stats_CPPFLAGS = $(MILTER_CPPFLAGS)
tests_unit_test_stats_CFLAGS = $(TEST_UNIT_FLAGS) $(MILTER_CFLAGS)
tests_unit_test_stats_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/unit/test_quarantine_admin
TESTS += tests/unit/test_quarantine_admin
tests_unit_test_quarantine_admin_SOURCES = tests/unit/test_quarantine_admin.c \
	milter/store/quarantine_admin.c milter/daemon/privileges.c milter/report/log.c milter/report/log_json.c \
	milter/report/stats.c
tests_unit_test_quarantine_admin_CPPFLAGS = $(MILTER_CPPFLAGS)
tests_unit_test_quarantine_admin_CFLAGS = $(TEST_UNIT_FLAGS) $(MILTER_CFLAGS)
tests_unit_test_quarantine_admin_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/unit/test_delegation
TESTS += tests/unit/test_delegation
tests_unit_test_delegation_SOURCES = tests/unit/test_delegation.c $(MILTER_DELEGATE_FILES)
tests_unit_test_delegation_CPPFLAGS = $(MILTER_CPPFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_delegation_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_delegation_LDADD = $(POLICY_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(CMOCKA_LIBS) $(PTHREAD_LIBS)
# milter.log_format: json (milter/report/log_json.c), checked with jansson.
check_PROGRAMS += tests/unit/test_log_json
TESTS += tests/unit/test_log_json
tests_unit_test_log_json_SOURCES = tests/unit/test_log_json.c milter/report/log_json.c
tests_unit_test_log_json_CPPFLAGS = $(MILTER_CPPFLAGS)
tests_unit_test_log_json_CFLAGS = $(TEST_UNIT_FLAGS) $(JANSSON_CFLAGS)
tests_unit_test_log_json_LDADD = $(TEST_UNIT_LIBS) $(JANSSON_LIBS)
