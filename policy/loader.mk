# policy/loader.mk: sources of the loader part of libpolicy.
POLICY_LOADER_FILES = policy/diag.c policy/yaml_tree.c policy/yaml_tree.h policy/model.c
