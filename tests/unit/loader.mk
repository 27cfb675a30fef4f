# tests/unit/loader.mk: unit tests of the policy loader part, and the golden
# tests of `stagemilter --check` (tests/check/run.t).
TESTS += tests/check/run.t
tests/check/run.log: stagemilter$(EXEEXT)
EXTRA_DIST += tests/check/run.t tests/check/bad tests/check/good
