/*
 * The board under the DM client: semihosting (the log and QEMU's exit), UART0 with
 * SysTick deadlines, the emulated NOR part as iotadm_flash regions, the stack's
 * high-water mark and the pseudo-random generator. Nothing here knows DM.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iotadm.h"

/* ---- semihosting ---- */

/* Writes one line to the host's standard output: the pieces, then a newline. A piece is
 * a string, or (log_uint) a number. */
void log_begin(void);
void log_str(const char *s);
void log_uint(uint32_t n);
void log_end(void);

/* Stops QEMU with status 0 (success) or 1. */
void board_exit(bool success) __attribute__((noreturn));

/* Resets the system: the bootloader runs again, the emulated NOR part is kept. */
void board_reset(void) __attribute__((noreturn));

/* ---- UART0 (CMSDK APB UART, polled) and SysTick ---- */

/* Enables UART0 and starts SysTick free-running for deadlines. */
void uart_init(void);

/* Sends `len` bytes, waiting for room as needed. */
void uart_write(const uint8_t *bytes, size_t len);

/* A point in time ahead, counted down on SysTick; polled at least every 0.67 s. */
struct deadline {
    uint32_t last;
    uint64_t left;
};

void deadline_start(struct deadline *d, uint32_t ms);

/* The next received byte into `*b`; false once `d` has passed. */
bool uart_read(struct deadline *d, uint8_t *b);

/* ---- the emulated NOR part ---- */

/* One region of the part: `len` bytes from `base`. */
struct nor_region {
    uint32_t base;
    uint32_t len;
};

/* Describes `region` as iotadm drives flash. */
iotadm_flash nor_flash(struct nor_region *region);

/* Reads `len` bytes at `offset` of `region`; false when out of range. */
bool nor_read_bytes(const struct nor_region *region, uint32_t offset, uint8_t *buf, size_t len);

/* ---- stack ---- */

/* Bytes of stack used since reset at most, and the bytes it may grow to. */
uint32_t stack_peak(void);
uint32_t stack_capacity(void);

/* ---- randomness ---- */

/* SplitMix64 seeded and stirred with SysTick: iotadm_platform.random. */
void prng_fill(void *user, uint8_t *buf, size_t len);

/* ---- bytes ---- */

size_t text_len(const char *s);
bool text_eq(const char *a, const char *b);
bool text_contains(const char *s, const char *part);

#endif
