# tests/delegation/local.mk: the delegation modules (milter/delegate/)
# driven by delegate-probe against real peers: smtp-sink, clamsmtpd+clamd,
# a silent socket, swaks. The .t scripts run as root in private namespaces
# (tests/lib/harness.sh).
check_PROGRAMS += tests/delegation/delegate-probe
tests_delegation_delegate_probe_SOURCES = tests/delegation/delegate-probe.c \
	$(MILTER_DELEGATE_FILES)
tests_delegation_delegate_probe_CPPFLAGS = $(MILTER_CPPFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
tests_delegation_delegate_probe_LDADD = $(POLICY_LIBS) $(OPENSSL_LIBS) $(JANSSON_LIBS) $(PTHREAD_LIBS)

# Run by tests/run (root, namespaces), not by `make check`.
EXTRA_DIST += tests/delegation/dg.sh tests/delegation/01-targets.t \
	tests/delegation/02-clamsmtpd.t tests/delegation/03-receiver.t \
	tests/delegation/04-spampd.t tests/delegation/05-tls.t \
	tests/delegation/06-auth-lmtp.t tests/delegation/07-auth-external.t \
	tests/delegation/08-receiver-limits.t \
	tests/lib/scanners.sh

# End-to-end delegation (tests/e2e/2*-*.t: MTA + stagemilter + real
# scanners), their policies, and the scanner-side configuration they test.
EXTRA_DIST += tests/e2e/20-clamsmtpd.t tests/e2e/21-spampd.t tests/e2e/22-faults.t \
	tests/e2e/25-message-size.t \
	tests/e2e/policies/delegate-faults.yaml tests/e2e/23-apply-message.t \
	tests/e2e/policies/spampd-message.yaml tests/e2e/24-starttls.t \
	tests/e2e/policies/delegate-tls.yaml tests/lib/tls-proxy.py \
	contrib/policies/clamsmtpd.yaml contrib/policies/spampd.yaml \
	contrib/clamsmtp/clamsmtpd.conf contrib/spampd/README

# The scanners that speak their own protocol (clamd, spamd, rspamd): at the
# delegation level (tests/delegation/7*.t) and end to end (tests/e2e/7*.t).
EXTRA_DIST += tests/delegation/70-clamd.t tests/e2e/70-clamd.t contrib/policies/clamd.yaml \
	tests/delegation/71-spamd.t tests/e2e/71-spamd.t contrib/policies/spamd.yaml \
	tests/delegation/72-rspamd.t tests/e2e/72-rspamd.t contrib/policies/rspamd.yaml \
	tests/e2e/73-scan-parallel.t tests/e2e/policies/scan-parallel.yaml
# amavisd-new as an SMTP delegation target (tests/lib/amavis.sh).
EXTRA_DIST += tests/e2e/74-amavis.t tests/lib/amavis.sh contrib/policies/amavis.yaml
