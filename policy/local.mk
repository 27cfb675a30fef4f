# policy/local.mk: the rule engine library. No libmilter here, no sockets.
# Each part lists its own files in its own fragment:
#   policy/load/   YAML tree, typed readers, one file per section of the policy
#   policy/match/  units, addresses, string sets, CIDR trie, lists, patterns
#   policy/run/    message, session and its delegations, templates, conditions, the engine
#   policy/cond/   the table of conditions, their parsing and judging
#   policy/effect/ the table of effects, their parsing and running
#   policy/base/   the clock, the text sanitizer, diagnostics; shared with milter/
# The compiled form (model.h, freed by model.c) and the vocabulary (types.c,
# verbs.c) are shared by all; policy.c is the public API of policy.h.
noinst_LIBRARIES += policy/libpolicy.a
policy_libpolicy_a_SOURCES = policy/policy.c policy/types.c policy/verbs.c policy/model.h \
	policy/model.c $(POLICY_BASE_FILES) $(POLICY_LOAD_FILES) $(POLICY_MATCH_FILES) \
	$(POLICY_RUN_FILES) $(POLICY_COND_FILES) $(POLICY_EFFECT_FILES)
policy_libpolicy_a_CPPFLAGS = $(AM_CPPFLAGS) $(YAML_CFLAGS) $(PCRE2_CFLAGS)
POLICY_LIBS = policy/libpolicy.a $(YAML_LIBS) $(PCRE2_LIBS)

include policy/base/local.mk
include policy/load/local.mk
include policy/match/local.mk
include policy/run/local.mk
include policy/cond/local.mk
include policy/effect/local.mk
