/*
 * The DM client firmware in C: what a handset's baseband runs around iotadm, through the
 * C interface (include/iotadm.h) alone. It is examples/qemu-cortex-m's firmware again,
 * without the CDMA object the C interface does not carry.
 *
 * At every boot it reads the package header in front of its own image (none for the
 * factory image: version 1, "1.0.0"), opens the device on the emulated NOR part with FUMO
 * at ./FUMO/fw and its device information (DevInfo, DevDetail). A device without a DM
 * account asks the host for its factory bootstrap. Then it does what iotadm_fumo_poll
 * asks:
 *
 *   IOTADM_FUMO_IDLE (first time this boot)   checks in: a client-initiated session
 *   IOTADM_FUMO_REBOOT                        resets into the bootloader, which starts
 *                                             the new slot on trial
 *   IOTADM_FUMO_AWAITING_CONFIRM              confirms the new image
 *   IOTADM_FUMO_REPORT                        a session carrying the Generic Alert (1226)
 *
 * and stops QEMU (semihosting exit 0) when nothing is left. Sessions use 4 KiB messages
 * both ways, WBXML, and the HMAC credentials of the bootstrap both ways.
 *
 * All of the library's memory is the one static `dm_memory`: the device's storage and
 * the session buffers. Before it resets or stops, the firmware reports its stack's
 * high-water mark.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "iotadm.h"
#include "layout.h"
#include "link.h"

#ifdef SLOT_B
#define SLOT_BASE SLOT_B_BASE
#define SLOT_NAME "B"
#else
#define SLOT_BASE SLOT_A_BASE
#define SLOT_NAME "A"
#endif

/* The device model and hardware an update package must name; the same as the Rust image,
 * whose bootloader this image runs under. */
#define MODEL "iotadm-qemu"
#define HARDWARE_ID "mps2-an386"
/* The key update packages for this model are authenticated with (HMAC-SHA256). A
 * production device keeps its key in protected storage, not in the image. */
static const uint8_t package_key[] = "iotadm-qemu example package key";
/* The factory image: an image in a slot without a package header. */
#define FACTORY_VERSION 1u
#define FACTORY_VERSION_NAME "1.0.0"

/* Message size both ways, and the other session buffers. */
#define MSG 4096u
#define AUX 512u
#define SCRATCH 512u
#define HMAC 128u
/* Bytes for the open device: iotadm_build_info.device_size (6,648 with the Makefile's
 * settings) rounded up; checked at boot. */
#define DEVICE_SPACE 6656u

/* The update package header (docs/update-package.md), in front of the image in a slot. */
#define HEADER_MAGIC "IOTF"
#define HEADER_TO_CODE 80u
#define HEADER_TO_NAME 84u
#define HEADER_NAME_LEN 16u

/* Everything iotadm works in: handed over by pointer, never touched by this file while a
 * call runs. */
static struct {
    /* The device is aligned to at most 8 (checked at boot). */
    union {
        uint8_t bytes[DEVICE_SPACE];
        uint64_t align;
    } device;
    uint8_t rx[MSG];
    uint8_t aux[AUX];
    uint8_t tx[MSG];
    uint8_t scratch[SCRATCH];
    uint8_t hmac[HMAC];
} dm_memory;

/* The emulated NOR regions iotadm is given. */
static struct nor_region slot_a = {SLOT_A_BASE, SLOT_LEN};
static struct nor_region slot_b = {SLOT_B_BASE, SLOT_LEN};
static struct nor_region boot_state = {STATE_BASE, STATE_LEN};
static struct nor_region fumo_state = {FUMO_BASE, FUMO_LEN};
static struct nor_region tree = {TREE_BASE, TREE_LEN};

/* What the running image knows of itself. */
struct running {
    uint32_t version;
    char name[HEADER_NAME_LEN + 1];
};

/* How a boot ends. */
enum exit { EXIT_DONE, EXIT_REBOOT, EXIT_FAILED };

static bool ok(const char *what, int rc)
{
    if (rc == IOTADM_OK) {
        return true;
    }
    log_begin();
    log_str("error: ");
    log_str(what);
    log_str(": ");
    log_str(iotadm_strerror(rc));
    log_end();
    return false;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Reads the package header the installer wrote in front of this image; the factory
 * image has none. */
static void identify(struct running *me)
{
    struct nor_region own = {SLOT_BASE, SLOT_LEN};
    uint8_t header[HEADER_TO_NAME + HEADER_NAME_LEN];
    size_t i;
    me->version = FACTORY_VERSION;
    for (i = 0; i < sizeof FACTORY_VERSION_NAME; i++) {
        me->name[i] = FACTORY_VERSION_NAME[i];
    }
    if (!nor_read_bytes(&own, 0, header, sizeof header)) {
        return;
    }
    for (i = 0; i < 4; i++) {
        if (header[i] != (uint8_t)HEADER_MAGIC[i]) {
            return;
        }
    }
    me->version = get_u32(header + HEADER_TO_CODE);
    for (i = 0; i < HEADER_NAME_LEN && header[HEADER_TO_NAME + i] != 0; i++) {
        me->name[i] = (char)header[HEADER_TO_NAME + i];
    }
    me->name[i] = '\0';
}

/* Opens the device in dm_memory.device: the tree, and FUMO with the installer. */
static bool open_device(const struct running *me, iotadm_device **dev)
{
    iotadm_build_info info;
    iotadm_fumo_config fumo = {0};
    iotadm_device_config config = {0};
    iotadm_get_build_info(&info);
    if (info.device_size > sizeof dm_memory.device.bytes || info.device_align > 8) {
        log_begin();
        log_str("error: the device needs ");
        log_uint((uint32_t)info.device_size);
        log_str(" bytes");
        log_end();
        return false;
    }
    log_begin();
    log_str("device storage: ");
    log_uint((uint32_t)info.device_size);
    log_str(" of ");
    log_uint((uint32_t)sizeof dm_memory.device.bytes);
    log_str(" bytes");
    log_end();
    fumo.name = "fw";
    fumo.slot_a = nor_flash(&slot_a);
    fumo.slot_b = nor_flash(&slot_b);
    fumo.boot_state = nor_flash(&boot_state);
    fumo.fumo_state = nor_flash(&fumo_state);
    fumo.model = MODEL;
    fumo.hardware_id = HARDWARE_ID;
    fumo.version = me->version;
    fumo.key = package_key;
    fumo.key_len = sizeof package_key - 1;
    config.tree_flash = nor_flash(&tree);
    config.platform.random = prng_fill;
    config.fumo = &fumo;
    config.info.dev_id = "MEID:A0000049015420";
    config.info.man = "iotadm";
    config.info.model = MODEL;
    config.info.dm_version = "1.2";
    config.info.lang = "en-US";
    config.info.dev_type = "phone";
    config.info.oem = "iotadm";
    config.info.fw_version = me->name;
    config.info.sw_version = "c-firmware";
    config.info.hw_version = HARDWARE_ID;
    return ok("open", iotadm_device_open(dm_memory.device.bytes, sizeof dm_memory.device.bytes,
                                         &config, dev));
}

/* The name of the first DM account into `name`; false when there is none. */
static bool account(iotadm_device *dev, char *name, size_t cap)
{
    size_t len = 0, i;
    if (iotadm_node_get(dev, "./DMAcc", 0, (uint8_t *)name, cap - 1, &len, NULL) != IOTADM_OK) {
        return false;
    }
    for (i = 0; i < len && name[i] != '/'; i++) {
    }
    name[i] = '\0';
    return i > 0;
}

/* The factory bootstrap: the DM account, fetched from the host. */
static bool bootstrap(iotadm_device *dev)
{
    size_t len = 0, items = 0;
    int rc = link_bootstrap(dm_memory.rx, sizeof dm_memory.rx, &len);
    if (rc != 0) {
        log_begin();
        log_str("error: bootstrap link: ");
        log_uint((uint32_t)rc);
        log_end();
        return false;
    }
    if (!ok("bootstrap", iotadm_apply_bootstrap(dev, dm_memory.rx, len, NULL, dm_memory.scratch,
                                                sizeof dm_memory.scratch, &items))) {
        return false;
    }
    log_begin();
    log_str("bootstrapped: ");
    log_uint((uint32_t)items);
    log_str(" nodes");
    log_end();
    return true;
}

/* One client-initiated session with the device's account; a FUMO report waiting goes
 * with it. */
static bool session(iotadm_device *dev, iotadm_outcome *outcome)
{
    char name[IOTADM_ACCOUNT_SPACE];
    iotadm_session_params params = {0};
    const iotadm_transport transport = {NULL, link_exchange};
    const iotadm_buffers buffers = {
        dm_memory.rx,      sizeof dm_memory.rx,      dm_memory.aux,  sizeof dm_memory.aux,
        dm_memory.tx,      sizeof dm_memory.tx,      dm_memory.scratch,
        sizeof dm_memory.scratch,                    dm_memory.hmac, sizeof dm_memory.hmac,
    };
    if (!account(dev, name, sizeof name)) {
        log_begin();
        log_str("error: no DM account");
        log_end();
        return false;
    }
    params.account = name;
    params.server_initiated = false;
    params.encoding = IOTADM_ENCODING_WBXML;
    params.max_msg_size = MSG;
    params.max_obj_size = SLOT_LEN - IMAGE_OFFSET;
    if (!ok("session", iotadm_session_run(dev, &params, &transport, &buffers, outcome))) {
        return false;
    }
    log_begin();
    log_str("session over: ");
    log_uint(outcome->messages_sent);
    log_str(" messages sent");
    log_end();
    return true;
}

static enum exit run(iotadm_device *dev)
{
    unsigned sessions = 0;
    iotadm_outcome outcome;
    char name[IOTADM_ACCOUNT_SPACE];
    if (!account(dev, name, sizeof name) && !bootstrap(dev)) {
        return EXIT_FAILED;
    }
    for (;;) {
        int next = IOTADM_FUMO_IDLE;
        if (!ok("FUMO poll", iotadm_fumo_poll(dev, NULL, dm_memory.scratch,
                                              sizeof dm_memory.scratch, &next))) {
            return EXIT_FAILED;
        }
        switch (next) {
        case IOTADM_FUMO_REBOOT:
            return EXIT_REBOOT;
        case IOTADM_FUMO_AWAITING_CONFIRM:
            /* A real image runs its health checks first. */
            if (!ok("confirm", iotadm_fumo_confirm(dev))) {
                return EXIT_FAILED;
            }
            log_begin();
            log_str("update confirmed");
            log_end();
            break;
        case IOTADM_FUMO_REPORT: {
            iotadm_fumo_info info;
            if (!ok("FUMO info", iotadm_fumo_get_info(dev, &info))) {
                return EXIT_FAILED;
            }
            log_begin();
            log_str("reporting result ");
            log_uint(info.pending_result);
            log_end();
            if (!session(dev, &outcome)) {
                return EXIT_FAILED;
            }
            sessions++;
            if (!outcome.report_sent ||
                (outcome.report_status != IOTADM_STATUS_OK &&
                 outcome.report_status != IOTADM_STATUS_ACCEPTED)) {
                log_begin();
                log_str("report not acknowledged; kept for the next session");
                log_end();
                return EXIT_DONE;
            }
            break;
        }
        default:
            if (sessions > 0) {
                return EXIT_DONE;
            }
            if (!session(dev, &outcome)) {
                return EXIT_FAILED;
            }
            sessions++;
            break;
        }
    }
}

static void report_stack(void)
{
    log_begin();
    log_str("stack: peak ");
    log_uint(stack_peak());
    log_str(" bytes of ");
    log_uint(stack_capacity());
    log_end();
}

int main(void)
{
    struct running me;
    iotadm_device *dev = NULL;
    enum exit how = EXIT_FAILED;

    uart_init();
    identify(&me);
    log_begin();
    log_str("image ");
    log_str(me.name);
    log_str(" (version ");
    log_uint(me.version);
    log_str(") in slot " SLOT_NAME);
    log_end();
    if (open_device(&me, &dev)) {
        how = run(dev);
        iotadm_device_close(dev);
    }
    report_stack();
    log_begin();
    log_str(how == EXIT_REBOOT ? "reset" : how == EXIT_DONE ? "done" : "failed");
    log_end();
    if (how == EXIT_REBOOT) {
        board_reset();
    }
    board_exit(how == EXIT_DONE);
}
