# milter/state/local.mk: the stores behind stagemilter/state.h (memory,
# LMDB, Redis), the registry that opens them for a policy, and the
# --state admin commands.
MILTER_STATE_FILES = milter/state/state.h milter/state/record.h milter/state/record.c \
	milter/state/memory.c milter/state/lmdb.c milter/state/redis.c milter/state/registry.h \
	milter/state/registry.c milter/state/state_admin.h milter/state/state_admin.c
