# doc/local.mk: the manual pages and the sample policy, installed with the
# daemon. The pages are plain man(7); the sample is contrib/policies/
# example.yaml (shipped by tests/e2e/local.mk), installed under another name
# so that it never replaces an administrator's stagemilter.yaml.
dist_man_MANS = doc/stagemilter.8 doc/stagemilter.yaml.5
# What Postfix and Sendmail do differently, as observed (README links it).
EXTRA_DIST += doc/mta-differences.md

stagemilterconfdir = $(sysconfdir)/stagemilter
STAGEMILTER_SAMPLE = stagemilter.yaml.sample

install-data-hook:
	$(MKDIR_P) '$(DESTDIR)$(stagemilterconfdir)'
	$(INSTALL_DATA) '$(srcdir)/contrib/policies/example.yaml' \
		'$(DESTDIR)$(stagemilterconfdir)/$(STAGEMILTER_SAMPLE)'

uninstall-hook:
	rm -f '$(DESTDIR)$(stagemilterconfdir)/$(STAGEMILTER_SAMPLE)'

# The systemd unit and its notes ship with the sources; installing the unit
# is left to packagers (its paths depend on --prefix and the distribution).
EXTRA_DIST += contrib/systemd/stagemilter.service contrib/systemd/README

# The pages render without groff warnings and name every key, verb,
# condition, variable and option the code accepts.
TESTS += doc/man.t
EXTRA_DIST += doc/man.t
