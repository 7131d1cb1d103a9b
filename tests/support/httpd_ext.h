/*
 * httpd_ext.h - additions to the loopback server's contract (httpd.h) that
 * only the fake provider's standalone binary needs.  Kept apart so httpd.h,
 * the agreed contract, stays unchanged.
 */
#ifndef SEER_TESTS_HTTPD_EXT_H
#define SEER_TESTS_HTTPD_EXT_H

#include "tests/support/httpd.h"

/* Like thttpd_start, but binds 127.0.0.1:port (0 = ephemeral).  Returns
 * NULL on failure (e.g. the port is taken).  Thread-safe. */
thttpd *thttpd_start_port(thttpd_handler h, void *arg, uint16_t port);

#endif
