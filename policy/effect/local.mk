# policy/effect/local.mk: the table of `do:` effects and, one file per
# effect, how each is parsed and run (effect_table.h says why parse and run
# sit together here).
POLICY_EFFECT_FILES = policy/effect/effect_table.h policy/effect/effect_table.c \
	policy/effect/effect_header.c policy/effect/effect_set.c policy/effect/effect_score.c \
	policy/effect/effect_sender_ip.c policy/effect/effect_log.c \
	policy/effect/effect_change_header.c policy/effect/effect_delete_header.c \
	policy/effect/effect_prefix_subject.c policy/effect/effect_add_rcpt.c \
	policy/effect/effect_delete_rcpt.c policy/effect/effect_change_sender.c
