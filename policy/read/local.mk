# policy/read/local.mk: reading YAML for the loader and the tables: the
# tree with source marks (yaml_tree.c) and the typed readers with the
# loader's state and reports (reader.c). Depends on base, match and run only.
POLICY_READ_FILES = policy/read/yaml_tree.c policy/read/yaml_tree.h policy/read/reader.h \
	policy/read/reader.c
