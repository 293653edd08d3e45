/* server.h - the HTTP server around the emulator (libmicrohttpd). */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <stdint.h>

#include "emu.h"

struct server;

/*
 * Listen on @addr (IPv4 or IPv6 literal) and @port (0: any free port) and
 * serve @emu from a thread per connection. *@bound gets the real port.
 * Returns an owned server (server_destroy()) or NULL after printing why.
 */
/* tls_cert/tls_key: PEM texts to serve https with, or NULL for http. */
struct server *server_create(struct emu *emu, const char *addr, uint16_t port,
			     uint16_t *bound, const char *tls_cert,
			     const char *tls_key);
/* Stop serving, ending hanging requests first; accepts NULL. */
void server_destroy(struct server *srv);

#endif
