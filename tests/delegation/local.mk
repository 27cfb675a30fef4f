# tests/delegation/local.mk: the delegation modules (milter/delegation.mk)
# driven by delegate-probe against real peers: smtp-sink, clamsmtpd+clamd,
# a silent socket, swaks. The .t scripts run as root in private namespaces
# (tests/lib/harness.sh).
check_PROGRAMS += tests/delegation/delegate-probe
tests_delegation_delegate_probe_SOURCES = tests/delegation/delegate-probe.c \
	$(MILTER_DELEGATION_FILES)
tests_delegation_delegate_probe_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/milter $(OPENSSL_CFLAGS)
tests_delegation_delegate_probe_LDADD = $(POLICY_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/unit/test_delegation
TESTS += tests/unit/test_delegation
tests_unit_test_delegation_SOURCES = tests/unit/test_delegation.c \
	milter/smtp_client.c milter/smtp_client.h milter/ticket.c milter/ticket.h \
	milter/delegate.c milter/delegate.h
tests_unit_test_delegation_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/milter $(OPENSSL_CFLAGS)
tests_unit_test_delegation_CFLAGS = $(TEST_UNIT_FLAGS)
tests_unit_test_delegation_LDADD = $(POLICY_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS) $(PTHREAD_LIBS)

# Run by tests/run (root, namespaces), not by `make check`.
EXTRA_DIST += tests/delegation/dg.sh tests/delegation/01-targets.t \
	tests/delegation/02-clamsmtpd.t tests/delegation/03-receiver.t \
	tests/delegation/04-spampd.t tests/delegation/05-tls.t \
	tests/delegation/06-auth-lmtp.t tests/delegation/07-auth-external.t \
	tests/lib/scanners.sh

# End-to-end delegation (tests/e2e/2*-*.t: MTA + stagemilter + real
# scanners), their policies, and the scanner-side configuration they test.
EXTRA_DIST += tests/e2e/20-clamsmtpd.t tests/e2e/21-spampd.t tests/e2e/22-faults.t \
	tests/e2e/policies/delegate-faults.yaml tests/e2e/23-apply-message.t \
	tests/e2e/policies/spampd-message.yaml tests/e2e/24-starttls.t \
	tests/e2e/policies/delegate-tls.yaml tests/lib/tls-proxy.py \
	contrib/policies/clamsmtpd.yaml contrib/policies/spampd.yaml \
	contrib/clamsmtp/clamsmtpd.conf contrib/spampd/README
