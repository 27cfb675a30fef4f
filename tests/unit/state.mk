# tests/unit/state.mk: unit tests of the state stores (milter/state), with a
# real redis-server started by the test.
check_PROGRAMS += tests/unit/test_state
TESTS += tests/unit/test_state
tests_unit_test_state_SOURCES = tests/unit/test_state.c milter/state/record.c \
	milter/state/memory.c milter/state/lmdb.c milter/state/redis.c milter/state/state_admin.c \
	milter/state/registry.c milter/report/log.c milter/report/log_json.c milter/report/stats.c
tests_unit_test_state_CPPFLAGS = $(MILTER_CPPFLAGS)
tests_unit_test_state_CFLAGS = $(TEST_UNIT_FLAGS) $(MILTER_CFLAGS) $(MILTER_DEP_CFLAGS)
tests_unit_test_state_LDADD = $(TEST_UNIT_LIBS) $(MILTER_DEP_LIBS) $(PTHREAD_LIBS)
