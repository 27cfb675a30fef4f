# tests/delegation/local.mk: the delegation modules (milter/delegation.mk)
# driven by delegate-probe against real peers: smtp-sink, clamsmtpd+clamd,
# a silent socket, swaks. The .t scripts run as root in private namespaces
# (tests/lib/harness.sh).
check_PROGRAMS += tests/delegation/delegate-probe
tests_delegation_delegate_probe_SOURCES = tests/delegation/delegate-probe.c \
	$(MILTER_DELEGATION_FILES)
tests_delegation_delegate_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/milter $(OPENSSL_CFLAGS)
tests_delegation_delegate_probe_LDADD = $(POLICY_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)
