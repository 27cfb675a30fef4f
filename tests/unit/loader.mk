# tests/unit/loader.mk: unit tests of the policy loader part, and the golden
# tests of `stagemilter --check` (tests/check/run.t).
TESTS += tests/check/run.t
tests/check/run.log: stagemilter$(EXEEXT)
EXTRA_DIST += tests/check/run.t tests/check/bad tests/check/good

check_PROGRAMS += tests/unit/test_loader
TESTS += tests/unit/test_loader
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CPPFLAGS = $(AM_CPPFLAGS) $(YAML_CFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_loader_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_loader_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)
