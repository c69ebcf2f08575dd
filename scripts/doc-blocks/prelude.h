/* What the C blocks of the documentation take from the integrator's firmware: declared
 * here, as a firmware's own headers would, so that scripts/doc-blocks.py compiles each
 * block against iotadm.h with nothing else made up inside it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iotadm.h"

#define TREE_SIZE (16u * 1024u)
#define FW_VERSION "1.0.3"
#define SW_VERSION "BB-2.4"

/* The NOR flash driver. */
struct nor_part { uint32_t base; };
extern struct nor_part nor;
int nor_read(void *user, uint32_t offset, uint8_t *buf, size_t len);
int nor_write(void *user, uint32_t offset, const uint8_t *data, size_t len);
int nor_erase(void *user, uint32_t from, uint32_t to);

/* The hardware random number generator and the real-time clock. */
void trng_fill(void *user, uint8_t *buf, size_t len);
int64_t rtc_unix_time(void *user);

/* The handset's user interface. */
int ui_ask(void *user, const struct iotadm_ui_request *request, struct iotadm_ui_answer *answer);
void ui_inform(void *user, const char *server_id);
bool ui_allow(void *user, const char *server_id);

/* The vendor's node handlers and FUMO set-up. */
extern const iotadm_node_handler handlers[];
extern const size_t n;
extern const iotadm_fumo_config fumo;
