# tests/unit/tables.mk: the condition and effect tables held against the
# manual page doc/stagemilter.yaml.5 (found through $top_srcdir).
check_PROGRAMS += tests/unit/test_tables
TESTS += tests/unit/test_tables
tests_unit_test_tables_SOURCES = tests/unit/test_tables.c
tests_unit_test_tables_CPPFLAGS = $(AM_CPPFLAGS) $(YAML_CFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_tables_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_tables_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)
