# policy/local.mk: the rule engine library. No libmilter here.
# Each part lists its own files in its own fragment.
noinst_LIBRARIES += policy/libpolicy.a
policy_libpolicy_a_SOURCES = policy/types.c policy/model.h policy/template.h \
	$(POLICY_LOADER_FILES) $(POLICY_MATCH_FILES) $(POLICY_ENGINE_FILES)
policy_libpolicy_a_CPPFLAGS = $(AM_CPPFLAGS) $(YAML_CFLAGS) $(PCRE2_CFLAGS)
POLICY_LIBS = policy/libpolicy.a $(YAML_LIBS) $(PCRE2_LIBS)

include policy/loader.mk
include policy/match.mk
include policy/engine.mk
