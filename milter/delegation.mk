# milter/delegation.mk: the delegation I/O (SMTP/LMTP client, receiver,
# tickets, the engine's delegate hook). milter/local.mk adds
# $(MILTER_DELEGATION_FILES) to the daemon's sources; tests/delegation uses
# them for its probe. They need $(OPENSSL_CFLAGS) and $(OPENSSL_LIBS).
MILTER_DELEGATION_FILES = milter/smtp_client.c milter/smtp_client.h \
	milter/receiver.c milter/receiver.h \
	milter/ticket.c milter/ticket.h \
	milter/delegate.c milter/delegate.h
