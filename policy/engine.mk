# policy/engine.mk: sources of the engine part of libpolicy.
POLICY_ENGINE_FILES = policy/message.c policy/session_internal.h policy/session.c policy/template.c \
	policy/cond.h policy/cond.c policy/engine.c
