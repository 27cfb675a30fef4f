# milter/delegate/local.mk: delegation I/O (the engine's delegate hook,
# tickets, the receiver, and the scanner protocols under smtp/). Used by the
# daemon and by tests/delegation's probe; they need $(OPENSSL_CFLAGS) and
# $(OPENSSL_LIBS), and rspamd.c $(JANSSON_CFLAGS) and $(JANSSON_LIBS).
MILTER_DELEGATE_FILES = milter/delegate/smtp/smtp_client.h milter/delegate/smtp/session.h \
	milter/delegate/smtp/protocol.c milter/delegate/smtp/io.c milter/delegate/smtp/tls.c \
	milter/delegate/smtp/reply.c milter/delegate/smtp/data.c milter/delegate/smtp/auth.c \
	milter/delegate/smtp/pool.c milter/delegate/smtp/scanner.c \
	milter/delegate/service.c milter/delegate/service.h \
	milter/delegate/receiver.c milter/delegate/receiver.h \
	milter/delegate/ticket.c milter/delegate/ticket.h \
	milter/delegate/delegate.c milter/delegate/delegate.h \
	milter/delegate/edits.c milter/delegate/edits.h \
	milter/delegate/wire.c milter/delegate/wire.h milter/delegate/scanners.h \
	milter/delegate/conn.c milter/delegate/conn.h milter/delegate/clamd.c \
	milter/delegate/spamd.c milter/delegate/rspamd.c
