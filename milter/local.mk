# milter/local.mk: the daemon. Adapts libmilter callbacks to the engine.
# stagemilter stays in EXTRA_PROGRAMS (built on request: `make stagemilter`)
# until every part of libpolicy it links against has landed.
MILTER_FILES = milter/main.c milter/log.c milter/log.h milter/reply.c milter/reply.h \
	milter/socket.c milter/socket.h milter/callbacks.c milter/callbacks.h milter/trace.c \
	milter/trace.h milter/quarantine.c milter/quarantine.h
EXTRA_PROGRAMS = stagemilter
stagemilter_SOURCES = $(MILTER_FILES)
stagemilter_CFLAGS = $(AM_CFLAGS) $(MILTER_CFLAGS)
stagemilter_LDADD = $(POLICY_LIBS) $(MILTER_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)
