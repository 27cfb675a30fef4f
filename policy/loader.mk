# policy/loader.mk: sources of the loader part of libpolicy.
POLICY_LOADER_FILES =
