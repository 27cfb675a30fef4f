# tests/unit/edit.mk: unit tests of the message-changing effects (parse,
# prefix_subject, resolution into operations).
check_PROGRAMS += tests/unit/test_edit
TESTS += tests/unit/test_edit
tests_unit_test_edit_SOURCES = tests/unit/test_edit.c
tests_unit_test_edit_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_edit_LDADD = $(TEST_UNIT_LIBS)
