# tests/unit/match.mk: unit tests of the policy match part.
check_PROGRAMS += tests/unit/test_units
TESTS += tests/unit/test_units
tests_unit_test_units_SOURCES = tests/unit/test_units.c
tests_unit_test_units_CPPFLAGS = $(AM_CPPFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_units_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_units_LDADD = $(TEST_UNIT_LIBS)

check_PROGRAMS += tests/unit/test_ipaddr
TESTS += tests/unit/test_ipaddr
tests_unit_test_ipaddr_SOURCES = tests/unit/test_ipaddr.c
tests_unit_test_ipaddr_CPPFLAGS = $(AM_CPPFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_ipaddr_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_ipaddr_LDADD = $(TEST_UNIT_LIBS)

check_PROGRAMS += tests/unit/test_strset
TESTS += tests/unit/test_strset
tests_unit_test_strset_SOURCES = tests/unit/test_strset.c
tests_unit_test_strset_CPPFLAGS = $(AM_CPPFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_strset_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_strset_LDADD = $(TEST_UNIT_LIBS)

check_PROGRAMS += tests/unit/test_cidr_trie
TESTS += tests/unit/test_cidr_trie
tests_unit_test_cidr_trie_SOURCES = tests/unit/test_cidr_trie.c
tests_unit_test_cidr_trie_CPPFLAGS = $(AM_CPPFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_cidr_trie_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_cidr_trie_LDADD = $(TEST_UNIT_LIBS)

check_PROGRAMS += tests/unit/test_list
TESTS += tests/unit/test_list
tests_unit_test_list_SOURCES = tests/unit/test_list.c
tests_unit_test_list_CPPFLAGS = $(AM_CPPFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_list_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_list_LDADD = $(TEST_UNIT_LIBS)

check_PROGRAMS += tests/unit/test_pattern
TESTS += tests/unit/test_pattern
tests_unit_test_pattern_SOURCES = tests/unit/test_pattern.c
tests_unit_test_pattern_CPPFLAGS = $(AM_CPPFLAGS) $(PCRE2_CFLAGS)
tests_unit_test_pattern_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_pattern_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)
