# milter/mta/local.mk: the libmilter side: callbacks into the engine, and
# verdicts into replies in one place.
MILTER_MTA_FILES = milter/mta/callbacks.c milter/mta/callbacks.h milter/mta/reply.c \
	milter/mta/reply.h milter/mta/apply.c milter/mta/apply.h \
	milter/mta/quarantine_lmtp.c milter/mta/quarantine_lmtp.h
