# tests/bench/local.mk: the throughput benchmark (tests/bench/run), not part
# of `make check`. nullfilter is the do-nothing libmilter filter it compares
# stagemilter with; it is built with everything else so it never rots.
noinst_PROGRAMS += tests/bench/nullfilter
tests_bench_nullfilter_SOURCES = tests/bench/nullfilter.c
tests_bench_nullfilter_CFLAGS = $(AM_CFLAGS) $(MILTER_CFLAGS)
tests_bench_nullfilter_LDADD = $(MILTER_LIBS) $(PTHREAD_LIBS)
EXTRA_DIST += tests/bench/run tests/bench/README.md contrib/bench/policy.yaml \
	contrib/bench/make-domains
# The state bench (issue 12): rate + greylist in LMDB and Redis vs the
# nullfilter and postgrey.
EXTRA_DIST += tests/bench/state contrib/bench/state.yaml
# What four DNS block lists cost (tests/bench/dnsbl).
EXTRA_DIST += tests/bench/dnsbl
# The bench with rules that look inside the message (policy/mime).
EXTRA_DIST += tests/bench/mime tests/bench/mime-rules.yaml tests/bench/mime-mix.py
# Peak memory with 50 concurrent 20 MB messages, spooled vs in memory
# (tests/bench/spool, milter.spool).
EXTRA_DIST += tests/bench/spool
