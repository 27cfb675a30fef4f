/*
 * reload.h - SIGHUP: load the policy anew and publish it, or keep the one in
 * use when the new one is invalid.
 */
#ifndef STAGEMILTER_MILTER_RELOAD_H
#define STAGEMILTER_MILTER_RELOAD_H

/* Load CONFIG (and every file it names) anew. Invalid: log every problem as
 * "reload: FILE:LINE:COLUMN: ...", keep the current policy, return -1.
 * Valid: log settings that only a restart applies (milter.socket unless
 * SOCKET_OVERRIDE, the -p value, is set; receiver.listen), publish it for
 * new connections (connections in flight keep theirs), return 0. Both
 * outcomes are counted (stats.h). */
int stm_reload(const char *config, const char *socket_override);

#endif
