# tests/e2e/local.mk: the end-to-end tests with real MTAs (run by tests/run,
# not by `make check`: they need root and namespaces) and what README's
# commands use. Listed here so that `make dist` ships them.
EXTRA_DIST += tests/run tests/lib/harness.sh tests/lib/mta_postfix.sh \
	tests/e2e/00-no-milter.t tests/e2e/01-rcpt-deny.t tests/e2e/02-info.t \
	tests/e2e/03-faccept.t tests/e2e/04-connect-reject.t \
	tests/e2e/05-quarantine-store.t tests/e2e/06-quarantine-hold.t \
	tests/e2e/07-add-header.t tests/e2e/08-no-decision.t \
	tests/e2e/09-milter-down.t tests/e2e/10-inet.t \
	tests/e2e/policies/rcpt-deny.yaml tests/e2e/policies/info.yaml \
	tests/e2e/policies/faccept.yaml tests/e2e/policies/connect-reject.yaml \
	tests/e2e/policies/quarantine-store.yaml tests/e2e/policies/quarantine-hold.yaml \
	tests/e2e/policies/add-header.yaml tests/e2e/policies/no-decision.yaml \
	.ci/run contrib/install-deps.sh contrib/quickstart.sh \
	contrib/policies/example.yaml contrib/postfix/main.cf
# Sendmail, macro and AUTH pieces the suite runs too (tests/run runs the
# e2e tests again for every tests/lib/mta_*.sh).
EXTRA_DIST += tests/e2e/11-macros.t tests/e2e/policies/macros.yaml \
	tests/e2e/sendmail-sanity.t tests/lib/dovecot.sh tests/lib/mta_sendmail.sh \
	tests/lib/sendmail/devlog-ns.sh tests/lib/sendmail/fetch.sh \
	tests/lib/sendmail/syslogd.py tests/lib/sendmail/test.mc \
	contrib/sendmail/stagemilter.mc
