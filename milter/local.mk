# milter/local.mk: the daemon. Adapts libmilter callbacks to the engine and
# does every piece of I/O. Each part lists its own files in its own fragment;
# they depend on each other one way only, in this order (tests/arch/includes.t):
#   milter/report/    log lines and statistics (every other part reports through it)
#   milter/store/     the quarantine store and its admin commands
#   milter/state/     what rules remember: memory, LMDB and Redis stores, --state
#   milter/net/       asking the network: the DNS resolver (libunbound)
#   milter/delegate/  delegation, tickets, the receiver, scanner protocols (smtp/)
#   milter/mta/       libmilter callbacks, replies, applying edits to the MTA's copy
#   milter/daemon/    main, signals, reload, privileges, sockets, --trace
MILTER_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/milter

include milter/report/local.mk
include milter/store/local.mk
include milter/state/local.mk
include milter/net/local.mk
include milter/delegate/local.mk
include milter/mta/local.mk
include milter/daemon/local.mk

sbin_PROGRAMS += stagemilter
stagemilter_SOURCES = $(MILTER_REPORT_FILES) $(MILTER_STORE_FILES) $(MILTER_STATE_FILES) \
	$(MILTER_NET_FILES) $(MILTER_DELEGATE_FILES) \
	$(MILTER_MTA_FILES) $(MILTER_DAEMON_FILES)
stagemilter_CPPFLAGS = $(MILTER_CPPFLAGS)
# The libraries of the daemon's own parts (DNS, state stores, JSON), for
# its unit tests too.
MILTER_DEP_CFLAGS = $(UNBOUND_CFLAGS) $(LMDB_CFLAGS) $(HIREDIS_CFLAGS) $(JANSSON_CFLAGS)
MILTER_DEP_LIBS = $(UNBOUND_LIBS) $(LMDB_LIBS) $(HIREDIS_LIBS) $(JANSSON_LIBS)
stagemilter_CFLAGS = $(AM_CFLAGS) $(MILTER_CFLAGS) $(OPENSSL_CFLAGS) $(MILTER_DEP_CFLAGS)
stagemilter_LDADD = $(POLICY_LIBS) $(MILTER_LIBS) $(OPENSSL_LIBS) $(MILTER_DEP_LIBS) $(PTHREAD_LIBS)
