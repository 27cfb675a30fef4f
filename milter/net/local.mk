# milter/net/local.mk: asking the network. resolver.c is the engine's DNS
# resolver (stagemilter/dns.h) on libunbound: $(UNBOUND_CFLAGS) and
# $(UNBOUND_LIBS), part of MILTER_DEP_CFLAGS / MILTER_DEP_LIBS.
MILTER_NET_FILES = milter/net/resolver.c milter/net/resolver.h
