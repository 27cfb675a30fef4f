# policy/load/local.mk: reading a policy file into the compiled model.
POLICY_LOAD_FILES = policy/load/diag.c policy/load/yaml_tree.c policy/load/yaml_tree.h \
	policy/load/load.h policy/load/load.c policy/load/services.c policy/load/rules.c \
	policy/load/conds.c
