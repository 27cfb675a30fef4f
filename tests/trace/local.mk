# tests/trace/local.mk: golden outputs of --trace.
# --trace golden outputs: NAME.yaml + NAME.eml + NAME.args -> NAME.out.
TESTS += tests/trace/run.t
EXTRA_DIST += tests/trace/run.t \
	tests/trace/accept.yaml tests/trace/accept.eml tests/trace/accept.args tests/trace/accept.out \
	tests/trace/connect-reject.yaml tests/trace/connect-reject.eml tests/trace/connect-reject.args tests/trace/connect-reject.out \
	tests/trace/delegate.yaml tests/trace/delegate.eml tests/trace/delegate.args tests/trace/delegate.out \
	tests/trace/faccept.yaml tests/trace/faccept.eml tests/trace/faccept.args tests/trace/faccept.out \
	tests/trace/quarantine.yaml tests/trace/quarantine.eml tests/trace/quarantine.args tests/trace/quarantine.out \
	tests/trace/on-error.yaml tests/trace/on-error.eml tests/trace/on-error.args tests/trace/on-error.out \
	tests/trace/state.yaml tests/trace/state.eml tests/trace/state.args tests/trace/state.out \
	tests/trace/mime.yaml tests/trace/mime.eml tests/trace/mime.args tests/trace/mime.out
EXTRA_DIST += tests/trace/scan-many.yaml tests/trace/scan-many.eml tests/trace/scan-many.args \
	tests/trace/scan-many.out tests/trace/scan-noreceiver.yaml tests/trace/scan-noreceiver.eml \
	tests/trace/scan-noreceiver.args tests/trace/scan-noreceiver.out tests/trace/score.yaml tests/trace/score.eml tests/trace/score.args \
	tests/trace/score.out
EXTRA_DIST += tests/trace/change.yaml tests/trace/change.eml tests/trace/change.args tests/trace/change.out \
	tests/trace/quarantine-lmtp.yaml tests/trace/quarantine-lmtp.eml tests/trace/quarantine-lmtp.args tests/trace/quarantine-lmtp.out

# auth_results: what each Authentication-Results header said, trusted or not.
EXTRA_DIST += tests/trace/auth-results.yaml tests/trace/auth-results.eml \
	tests/trace/auth-results.args tests/trace/auth-results.out

# The MIME corpus (tests/mime/make-corpus.sh) and its --trace goldens.
TESTS += tests/mime/run.t
tests/mime/run.log: stagemilter$(EXEEXT)
EXTRA_DIST += tests/mime/run.t tests/mime/make-corpus.sh tests/mime/policy.yaml tests/mime/corpus \
	tests/mime/golden
