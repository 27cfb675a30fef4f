# tests/arch/local.mk: the parts depend on each other one way only (includes
# and calls without cycles, policy/ layered, no libmilter in policy/).
TESTS += tests/arch/includes.t
EXTRA_DIST += tests/arch/includes.t
