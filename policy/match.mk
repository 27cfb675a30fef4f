# policy/match.mk: sources of the match part of libpolicy.
POLICY_MATCH_FILES = policy/units.h policy/units.c policy/ipaddr.h policy/ipaddr.c \
	policy/strset.h policy/strset.c policy/cidr_trie.h policy/cidr_trie.c \
	policy/list.h policy/list.c policy/pattern.h policy/pattern.c
