# policy/run/local.mk: judging one transaction against a compiled policy.
POLICY_RUN_FILES = policy/run/message.c policy/run/session_internal.h policy/run/session.c \
	policy/run/delegation.c policy/run/session_mime.c policy/run/scan_result.c \
	policy/run/template.h policy/run/template.c policy/run/cond.h policy/run/cond.c \
	policy/run/effect.h \
	policy/run/engine.c policy/run/state_spec.h policy/run/state_spec.c policy/run/remember.h \
	policy/run/remember.c policy/run/dnsname.h policy/run/dnsname.c \
	policy/run/dnsbl.h policy/run/dnsbl.c \
	policy/run/edit_types.h policy/run/edit.h policy/run/edit.c
