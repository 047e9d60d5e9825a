/*
 * ratchet.c — owns the Double Ratchet state of one session (Signal's Double
 * Ratchet specification, with the KDFs and encodings of docs/PROTOCOL.md):
 * the DH ratchet, the sending and receiving chains, the store of skipped
 * message keys, and the versioned binary form the vault keeps.
 *
 * It must never change the state when a message fails to decrypt, never use
 * a message key twice, never keep more skipped keys than the bounds allow,
 * and never leave a chain key, message key or DH secret in memory it gives
 * back (stack or heap).
 *
 * Why decrypt is written the way it is: every change a message would make
 * (skipped keys, new chains, a new root key and ratchet key) is computed in
 * locals first, the AEAD is opened, and only then is anything written to the
 * state. Skipped keys are not staged: the chain is walked once to find the
 * message key, and walked again to store the keys it skipped only after the
 * message has authenticated. That costs a few HMACs on out-of-order messages
 * and saves copying up to PL_RATCHET_MAX_SKIP keys per message.
 */
#include "session/ratchet.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kdf.h"

#define STATE_VERSION 1
#define KEY_LEN 32
#define ROOT_INFO "parley ratchet root v1"
/* Caller AD ‖ header fits on the stack up to this size (the X3DH AD is 64). */
#define AD_STACK_MAX 512

#define F_DHR 0x01 /* a remote ratchet key is known */
#define F_CKS 0x02 /* a sending chain exists */
#define F_CKR 0x04 /* a receiving chain exists */

typedef struct {
	uint8_t dh[KEY_LEN];
	uint8_t mk[KEY_LEN];
	uint32_t n;
} skipped_key;

struct pl_ratchet {
	uint8_t rk[KEY_LEN];
	uint8_t dhs_sk[KEY_LEN];
	uint8_t dhs_pk[KEY_LEN];
	uint8_t dhr[KEY_LEN];
	uint8_t cks[KEY_LEN];
	uint8_t ckr[KEY_LEN];
	uint32_t ns, nr, pn;
	uint8_t flags;
	/* Oldest first; entries [0, nskipped) are live, the rest are zero. */
	size_t nskipped;
	skipped_key skipped[PL_RATCHET_MAX_STORED];
};

/* ---- KDFs ---------------------------------------------------------------- */

/* MK = HMAC(CK, 0x01), CK' = HMAC(CK, 0x02); the keyed HMAC state is shared.
 * mk may be NULL when only the next chain key is wanted. next may equal ck. */
static void chain_step(uint8_t *mk, uint8_t next[static KEY_LEN], const uint8_t ck[static KEY_LEN])
{
	static const uint8_t one = 0x01, two = 0x02;
	crypto_auth_hmacsha256_state a, b;

	crypto_auth_hmacsha256_init(&a, ck, KEY_LEN);
	if (mk != NULL) {
		b = a;
		crypto_auth_hmacsha256_update(&b, &one, 1);
		crypto_auth_hmacsha256_final(&b, mk);
		sodium_memzero(&b, sizeof b);
	}
	crypto_auth_hmacsha256_update(&a, &two, 1);
	crypto_auth_hmacsha256_final(&a, next);
	sodium_memzero(&a, sizeof a);
}

/* RK', CK = HKDF(salt = RK, ikm = DH(sk, pk), info, 64); -1 on all-zero DH. */
static int root_step(uint8_t rk_out[static KEY_LEN], uint8_t ck_out[static KEY_LEN],
		     const uint8_t rk[static KEY_LEN], const uint8_t sk[static KEY_LEN],
		     const uint8_t pk[static KEY_LEN])
{
	uint8_t dh[KEY_LEN], okm[2 * KEY_LEN];
	int rc = -1;

	if (crypto_scalarmult(dh, sk, pk) != 0)
		goto out;
	if (pl_hkdf_sha256(okm, sizeof okm, rk, KEY_LEN, dh, sizeof dh, (const uint8_t *)ROOT_INFO,
			   sizeof ROOT_INFO - 1) != 0)
		goto out;
	memcpy(rk_out, okm, KEY_LEN);
	memcpy(ck_out, okm + KEY_LEN, KEY_LEN);
	rc = 0;
out:
	sodium_memzero(dh, sizeof dh);
	sodium_memzero(okm, sizeof okm);
	return rc;
}

/* ---- AEAD ---------------------------------------------------------------- */

/* AD of a message is the caller's AD ‖ header. Small ADs (the usual case)
 * are assembled on the stack; only an unusually large AD costs a malloc. */
typedef struct {
	uint8_t buf[AD_STACK_MAX];
	uint8_t *p;
	size_t n;
} full_ad;

static int full_ad_make(full_ad *f, const uint8_t *ad, size_t adlen,
			const uint8_t hdr[static PL_RATCHET_HEADER_LEN])
{
	if (adlen > SIZE_MAX - PL_RATCHET_HEADER_LEN)
		return -1;
	f->n = adlen + PL_RATCHET_HEADER_LEN;
	f->p = f->n <= sizeof f->buf ? f->buf : malloc(f->n);
	if (f->p == NULL)
		return -1;
	if (adlen > 0)
		memcpy(f->p, ad, adlen);
	memcpy(f->p + adlen, hdr, PL_RATCHET_HEADER_LEN);
	return 0;
}

static void full_ad_free(full_ad *f)
{
	if (f->p != f->buf)
		free(f->p);
	f->p = NULL;
}

static int seal(uint8_t *ct, const uint8_t *pt, size_t ptlen, const full_ad *f,
		const uint8_t mk[static KEY_LEN])
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	return crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, ptlen, f->p, f->n, NULL,
							 nonce, mk);
}

static int open_msg(uint8_t *pt, const uint8_t *ct, size_t ctlen, const full_ad *f,
		    const uint8_t mk[static KEY_LEN])
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	return crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, ctlen, f->p, f->n,
							 nonce, mk);
}

/* ---- skipped message keys ------------------------------------------------ */

static long skipped_find(const pl_ratchet *r, const uint8_t dh[static KEY_LEN], uint32_t n)
{
	for (size_t i = 0; i < r->nskipped; i++) {
		if (r->skipped[i].n == n && memcmp(r->skipped[i].dh, dh, KEY_LEN) == 0)
			return (long)i;
	}
	return -1;
}

/* Removes entries [at, at + k), keeping the order of the rest, and wipes the
 * slots the live entries no longer cover. */
static void skipped_remove(pl_ratchet *r, size_t at, size_t k)
{
	size_t tail = r->nskipped - at - k;

	sodium_memzero(&r->skipped[at], k * sizeof r->skipped[0]);
	if (tail > 0) {
		memmove(&r->skipped[at], &r->skipped[at + k], tail * sizeof r->skipped[0]);
		sodium_memzero(&r->skipped[at + tail], k * sizeof r->skipped[0]);
	}
	r->nskipped -= k;
}

/* Stores the message keys of a chain whose key at index `from` is *ck, for
 * indices [from, until), evicting the oldest stored keys to make room; *ck
 * ends as the chain key at index `until`. until - from <= MAX_SKIP. */
static void skipped_store(pl_ratchet *r, const uint8_t dh[static KEY_LEN],
			  uint8_t ck[static KEY_LEN], uint32_t from, uint32_t until)
{
	size_t k = until > from ? until - from : 0;

	if (k == 0)
		return;
	if (r->nskipped + k > PL_RATCHET_MAX_STORED)
		skipped_remove(r, 0, r->nskipped + k - PL_RATCHET_MAX_STORED);
	for (uint32_t i = from; i < until; i++) {
		skipped_key *s = &r->skipped[r->nskipped++];
		memcpy(s->dh, dh, KEY_LEN);
		s->n = i;
		chain_step(s->mk, ck, ck);
	}
}

/* ---- life cycle ---------------------------------------------------------- */

pl_ratchet *pl_ratchet_new(void)
{
	return calloc(1, sizeof(pl_ratchet));
}

void pl_ratchet_free(pl_ratchet *r)
{
	if (r == NULL)
		return;
	sodium_memzero(r, sizeof *r);
	free(r);
}

/* Wipes the used part of the state (the skipped array beyond nskipped is
 * already zero). */
static void ratchet_reset(pl_ratchet *r)
{
	sodium_memzero(r->skipped, r->nskipped * sizeof r->skipped[0]);
	sodium_memzero(r, offsetof(pl_ratchet, skipped));
}

int pl_ratchet_init_alice(pl_ratchet *r, const uint8_t sk[static 32],
			  const uint8_t bob_dh_pub[static 32])
{
	uint8_t dsk[KEY_LEN], dpk[KEY_LEN], rk[KEY_LEN], ck[KEY_LEN];
	int rc = -1;

	crypto_box_keypair(dpk, dsk);
	if (root_step(rk, ck, sk, dsk, bob_dh_pub) != 0)
		goto out;
	ratchet_reset(r);
	memcpy(r->dhs_sk, dsk, KEY_LEN);
	memcpy(r->dhs_pk, dpk, KEY_LEN);
	memcpy(r->dhr, bob_dh_pub, KEY_LEN);
	memcpy(r->rk, rk, KEY_LEN);
	memcpy(r->cks, ck, KEY_LEN);
	r->flags = F_DHR | F_CKS;
	rc = 0;
out:
	sodium_memzero(dsk, sizeof dsk);
	sodium_memzero(rk, sizeof rk);
	sodium_memzero(ck, sizeof ck);
	return rc;
}

int pl_ratchet_init_bob(pl_ratchet *r, const uint8_t sk[static 32],
			const uint8_t bob_dh_sk[static 32], const uint8_t bob_dh_pub[static 32])
{
	uint8_t pk[KEY_LEN];

	/* A mismatched pair would only show up as every first message failing. */
	if (crypto_scalarmult_base(pk, bob_dh_sk) != 0 || memcmp(pk, bob_dh_pub, KEY_LEN) != 0)
		return -1;
	ratchet_reset(r);
	memcpy(r->rk, sk, KEY_LEN);
	memcpy(r->dhs_sk, bob_dh_sk, KEY_LEN);
	memcpy(r->dhs_pk, bob_dh_pub, KEY_LEN);
	return 0;
}

/* ---- messages ------------------------------------------------------------ */

static void header_put(uint8_t h[static PL_RATCHET_HEADER_LEN], const uint8_t dh[static KEY_LEN],
		       uint32_t pn, uint32_t n)
{
	memcpy(h, dh, KEY_LEN);
	pl_be32_put(h + KEY_LEN, pn);
	pl_be32_put(h + KEY_LEN + 4, n);
}

int pl_ratchet_encrypt(pl_ratchet *r, const uint8_t *ad, size_t adlen, const uint8_t *pt,
		       size_t ptlen, uint8_t *out, size_t *outlen)
{
	uint8_t mk[KEY_LEN], next[KEY_LEN];
	full_ad f;
	int rc = -1;

	if (!(r->flags & F_CKS) || r->ns == UINT32_MAX)
		return -1;
	if (ptlen > SIZE_MAX - PL_RATCHET_OVERHEAD ||
	    ptlen > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
		return -1;
	header_put(out, r->dhs_pk, r->pn, r->ns);
	if (full_ad_make(&f, ad, adlen, out) != 0)
		return -1;
	chain_step(mk, next, r->cks);
	if (seal(out + PL_RATCHET_HEADER_LEN, pt, ptlen, &f, mk) == 0) {
		memcpy(r->cks, next, KEY_LEN);
		r->ns++;
		*outlen = ptlen + PL_RATCHET_OVERHEAD;
		rc = 0;
	}
	full_ad_free(&f);
	sodium_memzero(mk, sizeof mk);
	sodium_memzero(next, sizeof next);
	return rc;
}

/* Walks a chain from ck (at index `from`) to index `to`: writes the message
 * key at `to` and the chain key after it. */
static void chain_seek(uint8_t mk[static KEY_LEN], uint8_t next[static KEY_LEN],
		       const uint8_t ck[static KEY_LEN], uint32_t from, uint32_t to)
{
	memcpy(next, ck, KEY_LEN);
	for (uint32_t i = from; i < to; i++)
		chain_step(NULL, next, next);
	chain_step(mk, next, next);
}

/* A message under a skipped key: open it, then forget the key. */
static int decrypt_skipped(pl_ratchet *r, size_t idx, const uint8_t *ct, size_t ctlen,
			   const full_ad *f, uint8_t *out)
{
	if (open_msg(out, ct, ctlen, f, r->skipped[idx].mk) != 0)
		return -1;
	skipped_remove(r, idx, 1);
	return 0;
}

/* A message on the current receiving chain, at or after nr. */
static int decrypt_current(pl_ratchet *r, uint32_t n, const uint8_t *ct, size_t ctlen,
			   const full_ad *f, uint8_t *out)
{
	uint8_t mk[KEY_LEN], next[KEY_LEN];
	int rc = -1;

	if (n - r->nr > PL_RATCHET_MAX_SKIP || n == UINT32_MAX)
		return -1;
	chain_seek(mk, next, r->ckr, r->nr, n);
	if (open_msg(out, ct, ctlen, f, mk) != 0)
		goto out;
	skipped_store(r, r->dhr, r->ckr, r->nr, n);
	memcpy(r->ckr, next, KEY_LEN);
	r->nr = n + 1;
	rc = 0;
out:
	sodium_memzero(mk, sizeof mk);
	sodium_memzero(next, sizeof next);
	return rc;
}

/* A message under a new remote ratchet key: a DH ratchet step. */
static int decrypt_ratchet(pl_ratchet *r, const uint8_t dh[static KEY_LEN], uint32_t pn, uint32_t n,
			   const uint8_t *ct, size_t ctlen, const full_ad *f, uint8_t *out)
{
	uint8_t rk1[KEY_LEN], ckr[KEY_LEN], mk[KEY_LEN], ckr_next[KEY_LEN];
	uint8_t dsk[KEY_LEN], dpk[KEY_LEN], rk2[KEY_LEN], cks[KEY_LEN];
	uint64_t old_skip = 0;
	int rc = -1;

	if ((r->flags & F_CKR) && pn > r->nr)
		old_skip = (uint64_t)pn - r->nr;
	if (old_skip + n > PL_RATCHET_MAX_SKIP || n == UINT32_MAX)
		return -1;
	/* A ratchet key that still has skipped keys is an old one: this is a
	 * replay, or a peer reusing a key, which would make (dh, n) ambiguous. */
	for (size_t i = 0; i < r->nskipped; i++) {
		if (memcmp(r->skipped[i].dh, dh, KEY_LEN) == 0)
			return -1;
	}
	if (root_step(rk1, ckr, r->rk, r->dhs_sk, dh) != 0)
		goto out;
	chain_seek(mk, ckr_next, ckr, 0, n);
	if (open_msg(out, ct, ctlen, f, mk) != 0)
		goto out;
	crypto_box_keypair(dpk, dsk);
	if (root_step(rk2, cks, rk1, dsk, dh) != 0)
		goto out;
	/* Authenticated and every new key computed: commit. */
	if (old_skip > 0)
		skipped_store(r, r->dhr, r->ckr, r->nr, pn);
	skipped_store(r, dh, ckr, 0, n);
	r->pn = r->ns;
	r->ns = 0;
	r->nr = n + 1;
	memcpy(r->dhr, dh, KEY_LEN);
	memcpy(r->rk, rk2, KEY_LEN);
	memcpy(r->ckr, ckr_next, KEY_LEN);
	memcpy(r->cks, cks, KEY_LEN);
	memcpy(r->dhs_sk, dsk, KEY_LEN);
	memcpy(r->dhs_pk, dpk, KEY_LEN);
	r->flags = F_DHR | F_CKS | F_CKR;
	rc = 0;
out:
	sodium_memzero(rk1, sizeof rk1);
	sodium_memzero(ckr, sizeof ckr);
	sodium_memzero(mk, sizeof mk);
	sodium_memzero(ckr_next, sizeof ckr_next);
	sodium_memzero(dsk, sizeof dsk);
	sodium_memzero(rk2, sizeof rk2);
	sodium_memzero(cks, sizeof cks);
	return rc;
}

int pl_ratchet_decrypt(pl_ratchet *r, const uint8_t *ad, size_t adlen, const uint8_t *msg,
		       size_t msglen, uint8_t *out, size_t *outlen)
{
	const uint8_t *dh, *ct;
	uint32_t pn, n;
	size_t ctlen;
	full_ad f;
	int rc;

	*outlen = 0;
	if (msg == NULL || msglen < PL_RATCHET_OVERHEAD)
		return -1;
	dh = msg;
	pn = pl_be32_get(msg + KEY_LEN);
	n = pl_be32_get(msg + KEY_LEN + 4);
	ct = msg + PL_RATCHET_HEADER_LEN;
	ctlen = msglen - PL_RATCHET_HEADER_LEN;
	if (full_ad_make(&f, ad, adlen, msg) != 0)
		return -1;

	int current = (r->flags & F_DHR) && memcmp(dh, r->dhr, KEY_LEN) == 0;
	if (current && !(r->flags & F_CKR)) {
		/* Alice before her first reply: Bob's first ratchet key is not
		 * one he sends under until he has ratcheted. */
		rc = -1;
	} else if (current && n >= r->nr) {
		/* No skipped key can exist at or past nr on the current chain. */
		rc = decrypt_current(r, n, ct, ctlen, &f, out);
	} else {
		long idx = skipped_find(r, dh, n);
		if (idx >= 0)
			rc = decrypt_skipped(r, (size_t)idx, ct, ctlen, &f, out);
		else if (current)
			rc = -1; /* already received: a replay */
		else
			rc = decrypt_ratchet(r, dh, pn, n, ct, ctlen, &f, out);
	}
	full_ad_free(&f);
	if (rc == 0)
		*outlen = ctlen - PL_RATCHET_TAG_LEN;
	return rc;
}

/* ---- persistence --------------------------------------------------------- */

int pl_ratchet_save(const pl_ratchet *r, pl_wr *w)
{
	pl_wr_u8(w, STATE_VERSION);
	pl_wr_u8(w, r->flags);
	pl_wr_bytes(w, r->rk, KEY_LEN);
	pl_wr_bytes(w, r->dhs_sk, KEY_LEN);
	pl_wr_bytes(w, r->dhs_pk, KEY_LEN);
	pl_wr_bytes(w, r->dhr, KEY_LEN);
	pl_wr_bytes(w, r->cks, KEY_LEN);
	pl_wr_bytes(w, r->ckr, KEY_LEN);
	pl_wr_u32(w, r->ns);
	pl_wr_u32(w, r->nr);
	pl_wr_u32(w, r->pn);
	pl_wr_u32(w, (uint32_t)r->nskipped);
	for (size_t i = 0; i < r->nskipped; i++) {
		pl_wr_bytes(w, r->skipped[i].dh, KEY_LEN);
		pl_wr_u32(w, r->skipped[i].n);
		pl_wr_bytes(w, r->skipped[i].mk, KEY_LEN);
	}
	return pl_wr_ok(w);
}

/* Whether the decoded fields form a state this module could have made. */
static int state_consistent(const pl_ratchet *t)
{
	uint8_t pk[KEY_LEN];

	/* Bob before his first message in, Alice before hers, or running. */
	if (t->flags != 0 && t->flags != (F_DHR | F_CKS) && t->flags != (F_DHR | F_CKS | F_CKR))
		return 0;
	if (!(t->flags & F_DHR) && !sodium_is_zero(t->dhr, KEY_LEN))
		return 0;
	if (!(t->flags & F_CKS) && (!sodium_is_zero(t->cks, KEY_LEN) || t->ns != 0 || t->pn != 0))
		return 0;
	if (!(t->flags & F_CKR) &&
	    (!sodium_is_zero(t->ckr, KEY_LEN) || t->nr != 0 || t->nskipped != 0))
		return 0;
	if (crypto_scalarmult_base(pk, t->dhs_sk) != 0 || memcmp(pk, t->dhs_pk, KEY_LEN) != 0)
		return 0;
	for (size_t i = 0; i < t->nskipped; i++) {
		const skipped_key *s = &t->skipped[i];
		/* Keys at or past nr on the current chain are never skipped. */
		if (memcmp(s->dh, t->dhr, KEY_LEN) == 0 && s->n >= t->nr)
			return 0;
		for (size_t j = 0; j < i; j++) {
			if (t->skipped[j].n == s->n &&
			    memcmp(t->skipped[j].dh, s->dh, KEY_LEN) == 0)
				return 0; /* a duplicate would allow a replay */
		}
	}
	return 1;
}

int pl_ratchet_load(pl_ratchet *r, const uint8_t *p, size_t n)
{
	pl_ratchet *t = calloc(1, sizeof *t);
	uint32_t count;
	pl_rd rd;
	int rc = -1;

	if (t == NULL)
		return -1;
	pl_rd_init(&rd, p, n);
	if (pl_rd_u8(&rd) != STATE_VERSION)
		pl_rd_fail(&rd);
	t->flags = pl_rd_u8(&rd);
	pl_rd_copy(&rd, t->rk, KEY_LEN);
	pl_rd_copy(&rd, t->dhs_sk, KEY_LEN);
	pl_rd_copy(&rd, t->dhs_pk, KEY_LEN);
	pl_rd_copy(&rd, t->dhr, KEY_LEN);
	pl_rd_copy(&rd, t->cks, KEY_LEN);
	pl_rd_copy(&rd, t->ckr, KEY_LEN);
	t->ns = pl_rd_u32(&rd);
	t->nr = pl_rd_u32(&rd);
	t->pn = pl_rd_u32(&rd);
	count = pl_rd_u32(&rd);
	if (count > PL_RATCHET_MAX_STORED)
		pl_rd_fail(&rd);
	for (uint32_t i = 0; i < count && !rd.err; i++) {
		skipped_key *s = &t->skipped[i];
		pl_rd_copy(&rd, s->dh, KEY_LEN);
		s->n = pl_rd_u32(&rd);
		pl_rd_copy(&rd, s->mk, KEY_LEN);
		t->nskipped = i + 1;
	}
	if (pl_rd_done(&rd) != 0 || t->nskipped != count || !state_consistent(t))
		goto out;
	ratchet_reset(r);
	memcpy(r, t, offsetof(pl_ratchet, skipped) + t->nskipped * sizeof t->skipped[0]);
	rc = 0;
out:
	pl_ratchet_free(t);
	return rc;
}
