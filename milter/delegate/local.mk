# milter/delegate/local.mk: delegation I/O (the engine's delegate hook,
# tickets, the receiver, and the scanner protocols under smtp/). Used by the
# daemon and by tests/delegation's probe; they need $(OPENSSL_CFLAGS) and
# $(OPENSSL_LIBS).
MILTER_DELEGATE_FILES = milter/delegate/smtp/smtp_client.c milter/delegate/smtp/smtp_client.h \
	milter/delegate/receiver.c milter/delegate/receiver.h \
	milter/delegate/ticket.c milter/delegate/ticket.h \
	milter/delegate/delegate.c milter/delegate/delegate.h
