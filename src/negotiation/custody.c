/*
 * custody.c — the carry, custody record and notice formats (custody.h,
 * docs/PROTOCOL.md "Proximity talks"). One encoder and one strict decoder
 * each; what the encoder writes the decoder accepts and nothing else.
 */
#include "negotiation/custody.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kdf.h"
#include "log/receipt.h"
#include "util/text.h"

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static int keys_ok(const uint8_t *a, const uint8_t *r, const uint8_t *m)
{
	if (pl_ik_validate(a) != 0 || pl_ik_validate(r) != 0 || pl_ik_validate(m) != 0)
		return 0;
	return memcmp(a, r, PL_IK_LEN) != 0 && memcmp(a, m, PL_IK_LEN) != 0 &&
	       memcmp(r, m, PL_IK_LEN) != 0;
}

static int note_text_ok(const uint8_t *p, size_t n)
{
	return n >= 1 && n <= PL_CUSTODY_INNER_MAX &&
	       pl_text_ok(p, n, 1, PL_CUSTODY_INNER_MAX, PL_TEXT_MULTILINE) == 0;
}

/* --- carry ---------------------------------------------------------------- */

/* 0 iff inner is a valid signed object for recipient (what = object) or a
 * valid note. */
static int inner_ok(uint8_t what, const uint8_t recipient[PL_IK_LEN], const uint8_t *inner,
		    size_t n, pl_obj *o, pl_err *e)
{
	if (what == PL_CARRY_NOTE) {
		if (!note_text_ok(inner, n))
			return pl_err_set(
			    e, PL_EXIT_INPUT,
			    "malformed carried note: it must be 1 to %d bytes of text",
			    PL_CUSTODY_INNER_MAX);
		return 0;
	}
	pl_obj *tmp = o ? o : calloc(1, sizeof *tmp);
	if (tmp == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_obj_decode_signed(tmp, inner, n, e);
	if (rc == 0 && sodium_memcmp(tmp->recipient_ik, recipient, PL_IK_LEN) != 0)
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the carried object is addressed to another key than the one it "
				"is carried to");
	if (tmp != o)
		free(tmp);
	return rc;
}

int pl_carry_encode(pl_wr *w, const pl_carry *c, pl_err *e)
{
	if ((c->what != PL_CARRY_OBJECT && c->what != PL_CARRY_NOTE) ||
	    pl_ik_validate(c->recipient_ik) != 0 || c->innerlen > PL_CUSTODY_INNER_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "the move is too large to pass on (%zu bytes)",
				  c->innerlen);
	if (inner_ok(c->what, c->recipient_ik, c->inner, c->innerlen, NULL, e) != 0)
		return -1;
	pl_wr_u8(w, PL_CUSTODY_VERSION);
	pl_wr_u8(w, c->what);
	pl_wr_bytes(w, c->recipient_ik, PL_IK_LEN);
	pl_wr_var(w, c->inner, c->innerlen);
	return pl_wr_ok(w) == 0 ? 0 : pl_err_set(e, PL_EXIT_ERROR, "out of memory");
}

int pl_carry_decode(pl_carry *c, const uint8_t *p, size_t n, pl_err *e)
{
	pl_rd r;
	pl_carry t;
	memset(c, 0, sizeof *c);
	memset(&t, 0, sizeof t);
	pl_rd_init(&r, p, n);
	uint8_t ver = pl_rd_u8(&r);
	t.what = pl_rd_u8(&r);
	pl_rd_copy(&r, t.recipient_ik, PL_IK_LEN);
	t.inner = pl_rd_var(&r, PL_CUSTODY_INNER_MAX, &t.innerlen);
	if (pl_rd_done(&r) != 0 || ver != PL_CUSTODY_VERSION ||
	    (t.what != PL_CARRY_OBJECT && t.what != PL_CARRY_NOTE) ||
	    pl_ik_validate(t.recipient_ik) != 0 || t.inner == NULL)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "malformed carried move: not a version 1 carry of an object or "
				  "a note");
	if (inner_ok(t.what, t.recipient_ik, t.inner, t.innerlen, NULL, e) != 0)
		return -1;
	*c = t;
	return 0;
}

/* --- custody record ------------------------------------------------------- */

static int custody_fields_ok(const pl_custody *c)
{
	return (c->what == PL_CARRY_OBJECT || c->what == PL_CARRY_NOTE) &&
	       !is_zero(c->id, PL_OBJ_ID_LEN) && !is_zero(c->hash, PL_OBJ_HASH_LEN) &&
	       keys_ok(c->author_ik, c->recipient_ik, c->mediator_ik) && c->carried != 0 &&
	       c->carried <= c->forwarded && memchr(c->note, '\0', sizeof c->note) != NULL &&
	       pl_obj_text_ok(c->note, 0, PL_CUSTODY_NOTE_MAX, 1) == 0;
}

/* The unsigned record. */
static void custody_body(pl_wr *w, const pl_custody *c)
{
	pl_wr_u8(w, PL_CUSTODY_VERSION);
	pl_wr_u8(w, c->what);
	pl_wr_bytes(w, c->id, PL_OBJ_ID_LEN);
	pl_wr_bytes(w, c->hash, PL_OBJ_HASH_LEN);
	pl_wr_bytes(w, c->author_ik, PL_IK_LEN);
	pl_wr_bytes(w, c->recipient_ik, PL_IK_LEN);
	pl_wr_bytes(w, c->mediator_ik, PL_IK_LEN);
	pl_wr_u64(w, c->carried);
	pl_wr_u64(w, c->forwarded);
	pl_wr_var(w, (const uint8_t *)c->note, strlen(c->note));
}

/* Ed25519 over tag ‖ bytes (verify when sig is const and vk given). */
static int tagged(pl_wr *m, const char *tag, const uint8_t *p, size_t n)
{
	pl_wr_init(m);
	pl_wr_bytes(m, (const uint8_t *)tag, strlen(tag));
	pl_wr_bytes(m, p, n);
	return pl_wr_ok(m);
}

int pl_custody_record_encode(pl_wr *w, const pl_custody *c, pl_err *e)
{
	if (!custody_fields_ok(c))
		return pl_err_set(e, PL_EXIT_ERROR, "internal error: an invalid custody record");
	custody_body(w, c);
	pl_wr_bytes(w, c->sig, PL_SIG_LEN);
	return pl_wr_ok(w) == 0 ? 0 : pl_err_set(e, PL_EXIT_ERROR, "out of memory");
}

int pl_custody_record_decode(pl_custody *c, const uint8_t *p, size_t n, pl_err *e)
{
	pl_rd r;
	pl_custody *t = calloc(1, sizeof *t);
	if (t == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	memset(c, 0, sizeof *c);
	int rc = -1;
	if (p == NULL || n < PL_SIG_LEN)
		goto bad;
	pl_rd_init(&r, p, n - PL_SIG_LEN);
	uint8_t ver = pl_rd_u8(&r);
	t->what = pl_rd_u8(&r);
	pl_rd_copy(&r, t->id, PL_OBJ_ID_LEN);
	pl_rd_copy(&r, t->hash, PL_OBJ_HASH_LEN);
	pl_rd_copy(&r, t->author_ik, PL_IK_LEN);
	pl_rd_copy(&r, t->recipient_ik, PL_IK_LEN);
	pl_rd_copy(&r, t->mediator_ik, PL_IK_LEN);
	t->carried = pl_rd_u64(&r);
	t->forwarded = pl_rd_u64(&r);
	size_t nl = 0;
	const uint8_t *note = pl_rd_var(&r, PL_CUSTODY_NOTE_MAX, &nl);
	if (pl_rd_done(&r) != 0 || ver != PL_CUSTODY_VERSION || note == NULL ||
	    memchr(note, '\0', nl) != NULL)
		goto bad;
	memcpy(t->note, note, nl);
	t->note[nl] = '\0';
	if (!custody_fields_ok(t))
		goto bad;
	memcpy(t->sig, p + n - PL_SIG_LEN, PL_SIG_LEN);
	pl_wr m;
	if (tagged(&m, PL_CUSTODY_SIG_TAG, p, n - PL_SIG_LEN) != 0) {
		pl_wr_free(&m);
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	int v = crypto_sign_verify_detached(t->sig, m.p, m.n, t->mediator_ik);
	pl_wr_free(&m);
	if (v != 0) {
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the custody record's signature does not verify under the "
				"mediator's key it names");
		goto out;
	}
	*c = *t;
	rc = 0;
	goto out;
bad:
	rc = pl_err_set(e, PL_EXIT_INPUT, "malformed custody record");
out:
	free(t);
	return rc;
}

/* For an object: its id, author and recipient, verified; for a note: the
 * record's own. Checks the hash. */
static int bind_inner(pl_custody *c, pl_obj *o, const uint8_t *inner, size_t n, int fill, pl_err *e)
{
	uint8_t h[PL_OBJ_HASH_LEN];
	if (n == 0 || n > PL_CUSTODY_INNER_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "malformed forwarded move: bad inner length");
	pl_sha256(h, inner, n);
	if (fill)
		memcpy(c->hash, h, sizeof h);
	else if (sodium_memcmp(h, c->hash, sizeof h) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the forwarded move is not the one its custody record names "
				  "(hash differs)");
	if (c->what == PL_CARRY_NOTE)
		return note_text_ok(inner, n)
			   ? 0
			   : pl_err_set(e, PL_EXIT_INPUT, "malformed forwarded note");
	pl_obj *tmp = o ? o : calloc(1, sizeof *tmp);
	if (tmp == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_obj_decode_signed(tmp, inner, n, e);
	if (rc == 0 && fill) {
		memcpy(c->id, tmp->id, PL_OBJ_ID_LEN);
		memcpy(c->author_ik, tmp->author_ik, PL_IK_LEN);
		memcpy(c->recipient_ik, tmp->recipient_ik, PL_IK_LEN);
	} else if (rc == 0 && (memcmp(c->id, tmp->id, PL_OBJ_ID_LEN) != 0 ||
			       sodium_memcmp(c->author_ik, tmp->author_ik, PL_IK_LEN) != 0 ||
			       sodium_memcmp(c->recipient_ik, tmp->recipient_ik, PL_IK_LEN) != 0)) {
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the custody record names another id, author or recipient than "
				"the object it carries");
	}
	if (tmp != o)
		free(tmp);
	return rc;
}

int pl_custody_forward(pl_wr *w, pl_custody *c, const pl_identity *mediator, const uint8_t *inner,
		       size_t innerlen, pl_err *e)
{
	memcpy(c->mediator_ik, mediator->pk, PL_IK_LEN);
	if (bind_inner(c, NULL, inner, innerlen, 1, e) != 0)
		return -1;
	if (!custody_fields_ok(c))
		return pl_err_set(e, PL_EXIT_USAGE,
				  "cannot sign this custody record: the note must be at most %d "
				  "bytes of text, and author, recipient and mediator must differ",
				  PL_CUSTODY_NOTE_MAX);
	pl_wr body, m;
	pl_wr_init(&body);
	custody_body(&body, c);
	if (pl_wr_ok(&body) != 0 || tagged(&m, PL_CUSTODY_SIG_TAG, body.p, body.n) != 0) {
		pl_wr_free(&body);
		pl_wr_free(&m);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	crypto_sign_detached(c->sig, NULL, m.p, m.n, mediator->sk);
	pl_wr_free(&m);
	pl_wr_bytes(&body, c->sig, PL_SIG_LEN);
	pl_wr_var(w, body.p, body.n);
	pl_wr_var(w, inner, innerlen);
	pl_wr_free(&body);
	return pl_wr_ok(w) == 0 ? 0 : pl_err_set(e, PL_EXIT_ERROR, "out of memory");
}

int pl_custody_decode(pl_custody *c, pl_obj *o, const uint8_t **inner, size_t *innerlen,
		      const uint8_t *p, size_t n, pl_err *e)
{
	pl_rd r;
	size_t rl = 0, il = 0;
	memset(c, 0, sizeof *c);
	*inner = NULL;
	*innerlen = 0;
	pl_rd_init(&r, p, n);
	const uint8_t *rec = pl_rd_var(&r, PL_CUSTODY_SIGNED_MAX, &rl);
	const uint8_t *in = pl_rd_var(&r, PL_CUSTODY_INNER_MAX, &il);
	if (pl_rd_done(&r) != 0 || rec == NULL || in == NULL)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "malformed forwarded move: not a custody record and its move");
	if (pl_custody_record_decode(c, rec, rl, e) != 0)
		return -1;
	if (bind_inner(c, o, in, il, 0, e) != 0) {
		memset(c, 0, sizeof *c);
		return -1;
	}
	*inner = in;
	*innerlen = il;
	return 0;
}

/* --- notice --------------------------------------------------------------- */

static int notice_fields_ok(const pl_custody_notice *x)
{
	if (x->status != PL_NOTICE_HELD && x->status != PL_NOTICE_FORWARDED)
		return 0;
	if (x->what != PL_CARRY_OBJECT && x->what != PL_CARRY_NOTE)
		return 0;
	if (is_zero(x->id, PL_OBJ_ID_LEN) || is_zero(x->hash, PL_OBJ_HASH_LEN) || x->time == 0 ||
	    !keys_ok(x->author_ik, x->recipient_ik, x->mediator_ik))
		return 0;
	if (memchr(x->text, '\0', sizeof x->text) == NULL ||
	    pl_obj_text_ok(x->text, x->status == PL_NOTICE_HELD ? 1 : 0, PL_CUSTODY_REASON_MAX,
			   1) != 0)
		return 0;
	if (x->receiptlen > PL_CUSTODY_RECEIPT_MAX ||
	    (x->status == PL_NOTICE_HELD && x->receiptlen != 0))
		return 0;
	if (x->recordlen > PL_CUSTODY_SIGNED_MAX ||
	    (x->status == PL_NOTICE_HELD) != (x->recordlen == 0))
		return 0;
	if (x->recordlen > 0) {
		pl_custody *c = calloc(1, sizeof *c);
		int ok = c != NULL &&
			 pl_custody_record_decode(c, x->record, x->recordlen, NULL) == 0 &&
			 c->what == x->what && memcmp(c->id, x->id, PL_OBJ_ID_LEN) == 0 &&
			 memcmp(c->hash, x->hash, PL_OBJ_HASH_LEN) == 0 &&
			 memcmp(c->author_ik, x->author_ik, PL_IK_LEN) == 0 &&
			 memcmp(c->recipient_ik, x->recipient_ik, PL_IK_LEN) == 0 &&
			 memcmp(c->mediator_ik, x->mediator_ik, PL_IK_LEN) == 0;
		free(c);
		if (!ok)
			return 0;
	}
	if (x->receiptlen > 0) {
		pl_receipt *rc = calloc(1, sizeof *rc);
		int ok = rc != NULL && pl_receipt_decode(rc, x->receipt, x->receiptlen) == 0;
		free(rc);
		if (!ok)
			return 0;
	}
	return 1;
}

static void notice_body(pl_wr *w, const pl_custody_notice *x)
{
	pl_wr_u8(w, PL_CUSTODY_VERSION);
	pl_wr_u8(w, x->status);
	pl_wr_u8(w, x->what);
	pl_wr_bytes(w, x->id, PL_OBJ_ID_LEN);
	pl_wr_bytes(w, x->hash, PL_OBJ_HASH_LEN);
	pl_wr_bytes(w, x->author_ik, PL_IK_LEN);
	pl_wr_bytes(w, x->recipient_ik, PL_IK_LEN);
	pl_wr_bytes(w, x->mediator_ik, PL_IK_LEN);
	pl_wr_u64(w, x->time);
	pl_wr_var(w, (const uint8_t *)x->text, strlen(x->text));
	pl_wr_var(w, x->receipt, x->receiptlen);
	pl_wr_var(w, x->record, x->recordlen);
}

int pl_custody_notice_sign(pl_wr *w, pl_custody_notice *x, const pl_identity *mediator, pl_err *e)
{
	memcpy(x->mediator_ik, mediator->pk, PL_IK_LEN);
	if (!notice_fields_ok(x))
		return pl_err_set(e, PL_EXIT_USAGE, "the reason must be 1 to %d bytes of text",
				  PL_CUSTODY_REASON_MAX);
	pl_wr body, m;
	pl_wr_init(&body);
	notice_body(&body, x);
	if (pl_wr_ok(&body) != 0 || tagged(&m, PL_CUSTODY_NOTICE_TAG, body.p, body.n) != 0) {
		pl_wr_free(&body);
		pl_wr_free(&m);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	crypto_sign_detached(x->sig, NULL, m.p, m.n, mediator->sk);
	pl_wr_free(&m);
	pl_wr_bytes(w, body.p, body.n);
	pl_wr_bytes(w, x->sig, PL_SIG_LEN);
	pl_wr_free(&body);
	return pl_wr_ok(w) == 0 ? 0 : pl_err_set(e, PL_EXIT_ERROR, "out of memory");
}

int pl_custody_notice_decode(pl_custody_notice *x, const uint8_t *p, size_t len, pl_err *e)
{
	pl_rd r;
	pl_custody_notice *t = calloc(1, sizeof *t);
	if (t == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	memset(x, 0, sizeof *x);
	int rc = -1;
	if (p == NULL || len < PL_SIG_LEN)
		goto bad;
	pl_rd_init(&r, p, len - PL_SIG_LEN);
	uint8_t ver = pl_rd_u8(&r);
	t->status = pl_rd_u8(&r);
	t->what = pl_rd_u8(&r);
	pl_rd_copy(&r, t->id, PL_OBJ_ID_LEN);
	pl_rd_copy(&r, t->hash, PL_OBJ_HASH_LEN);
	pl_rd_copy(&r, t->author_ik, PL_IK_LEN);
	pl_rd_copy(&r, t->recipient_ik, PL_IK_LEN);
	pl_rd_copy(&r, t->mediator_ik, PL_IK_LEN);
	t->time = pl_rd_u64(&r);
	size_t tl = 0, rl = 0;
	const uint8_t *text = pl_rd_var(&r, PL_CUSTODY_REASON_MAX, &tl);
	const uint8_t *rec = pl_rd_var(&r, PL_CUSTODY_RECEIPT_MAX, &rl);
	size_t cl = 0;
	const uint8_t *cr = pl_rd_var(&r, PL_CUSTODY_SIGNED_MAX, &cl);
	if (pl_rd_done(&r) != 0 || ver != PL_CUSTODY_VERSION || text == NULL || rec == NULL ||
	    cr == NULL || memchr(text, '\0', tl) != NULL)
		goto bad;
	if (cl)
		memcpy(t->record, cr, cl);
	t->recordlen = cl;
	memcpy(t->text, text, tl);
	t->text[tl] = '\0';
	if (rl)
		memcpy(t->receipt, rec, rl);
	t->receiptlen = rl;
	if (!notice_fields_ok(t))
		goto bad;
	memcpy(t->sig, p + len - PL_SIG_LEN, PL_SIG_LEN);
	pl_wr m;
	if (tagged(&m, PL_CUSTODY_NOTICE_TAG, p, len - PL_SIG_LEN) != 0) {
		pl_wr_free(&m);
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	int v = crypto_sign_verify_detached(t->sig, m.p, m.n, t->mediator_ik);
	pl_wr_free(&m);
	if (v != 0) {
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the mediator's notice does not verify under the key it names");
		goto out;
	}
	*x = *t;
	rc = 0;
	goto out;
bad:
	rc = pl_err_set(e, PL_EXIT_INPUT, "malformed custody notice");
out:
	free(t);
	return rc;
}
