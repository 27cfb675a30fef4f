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
	tests/trace/change.yaml tests/trace/change.eml tests/trace/change.args tests/trace/change.out \
	tests/trace/quarantine-lmtp.yaml tests/trace/quarantine-lmtp.eml tests/trace/quarantine-lmtp.args tests/trace/quarantine-lmtp.out

