# policy/load/local.mk: the sections of a policy file into the compiled
# model: load.c the entry and the milter/receiver sections, services.c the
# services and lists, rules.c the stages' rules, mime.c milter.mime, spool.c milter.spool
# (conditions and effects are parsed by their tables, policy/cond and
# policy/effect).
POLICY_LOAD_FILES = policy/load/load.h policy/load/load.c policy/load/services.c \
	policy/load/rules.c policy/load/state.c policy/load/dns.c policy/load/mime.c \
	policy/load/spool.c
