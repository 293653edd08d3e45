/* routes.h - the emulated Cloudflare API under /client/v4. */
#ifndef EMU_ROUTES_H
#define EMU_ROUTES_H

#include "emu.h"
#include "http.h"

#define API_PREFIX "/client/v4"

/*
 * Route, authenticate, validate and answer one API request. Latency, rate
 * limiting, faults and the size limit are applied before, by the server.
 * Takes emu->lock itself.
 */
void routes_handle(struct emu *emu, struct request *req, struct answer *ans);

/* "bearer", "legacy" or "none": which credentials the request carried. */
const char *routes_auth_kind(struct request *req);

/* The path as logged and matched by faults: without API_PREFIX. */
const char *routes_api_path(const char *path);

#endif
