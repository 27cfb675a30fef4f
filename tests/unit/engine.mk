# tests/unit/engine.mk: unit tests of the policy engine part.
check_PROGRAMS += tests/unit/test_message
TESTS += tests/unit/test_message
tests_unit_test_message_SOURCES = tests/unit/test_message.c
tests_unit_test_message_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_message_LDADD = $(TEST_UNIT_LIBS)
