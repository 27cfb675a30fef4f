# tests/unit/engine.mk: unit tests of the policy engine part.
check_PROGRAMS += tests/unit/test_message tests/unit/test_template tests/unit/test_session \
	tests/unit/test_engine
TESTS += tests/unit/test_message tests/unit/test_template tests/unit/test_session \
	tests/unit/test_engine
tests_unit_test_message_SOURCES = tests/unit/test_message.c
tests_unit_test_message_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_message_LDADD = $(TEST_UNIT_LIBS)
tests_unit_test_template_SOURCES = tests/unit/test_template.c
tests_unit_test_template_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_template_LDADD = $(TEST_UNIT_LIBS)
tests_unit_test_session_SOURCES = tests/unit/test_session.c
tests_unit_test_session_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_session_LDADD = $(TEST_UNIT_LIBS)
tests_unit_test_engine_SOURCES = tests/unit/test_engine.c
tests_unit_test_engine_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_engine_LDADD = $(TEST_UNIT_LIBS)
# The dnsbl condition, the dns section and the names asked (test_dnsbl).
check_PROGRAMS += tests/unit/test_dnsbl
TESTS += tests/unit/test_dnsbl
tests_unit_test_dnsbl_SOURCES = tests/unit/test_dnsbl.c
tests_unit_test_dnsbl_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_dnsbl_LDADD = $(TEST_UNIT_LIBS)
# Authentication-Results: the RFC 8601 reader and auth_results (test_authres).
check_PROGRAMS += tests/unit/test_authres
TESTS += tests/unit/test_authres
tests_unit_test_authres_SOURCES = tests/unit/test_authres.c
tests_unit_test_authres_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_authres_LDADD = $(TEST_UNIT_LIBS)
