# tests/fuzz/local.mk: the libFuzzer targets (one per parser of outside
# input), their seed corpora and the scripts that build and run them with
# clang. Not part of make check: tests/run runs tests/fuzz/run.t, and
# tests/fuzz/run-long runs one target for longer (tests/fuzz/README.md).
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/build tests/fuzz/run.t tests/fuzz/run-long \
	tests/fuzz/fuzz.h tests/fuzz/fuzz_policy.c tests/fuzz/fuzz_smtp_reply.c \
	tests/fuzz/fuzz_smtp_session.c tests/fuzz/fuzz_receiver.c tests/fuzz/fuzz_template.c \
	tests/fuzz/fuzz_pattern.c tests/fuzz/fuzz_authres.c tests/fuzz/fuzz_dns_answer.c \
	tests/fuzz/fuzz_mime.c tests/fuzz/corpus
# The reply parsers of clamd, spamd and rspamd (milter/delegate/scanners.h).
EXTRA_DIST += tests/fuzz/fuzz_scanners.c
# Subject prefixing (effect_prefix_subject.c) and JSON log lines (log_json.c).
EXTRA_DIST += tests/fuzz/fuzz_prefix_subject.c tests/fuzz/fuzz_log_json.c
