# policy/match/local.mk: values and patterns a condition compares with.
POLICY_MATCH_FILES = policy/match/units.h policy/match/units.c policy/match/ipaddr.h \
	policy/match/ipaddr.c policy/match/strset.h policy/match/strset.c \
	policy/match/cidr_trie.h policy/match/cidr_trie.c policy/match/list.h policy/match/list.c \
	policy/match/pattern.h policy/match/pattern.c \
	policy/match/authres.h policy/match/authres.c
