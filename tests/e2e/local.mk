# tests/e2e/local.mk: the end-to-end tests with real MTAs (run by tests/run,
# not by `make check`: they need root and namespaces) and what README's
# commands use. Listed here so that `make dist` ships them.
EXTRA_DIST += tests/run tests/lib/harness.sh tests/lib/mta_postfix.sh \
	tests/e2e/00-no-milter.t tests/e2e/01-rcpt-deny.t tests/e2e/12-long-address.t tests/e2e/13-regex-limit.t tests/e2e/policies/regex-limit.yaml tests/e2e/02-info.t \
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
# Operations end-to-end tests (reload, stop, privileges, statistics,
# quarantine release): run by tests/run like the other tests/e2e/*.t,
# listed here so that `make dist` ships them.
EXTRA_DIST += tests/lib/ops.sh tests/lib/smtp_client.py \
	tests/e2e/30-reload.t tests/e2e/31-reload-load.t tests/e2e/32-sigterm.t \
	tests/e2e/33-privileges.t tests/e2e/34-stats.t tests/e2e/35-quarantine-release.t \
	tests/e2e/36-reload-storm.t tests/e2e/policies/ops-storm.yaml \
	tests/e2e/policies/reload-old.yaml tests/e2e/policies/reload-new.yaml \
	tests/e2e/policies/reload-broken.yaml tests/e2e/policies/reload-a.yaml \
	tests/e2e/policies/reload-b.yaml tests/e2e/policies/ops-accept.yaml \
	tests/e2e/policies/ops-secret.yaml tests/e2e/policies/ops-stats.yaml
# Remembering (issue 12): greylisting and rate limits in LMDB, and two
# daemons behind two MTA instances sharing one Redis.
EXTRA_DIST += tests/e2e/60-greylist-lmdb.t tests/e2e/61-rate-limit.t tests/e2e/62-redis-fleet.t \
	tests/e2e/policies/greylist-lmdb.yaml tests/e2e/policies/rate-limit.yaml \
	tests/e2e/policies/redis-fleet.yaml
# Asking the network (DNS block lists against a real unbound).
EXTRA_DIST += tests/lib/dns.sh tests/e2e/50-dnsbl.t tests/e2e/policies/dnsbl.yaml \
	tests/e2e/51-auth-results.t tests/e2e/policies/auth-results.yaml
# What is inside the message (policy/mime): the rules of policies/mime.yaml
# on messages of the MIME corpus (tests/mime/corpus).
EXTRA_DIST += tests/e2e/40-mime-attachment.t tests/e2e/41-mime-subject.t tests/e2e/42-mime-url.t \
	tests/e2e/43-mime-zip-bomb.t tests/e2e/policies/mime.yaml
# Large messages kept in milter.spool while judged (its policy is in the test).
EXTRA_DIST += tests/e2e/44-spool.t
# Changing the message (effects carried out at the end of the message).
EXTRA_DIST += tests/e2e/80-change.t tests/e2e/policies/change.yaml \
	tests/e2e/81-log-json.t tests/e2e/policies/log-json.yaml \
	tests/e2e/82-quarantine-lmtp.t tests/e2e/policies/quarantine-lmtp.yaml tests/lib/dovecot_mail.sh \
	tests/e2e/83-quarantine-lmtp-tls.t tests/e2e/policies/quarantine-lmtp-tls.yaml
