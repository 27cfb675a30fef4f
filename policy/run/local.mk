# policy/run/local.mk: judging one transaction against a compiled policy.
POLICY_RUN_FILES = policy/run/message.c policy/run/session_internal.h policy/run/session.c \
	policy/run/delegation.c \
	policy/run/template.h policy/run/template.c policy/run/cond.h policy/run/cond.c \
	policy/run/effect.h \
	policy/run/engine.c policy/run/edit_types.h policy/run/edit.h policy/run/edit.c
