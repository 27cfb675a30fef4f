# policy/loader.mk: sources of the loader part of libpolicy.
POLICY_LOADER_FILES = policy/diag.c policy/yaml_tree.c policy/yaml_tree.h policy/model.c \
	policy/config_internal.h policy/config.c policy/config_services.c policy/config_rules.c \
	policy/config_cond.c
