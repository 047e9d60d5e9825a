/*
 * introduction.c — the introduction statement's one codec (see
 * introduction.h).
 *
 * What it must never do: accept a statement its introducer did not sign,
 * one that names one key in two roles, a name that is not one line of
 * text or an address that is not an http(s) URL, any length past its
 * bound, or a byte after the signature. It knows nothing of contacts or
 * vaults (client/introduce.c checks who the introducer is to us).
 */
#include "identity/introduction.h"

#include <sodium.h>
#include <string.h>

#include "util/text.h"

static int url_ok(const uint8_t *p, size_t n)
{
	if (n < 8 || n > PL_INTRO_URL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return 0;
	return memcmp(p, "http://", 7) == 0 || (n >= 9 && memcmp(p, "https://", 8) == 0);
}

static int fields_ok(const pl_introduction *s, size_t namelen, size_t urllen)
{
	return s->time != 0 && sodium_memcmp(s->introducer_ik, s->recipient_ik, PL_IK_LEN) != 0 &&
	       sodium_memcmp(s->introducer_ik, s->introduced_ik, PL_IK_LEN) != 0 &&
	       sodium_memcmp(s->recipient_ik, s->introduced_ik, PL_IK_LEN) != 0 &&
	       pl_ik_validate(s->introducer_ik) == 0 && pl_ik_validate(s->recipient_ik) == 0 &&
	       pl_ik_validate(s->introduced_ik) == 0 && pl_ik_validate(s->relay_key) == 0 &&
	       pl_text_ok((const uint8_t *)s->name, namelen, 1, PL_INTRO_NAME_MAX, PL_TEXT_LINE) ==
		   0 &&
	       url_ok((const uint8_t *)s->url, urllen);
}

static void signed_part(pl_wr *w, const pl_introduction *s, size_t namelen, size_t urllen)
{
	pl_wr_bytes(w, (const uint8_t *)PL_INTRO_LABEL, PL_INTRO_LABEL_LEN);
	pl_wr_bytes(w, s->introducer_ik, PL_IK_LEN);
	pl_wr_bytes(w, s->recipient_ik, PL_IK_LEN);
	pl_wr_bytes(w, s->introduced_ik, PL_IK_LEN);
	pl_wr_bytes(w, s->relay_key, 32);
	pl_wr_u64(w, s->time);
	pl_wr_u8(w, (uint8_t)namelen);
	pl_wr_bytes(w, (const uint8_t *)s->name, namelen);
	pl_wr_u16(w, (uint16_t)urllen);
	pl_wr_bytes(w, (const uint8_t *)s->url, urllen);
}

int pl_introduction_make(pl_wr *w, const pl_identity *introducer, const pl_introduction *s)
{
	pl_introduction t = *s;
	memcpy(t.introducer_ik, introducer->pk, PL_IK_LEN);
	size_t namelen = strnlen(t.name, sizeof t.name), urllen = strnlen(t.url, sizeof t.url);
	if (namelen > PL_INTRO_NAME_MAX || urllen > PL_INTRO_URL_MAX ||
	    !fields_ok(&t, namelen, urllen))
		return -1;
	pl_wr m;
	pl_wr_init(&m);
	signed_part(&m, &t, namelen, urllen);
	uint8_t sig[PL_SIG_LEN];
	int rc = pl_wr_ok(&m) == 0 && crypto_sign_detached(sig, NULL, m.p, m.n, introducer->sk) == 0
		     ? 0
		     : -1;
	if (rc == 0) {
		pl_wr_bytes(w, m.p, m.n);
		pl_wr_bytes(w, sig, sizeof sig);
	}
	pl_wr_free(&m);
	return rc;
}

int pl_introduction_decode(pl_introduction *s, const uint8_t *p, size_t len)
{
	pl_rd rd;
	pl_introduction t;
	memset(&t, 0, sizeof t);
	if (p == NULL || len < PL_INTRO_MIN_LEN || len > PL_INTRO_MAX_LEN)
		return -1;
	pl_rd_init(&rd, p, len);
	const uint8_t *label = pl_rd_bytes(&rd, PL_INTRO_LABEL_LEN);
	pl_rd_copy(&rd, t.introducer_ik, PL_IK_LEN);
	pl_rd_copy(&rd, t.recipient_ik, PL_IK_LEN);
	pl_rd_copy(&rd, t.introduced_ik, PL_IK_LEN);
	pl_rd_copy(&rd, t.relay_key, 32);
	t.time = pl_rd_u64(&rd);
	size_t namelen = pl_rd_u8(&rd);
	const uint8_t *name = namelen <= PL_INTRO_NAME_MAX ? pl_rd_bytes(&rd, namelen) : NULL;
	size_t urllen = pl_rd_u16(&rd);
	const uint8_t *url = urllen <= PL_INTRO_URL_MAX ? pl_rd_bytes(&rd, urllen) : NULL;
	size_t signed_len = len - PL_SIG_LEN;
	pl_rd_copy(&rd, t.sig, PL_SIG_LEN);
	if (pl_rd_done(&rd) != 0 || label == NULL || name == NULL || url == NULL ||
	    memcmp(label, PL_INTRO_LABEL, PL_INTRO_LABEL_LEN) != 0)
		return -1;
	memcpy(t.name, name, namelen);
	memcpy(t.url, url, urllen);
	/* A NUL inside either field would end it early on screen. */
	if (memchr(name, 0, namelen) != NULL || !fields_ok(&t, namelen, urllen) ||
	    crypto_sign_verify_detached(t.sig, p, signed_len, t.introducer_ik) != 0)
		return -1;
	*s = t;
	return 0;
}
