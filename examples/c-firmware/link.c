/*
 * The framing of DM messages over UART0 (see link.h). A reply is read straight into the
 * session's buffers; one that does not fit is read to its end, so that the next frame is
 * found, and refused. This file never looks inside a DM message.
 */
#include "link.h"

#include <stdbool.h>

#include "board.h"

#define KIND_EXCHANGE 0x01u
#define KIND_BOOTSTRAP 0x02u
#define KIND_REPLY 0x81u
#define KIND_DOCUMENT 0x82u
#define KIND_FAILURE 0xE1u
#define NO_HMAC 0xFFFFu

/* CRC-32/ISO-HDLC (reflected 0xEDB88320), bit by bit: frames are small next to the
 * UART's pace, and a table would cost 1 KiB of flash. */
static uint32_t crc_update(uint32_t crc, const uint8_t *bytes, size_t len)
{
    size_t i;
    unsigned k;
    for (i = 0; i < len; i++) {
        crc ^= bytes[i];
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc;
}

/* A frame going out: its pieces are sent and summed as they come. */
struct outgoing {
    uint32_t crc;
};

static void out_piece(struct outgoing *o, const void *bytes, size_t len)
{
    o->crc = crc_update(o->crc, bytes, len);
    uart_write(bytes, len);
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    put_u16(p, (uint16_t)v);
    put_u16(p + 2, (uint16_t)(v >> 16));
}

static void send_head(struct outgoing *o, uint8_t kind, uint32_t len)
{
    static const uint8_t sync[2] = {'I', 'Q'};
    uint8_t head[5];
    head[0] = kind;
    put_u32(head + 1, len);
    uart_write(sync, sizeof sync);
    o->crc = 0xFFFFFFFFu;
    out_piece(o, head, sizeof head);
}

static void send_end(struct outgoing *o)
{
    uint8_t crc[4];
    put_u32(crc, o->crc ^ 0xFFFFFFFFu);
    uart_write(crc, sizeof crc);
}

/* A frame coming in: the payload bytes not read yet, and the running CRC. */
struct incoming {
    struct deadline deadline;
    uint32_t crc;
    uint32_t left;
    uint8_t kind;
};

static int in_byte(struct incoming *in, uint8_t *b)
{
    if (in->left == 0) {
        return LINK_FRAMING;
    }
    in->left--;
    if (!uart_read(&in->deadline, b)) {
        return LINK_TIMEOUT;
    }
    in->crc = crc_update(in->crc, b, 1);
    return 0;
}

/* Reads `len` payload bytes into `out`, or skips them when `out` is NULL. */
static int in_bytes(struct incoming *in, uint8_t *out, uint32_t len)
{
    uint32_t i;
    uint8_t b;
    for (i = 0; i < len; i++) {
        int rc = in_byte(in, &b);
        if (rc != 0) {
            return rc;
        }
        if (out != NULL) {
            out[i] = b;
        }
    }
    return 0;
}

static int in_u16(struct incoming *in, uint16_t *v)
{
    uint8_t b[2] = {0, 0};
    int rc = in_bytes(in, b, 2);
    *v = (uint16_t)(b[0] | (b[1] << 8));
    return rc;
}

/* Waits for the next frame's header; the caller reads its payload. */
static int receive_head(struct incoming *in)
{
    uint8_t b = 0, prev = 0, head[5];
    bool have_prev = false;
    deadline_start(&in->deadline, LINK_TIMEOUT_MS);
    /* Anything before the sync bytes is noise. */
    for (;;) {
        if (!uart_read(&in->deadline, &b)) {
            return LINK_TIMEOUT;
        }
        if (have_prev && prev == 'I' && b == 'Q') {
            break;
        }
        prev = b;
        have_prev = true;
    }
    in->crc = 0xFFFFFFFFu;
    in->left = sizeof head;
    if (in_bytes(in, head, sizeof head) != 0) {
        return LINK_TIMEOUT;
    }
    in->kind = head[0];
    in->left = (uint32_t)head[1] | ((uint32_t)head[2] << 8) | ((uint32_t)head[3] << 16) |
               ((uint32_t)head[4] << 24);
    return 0;
}

/* Checks the CRC once the whole payload is read. */
static int finish(struct incoming *in)
{
    uint8_t got[4];
    size_t i;
    uint32_t want = in->crc ^ 0xFFFFFFFFu;
    if (in->left != 0) {
        return LINK_FRAMING;
    }
    for (i = 0; i < sizeof got; i++) {
        if (!uart_read(&in->deadline, &got[i])) {
            return LINK_TIMEOUT;
        }
    }
    if (((uint32_t)got[0] | ((uint32_t)got[1] << 8) | ((uint32_t)got[2] << 16) |
         ((uint32_t)got[3] << 24)) != want) {
        return LINK_CHECKSUM;
    }
    return 0;
}

/* Consumes a frame of an unexpected kind: a failure report from the host, or noise. */
static int refuse(struct incoming *in)
{
    uint16_t status = 0;
    int rc;
    if (in->kind != KIND_FAILURE) {
        return LINK_FRAMING;
    }
    rc = in_u16(in, &status);
    if (rc == 0) {
        rc = in_bytes(in, NULL, in->left);
    }
    if (rc == 0) {
        rc = finish(in);
    }
    if (rc == 0) {
        log_begin();
        log_str("link: the host answered ");
        log_uint(status);
        log_end();
        rc = LINK_HOST;
    }
    return rc;
}

/* Waits for the next frame, which must be of `kind`: the caller reads its payload. A frame
 * of another kind is consumed and refused. */
static int receive(struct incoming *in, uint8_t kind)
{
    int rc = receive_head(in);
    if (rc == 0 && in->kind != kind) {
        rc = refuse(in);
    }
    return rc;
}

int link_bootstrap(uint8_t *out, size_t cap, size_t *len)
{
    struct outgoing o;
    struct incoming in;
    int rc;
    send_head(&o, KIND_BOOTSTRAP, 0);
    send_end(&o);
    rc = receive(&in, KIND_DOCUMENT);
    if (rc != 0) {
        return rc;
    }
    *len = in.left;
    if (in.left > cap) {
        rc = in_bytes(&in, NULL, in.left);
        if (rc == 0) {
            rc = finish(&in);
        }
        return rc != 0 ? rc : LINK_TOO_LARGE;
    }
    rc = in_bytes(&in, out, in.left);
    return rc != 0 ? rc : finish(&in);
}

int link_exchange(void *user, const iotadm_request *request, iotadm_reply *reply)
{
    struct outgoing o;
    struct incoming in;
    size_t url_len = text_len(request->url);
    size_t mac_len = request->hmac != NULL ? text_len(request->hmac) : 0;
    uint8_t field[2];
    uint8_t encoding;
    uint16_t hmac_len;
    bool too_large = false;
    int rc;
    (void)user;
    if (url_len >= NO_HMAC || mac_len >= NO_HMAC ||
        request->body_len > 0xFFFFFFFFu - url_len - mac_len - 5u) {
        return LINK_TOO_LARGE;
    }
    /* The bridge posts with the content type of this encoding. */
    encoding = text_contains(request->content_type, "wbxml") ? 1 : 0;
    send_head(&o, KIND_EXCHANGE, (uint32_t)(2u + url_len + 1u + 2u + mac_len + request->body_len));
    put_u16(field, (uint16_t)url_len);
    out_piece(&o, field, 2);
    out_piece(&o, request->url, url_len);
    out_piece(&o, &encoding, 1);
    put_u16(field, request->hmac != NULL ? (uint16_t)mac_len : NO_HMAC);
    out_piece(&o, field, 2);
    out_piece(&o, request->hmac, mac_len);
    out_piece(&o, request->body, request->body_len);
    send_end(&o);

    rc = receive(&in, KIND_REPLY);
    if (rc != 0) {
        return rc;
    }
    /* The reply's encoding: iotadm tells it from the message itself. */
    rc = in_bytes(&in, NULL, 1);
    if (rc == 0) {
        rc = in_u16(&in, &hmac_len);
    }
    if (rc != 0) {
        return rc;
    }
    reply->hmac_len = 0;
    if (hmac_len != NO_HMAC) {
        too_large = hmac_len > reply->hmac_capacity;
        rc = in_bytes(&in, too_large ? NULL : (uint8_t *)reply->hmac, hmac_len);
        reply->hmac_len = too_large ? 0 : hmac_len;
    }
    if (rc != 0) {
        return rc;
    }
    reply->body_len = in.left;
    too_large = too_large || in.left > reply->body_capacity;
    rc = in_bytes(&in, too_large ? NULL : reply->body, in.left);
    if (rc == 0) {
        rc = finish(&in);
    }
    return rc != 0 ? rc : (too_large ? LINK_TOO_LARGE : 0);
}
