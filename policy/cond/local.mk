# policy/cond/local.mk: the table of `if:` conditions and, one file per
# family, how each is parsed and judged (cond_table.h says why parse and
# eval sit together here).
POLICY_COND_FILES = policy/cond/cond_table.h policy/cond/cond_table.c policy/cond/cond_load.c \
	policy/cond/cond_parse.c policy/cond/cond_logic.c policy/cond/cond_envelope.c \
	policy/cond/cond_session.c policy/cond/cond_message.c policy/cond/cond_delegation.c \
	policy/cond/cond_state.c policy/cond/cond_dns.c policy/cond/cond_auth.c \
	policy/cond/cond_mime.c policy/cond/cond_scan.c
