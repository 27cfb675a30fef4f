/*
 * limits.h - every fixed bound of stagemilter in one place, each with the
 * reason for its value. Bounds an administrator may want to change are
 * policy keys (milter.max_message_size, ...), not constants here.
 *
 * Text from outside is always cut to one of these before it is stored,
 * logged or sent on, so no peer can make a line or a buffer grow without
 * bound.
 */
#ifndef STAGEMILTER_LIMITS_H
#define STAGEMILTER_LIMITS_H

/* Texts. */
#define STM_TEMPLATE_MAX 998     /* an interpolated text: RFC 5322's longest header line */
#define STM_REPLY_TEXT_MAX 450   /* the text of an SMTP reply we give: RFC 5321's 512-byte
                                  * reply line less the code, the enhanced code and CRLF */
#define STM_REPLY_BUFFER_MAX (2 * STM_REPLY_TEXT_MAX + 1) /* that text with '%' doubled */
#define STM_LOG_LINE_MAX 2048    /* one log line */
#define STM_LOG_PEER_MAX 256     /* one value from a peer inside a log line */

/* Policy files. */
#define STM_YT_MAX_DEPTH 64 /* YAML nesting (libyaml has no limit of its own) */

/* SMTP conversations, with scanners and on the receiver. */
#define STM_SMTP_MAX_LINE 2048       /* longest command or reply line, without CRLF */
#define STM_SMTP_MAX_REPLY_LINES 100 /* longest multi-line reply accepted */
#define STM_RECEIVER_MAX_RCPTS 1000  /* recipients of one returned message */
#define STM_RECEIVER_MAX_ERRORS 10   /* bad commands before the receiver hangs up */
/* The receiver takes max_message_size plus a tenth plus 64 KB: what a scanner
 * adds to a delegated message (its headers, a spam report wrapping it). */
#define STM_RECEIVER_MARGIN_MIN 65536
#define STM_RECEIVER_MARGIN_DIV 10
/* Message bytes all receiver connections together may hold: twice that limit
 * plus this, so many small returns fit besides the two largest. */
#define STM_RECEIVER_BUDGET_EXTRA (16u * 1024 * 1024)
/* A message buffer grows by at most this at a time: the budget counts what
 * is allocated, which so stays close to what was received. */
#define STM_RECEIVER_GROW_STEP (1024u * 1024)
#define STM_SMTP_POOL_MAX 64         /* idle scanner connections kept for reuse */
#define STM_SMTP_POOL_IDLE_MS 10000  /* how long an idle scanner connection is kept */
#define STM_TICKET_TOKEN_LEN 32      /* lowercase hex characters (16 random bytes) */

/* Statistics. */
/* The decoded text a spooled message (larger than milter.spool.memory)
 * keeps for body, url and url_domain (defect limit past it): bounded, so 50
 * such messages at once stay within 100 MB (tests/bench/spool); as
 * SpamAssassin and rspamd, which also read only the start of large parts. */
#define STM_MIME_SPOOLED_TEXT (256u * 1024)
#define STM_STATS_MAX_RULES 1024   /* distinct rule names counted; more go to one overflow */
#define STM_STATS_MAX_SERVICES 256 /* distinct services counted */

#endif
