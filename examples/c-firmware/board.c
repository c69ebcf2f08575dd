/*
 * The board's drivers for the C DM client on QEMU's MPS2 AN386: semihosting, UART0,
 * SysTick, the emulated NOR part in SSRAM1, the stack mark and the PRNG. The register
 * addresses and the NOR behaviour are those of examples/qemu-cortex-m (src/uart.rs,
 * src/nor.rs, src/stack.rs), which the same bootloader and tests expect.
 */
#include "board.h"

#include "layout.h"

/* ---- semihosting ---- */

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
/* SYS_OPEN's mode "w": on ":tt", the host's standard output (mode "r" is its input). */
#define OPEN_MODE_W 4
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUNTIME_ERROR 0x20023

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* One log line is built here and written whole, so lines do not interleave. */
static char line[160];
static size_t line_len;

void log_begin(void)
{
    line_len = 0;
    log_str("dm: ");
}

void log_str(const char *s)
{
    while (*s != '\0' && line_len + 1 < sizeof line) {
        line[line_len++] = *s++;
    }
}

void log_uint(uint32_t n)
{
    char digits[11];
    size_t i = sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n != 0 && i > 0);
    log_str(&digits[i]);
}

void log_end(void)
{
    static int out = -1;
    uint32_t args[3];
    line[line_len++] = '\n';
    if (out < 0) {
        static const char console[] = ":tt";
        args[0] = (uint32_t)(uintptr_t)console;
        args[1] = OPEN_MODE_W;
        args[2] = sizeof console - 1;
        out = semihost(SYS_OPEN, args);
    }
    args[0] = (uint32_t)out;
    args[1] = (uint32_t)(uintptr_t)line;
    args[2] = (uint32_t)line_len;
    semihost(SYS_WRITE, args);
}

void board_exit(bool success)
{
    /* On 32-bit Arm, SYS_EXIT takes the reason itself, not a block. */
    semihost(SYS_EXIT, (const void *)(uintptr_t)(success ? ADP_STOPPED_APPLICATION_EXIT
                                                         : ADP_STOPPED_RUNTIME_ERROR));
    for (;;) {
        __asm__ volatile("wfi");
    }
}

#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define AIRCR_VECTKEY (0x05FAu << 16)
#define AIRCR_SYSRESETREQ (1u << 2)

void board_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = AIRCR_VECTKEY | (SCB_AIRCR & (7u << 8)) | AIRCR_SYSRESETREQ;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
        __asm__ volatile("nop");
    }
}

/* ---- UART0 and SysTick ---- */

#define UART_DATA (*(volatile uint32_t *)0x40004000u)
#define UART_STATE (*(volatile uint32_t *)0x40004004u)
#define UART_CTRL (*(volatile uint32_t *)0x40004008u)
#define UART_BAUDDIV (*(volatile uint32_t *)0x40004010u)
#define UART_TX_FULL (1u << 0)
#define UART_RX_FULL (1u << 1)
#define UART_TX_EN (1u << 0)
#define UART_RX_EN (1u << 1)

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_ENABLE (1u << 0)
#define SYST_CORE_CLOCK (1u << 2)
#define SYST_MAX 0x00FFFFFFu
/* The board's system clock, which SysTick counts with the processor clock source. */
#define SYSCLK_HZ 25000000u

void uart_init(void)
{
    /* QEMU ignores a UART whose divider is below 16. */
    UART_BAUDDIV = 16;
    UART_CTRL = UART_TX_EN | UART_RX_EN;
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0;
    SYST_CSR = SYST_CORE_CLOCK | SYST_ENABLE;
}

void uart_write(const uint8_t *bytes, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        while ((UART_STATE & UART_TX_FULL) != 0) {
        }
        UART_DATA = bytes[i];
    }
}

void deadline_start(struct deadline *d, uint32_t ms)
{
    d->last = SYST_CVR;
    d->left = (uint64_t)ms * (SYSCLK_HZ / 1000u);
}

static bool deadline_expired(struct deadline *d)
{
    uint32_t now = SYST_CVR;
    /* SysTick counts down and wraps at its reload value. */
    uint32_t elapsed = (d->last - now) & SYST_MAX;
    d->last = now;
    d->left = d->left > elapsed ? d->left - elapsed : 0;
    return d->left == 0;
}

bool uart_read(struct deadline *d, uint8_t *b)
{
    for (;;) {
        if ((UART_STATE & UART_RX_FULL) != 0) {
            *b = (uint8_t)UART_DATA;
            return true;
        }
        if (deadline_expired(d)) {
            return false;
        }
    }
}

/* ---- the emulated NOR part ---- */

static bool in_region(const struct nor_region *r, uint32_t offset, size_t len)
{
    return offset <= r->len && len <= r->len - offset;
}

bool nor_read_bytes(const struct nor_region *r, uint32_t offset, uint8_t *buf, size_t len)
{
    size_t i;
    if (!in_region(r, offset, len)) {
        return false;
    }
    for (i = 0; i < len; i++) {
        buf[i] = *(volatile const uint8_t *)(uintptr_t)(r->base + offset + i);
    }
    return true;
}

static int nor_read(void *user, uint32_t offset, uint8_t *buf, size_t len)
{
    return nor_read_bytes(user, offset, buf, len) ? 0 : -1;
}

/* Programming only clears bits, as on NOR: a write over unerased data shows the
 * corruption a real part would. */
static int nor_write(void *user, uint32_t offset, const uint8_t *data, size_t len)
{
    const struct nor_region *r = user;
    size_t i;
    if (!in_region(r, offset, len) || offset % NOR_WORD != 0 || len % NOR_WORD != 0) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)(r->base + offset + i);
        *p = (uint8_t)(*p & data[i]);
    }
    return 0;
}

static int nor_erase(void *user, uint32_t from, uint32_t to)
{
    const struct nor_region *r = user;
    uint32_t at;
    if (from > to || to > r->len || from % NOR_SECTOR != 0 || to % NOR_SECTOR != 0) {
        return -1;
    }
    for (at = from; at < to; at += NOR_WORD) {
        *(volatile uint32_t *)(uintptr_t)(r->base + at) = 0xFFFFFFFFu;
    }
    return 0;
}

iotadm_flash nor_flash(struct nor_region *region)
{
    iotadm_flash f;
    f.user = region;
    f.size = region->len;
    f.write_size = NOR_WORD;
    f.erase_size = NOR_SECTOR;
    f.read = nor_read;
    f.write = nor_write;
    f.erase = nor_erase;
    return f;
}

/* ---- stack ---- */

/* What startup.c fills the stack with at reset. */
#define STACK_PAINT 0xCCCCCCCCu

extern uint32_t __stack_limit;
extern uint32_t __stack_top;

uint32_t stack_peak(void)
{
    const uint32_t *at = &__stack_limit;
    while (at < &__stack_top && *(volatile const uint32_t *)at == STACK_PAINT) {
        at++;
    }
    return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)at);
}

uint32_t stack_capacity(void)
{
    return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_limit);
}

/* ---- randomness ---- */

/*
 * The board has no random number generator. SysTick's value at each call (after host
 * waits of varying length) is the only entropy stirred in, which is not enough for
 * security: a handset uses its hardware RNG here.
 */
static uint64_t prng_state = 0x696F7461646D0002ull;

void prng_fill(void *user, uint8_t *buf, size_t len)
{
    size_t i = 0;
    (void)user;
    while (i < len) {
        uint64_t z;
        unsigned k;
        prng_state += 0x9E3779B97F4A7C15ull + SYST_CVR;
        z = prng_state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (k = 0; k < 8 && i < len; k++, i++) {
            buf[i] = (uint8_t)(z >> (8 * k));
        }
    }
}

/* ---- bytes ---- */

size_t text_len(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

bool text_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

bool text_contains(const char *s, const char *part)
{
    size_t n = text_len(part), i;
    for (; *s != '\0'; s++) {
        for (i = 0; i < n && s[i] == part[i]; i++) {
        }
        if (i == n) {
            return true;
        }
    }
    return n == 0;
}
