# milter/report/local.mk: what the daemon tells the administrator: log
# lines (syslog or stderr) and the statistics. Every other part of milter/
# reports through it; it depends on none of them.
MILTER_REPORT_FILES = milter/report/log.c milter/report/log.h milter/report/stats.c \
	milter/report/stats.h milter/report/log_json.c milter/report/log_json.h
