# tests/milter/local.mk: milter-protocol tests, the built daemon driven by
# miltertest scripts (tests/milter/run.t).
MILTER_TEST_LUA = tests/milter/lib.lua tests/milter/negotiate.lua \
	tests/milter/envelope.lua tests/milter/eom.lua tests/milter/quarantine.lua \
	tests/milter/hold.lua tests/milter/storehold.lua tests/milter/storehold-nohold.lua tests/milter/macros.lua \
	tests/milter/edits.lua
MILTER_TEST_POLICY_FILES = tests/milter/policies/negotiate.yaml \
	tests/milter/policies/envelope.yaml tests/milter/policies/eom.yaml \
	tests/milter/policies/quarantine.yaml tests/milter/policies/hold.yaml \
	tests/milter/policies/storehold.yaml tests/milter/policies/storehold-nohold.yaml tests/milter/policies/macros.yaml \
	tests/milter/policies/edits.yaml
TESTS += tests/milter/run.t
EXTRA_DIST += tests/milter/run.t $(MILTER_TEST_LUA) $(MILTER_TEST_POLICY_FILES)

# libmilter's sigwait() is the daemon's own (milter/daemon/signals.c).
TESTS += tests/milter/sigwait.t
EXTRA_DIST += tests/milter/sigwait.t
