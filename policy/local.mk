# policy/local.mk: the rule engine library. No libmilter here, no sockets.
# Each part lists its own files in its own fragment; they depend on each
# other one way only, in this order (tests/arch/includes.t checks it):
#   policy/base/   the clock, the text sanitizer, diagnostics; shared with milter/
#   policy/match/  units, addresses, string sets, CIDR trie, lists, patterns
#   policy/mime/   what is inside a message: decoded MIME, archives, URLs
#   policy/run/    message, session and its delegations, templates, the engine
#                  (it judges conditions and runs effects through the function
#                  each compiled node carries, so it needs neither table)
#   policy/read/   the YAML tree with marks and the typed readers
#   policy/cond/   the table of conditions, their parsing and judging
#   policy/effect/ the table of effects, their parsing and running
#   policy/load/   one file per section of the policy, and the entry
# The compiled form (model.h, freed by model.c) and the vocabulary (types.c,
# verbs.c) are shared by all; policy.c is the public API of policy.h.
noinst_LIBRARIES += policy/libpolicy.a
policy_libpolicy_a_SOURCES = policy/policy.c policy/types.c policy/verbs.c policy/model.h \
	policy/model.c $(POLICY_BASE_FILES) $(POLICY_MATCH_FILES) $(POLICY_MIME_FILES) $(POLICY_RUN_FILES) \
	$(POLICY_READ_FILES) $(POLICY_COND_FILES) $(POLICY_EFFECT_FILES) $(POLICY_LOAD_FILES)
policy_libpolicy_a_CPPFLAGS = $(AM_CPPFLAGS) $(YAML_CFLAGS) $(PCRE2_CFLAGS) $(GMIME_CFLAGS) \
	$(ARCHIVE_CFLAGS) $(MAGIC_CFLAGS)
POLICY_LIBS = policy/libpolicy.a $(YAML_LIBS) $(PCRE2_LIBS) $(GMIME_LIBS) $(ARCHIVE_LIBS) $(MAGIC_LIBS)

include policy/base/local.mk
include policy/match/local.mk
include policy/mime/local.mk
include policy/run/local.mk
include policy/read/local.mk
include policy/cond/local.mk
include policy/effect/local.mk
include policy/load/local.mk
