# policy/load/local.mk: reading a policy file into the compiled model.
# reader.c holds the typed readers every section uses; load.c the entry.
POLICY_LOAD_FILES = policy/load/yaml_tree.c policy/load/yaml_tree.h \
	policy/load/reader.h policy/load/reader.c policy/load/load.h policy/load/load.c \
	policy/load/services.c policy/load/rules.c policy/load/conds.c
