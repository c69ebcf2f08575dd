/*
 * DM messages over UART0, framed as examples/qemu-cortex-m/src/link.rs frames them
 * (docs/qemu.md, "The UART link"), so that the same host bridge serves both images:
 *
 *   frame = "IQ" kind:u8 len:u32le payload[len] crc:u32le  (CRC-32/ISO-HDLC of kind..payload)
 *
 * link_exchange is the session's iotadm_transport callback.
 */
#ifndef LINK_H
#define LINK_H

#include <stddef.h>
#include <stdint.h>

#include "iotadm.h"

/* Results other than 0. */
#define LINK_TIMEOUT 1    /* no complete answer in time */
#define LINK_FRAMING 2    /* not a frame of the expected kind */
#define LINK_CHECKSUM 3   /* a frame failed its CRC */
#define LINK_TOO_LARGE 4  /* a request or reply does not fit */
#define LINK_HOST 5       /* the host could not deliver the request */

/* How long to wait for each reply. */
#define LINK_TIMEOUT_MS 30000u

/* Asks the host for the factory bootstrap document: into `out` (`cap` bytes), its length
 * into `*len`. Returns 0 or a LINK_* code. */
int link_bootstrap(uint8_t *out, size_t cap, size_t *len);

/* iotadm_transport.exchange over the UART; `user` is unused. */
int link_exchange(void *user, const iotadm_request *request, iotadm_reply *reply);

#endif
