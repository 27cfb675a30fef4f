# tests/unit/verbs.mk: the status verb table (policy/verbs.c) against itself
# and against doc/stagemilter.yaml.5 (read through $top_srcdir).
check_PROGRAMS += tests/unit/test_verbs
TESTS += tests/unit/test_verbs
tests_unit_test_verbs_SOURCES = tests/unit/test_verbs.c
tests_unit_test_verbs_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_verbs_LDADD = $(TEST_UNIT_LIBS)
