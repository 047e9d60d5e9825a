/*
 * auth.c — the owner-auth signed string, its signature and its check, and
 * the ack body (see auth.h and docs/PROTOCOL.md, owner auth).
 *
 * It owns the exact bytes a mailbox owner signs. It must never accept
 * uppercase or malformed hex, a time outside the window, a key that does
 * not own the mailbox or a signature over anything but the rebuilt string,
 * and never do I/O.
 */
#include "auth/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/kdf.h"
#include "util/codec.h"
#include "util/wire.h"

#define AUTH_TAG "parley-auth-v1\n"

/* ---- ack ------------------------------------------------------------- */

static int ack_valid(const pl_auth_ack *a)
{
	if (a->n > PL_AUTH_ACK_NAMES_MAX)
		return 0;
	for (unsigned i = 0; i < a->n; i++) {
		uint64_t s = a->name[i].seq;
		if (s == 0 || s > a->through || (i > 0 && s <= a->name[i - 1].seq))
			return 0;
	}
	return 1;
}

size_t pl_auth_ack_encode(uint8_t out[static PL_AUTH_ACK_BODY_MAX], const pl_auth_ack *a)
{
	size_t o = 0;

	if (!ack_valid(a))
		return 0;
	out[o++] = PL_AUTH_ACK_VERSION;
	pl_be64_put(out + o, a->through);
	o += 8;
	out[o++] = (uint8_t)a->n;
	for (unsigned i = 0; i < a->n; i++) {
		pl_be64_put(out + o, a->name[i].seq);
		o += 8;
		memcpy(out + o, a->name[i].hash, 32);
		o += 32;
	}
	return o;
}

int pl_auth_ack_decode(pl_auth_ack *a, const uint8_t *p, size_t n)
{
	pl_auth_ack t;
	pl_rd r;

	memset(a, 0, sizeof *a);
	memset(&t, 0, sizeof t);
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_AUTH_ACK_VERSION)
		pl_rd_fail(&r);
	t.through = pl_rd_u64(&r);
	t.n = pl_rd_u8(&r);
	if (t.n > PL_AUTH_ACK_NAMES_MAX)
		pl_rd_fail(&r);
	for (unsigned i = 0; i < t.n && i < PL_AUTH_ACK_NAMES_MAX; i++) {
		t.name[i].seq = pl_rd_u64(&r);
		pl_rd_copy(&r, t.name[i].hash, 32);
	}
	if (pl_rd_done(&r) != 0 || !ack_valid(&t))
		return -1;
	*a = t;
	return 0;
}

int pl_auth_ack_names(const pl_auth_ack *a, uint64_t seq, const uint8_t hash[static 32])
{
	for (unsigned i = 0; i < a->n && i < PL_AUTH_ACK_NAMES_MAX; i++)
		if (a->name[i].seq == seq && sodium_memcmp(a->name[i].hash, hash, 32) == 0)
			return 1;
	return 0;
}

/* ---- time ------------------------------------------------------------ */

void pl_auth_time_format(char out[static PL_AUTH_TIME_STR_MAX], uint64_t t)
{
	snprintf(out, PL_AUTH_TIME_STR_MAX, "%llu", (unsigned long long)t);
}

int pl_auth_parse_u64(uint64_t *out, const char *s)
{
	uint64_t v = 0;
	size_t i;

	*out = 0;
	if (s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9' || i >= 20)
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* ---- signed string --------------------------------------------------- */

/* Lowercase hex only, exactly n bytes. */
static int parse_hex_lower(uint8_t *out, size_t n, const char *s)
{
	if (s == NULL || strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return pl_hex_decode(out, n, s);
}

/* Builds the signed string into a writer. */
static int auth_msg(pl_wr *w, const char *method, const char *path_query, const char *time_str,
		    const char *nonce_hex, const uint8_t *body, size_t bodylen)
{
	uint8_t h[PL_SHA256_LEN];
	char hh[2 * PL_SHA256_LEN + 1];

	if (method == NULL || path_query == NULL || strchr(method, '\n') != NULL ||
	    strchr(path_query, '\n') != NULL)
		return -1;
	pl_sha256(h, body, bodylen);
	pl_hex_encode(hh, h, sizeof h);
	pl_wr_bytes(w, (const uint8_t *)AUTH_TAG, sizeof AUTH_TAG - 1);
	pl_wr_bytes(w, (const uint8_t *)method, strlen(method));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)path_query, strlen(path_query));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)time_str, strlen(time_str));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)nonce_hex, strlen(nonce_hex));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)hh, strlen(hh));
	pl_wr_u8(w, '\n');
	return pl_wr_ok(w);
}

int pl_auth_sign(pl_auth *a, const pl_identity *id, const char *method, const char *path_query,
		 const uint8_t *body, size_t bodylen, uint64_t now)
{
	uint8_t nonce[PL_AUTH_NONCE_LEN], sig[PL_SIG_LEN];
	pl_auth t;
	pl_wr w;
	int rc = -1;

	memset(a, 0, sizeof *a);
	randombytes_buf(nonce, sizeof nonce);
	pl_hex_encode(t.key, id->pk, PL_IK_LEN);
	pl_auth_time_format(t.time, now);
	pl_hex_encode(t.nonce, nonce, sizeof nonce);
	pl_wr_init(&w);
	if (auth_msg(&w, method, path_query, t.time, t.nonce, body, bodylen) == 0 &&
	    crypto_sign_detached(sig, NULL, w.p, w.n, id->sk) == 0) {
		pl_hex_encode(t.sig, sig, sizeof sig);
		*a = t;
		rc = 0;
	}
	pl_wr_free(&w);
	return rc;
}

int pl_auth_verify(uint8_t key_out[static PL_IK_LEN], uint8_t mbx_out[static PL_MAILBOX_LEN],
		   uint8_t nonce_out[static PL_AUTH_NONCE_LEN], const uint8_t *mbx,
		   const char *method, const char *path_query, const char *key_hex,
		   const char *time_str, const char *nonce_hex, const char *sig_hex,
		   const uint8_t *body, size_t bodylen, uint64_t now, const char **why)
{
	uint8_t key[PL_IK_LEN], m[PL_MAILBOX_LEN], nonce[PL_AUTH_NONCE_LEN], sig[PL_SIG_LEN];
	uint64_t t;
	pl_wr w;
	const char *reason = NULL;

	memset(key_out, 0, PL_IK_LEN);
	memset(mbx_out, 0, PL_MAILBOX_LEN);
	memset(nonce_out, 0, PL_AUTH_NONCE_LEN);
	if (key_hex == NULL || time_str == NULL || nonce_hex == NULL || sig_hex == NULL)
		reason = "missing Parley-Key, Parley-Time, Parley-Nonce or Parley-Sig header";
	else if (parse_hex_lower(key, sizeof key, key_hex) != 0 || pl_ik_validate(key) != 0)
		reason = "Parley-Key is not a valid key in lowercase hex";
	else if (pl_auth_parse_u64(&t, time_str) != 0)
		reason = "Parley-Time is not a decimal unix time";
	else if (parse_hex_lower(nonce, sizeof nonce, nonce_hex) != 0)
		reason = "Parley-Nonce is not 16 bytes in lowercase hex";
	else if (parse_hex_lower(sig, sizeof sig, sig_hex) != 0)
		reason = "Parley-Sig is not 64 bytes in lowercase hex";
	else if ((t > now ? t - now : now - t) > PL_AUTH_WINDOW)
		reason = "Parley-Time is more than 300 s from the relay's clock";
	if (reason == NULL) {
		pl_mailbox_id(m, key);
		if (mbx != NULL && sodium_memcmp(m, mbx, PL_MAILBOX_LEN) != 0)
			reason = "Parley-Key does not own this mailbox";
	}
	if (reason == NULL) {
		pl_wr_init(&w);
		if (auth_msg(&w, method, path_query, time_str, nonce_hex, body, bodylen) != 0 ||
		    crypto_sign_verify_detached(sig, w.p, w.n, key) != 0)
			reason = "bad signature";
		pl_wr_free(&w);
	}
	if (reason != NULL) {
		if (why != NULL)
			*why = reason;
		return -1;
	}
	memcpy(key_out, key, PL_IK_LEN);
	memcpy(mbx_out, m, PL_MAILBOX_LEN);
	memcpy(nonce_out, nonce, PL_AUTH_NONCE_LEN);
	if (why != NULL)
		*why = NULL;
	return 0;
}
