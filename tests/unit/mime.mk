# tests/unit/mime.mk: unit tests of the policy mime part.
check_PROGRAMS += tests/unit/test_mime
TESTS += tests/unit/test_mime
tests_unit_test_mime_SOURCES = tests/unit/test_mime.c
tests_unit_test_mime_CPPFLAGS = $(AM_CPPFLAGS) $(GMIME_CFLAGS) $(ARCHIVE_CFLAGS)
tests_unit_test_mime_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_mime_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/unit/test_cond_mime
TESTS += tests/unit/test_cond_mime
tests_unit_test_cond_mime_SOURCES = tests/unit/test_cond_mime.c
tests_unit_test_cond_mime_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_cond_mime_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)
# What reads a spooled body: MIME in memory vs spooled, raw_body windows (test_spool).
check_PROGRAMS += tests/unit/test_spool
TESTS += tests/unit/test_spool
tests_unit_test_spool_SOURCES = tests/unit/test_spool.c
tests_unit_test_spool_CPPFLAGS = $(AM_CPPFLAGS) $(GMIME_CFLAGS) $(ARCHIVE_CFLAGS)
tests_unit_test_spool_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_spool_LDADD = $(TEST_UNIT_LIBS) $(PTHREAD_LIBS)
