# tests/soak/local.mk: the soak test (tests/soak/run, about 10 minutes: not
# part of tests/run nor of `make check`; see tests/soak/README.md). Listed
# here so that `make dist` ships it.
EXTRA_DIST += tests/soak/run tests/soak/soak_client.py tests/soak/soak.yaml \
	tests/soak/README.md
