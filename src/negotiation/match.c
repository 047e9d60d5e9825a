/*
 * match.c — the formats of blind matching (see match.h).
 *
 * It must never hand out a COMMIT or statement whose signature it has not
 * checked, never write bytes its decoder would refuse, and never allocate
 * while decoding a message or statement (they are verified in stack
 * buffers: both are bounded, at most a few hundred bytes).
 */
#include "negotiation/match.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

#define MAGIC_LEN 4
#define COMMIT_BODY_MAX                                                                            \
	(MAGIC_LEN + 1 + PL_MATCH_ID_LEN + 1 + 4 + 4 + 32 + 2 + PL_MATCH_LABEL_MAX + 8 +           \
	 2 * PL_IK_LEN)
#define TAGGED_MAX 512

static void order(const uint8_t *a, const uint8_t *b, const uint8_t **lo, const uint8_t **hi)
{
	int al = memcmp(a, b, PL_IK_LEN) < 0;
	*lo = al ? a : b;
	*hi = al ? b : a;
}

static int keys_ok(const uint8_t *a, const uint8_t *b)
{
	return pl_ik_validate(a) == 0 && pl_ik_validate(b) == 0 && memcmp(a, b, PL_IK_LEN) != 0;
}

static int label_ok(const char *s, size_t n, int kind)
{
	return pl_text_ok((const uint8_t *)s, n, kind == PL_MATCH_INTENT ? 1 : 0,
			  PL_MATCH_LABEL_MAX, PL_TEXT_LINE) == 0;
}

/* Ed25519 over tag || body, in a stack buffer (body <= TAGGED_MAX - tag). */
static int tagged_verify(const char *tag, const uint8_t *body, size_t n, const uint8_t sig[64],
			 const uint8_t pk[32])
{
	uint8_t m[TAGGED_MAX];
	size_t tl = strlen(tag);
	if (tl + n > sizeof m)
		return -1;
	memcpy(m, tag, tl);
	memcpy(m + tl, body, n);
	return crypto_sign_verify_detached(sig, m, tl + n, pk);
}

static int tagged_sign(uint8_t sig[64], const char *tag, const uint8_t *body, size_t n,
		       const pl_identity *me)
{
	uint8_t m[TAGGED_MAX];
	size_t tl = strlen(tag);
	if (tl + n > sizeof m)
		return -1;
	memcpy(m, tag, tl);
	memcpy(m + tl, body, n);
	int rc = crypto_sign_detached(sig, NULL, m, tl + n, me->sk);
	sodium_memzero(m, sizeof m);
	return rc;
}

uint32_t pl_match_parts(uint32_t total)
{
	return total == 0 ? 1
			  : (uint32_t)(((uint64_t)total + PL_MATCH_CHUNK_ELEMS - 1) /
				       PL_MATCH_CHUNK_ELEMS);
}

uint32_t pl_match_part_count(uint32_t part, uint32_t total)
{
	uint64_t start = (uint64_t)part * PL_MATCH_CHUNK_ELEMS;
	if (start >= total)
		return 0;
	uint64_t left = total - start;
	return left < PL_MATCH_CHUNK_ELEMS ? (uint32_t)left : PL_MATCH_CHUNK_ELEMS;
}

/* The checks of a chunk's header shared by encode and decode. */
static int chunk_ok(int step, uint32_t part, uint32_t parts, uint32_t total, uint32_t count,
		    size_t sealedlen)
{
	if (step != PL_MATCH_LIST && step != PL_MATCH_FINAL)
		return 0;
	if (total > PL_MATCH_ELEMS_MAX || parts != pl_match_parts(total) || part >= parts ||
	    count != pl_match_part_count(part, total))
		return 0;
	if (step == PL_MATCH_LIST)
		return total >= 1 && sealedlen == 0;
	if (total == 0)
		return sealedlen >= PL_MATCH_SEALED_MIN && sealedlen <= PL_MATCH_SEALED_LEN_MAX;
	return sealedlen == 0;
}

static int commit_fields_ok(int kind, uint32_t max, uint32_t size, const char *label, size_t ll,
			    uint64_t created, const uint8_t *signer, const uint8_t *peer)
{
	if (kind < PL_MATCH_INTENT || kind > PL_MATCH_COUNT)
		return 0;
	if (max < 1 || max > PL_MATCH_ELEMS_MAX || size < 1 || size > PL_MATCH_ELEMS_MAX)
		return 0;
	if (kind == PL_MATCH_INTENT && (max != 1 || size != 1))
		return 0;
	if (!label_ok(label, ll, kind) || memchr(label, '\0', ll) != NULL)
		return 0;
	if (created == 0 || created > PL_MATCH_TIME_MAX)
		return 0;
	return keys_ok(signer, peer);
}

int pl_match_msg_decode(pl_match_msg *m, const uint8_t *p, size_t n)
{
	pl_rd r;
	memset(m, 0, sizeof *m);
	pl_rd_init(&r, p, n);
	const uint8_t *magic = pl_rd_bytes(&r, MAGIC_LEN);
	uint8_t step = pl_rd_u8(&r);
	if (magic == NULL || memcmp(magic, PL_MATCH_MAGIC, MAGIC_LEN) != 0)
		goto bad;
	m->step = step;
	pl_rd_copy(&r, m->id, PL_MATCH_ID_LEN);
	if (step == PL_MATCH_COMMIT) {
		if (n < PL_SIG_LEN)
			goto bad;
		pl_rd_init(&r, p, n - PL_SIG_LEN);
		pl_rd_bytes(&r, MAGIC_LEN + 1 + PL_MATCH_ID_LEN);
		m->kind = pl_rd_u8(&r);
		m->max = pl_rd_u32(&r);
		m->size = pl_rd_u32(&r);
		pl_rd_copy(&r, m->commit, 32);
		uint16_t ll = pl_rd_u16(&r);
		const uint8_t *label = pl_rd_bytes(&r, ll);
		m->created = pl_rd_u64(&r);
		pl_rd_copy(&r, m->signer, PL_IK_LEN);
		pl_rd_copy(&r, m->peer, PL_IK_LEN);
		if (pl_rd_done(&r) != 0 || label == NULL || ll > PL_MATCH_LABEL_MAX)
			goto bad;
		memcpy(m->label, label, ll);
		m->label[ll] = '\0';
		if (!commit_fields_ok(m->kind, m->max, m->size, m->label, ll, m->created, m->signer,
				      m->peer))
			goto bad;
		memcpy(m->sig, p + n - PL_SIG_LEN, PL_SIG_LEN);
		if (tagged_verify(PL_MATCH_SIG_TAG, p, n - PL_SIG_LEN, m->sig, m->signer) != 0)
			goto bad;
		return 0;
	}
	m->part = pl_rd_u32(&r);
	m->parts = pl_rd_u32(&r);
	m->total = pl_rd_u32(&r);
	m->count = pl_rd_u32(&r);
	if (r.err || m->count > PL_MATCH_CHUNK_ELEMS)
		goto bad;
	m->elems = pl_rd_bytes(&r, (size_t)m->count * 32);
	m->sealedlen = pl_rd_u16(&r);
	m->sealed = pl_rd_bytes(&r, m->sealedlen);
	if (pl_rd_done(&r) != 0 ||
	    !chunk_ok(step, m->part, m->parts, m->total, m->count, m->sealedlen))
		goto bad;
	if (m->count == 0)
		m->elems = NULL;
	if (m->sealedlen == 0)
		m->sealed = NULL;
	return 0;
bad:
	memset(m, 0, sizeof *m);
	return -1;
}

int pl_match_commit_encode(pl_wr *w, const uint8_t id[PL_MATCH_ID_LEN], int kind, uint32_t max,
			   uint32_t size, const uint8_t commit[32], const char *label,
			   uint64_t created, const uint8_t peer[PL_IK_LEN], const pl_identity *me)
{
	if (label == NULL || me == NULL || peer == NULL)
		return -1;
	size_t ll = strnlen(label, PL_MATCH_LABEL_MAX + 1);
	if (!commit_fields_ok(kind, max, size, label, ll, created, me->pk, peer))
		return -1;
	pl_wr b;
	pl_wr_init(&b);
	pl_wr_bytes(&b, (const uint8_t *)PL_MATCH_MAGIC, MAGIC_LEN);
	pl_wr_u8(&b, PL_MATCH_COMMIT);
	pl_wr_bytes(&b, id, PL_MATCH_ID_LEN);
	pl_wr_u8(&b, (uint8_t)kind);
	pl_wr_u32(&b, max);
	pl_wr_u32(&b, size);
	pl_wr_bytes(&b, commit, 32);
	pl_wr_u16(&b, (uint16_t)ll);
	pl_wr_bytes(&b, (const uint8_t *)label, ll);
	pl_wr_u64(&b, created);
	pl_wr_bytes(&b, me->pk, PL_IK_LEN);
	pl_wr_bytes(&b, peer, PL_IK_LEN);
	uint8_t sig[PL_SIG_LEN];
	int rc = -1;
	if (pl_wr_ok(&b) == 0 && tagged_sign(sig, PL_MATCH_SIG_TAG, b.p, b.n, me) == 0) {
		pl_wr_bytes(&b, sig, PL_SIG_LEN);
		size_t before = w->n;
		pl_wr_bytes(w, b.p, b.n);
		rc = pl_wr_ok(w) == 0 && w->n == before + b.n ? 0 : -1;
	}
	pl_wr_free(&b);
	return rc;
}

int pl_match_chunk_encode_part(pl_wr *w, int step, const uint8_t id[PL_MATCH_ID_LEN], uint32_t part,
			       uint32_t total, const uint8_t *part_elems, const uint8_t *sealed,
			       size_t sealedlen)
{
	uint32_t parts = pl_match_parts(total), count = pl_match_part_count(part, total);
	if (!chunk_ok(step, part, parts, total, count, sealedlen) ||
	    (count > 0 && part_elems == NULL) || (sealedlen > 0 && sealed == NULL))
		return -1;
	pl_wr b;
	pl_wr_init(&b);
	pl_wr_bytes(&b, (const uint8_t *)PL_MATCH_MAGIC, MAGIC_LEN);
	pl_wr_u8(&b, (uint8_t)step);
	pl_wr_bytes(&b, id, PL_MATCH_ID_LEN);
	pl_wr_u32(&b, part);
	pl_wr_u32(&b, parts);
	pl_wr_u32(&b, total);
	pl_wr_u32(&b, count);
	pl_wr_bytes(&b, part_elems, (size_t)count * 32);
	pl_wr_u16(&b, (uint16_t)sealedlen);
	pl_wr_bytes(&b, sealed, sealedlen);
	int rc = -1;
	if (pl_wr_ok(&b) == 0) {
		pl_wr_bytes(w, b.p, b.n);
		rc = pl_wr_ok(w);
	}
	pl_wr_free(&b);
	return rc;
}

int pl_match_chunk_encode(pl_wr *w, int step, const uint8_t id[PL_MATCH_ID_LEN], uint32_t part,
			  uint32_t total, const uint8_t (*elems)[32], const uint8_t *sealed,
			  size_t sealedlen)
{
	const uint8_t *pe = NULL;
	if (elems != NULL && pl_match_part_count(part, total) > 0)
		pe = elems[(size_t)part * PL_MATCH_CHUNK_ELEMS];
	return pl_match_chunk_encode_part(w, step, id, part, total, pe, sealed, sealedlen);
}

void pl_match_id(uint8_t id[PL_MATCH_ID_LEN], int kind, const uint8_t a[PL_IK_LEN],
		 const uint8_t b[PL_IK_LEN], const char *label)
{
	static const char tag[] = "parley match id v1";
	const uint8_t *lo, *hi;
	uint8_t k = (uint8_t)kind;
	crypto_generichash_state st;
	order(a, b, &lo, &hi);
	crypto_generichash_init(&st, NULL, 0, PL_MATCH_ID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag - 1);
	crypto_generichash_update(&st, &k, 1);
	crypto_generichash_update(&st, lo, PL_IK_LEN);
	crypto_generichash_update(&st, hi, PL_IK_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_final(&st, id, PL_MATCH_ID_LEN);
}

void pl_match_ctx(uint8_t ctx[PL_MATCH_CTX_LEN], int kind, const uint8_t id[PL_MATCH_ID_LEN],
		  const uint8_t a[PL_IK_LEN], const uint8_t b[PL_IK_LEN])
{
	const uint8_t *lo, *hi;
	order(a, b, &lo, &hi);
	ctx[0] = (uint8_t)kind;
	memcpy(ctx + 1, id, PL_MATCH_ID_LEN);
	memcpy(ctx + 1 + PL_MATCH_ID_LEN, lo, PL_IK_LEN);
	memcpy(ctx + 1 + PL_MATCH_ID_LEN + PL_IK_LEN, hi, PL_IK_LEN);
}

void pl_match_list_commit(uint8_t out[32], const uint8_t id[PL_MATCH_ID_LEN],
			  const uint8_t signer[PL_IK_LEN], const uint8_t (*elems)[32], uint32_t n)
{
	static const char tag[] = "parley match list v1";
	uint8_t nb[4];
	crypto_generichash_state st;
	pl_be32_put(nb, n);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag - 1);
	crypto_generichash_update(&st, id, PL_MATCH_ID_LEN);
	crypto_generichash_update(&st, signer, PL_IK_LEN);
	crypto_generichash_update(&st, nb, 4);
	if (n > 0)
		crypto_generichash_update(&st, elems[0], (size_t)n * 32);
	crypto_generichash_final(&st, out, 32);
}

/* --- intent ---------------------------------------------------------------- */

size_t pl_match_intent_len(const char *topic)
{
	return PL_MATCH_INTENT_FIXED + strlen(topic);
}

static int intent_fields_ok(const char *topic, size_t tl, uint64_t created, const uint8_t *signer,
			    const uint8_t *peer)
{
	return label_ok(topic, tl, PL_MATCH_INTENT) && memchr(topic, '\0', tl) == NULL &&
	       created != 0 && created <= PL_MATCH_TIME_MAX && keys_ok(signer, peer);
}

int pl_match_intent_sign(pl_wr *w, const uint8_t id[PL_MATCH_ID_LEN], const uint8_t peer[PL_IK_LEN],
			 const char *topic, uint64_t created, const pl_identity *me)
{
	if (topic == NULL || me == NULL || peer == NULL)
		return -1;
	size_t tl = strnlen(topic, PL_MATCH_LABEL_MAX + 1);
	if (!intent_fields_ok(topic, tl, created, me->pk, peer))
		return -1;
	pl_wr b;
	pl_wr_init(&b);
	pl_wr_bytes(&b, (const uint8_t *)PL_MATCH_INTENT_MAGIC, MAGIC_LEN);
	pl_wr_u8(&b, PL_MATCH_INTENT_VERSION);
	pl_wr_bytes(&b, id, PL_MATCH_ID_LEN);
	pl_wr_bytes(&b, me->pk, PL_IK_LEN);
	pl_wr_bytes(&b, peer, PL_IK_LEN);
	pl_wr_u16(&b, (uint16_t)tl);
	pl_wr_bytes(&b, (const uint8_t *)topic, tl);
	pl_wr_u64(&b, created);
	uint8_t sig[PL_SIG_LEN];
	int rc = -1;
	if (pl_wr_ok(&b) == 0 && tagged_sign(sig, PL_MATCH_INTENT_TAG, b.p, b.n, me) == 0) {
		pl_wr_bytes(&b, sig, PL_SIG_LEN);
		size_t before = w->n;
		pl_wr_bytes(w, b.p, b.n);
		rc = pl_wr_ok(w) == 0 && w->n == before + b.n ? 0 : -1;
	}
	pl_wr_free(&b);
	return rc;
}

int pl_match_intent_decode(pl_match_intent *s, const uint8_t *p, size_t n)
{
	pl_rd r;
	memset(s, 0, sizeof *s);
	if (p == NULL || n < PL_SIG_LEN)
		return -1;
	pl_rd_init(&r, p, n - PL_SIG_LEN);
	const uint8_t *magic = pl_rd_bytes(&r, MAGIC_LEN);
	uint8_t ver = pl_rd_u8(&r);
	pl_rd_copy(&r, s->id, PL_MATCH_ID_LEN);
	pl_rd_copy(&r, s->signer, PL_IK_LEN);
	pl_rd_copy(&r, s->peer, PL_IK_LEN);
	uint16_t tl = pl_rd_u16(&r);
	const uint8_t *topic = pl_rd_bytes(&r, tl);
	s->created = pl_rd_u64(&r);
	if (pl_rd_done(&r) != 0 || memcmp(magic, PL_MATCH_INTENT_MAGIC, MAGIC_LEN) != 0 ||
	    ver != PL_MATCH_INTENT_VERSION || tl > PL_MATCH_LABEL_MAX)
		goto bad;
	memcpy(s->topic, topic, tl);
	s->topic[tl] = '\0';
	if (!intent_fields_ok(s->topic, tl, s->created, s->signer, s->peer))
		goto bad;
	memcpy(s->sig, p + n - PL_SIG_LEN, PL_SIG_LEN);
	if (tagged_verify(PL_MATCH_INTENT_TAG, p, n - PL_SIG_LEN, s->sig, s->signer) != 0)
		goto bad;
	return 0;
bad:
	memset(s, 0, sizeof *s);
	return -1;
}

void pl_match_intent_key(uint8_t key[32], const uint8_t id[PL_MATCH_ID_LEN],
			 const uint8_t y_low[32], const uint8_t y_high[32],
			 const uint8_t shared[32])
{
	static const char tag[] = "parley match intent key v1";
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag - 1);
	crypto_generichash_update(&st, id, PL_MATCH_ID_LEN);
	crypto_generichash_update(&st, y_low, 32);
	crypto_generichash_update(&st, y_high, 32);
	crypto_generichash_update(&st, shared, 32);
	crypto_generichash_final(&st, key, 32);
	sodium_memzero(&st, sizeof st);
}

int pl_match_seal(uint8_t *out, const uint8_t *m, size_t n, const uint8_t id[PL_MATCH_ID_LEN],
		  const uint8_t key[32])
{
	static const uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {0};
	unsigned long long cl = 0;
	return crypto_aead_xchacha20poly1305_ietf_encrypt(out, &cl, m, n, id, PL_MATCH_ID_LEN, NULL,
							  nonce, key) == 0
		   ? 0
		   : -1;
}

int pl_match_open(uint8_t *out, const uint8_t *c, size_t n, const uint8_t id[PL_MATCH_ID_LEN],
		  const uint8_t key[32])
{
	static const uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {0};
	unsigned long long ml = 0;
	if (c == NULL || n < PL_MATCH_SEAL_OVERHEAD)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(out, &ml, NULL, c, n, id, PL_MATCH_ID_LEN,
							  nonce, key) == 0
		   ? 0
		   : -1;
}

/* --- person identifiers ---------------------------------------------------- */

/* An untrusted string for a message: printable ASCII, at most 40. */
static void safe_str(char out[48], const char *s)
{
	snprintf(out, 48, "%.40s", s ? s : "");
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
}

#define PID_HINT "is not a person identifier (ISS:DOC, e.g. IRN:K12345678)"

int pl_person_id_normalise(char out[PL_PERSON_ID_MAX + 1], const char *in, pl_err *e)
{
	char safe[48];
	const char *why = NULL;
	size_t n = in ? strnlen(in, 257) : 0;
	memset(out, 0, PL_PERSON_ID_MAX + 1);
	safe_str(safe, in);
	if (in == NULL || n > 256) {
		why = "it is too long";
		goto bad;
	}
	size_t a = 0, b = n;
	while (a < b && in[a] == ' ')
		a++;
	while (b > a && in[b - 1] == ' ')
		b--;
	if (b - a < 4 || in[a + 3] != ':') {
		why = "it must start with the issuing state's 3 letters and a colon";
		goto bad;
	}
	for (size_t i = 0; i < 3; i++) {
		char c = in[a + i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z') {
			why = "the issuing state must be 3 letters A-Z";
			goto bad;
		}
		out[i] = c;
	}
	out[3] = ':';
	size_t k = 4;
	for (size_t i = a + 4; i < b; i++) {
		char c = in[i];
		if (c == ' ' || c == '-' || c == '.' || c == '/')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
			why = "the number may hold only letters A-Z, digits and - . / or spaces";
			goto bad;
		}
		if (k == PL_PERSON_ID_MAX) {
			why = "the number has more than 20 letters and digits";
			goto bad;
		}
		out[k++] = c;
	}
	if (k == 4) {
		why = "the number is empty";
		goto bad;
	}
	out[k] = '\0';
	return 0;
bad:
	memset(out, 0, PL_PERSON_ID_MAX + 1);
	return pl_err_set(e, PL_EXIT_INPUT, "\"%s\" " PID_HINT ": %s", safe, why);
}

/* 1 iff s is a normalised person identifier. */
static int pid_canonical(const char *s, size_t n)
{
	char out[PL_PERSON_ID_MAX + 1], tmp[PL_PERSON_ID_MAX + 1];
	if (n < 5 || n > PL_PERSON_ID_MAX)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return pl_person_id_normalise(out, tmp, NULL) == 0 && strcmp(out, tmp) == 0;
}

/* --- packages ---------------------------------------------------------------- */

typedef char pid_t_[PL_PERSON_ID_MAX + 1];

static int pid_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* 0 iff a package is one the loader accepts. */
static int package_ok(const pl_match_package *p)
{
	if (p->nwe < 1 || p->nwe > PL_PKG_PEOPLE_MAX || p->nthey < 1 ||
	    p->nthey > PL_PKG_PEOPLE_MAX || p->we == NULL || p->they == NULL)
		return -1;
	for (int side = 0; side < 2; side++) {
		const pid_t_ *l = side ? p->they : p->we;
		uint32_t n = side ? p->nthey : p->nwe;
		for (uint32_t i = 0; i < n; i++) {
			if (memchr(l[i], '\0', sizeof l[i]) == NULL ||
			    !pid_canonical(l[i], strlen(l[i])))
				return -1;
			for (uint32_t j = 0; j < i; j++)
				if (strcmp(l[i], l[j]) == 0)
					return -1;
		}
	}
	for (uint32_t i = 0; i < p->nwe; i++)
		for (uint32_t j = 0; j < p->nthey; j++)
			if (strcmp(p->we[i], p->they[j]) == 0)
				return -1;
	return 0;
}

static void put_sorted(pl_wr *w, const pid_t_ *l, uint32_t n)
{
	pid_t_ s[PL_PKG_PEOPLE_MAX];
	memcpy(s, l, (size_t)n * sizeof *s);
	qsort(s, n, sizeof *s, pid_cmp);
	pl_wr_u8(w, (uint8_t)n);
	for (uint32_t i = 0; i < n; i++) {
		size_t len = strlen(s[i]);
		pl_wr_u8(w, (uint8_t)len);
		pl_wr_bytes(w, (const uint8_t *)s[i], len);
	}
}

int pl_match_package_elem(pl_wr *w, const pl_match_package *p, const uint8_t me[PL_IK_LEN],
			  const uint8_t peer[PL_IK_LEN])
{
	if (package_ok(p) != 0 || memcmp(me, peer, PL_IK_LEN) == 0)
		return -1;
	int me_low = memcmp(me, peer, PL_IK_LEN) < 0;
	pl_wr b;
	pl_wr_init(&b);
	pl_wr_bytes(&b, (const uint8_t *)"pkg", 3);
	put_sorted(&b, me_low ? p->we : p->they, me_low ? p->nwe : p->nthey);
	put_sorted(&b, me_low ? p->they : p->we, me_low ? p->nthey : p->nwe);
	int rc = -1;
	if (pl_wr_ok(&b) == 0) {
		pl_wr_bytes(w, b.p, b.n);
		rc = pl_wr_ok(w);
	}
	pl_wr_free(&b);
	return rc;
}

static json_t *ids_json(const pid_t_ *l, uint32_t n)
{
	json_t *a = json_array();
	for (uint32_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(l[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *pl_match_package_json(const pl_match_package *p)
{
	json_t *j = json_object(), *we = ids_json(p->we, p->nwe),
	       *they = ids_json(p->they, p->nthey);
	if (j == NULL || we == NULL || they == NULL || json_object_set_new(j, "we_release", we) ||
	    json_object_set_new(j, "they_release", they)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* One sorted list of an element: strictly ascending canonical ids. */
static int rd_list(pl_rd *r, pid_t_ *l, uint32_t *n)
{
	*n = pl_rd_u8(r);
	if (r->err || *n < 1 || *n > PL_PKG_PEOPLE_MAX)
		return -1;
	for (uint32_t i = 0; i < *n; i++) {
		uint8_t len = pl_rd_u8(r);
		const uint8_t *s = pl_rd_bytes(r, len);
		if (s == NULL || !pid_canonical((const char *)s, len))
			return -1;
		memcpy(l[i], s, len);
		l[i][len] = '\0';
		if (i > 0 && strcmp(l[i - 1], l[i]) >= 0)
			return -1;
	}
	return 0;
}

json_t *pl_match_package_elem_json(const uint8_t *elem, size_t n, const uint8_t me[PL_IK_LEN],
				   const uint8_t peer[PL_IK_LEN])
{
	pid_t_ *a = calloc(2 * PL_PKG_PEOPLE_MAX, sizeof *a);
	json_t *j = NULL;
	if (a == NULL)
		return NULL;
	pl_rd r;
	uint32_t nlo = 0, nhi = 0;
	pl_rd_init(&r, elem, n);
	const uint8_t *tag = pl_rd_bytes(&r, 3);
	if (tag == NULL || memcmp(tag, "pkg", 3) != 0 || rd_list(&r, a, &nlo) != 0 ||
	    rd_list(&r, a + PL_PKG_PEOPLE_MAX, &nhi) != 0 || pl_rd_done(&r) != 0 ||
	    memcmp(me, peer, PL_IK_LEN) == 0)
		goto out;
	int me_low = memcmp(me, peer, PL_IK_LEN) < 0;
	pl_match_package p = {me_low ? nlo : nhi, me_low ? nhi : nlo,
			      me_low ? a : a + PL_PKG_PEOPLE_MAX,
			      me_low ? a + PL_PKG_PEOPLE_MAX : a};
	if (package_ok(&p) == 0)
		j = pl_match_package_json(&p);
out:
	free(a);
	return j;
}

void pl_match_packages_free(pl_match_package *p, size_t n)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(p[i].we);
	free(p);
}

typedef struct {
	uint8_t h[32];
	size_t i;
} pkg_hash;

static int pkg_hash_cmp(const void *a, const void *b)
{
	const pkg_hash *x = a, *y = b;
	int c = memcmp(x->h, y->h, 32);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* One list of package i (1-based pn). */
static int load_list(const json_t *arr, const char *key, size_t pn, pid_t_ *l, uint32_t *n,
		     pl_err *e)
{
	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > PL_PKG_PEOPLE_MAX)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "package %zu: \"%s\" must be a list of 1 to %d person "
				  "identifiers",
				  pn, key, PL_PKG_PEOPLE_MAX);
	*n = (uint32_t)json_array_size(arr);
	for (uint32_t k = 0; k < *n; k++) {
		const char *s = json_string_value(json_array_get(arr, k));
		pl_err pe;
		pl_err_clear(&pe);
		if (s == NULL)
			return pl_err_set(e, PL_EXIT_INPUT, "package %zu: %s[%u] is not a string",
					  pn, key, k);
		if (strlen(s) != json_string_length(json_array_get(arr, k)) ||
		    pl_person_id_normalise(l[k], s, &pe) != 0) {
			if (pe.msg[0] == '\0')
				pl_person_id_normalise(l[k], "", &pe);
			return pl_err_set(e, PL_EXIT_INPUT, "package %zu: %s[%u] %s", pn, key, k,
					  pe.msg);
		}
		for (uint32_t j = 0; j < k; j++)
			if (strcmp(l[j], l[k]) == 0)
				return pl_err_set(e, PL_EXIT_INPUT,
						  "package %zu: %s[%u] is %s again (%s[%u]); name "
						  "each person once",
						  pn, key, k, l[k], key, j);
	}
	return 0;
}

int pl_match_packages_load(pl_match_package **out, size_t *n, const char *text, size_t len,
			   pl_err *e)
{
	static const char *const pkg_keys[] = {"we_release", "they_release"};
	json_error_t je;
	pl_match_package *pk = NULL;
	pkg_hash *hs = NULL;
	size_t cnt = 0;
	int rc = -1;
	*out = NULL;
	*n = 0;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		for (char *c = je.text; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the packages file is not valid JSON (line %d: %.80s); fix it "
				  "and try again",
				  je.line, je.text);
	}
	const char *k;
	json_t *v;
	if (!json_is_object(root)) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "the packages file must be a JSON object: {\"packages\": [...]}");
		goto out;
	}
	json_object_foreach(root, k, v)
	{
		if (strcmp(k, "packages") != 0) {
			char safe[48];
			safe_str(safe, k);
			pl_err_set(e, PL_EXIT_INPUT,
				   "the packages file has an unknown key \"%s\" (known: packages)",
				   safe);
			goto out;
		}
	}
	json_t *arr = json_object_get(root, "packages");
	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > PL_MATCH_ELEMS_MAX) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "the packages file's \"packages\" must be a list of 1 to %u packages",
			   PL_MATCH_ELEMS_MAX);
		goto out;
	}
	cnt = json_array_size(arr);
	pk = calloc(cnt, sizeof *pk);
	hs = calloc(cnt, sizeof *hs);
	if (pk == NULL || hs == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cnt; i++) {
		json_t *jp = json_array_get(arr, i);
		size_t pn = i + 1;
		if (!json_is_object(jp)) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "package %zu is not a JSON object with we_release and "
				   "they_release",
				   pn);
			goto out;
		}
		json_object_foreach(jp, k, v)
		{
			if (strcmp(k, pkg_keys[0]) != 0 && strcmp(k, pkg_keys[1]) != 0) {
				char safe[48];
				safe_str(safe, k);
				pl_err_set(e, PL_EXIT_INPUT,
					   "package %zu has an unknown key \"%s\" (known: "
					   "we_release, they_release)",
					   pn, safe);
				goto out;
			}
		}
		pl_match_package *p = &pk[i];
		/* as many entries as the lists hold (bounded by load_list) */
		size_t nw = json_array_size(json_object_get(jp, "we_release"));
		size_t nt = json_array_size(json_object_get(jp, "they_release"));
		nw = nw > PL_PKG_PEOPLE_MAX ? PL_PKG_PEOPLE_MAX : nw;
		nt = nt > PL_PKG_PEOPLE_MAX ? PL_PKG_PEOPLE_MAX : nt;
		p->we = calloc(nw + nt + 1, sizeof *p->we);
		if (p->we == NULL) {
			pl_err_set(e, PL_EXIT_ERROR, "out of memory");
			goto out;
		}
		p->they = p->we + nw;
		if (load_list(json_object_get(jp, "we_release"), "we_release", pn, p->we, &p->nwe,
			      e) != 0 ||
		    load_list(json_object_get(jp, "they_release"), "they_release", pn, p->they,
			      &p->nthey, e) != 0)
			goto out;
		for (uint32_t a = 0; a < p->nwe; a++)
			for (uint32_t b = 0; b < p->nthey; b++)
				if (strcmp(p->we[a], p->they[b]) == 0) {
					pl_err_set(e, PL_EXIT_INPUT,
						   "package %zu: %s is in both we_release[%u] and "
						   "they_release[%u]; a person is released by one "
						   "side",
						   pn, p->we[a], a, b);
					goto out;
				}
		/* a side-independent hash: the element as if we were the lower key */
		static const uint8_t lo[PL_IK_LEN] = {0}, hi[PL_IK_LEN] = {1};
		pl_wr w;
		pl_wr_init(&w);
		if (pl_match_package_elem(&w, p, lo, hi) != 0 || pl_wr_ok(&w) != 0) {
			pl_wr_free(&w);
			pl_err_set(e, PL_EXIT_ERROR, "out of memory");
			goto out;
		}
		crypto_generichash(hs[i].h, 32, w.p, w.n, NULL, 0);
		hs[i].i = i;
		pl_wr_free(&w);
	}
	qsort(hs, cnt, sizeof *hs, pkg_hash_cmp);
	size_t first = 0, dup = 0;
	for (size_t i = 1; i < cnt; i++) {
		if (memcmp(hs[i].h, hs[i - 1].h, 32) != 0)
			continue;
		size_t g = i - 1;
		while (g > 0 && memcmp(hs[g - 1].h, hs[i].h, 32) == 0)
			g--;
		if (dup == 0 || hs[i].i < dup) {
			first = hs[g].i;
			dup = hs[i].i;
		}
	}
	if (dup != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "package %zu is the same as package %zu (the same people on each "
			   "side); give each package once",
			   dup + 1, first + 1);
		goto out;
	}
	*out = pk;
	*n = cnt;
	pk = NULL;
	rc = 0;
out:
	pl_match_packages_free(pk, cnt);
	free(hs);
	json_decref(root);
	return rc;
}
