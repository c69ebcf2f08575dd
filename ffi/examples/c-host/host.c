/*
 * c-host: a whole iotadm device written in C against include/iotadm.h alone, for a POSIX
 * host. It is the reference for docs/c-api.md and what tests/c_api.rs runs against
 * `iotadm serve` (the scripts examples/scripts/c-host-*.toml).
 *
 * The device keeps its management tree in RAM flash (a file between runs, with --flash),
 * reports its device information (DevInfo, and DevDetail's versions from a table of its
 * own, through a node handler), keeps the CDMA NAM parameters in its
 * "non-volatile items" (a table) and the roaming lists, streamed in chunks, in a store of
 * their own, keeps rules of its own on its DM accounts, runs SPASM validation as an Exec,
 * answers the user questions of a session from a fixed policy, and talks DM over HTTP/1.1
 * on 127.0.0.1.
 * Every step prints one line; tests read them.
 *
 *   c-host --account ID [--flash FILE] [--bootstrap FILE] [--notification FILE]
 *
 * With --bootstrap, the device is first provisioned as at the factory (a trusted bootstrap,
 * NAM 0). Then, with --notification, it verifies that package 0 and
 * runs the server-initiated session it asks for; without, it runs a client-initiated
 * session of the account.
 *
 * Build: gcc -std=c99 -Wall -Wextra -Werror -I ffi/include host.c \
 *            ffi/target/debug/libiotadm_ffi.a -o c-host
 */
#define _POSIX_C_SOURCE 200112L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "iotadm.h"

/* ---- Small helpers ------------------------------------------------------------------ */

static int failures;

/* Reports an iotadm result other than IOTADM_OK; returns whether it was IOTADM_OK. */
static bool ok(const char *what, int rc)
{
    if (rc == IOTADM_OK) {
        return true;
    }
    printf("error: %s: %d (%s)\n", what, rc, iotadm_strerror(rc));
    failures++;
    return false;
}

/* Checks one expectation about the API itself. */
static void check(const char *what, bool holds)
{
    printf("check %s: %s\n", what, holds ? "ok" : "FAILED");
    if (!holds) {
        failures++;
    }
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *bytes = NULL;
    long size;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        goto out;
    }
    bytes = malloc((size_t)size + 1);
    if (bytes != NULL && fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        free(bytes);
        bytes = NULL;
    }
    *len = (size_t)size;
out:
    if (f != NULL) {
        fclose(f);
    }
    return bytes;
}

/* ---- Flash: a NOR part in RAM ------------------------------------------------------- */

/* Erase sets bytes to 0xFF; a write only clears bits, as on NOR flash. */
struct ram_flash {
    uint8_t *bytes;
    uint32_t size;
};

static bool in_bounds(const struct ram_flash *f, uint32_t offset, size_t len)
{
    return offset <= f->size && len <= (size_t)(f->size - offset);
}

static int flash_read(void *user, uint32_t offset, uint8_t *buf, size_t len)
{
    const struct ram_flash *f = user;
    if (!in_bounds(f, offset, len)) {
        return -1;
    }
    memcpy(buf, f->bytes + offset, len);
    return 0;
}

static int flash_write(void *user, uint32_t offset, const uint8_t *data, size_t len)
{
    struct ram_flash *f = user;
    size_t i;
    if (!in_bounds(f, offset, len)) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        f->bytes[offset + i] &= data[i];
    }
    return 0;
}

static int flash_erase(void *user, uint32_t from, uint32_t to)
{
    struct ram_flash *f = user;
    if (from > to || !in_bounds(f, from, to - from)) {
        return -1;
    }
    memset(f->bytes + from, 0xFF, to - from);
    return 0;
}

/* ---- Randomness and time ------------------------------------------------------------ */

static void random_bytes(void *user, uint8_t *buf, size_t len)
{
    FILE *urandom = user;
    if (fread(buf, 1, len, urandom) != len) {
        /* A device without entropy must not run sessions: stop here. */
        fprintf(stderr, "c-host: /dev/urandom failed\n");
        exit(2);
    }
}

static int64_t unix_time(void *user)
{
    (void)user;
    return (int64_t)time(NULL);
}

/* ---- The user ----------------------------------------------------------------------- */

static const char *ui_kind(uint16_t kind)
{
    switch (kind) {
    case IOTADM_UI_DISPLAY: return "display";
    case IOTADM_UI_CONFIRM: return "confirm";
    case IOTADM_UI_TEXT_INPUT: return "text-input";
    case IOTADM_UI_SINGLE_CHOICE: return "single-choice";
    case IOTADM_UI_MULTIPLE_CHOICE: return "multiple-choice";
    default: return "unknown";
    }
}

/*
 * A user who reads every message, says yes, types "4100" and picks the second choice (and,
 * where several may be picked, the first and the third).
 */
static int ui_ask(void *user, const iotadm_ui_request *rq, iotadm_ui_answer *answer)
{
    static const char typed[] = "4100";
    size_t i;
    (void)user;
    printf("ui %s \"%s\"", ui_kind(rq->kind), rq->text);
    for (i = 0; i < rq->choice_count; i++) {
        printf(" [%zu:%s]", i + 1, rq->choices[i]);
    }
    switch (rq->kind) {
    case IOTADM_UI_DISPLAY:
    case IOTADM_UI_CONFIRM:
        printf(" -> yes\n");
        return IOTADM_UI_OK;
    case IOTADM_UI_TEXT_INPUT:
        if (answer->text_capacity < sizeof typed - 1) {
            printf(" -> no room\n");
            return IOTADM_UI_NOT_SUPPORTED;
        }
        memcpy(answer->text, typed, sizeof typed - 1);
        answer->text_len = sizeof typed - 1;
        printf(" -> \"%s\"\n", typed);
        return IOTADM_UI_TEXT;
    case IOTADM_UI_SINGLE_CHOICE:
        answer->choices = 1u << 1;
        printf(" -> 2\n");
        return IOTADM_UI_CHOICES;
    case IOTADM_UI_MULTIPLE_CHOICE:
        answer->choices = (1u << 0) | (1u << 2);
        printf(" -> 1,3\n");
        return IOTADM_UI_CHOICES;
    default:
        printf(" -> not supported\n");
        return IOTADM_UI_NOT_SUPPORTED;
    }
}

static void ui_inform(void *user, const char *server_id)
{
    (void)user;
    printf("ui informed: %s starts a session\n", server_id);
}

static bool ui_allow(void *user, const char *server_id)
{
    (void)user;
    printf("ui asked: may %s start a session? yes\n", server_id);
    return true;
}

/* ---- Node handlers ------------------------------------------------------------------ */

/* Copies the part of the `len` bytes at `value` from `offset` that fits `out`, as a read
 * callback answers. */
static int serve_bytes(const uint8_t *value, size_t len, size_t offset, uint8_t *out,
                       size_t out_len, size_t *written, size_t *total)
{
    size_t n = offset < len ? len - offset : 0;
    if (n > out_len) {
        n = out_len;
    }
    if (n > 0) {
        memcpy(out, value + offset, n);
    }
    *written = n;
    *total = len;
    return IOTADM_STATUS_OK;
}

static int serve(const char *value, size_t offset, uint8_t *out, size_t out_len,
                 size_t *written, size_t *total)
{
    return serve_bytes((const uint8_t *)value, strlen(value), offset, out, out_len, written,
                       total);
}

static const char *by(const iotadm_node_ref *node)
{
    return node->server_id != NULL ? node->server_id : "the device";
}

/* FNV-1a, 32 bits: what the tests compare a streamed value by. */
static uint32_t fnv1a(const uint8_t *bytes, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < len; i++) {
        h = (h ^ bytes[i]) * 16777619u;
    }
    return h;
}

/* ./DevDetail: the versions the platform reports, read-only. (LrgObj and the URI limits
 * are iotadm's own to report.) */
static const char *const dev_detail[][2] = {
    {"DevDetail/DevTyp", "phone"},
    {"DevDetail/OEM", "Example Handsets"},
    {"DevDetail/FwV", "BB-7.2.1"},
    {"DevDetail/SwV", "c-host-1.0"},
    {"DevDetail/HwV", "rev-C"},
};

static int dev_detail_read(void *user, const iotadm_node_ref *node, size_t offset, uint8_t *out,
                           size_t out_len, size_t *written, size_t *total)
{
    size_t i;
    (void)user;
    printf("handler read %s\n", node->path);
    for (i = 0; i < sizeof dev_detail / sizeof dev_detail[0]; i++) {
        if (strcmp(node->path, dev_detail[i][0]) == 0) {
            return serve(dev_detail[i][1], offset, out, out_len, written, total);
        }
    }
    return IOTADM_STATUS_NOT_FOUND;
}

/* ./CDMA/NAM/<x>: the NAM parameters, kept in the baseband's non-volatile items. */
#define NV_ITEMS 16
#define NV_PATH 64
#define NV_VALUE 64

struct nv {
    char path[NV_ITEMS][NV_PATH];
    char value[NV_ITEMS][NV_VALUE];
    size_t count;
};

static char *nv_find(struct nv *nv, const char *path)
{
    size_t i;
    for (i = 0; i < nv->count; i++) {
        if (strcmp(nv->path[i], path) == 0) {
            return nv->value[i];
        }
    }
    return NULL;
}

static void nv_set(struct nv *nv, const char *path, const char *value)
{
    char *slot = nv_find(nv, path);
    if (slot == NULL && nv->count < NV_ITEMS) {
        snprintf(nv->path[nv->count], NV_PATH, "%s", path);
        slot = nv->value[nv->count++];
    }
    if (slot != NULL) {
        snprintf(slot, NV_VALUE, "%s", value);
    }
}

/* The roaming lists (PRL, EXT_PRL) are larger than a message: the baseband keeps them in a
 * store of their own, written in chunks as the server streams them, and replaced only when
 * the whole list has arrived. */
#define PRL_MAX 16384

struct prl {
    uint8_t value[PRL_MAX];
    size_t len;
    uint8_t staged[PRL_MAX];
    size_t staged_len;
};

static struct prl prl;

static bool is_prl(const char *path)
{
    const char *leaf = strrchr(path, '/');
    return leaf != NULL && (strcmp(leaf, "/PRL") == 0 || strcmp(leaf, "/EXT_PRL") == 0);
}

static int nam_read(void *user, const iotadm_node_ref *node, size_t offset, uint8_t *out,
                    size_t out_len, size_t *written, size_t *total)
{
    const char *value = nv_find(user, node->path);
    printf("handler read %s\n", node->path);
    if (is_prl(node->path)) {
        return serve_bytes(prl.value, prl.len, offset, out, out_len, written, total);
    }
    if (value == NULL) {
        return IOTADM_STATUS_NOT_FOUND;
    }
    return serve(value, offset, out, out_len, written, total);
}

static int prl_begin(void *user, const iotadm_node_ref *node, uint64_t total)
{
    (void)user;
    if (!is_prl(node->path)) {
        /* The other NAM parameters are small: they always come whole. */
        return IOTADM_STATUS_COMMAND_NOT_ALLOWED;
    }
    if (total != IOTADM_SIZE_UNKNOWN && total > PRL_MAX) {
        return IOTADM_STATUS_REQUEST_ENTITY_TOO_LARGE;
    }
    prl.staged_len = 0;
    printf("handler write-begin %s total=%llu by %s\n", node->path, (unsigned long long)total,
           by(node));
    return IOTADM_STATUS_OK;
}

static int prl_chunk(void *user, const iotadm_node_ref *node, uint64_t offset,
                     const uint8_t *chunk, size_t len)
{
    (void)user;
    if (offset != prl.staged_len || len > PRL_MAX - prl.staged_len) {
        return IOTADM_STATUS_COMMAND_FAILED;
    }
    memcpy(prl.staged + prl.staged_len, chunk, len);
    prl.staged_len += len;
    printf("handler write-chunk %s offset=%llu len=%zu\n", node->path,
           (unsigned long long)offset, len);
    return IOTADM_STATUS_OK;
}

static int prl_end(void *user, const iotadm_node_ref *node, bool commit)
{
    (void)user;
    if (commit) {
        memcpy(prl.value, prl.staged, prl.staged_len);
        prl.len = prl.staged_len;
        printf("handler write-end %s kept %zu bytes fnv1a=%08x\n", node->path, prl.len,
               (unsigned)fnv1a(prl.value, prl.len));
    } else {
        printf("handler write-end %s dropped\n", node->path);
    }
    return IOTADM_STATUS_OK;
}

static int nam_write(void *user, const iotadm_node_ref *node, const uint8_t *value, size_t len)
{
    struct nv *nv = user;
    char text[NV_VALUE];
    if (is_prl(node->path)) {
        /* A list small enough to come whole goes the streamed way in one chunk. */
        int rc = prl_begin(user, node, len);
        if (rc == IOTADM_STATUS_OK) {
            rc = prl_chunk(user, node, 0, value, len);
            prl_end(user, node, rc == IOTADM_STATUS_OK);
        }
        return rc;
    }
    if (strlen(node->path) >= NV_PATH || len >= NV_VALUE) {
        return IOTADM_STATUS_COMMAND_FAILED;
    }
    memcpy(text, value, len);
    text[len] = '\0';
    if (nv_find(nv, node->path) == NULL && nv->count == NV_ITEMS) {
        return IOTADM_STATUS_COMMAND_FAILED;
    }
    nv_set(nv, node->path, text);
    printf("handler write %s = \"%s\" by %s\n", node->path, text, by(node));
    return IOTADM_STATUS_OK;
}

/* ./DMAcc/<x>: the tree keeps the accounts; the device adds its own rules. */
static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A server address must be HTTP: the device has no other transport. */
static int dmacc_check(void *user, const iotadm_node_ref *node, const uint8_t *value,
                       size_t len)
{
    (void)user;
    if (!ends_with(node->path, "/Addr")) {
        return IOTADM_STATUS_OK;
    }
    if ((len >= 7 && memcmp(value, "http://", 7) == 0) ||
        (len >= 8 && memcmp(value, "https://", 8) == 0)) {
        return IOTADM_STATUS_OK;
    }
    printf("handler check %s = \"%.*s\" by %s: refused\n", node->path, (int)len,
           (const char *)value, by(node));
    return IOTADM_STATUS_BAD_REQUEST;
}

/* The account's credentials are the device's: no server reads them. */
static int dmacc_allow_read(void *user, const iotadm_node_ref *node)
{
    (void)user;
    if (node->server_id != NULL && strstr(node->path, "/AppAuth/") != NULL) {
        printf("handler allow-read %s by %s: refused\n", node->path, node->server_id);
        return IOTADM_STATUS_PERMISSION_DENIED;
    }
    return IOTADM_STATUS_OK;
}

/* The device picks the authentication it prefers; a server does not change it. */
static int dmacc_allow_change(void *user, const iotadm_node_ref *node)
{
    (void)user;
    if (node->server_id != NULL && ends_with(node->path, "/AAuthPref")) {
        printf("handler allow-change %s by %s: refused\n", node->path, node->server_id);
        return IOTADM_STATUS_COMMAND_NOT_ALLOWED;
    }
    return IOTADM_STATUS_OK;
}

static void dmacc_event(void *user, const iotadm_node_ref *node, int event)
{
    (void)user;
    switch (event) {
    case IOTADM_EVENT_ADDED:
        printf("handler event added %s by %s\n", node->path, by(node));
        break;
    case IOTADM_EVENT_DELETED:
        printf("handler event deleted %s by %s\n", node->path, by(node));
        break;
    case IOTADM_EVENT_SESSION_ENDED:
        printf("handler event session-ended\n");
        break;
    case IOTADM_EVENT_ATOMIC_STARTED:
        printf("handler event atomic-started\n");
        break;
    case IOTADM_EVENT_ATOMIC_ENDED:
        printf("handler event atomic-ended\n");
        break;
    default:
        break;
    }
}

/* ./CDMA/SPASM/Validate: the operator's SPASM check, run by Exec. */
static int spasm_validate(void *user, const iotadm_node_ref *node, const uint8_t *data, size_t len,
                          const char *correlator)
{
    (void)user;
    printf("handler exec %s data=\"%.*s\" correlator=%s by %s\n", node->path, (int)len,
           (const char *)data, correlator != NULL ? correlator : "(none)", by(node));
    return IOTADM_STATUS_OK;
}

/* ---- Transport: HTTP/1.1 POST over a socket, loopback only --------------------------- */

#define HEAD_MAX 8192

static int send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Splits http://127.x.y.z:port/path; anything but a loopback IPv4 address is refused. */
static int parse_url(const char *url, struct sockaddr_in *addr, char *host, size_t host_len,
                     const char **path)
{
    const char *p = url, *host_end;
    unsigned long port = 80;
    size_t n;
    if (strncmp(p, "http://", 7) != 0) {
        return -1;
    }
    p += 7;
    host_end = p + strcspn(p, ":/");
    n = (size_t)(host_end - p);
    if (n == 0 || n >= host_len) {
        return -1;
    }
    memcpy(host, p, n);
    host[n] = '\0';
    p = host_end;
    if (*p == ':') {
        char *end;
        port = strtoul(p + 1, &end, 10);
        if (end == p + 1 || port == 0 || port > 65535) {
            return -1;
        }
        p = end;
    }
    *path = *p == '/' ? p : "/";
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr->sin_addr) != 1 ||
        (ntohl(addr->sin_addr.s_addr) >> 24) != 127) {
        return -1;
    }
    return 0;
}

/* The value of header `name` in the header block `head`, or NULL; `*len` gets its length. */
static const char *header(const char *head, const char *name, size_t *len)
{
    size_t name_len = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line != NULL && line[2] != '\r') {
        line += 2;
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            *len = strcspn(v, "\r");
            return v;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

static int http_exchange(void *user, const iotadm_request *rq, iotadm_reply *reply)
{
    unsigned long *exchanges = user;
    struct sockaddr_in addr;
    char host[64], head[HEAD_MAX + 1];
    const char *path, *value, *body;
    size_t head_len = 0, body_len, len, content_length = 0;
    bool has_length;
    int fd, status, rc = -1;
    char *end;

    if (parse_url(rq->url, &addr, host, sizeof host, &path) != 0) {
        printf("http: refusing %s (loopback http only)\n", rq->url);
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) != 0) {
        goto out;
    }
    len = (size_t)snprintf(head, sizeof head,
                           "POST %s HTTP/1.1\r\n"
                           "Host: %s:%u\r\n"
                           "Content-Type: %s\r\n"
                           "Accept: application/vnd.syncml.dm+wbxml, application/vnd.syncml.dm+xml\r\n"
                           "Content-Length: %zu\r\n"
                           "%s%s%s"
                           "Connection: close\r\n\r\n",
                           path, host, (unsigned)ntohs(addr.sin_port), rq->content_type,
                           rq->body_len, rq->hmac != NULL ? "x-syncml-hmac: " : "",
                           rq->hmac != NULL ? rq->hmac : "", rq->hmac != NULL ? "\r\n" : "");
    if (len >= sizeof head || send_all(fd, head, len) != 0 ||
        send_all(fd, rq->body, rq->body_len) != 0) {
        goto out;
    }

    /* The status line and headers, then whatever of the body came with them. */
    for (;;) {
        ssize_t n;
        head[head_len] = '\0';
        if (strstr(head, "\r\n\r\n") != NULL) {
            break;
        }
        if (head_len == HEAD_MAX) {
            goto out;
        }
        n = recv(fd, head + head_len, HEAD_MAX - head_len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            goto out;
        }
        head_len += (size_t)n;
    }
    body = strstr(head, "\r\n\r\n") + 4;
    body_len = head_len - (size_t)(body - head);
    if (strncmp(head, "HTTP/1.", 7) != 0) {
        goto out;
    }
    status = (int)strtol(head + 9, &end, 10);
    if ((value = header(head, "Transfer-Encoding", &len)) != NULL) {
        goto out; /* the test server states lengths; this client reads no chunked bodies */
    }
    has_length = (value = header(head, "Content-Length", &len)) != NULL;
    if (has_length) {
        content_length = strtoul(value, &end, 10);
    }
    if (body_len > reply->body_capacity || (has_length && content_length > reply->body_capacity)) {
        printf("http: reply larger than %zu bytes\n", reply->body_capacity);
        goto out;
    }
    memcpy(reply->body, body, body_len);
    for (;;) {
        ssize_t n;
        if (has_length && body_len >= content_length) {
            break;
        }
        if (body_len == reply->body_capacity) {
            /* Full: one byte more would be too much. */
            uint8_t probe;
            if (recv(fd, &probe, 1, 0) > 0) {
                goto out;
            }
            break;
        }
        n = recv(fd, reply->body + body_len, reply->body_capacity - body_len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            goto out;
        }
        if (n == 0) {
            if (has_length) {
                goto out; /* cut short */
            }
            break;
        }
        body_len += (size_t)n;
    }
    reply->body_len = has_length ? content_length : body_len;
    reply->hmac_len = 0;
    if ((value = header(head, "x-syncml-hmac", &len)) != NULL) {
        if (len > reply->hmac_capacity) {
            goto out;
        }
        memcpy(reply->hmac, value, len);
        reply->hmac_len = len;
    }
    (*exchanges)++;
    printf("http: POST %s %zu bytes%s -> %d, %zu bytes%s\n", path, rq->body_len,
           rq->hmac != NULL ? " +hmac" : "", status, reply->body_len,
           reply->hmac_len > 0 ? " +hmac" : "");
    rc = status >= 200 && status < 300 ? 0 : -1;
out:
    close(fd);
    return rc;
}

/* ---- The device --------------------------------------------------------------------- */

#define TREE_SECTORS 16
#define MAX_MSG 8192

static int run_session(iotadm_device *dev, const char *label, const iotadm_session_params *params)
{
    /* The session's memory: the caller's, used only during the call. */
    static uint8_t rx[MAX_MSG], aux[1024], tx[16384], scratch[4096], hmac[256];
    static unsigned long exchanges;
    const iotadm_transport transport = {&exchanges, http_exchange};
    const iotadm_buffers buffers = {rx,  sizeof rx,      aux,  sizeof aux,  tx,
                                    sizeof tx, scratch, sizeof scratch, hmac, sizeof hmac};
    iotadm_outcome outcome;
    int rc = iotadm_session_run(dev, params, &transport, &buffers, &outcome);
    if (ok(label, rc)) {
        printf("session %s: ok, %u messages sent%s\n", label, (unsigned)outcome.messages_sent,
               outcome.aborted_by_server ? ", aborted by the server" : "");
    }
    return rc;
}

/* Prints a node's value as the device reads it. */
static void show(iotadm_device *dev, const char *uri)
{
    char value[128];
    size_t len = 0, total = 0;
    int rc = iotadm_node_get(dev, uri, 0, (uint8_t *)value, sizeof value - 1, &len, &total);
    if (rc == IOTADM_OK) {
        value[len] = '\0';
        printf("node %s = \"%s\"\n", uri, value);
    } else {
        printf("node %s: %d (%s)\n", uri, rc, iotadm_strerror(rc));
    }
}

/* What the factory does once: the account, NAM 0 and who may change it. */
static bool provision(iotadm_device *dev, const char *account, const uint8_t *bootstrap,
                      size_t len)
{
    static uint8_t scratch[2048];
    char acl[128];
    size_t items = 0;
    if (!ok("bootstrap", iotadm_apply_bootstrap(dev, bootstrap, len, NULL, scratch,
                                                sizeof scratch, &items))) {
        return false;
    }
    printf("bootstrap: ok, %zu nodes\n", items);
    snprintf(acl, sizeof acl, "Get=*&Exec=*&Replace=%s", account);
    return ok("add NAM 0", iotadm_node_add(dev, "./CDMA/NAM/0", NULL, 0)) &&
           ok("CDMA ACL", iotadm_node_replace(dev, "./CDMA?prop=ACL", (const uint8_t *)acl,
                                              strlen(acl)));
}

/* Expectations about the API that need no server. */
static void check_contract(iotadm_device *dev, const iotadm_device_config *config, size_t align)
{
    uint8_t buf[8];
    size_t len = 99;
    void *small = NULL;
    iotadm_device *other = NULL;
    int rc = iotadm_node_get(dev, "./NoSuchNode", 0, buf, sizeof buf, &len, NULL);
    check("a missing node is 404", rc == IOTADM_STATUS_NOT_FOUND &&
                                       strcmp(iotadm_strerror(rc), "not found") == 0);
    rc = iotadm_node_replace(dev, "./DevInfo/DevId", NULL, 1);
    check("NULL with a length is refused", rc == IOTADM_ERR_INVALID_ARGUMENT);
    rc = iotadm_node_delete(dev, "./DevInfo");
    check("a permanent node is not deleted", rc == IOTADM_STATUS_COMMAND_NOT_ALLOWED);
    if (posix_memalign(&small, align, 64) == 0) {
        rc = iotadm_device_open(small, 64, config, &other);
        check("storage too small is refused", rc == IOTADM_ERR_STORAGE && other == NULL);
        free(small);
    }
    check("unknown codes have a name", strcmp(iotadm_strerror(-1000), "unknown error") == 0);
    {
        iotadm_device_config incomplete = *config;
        void *spare = NULL;
        incomplete.info.fw_version = "";
        if (posix_memalign(&spare, align, 1 << 20) == 0) {
            rc = iotadm_device_open(spare, 1 << 20, &incomplete, &other);
            check("device information without a firmware version is refused",
                  rc == IOTADM_ERR_DEVICE_INFO && other == NULL);
            free(spare);
        }
    }
}

int main(int argc, char **argv)
{
    const char *account = NULL, *flash_path = NULL, *bootstrap_path = NULL, *notify_path = NULL;
    iotadm_build_info info;
    static struct nv nv;
    struct ram_flash tree_flash;
    FILE *urandom;
    void *storage = NULL;
    iotadm_device *dev = NULL;
    int i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--account") == 0) {
            account = argv[i + 1];
        } else if (strcmp(argv[i], "--flash") == 0) {
            flash_path = argv[i + 1];
        } else if (strcmp(argv[i], "--bootstrap") == 0) {
            bootstrap_path = argv[i + 1];
        } else if (strcmp(argv[i], "--notification") == 0) {
            notify_path = argv[i + 1];
        } else {
            break;
        }
    }
    if (i != argc || account == NULL) {
        fprintf(stderr, "usage: c-host --account ID [--flash FILE] [--bootstrap FILE] "
                        "[--notification FILE]\n");
        return 2;
    }

    iotadm_get_build_info(&info);
    printf("library: device %zu bytes (align %zu), flash write %u erase %u\n", info.device_size,
           info.device_align, (unsigned)info.flash_write_size, (unsigned)info.flash_erase_size);

    /* The tree's flash: from the file of the last run, or blank as from the factory. */
    tree_flash.size = TREE_SECTORS * info.flash_erase_size;
    tree_flash.bytes = malloc(tree_flash.size);
    urandom = fopen("/dev/urandom", "rb");
    if (tree_flash.bytes == NULL || urandom == NULL ||
        posix_memalign(&storage, info.device_align, info.device_size) != 0) {
        fprintf(stderr, "c-host: out of memory\n");
        return 2;
    }
    memset(tree_flash.bytes, 0xFF, tree_flash.size);
    if (flash_path != NULL) {
        size_t len = 0;
        uint8_t *saved = read_file(flash_path, &len);
        if (saved != NULL && len == tree_flash.size) {
            memcpy(tree_flash.bytes, saved, len);
            printf("flash: restored from %s\n", flash_path);
        }
        free(saved);
    }

    /* The NAM's non-volatile items, as the baseband keeps them. */
    nv_set(&nv, "CDMA/NAM/0/MDN", "6195550100");
    nv_set(&nv, "CDMA/NAM/0/HOME_SID", "0");
    nv_set(&nv, "CDMA/NAM/0/HOME_NID", "65535");

    {
        const iotadm_node_handler handlers[] = {
            {.uri = "./DevDetail", .read = dev_detail_read},
            {
                .uri = "./CDMA/NAM/<x>",
                .user = &nv,
                .read = nam_read,
                .write = nam_write,
                .write_begin = prl_begin,
                .write_chunk = prl_chunk,
                .write_end = prl_end,
            },
            {.uri = "./CDMA/SPASM/Validate", .exec = spasm_validate},
            {
                .uri = "./DMAcc/<x>",
                .check = dmacc_check,
                .allow_read = dmacc_allow_read,
                .allow_change = dmacc_allow_change,
                .event = dmacc_event,
            },
        };
        iotadm_device_config config;
        memset(&config, 0, sizeof config);
        config.tree_flash.user = &tree_flash;
        config.tree_flash.size = tree_flash.size;
        config.tree_flash.write_size = info.flash_write_size;
        config.tree_flash.erase_size = info.flash_erase_size;
        config.tree_flash.read = flash_read;
        config.tree_flash.write = flash_write;
        config.tree_flash.erase = flash_erase;
        config.platform.user = urandom;
        config.platform.random = random_bytes;
        config.platform.unix_time = unix_time;
        config.ui.ask = ui_ask;
        config.ui.inform_session = ui_inform;
        config.ui.allow_session = ui_allow;
        config.handlers = handlers;
        config.handler_count = sizeof handlers / sizeof handlers[0];
        config.fumo = NULL;
        /* DevDetail's versions come from the handler above; these are what it does not
         * serve, and stand in for it where it does. */
        config.info.dev_id = "MEID:A0000012345678";
        config.info.man = "Example Handsets";
        config.info.model = "EH-100";
        config.info.dm_version = "1.2";
        config.info.lang = "en-US";
        config.info.dev_type = "phone";
        config.info.oem = "Example Handsets";
        config.info.fw_version = "BB-7.2.1";
        config.info.sw_version = "c-host-1.0";
        config.info.hw_version = "rev-C";
        if (!ok("open", iotadm_device_open(storage, info.device_size, &config, &dev))) {
            return 1;
        }
        printf("open: ok\n");
        check_contract(dev, &config, info.device_align);
    }

    if (bootstrap_path != NULL) {
        size_t len = 0;
        uint8_t *doc = read_file(bootstrap_path, &len);
        bool provisioned;
        if (doc == NULL) {
            fprintf(stderr, "c-host: cannot read %s\n", bootstrap_path);
            return 2;
        }
        provisioned = provision(dev, account, doc, len);
        free(doc);
        if (!provisioned) {
            goto end;
        }
    }

    if (notify_path != NULL) {
        /* A package 0 arrived (by SMS, say): verify it, then run the session it names. */
        size_t len = 0;
        uint8_t *pkg0 = read_file(notify_path, &len);
        iotadm_trigger trigger;
        if (pkg0 == NULL) {
            fprintf(stderr, "c-host: cannot read %s\n", notify_path);
            return 2;
        }
        if (ok("package 0", iotadm_accept_notification(dev, pkg0, len, &trigger))) {
            iotadm_session_params params;
            printf("package 0: ok, account %s, session %04X, ui mode %u\n", trigger.account,
                   (unsigned)trigger.session_id, (unsigned)trigger.ui_mode);
            memset(&params, 0, sizeof params);
            params.account = trigger.account;
            params.server_initiated = true;
            params.session_id = trigger.session_id;
            params.encoding = IOTADM_ENCODING_XML;
            params.max_msg_size = MAX_MSG;
            run_session(dev, "server-initiated", &params);
        }
        free(pkg0);
    } else {
        /* The device calls in by itself (after provisioning, on a timer, on a user's
         * request). */
        iotadm_session_params params;
        memset(&params, 0, sizeof params);
        params.account = account;
        params.server_initiated = false;
        params.encoding = IOTADM_ENCODING_WBXML;
        params.max_msg_size = MAX_MSG;
        run_session(dev, "client-initiated", &params);
    }

    show(dev, "./DevDetail/FwV");
    show(dev, "./CDMA/NAM/0/HOME_SID");
    {
        char uri[128];
        snprintf(uri, sizeof uri, "./DMAcc/%s/AppAddr/1/AddrType", account);
        show(dev, uri);
    }
end:
    iotadm_device_close(dev);

    if (flash_path != NULL) {
        FILE *f = fopen(flash_path, "wb");
        if (f == NULL || fwrite(tree_flash.bytes, 1, tree_flash.size, f) != tree_flash.size ||
            fclose(f) != 0) {
            fprintf(stderr, "c-host: cannot save %s\n", flash_path);
            return 2;
        }
    }
    fclose(urandom);
    free(storage);
    free(tree_flash.bytes);
    printf("done: %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}
