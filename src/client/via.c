/*
 * via.c — proximity talks (see via.h). Items:
 *   author:    its move as a direct one (kind object or note, under the
 *              final recipient), a "via:" meta record naming the mediator,
 *              and the mediator's notices (kind 11, under the mediator);
 *   mediator:  the carried move (kind 9, under its author, state received
 *              → forwarded | held), the forwarded move (kind 10, under the
 *              recipient) and its notices (kind 11, under the author);
 *   recipient: the forwarded payload (kind 10, under the mediator) and the
 *              move itself (kind object or note, under its author), which
 *              the negotiation rules see exactly as a direct one.
 *
 * What it must never do: pass on, store or apply a move whose author
 * signature does not verify, whose custody record is not the mediator's
 * (the contact that carried it), or whose author we hold no key for.
 */
#include "client/via.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/nego.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "export/agreement.h"
#include "log/receipt.h"
#include "util/codec.h"
#include "util/text.h"

static const char *what_str(int what, const pl_obj *o)
{
	if (what == PL_CARRY_NOTE)
		return "note";
	return o ? pl_obj_type_to_str(o->type) : "move";
}

/* The name we know a key by, or its fingerprint. */
static void key_name(pl_vault *v, const uint8_t ik[PL_IK_LEN], char *out, size_t cap)
{
	pl_contact c;
	if (memcmp(ik, pl_vault_identity(v)->pk, PL_IK_LEN) == 0) {
		snprintf(out, cap, "%s", pl_vault_name(v));
		return;
	}
	if (pl_vault_contact_by_ik(v, ik, &c, NULL) == 0) {
		snprintf(out, cap, "%s", c.name);
		sodium_memzero(&c, sizeof c);
		return;
	}
	char fp[PL_FINGERPRINT_LEN];
	pl_fingerprint(fp, ik);
	snprintf(out, cap, "key %s", fp);
}

static void set_time(json_t *j, const char *key, uint64_t t)
{
	char s[PL_RFC3339_LEN];
	if (t == 0) {
		json_object_set_new(j, key, json_null());
		return;
	}
	pl_time_rfc3339(s, t);
	json_object_set_new(j, key, json_string(s));
}

/* --- the author's side: sending through a mediator ------------------------ */

int pl_via_check(pl_vault *v, const char *via, const char *contact, pl_contact *med, pl_err *e)
{
	if (strcmp(via, contact) == 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "%s is the party the move is for; name the mediator who passes "
				  "it on, or send it directly",
				  contact);
	if (pl_msgr_check_identity(v, e) != 0 || pl_vault_contact_get(v, via, med, e) != 0)
		return -1;
	if (pl_msgr_check_sendable(med, e) != 0) {
		sodium_memzero(med, sizeof *med);
		return -1;
	}
	return 0;
}

int pl_via_queue(pl_vault *v, const pl_contact *med, const pl_item *it, pl_err *e)
{
	if (pl_vault_outbox_add(v, it->seq, med->name, e) != 0)
		return -1;
	return pl_vault_via_put(v, it->id, med->ik, it->time, e);
}

int pl_via_wrap(pl_vault *v, pl_item *it, pl_err *e)
{
	pl_contact c;
	pl_carry k;
	pl_wr w;
	uint8_t mk[PL_IK_LEN];
	int via = pl_vault_via_get(v, it->id, mk, NULL, e);
	if (via <= 0) /* not recorded as going through a mediator: as it is */
		return via;
	if (it->kind != PL_KIND_OBJECT && it->kind != PL_KIND_NOTE)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: only moves and notes travel through a mediator");
	if (pl_vault_contact_get(v, it->contact, &c, e) != 0)
		return -1;
	memset(&k, 0, sizeof k);
	k.what = it->kind == PL_KIND_OBJECT ? PL_CARRY_OBJECT : PL_CARRY_NOTE;
	memcpy(k.recipient_ik, c.ik, PL_IK_LEN);
	sodium_memzero(&c, sizeof c);
	k.inner = it->body.p;
	k.innerlen = it->body.n;
	pl_wr_init(&w);
	if (pl_carry_encode(&w, &k, e) != 0) {
		pl_wr_free(&w);
		return -1;
	}
	pl_wr_free(&it->body);
	it->body = w;
	it->kind = PL_KIND_CARRY;
	return 0;
}

int pl_via_send_note(pl_vault *v, const char *contact, const char *via, const char *text,
		     uint8_t id[static 8], int64_t *seq, pl_err *e)
{
	pl_contact c, med;
	pl_item it;
	int rc = -1;
	memset(&it, 0, sizeof it);
	memset(&med, 0, sizeof med);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	if (pl_vault_contact_get(v, contact, &c, e) != 0)
		return -1;
	if (pl_msgr_check_sendable(&c, e) != 0 || pl_via_check(v, via, c.name, &med, e) != 0)
		goto out;
	size_t n = strlen(text);
	if (pl_text_ok((const uint8_t *)text, n, 1, PL_CUSTODY_INNER_MAX, PL_TEXT_MULTILINE) != 0) {
		pl_err_set(e, PL_EXIT_USAGE,
			   "a note passed on by a mediator must be 1 to %d bytes of text",
			   PL_CUSTODY_INNER_MAX);
		goto out;
	}
	randombytes_buf(it.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", c.name);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_NOTE;
	it.time = pl_now();
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_bytes(&it.body, (const uint8_t *)text, n);
	if (pl_wr_ok(&it.body) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_vault_begin(v, e) != 0)
		goto out;
	int added = pl_vault_item_add(v, &it, e);
	if (added != 0 || pl_via_queue(v, &med, &it, e) != 0 || pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		if (added == 1)
			pl_err_set(e, PL_EXIT_ERROR, "an item with the same id exists; try again");
		goto out;
	}
	memcpy(id, it.id, 8);
	*seq = it.seq;
	rc = 0;
out:
	pl_vault_item_free(&it);
	sodium_memzero(&c, sizeof c);
	sodium_memzero(&med, sizeof med);
	return rc;
}

/* --- receiving ------------------------------------------------------------ */

/* The mediator's side: a move handed to us to pass on. Valid iff it is
 * signed by the contact that carried it, under the id it travels as, for
 * a contact of ours other than the carrier and us. */
static int carry_in(pl_vault *v, const pl_contact *from, const pl_payload *p)
{
	pl_carry k;
	pl_contact rc;
	if (pl_carry_decode(&k, p->body, p->bodylen, NULL) != 0)
		return 1;
	if (sodium_memcmp(k.recipient_ik, pl_vault_identity(v)->pk, PL_IK_LEN) == 0 ||
	    sodium_memcmp(k.recipient_ik, from->ik, PL_IK_LEN) == 0 ||
	    pl_vault_contact_by_ik(v, k.recipient_ik, &rc, NULL) != 0)
		return 1;
	sodium_memzero(&rc, sizeof rc);
	if (k.what == PL_CARRY_NOTE)
		return 0;
	pl_obj *o = calloc(1, sizeof *o);
	int bad = o == NULL || pl_obj_decode_signed(o, k.inner, k.innerlen, NULL) != 0 ||
		  sodium_memcmp(o->author_ik, from->ik, PL_IK_LEN) != 0 ||
		  memcmp(o->id, p->id, PL_OBJ_ID_LEN) != 0;
	free(o);
	return bad ? 1 : 0;
}

/* An author whose key we hold and may talk with: a contact whose key has
 * not changed since it was verified and is not revoked. (Introduced
 * contacts join here when introductions land: a key vouched for by a
 * mediator we verified.) */
static int author_usable(const pl_contact *a)
{
	/* verified in person, or introduced by a contact that still is */
	return (a->verified || a->introduced) && !a->key_changed && !a->revoked;
}

/* 1 if we hold an item (contact, id, dir) already. */
static int holds(pl_vault *v, const char *contact, const uint8_t id[8], int dir, pl_err *e)
{
	pl_item *items;
	size_t n;
	int found = 0;
	if (pl_vault_item_list(v, contact, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n && !found; i++)
		found = items[i].dir == dir && items[i].kind != PL_KIND_ACK &&
			memcmp(items[i].id, id, 8) == 0;
	pl_vault_items_free(items, n);
	return found;
}

/* The recipient's side: a move the mediator passed on. */
static int forwarded_in(void *ctx, pl_vault *v, const pl_contact *from, const pl_payload *p,
			pl_msgr_envelope *env, pl_err *e)
{
	pl_custody c;
	pl_contact a;
	pl_item it;
	const uint8_t *inner;
	size_t innerlen;
	int rc = 1;
	memset(&a, 0, sizeof a);
	memset(&it, 0, sizeof it);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_obj *o = calloc(1, sizeof *o);
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	/* The custody record signed by the contact that carried it, the inner
	 * object signed by its author, both naming us. */
	if (pl_custody_decode(&c, o, &inner, &innerlen, p->body, p->bodylen, NULL) != 0 ||
	    sodium_memcmp(c.mediator_ik, from->ik, PL_IK_LEN) != 0 ||
	    sodium_memcmp(c.recipient_ik, pl_vault_identity(v)->pk, PL_IK_LEN) != 0)
		goto out;
	pl_err ae;
	pl_err_clear(&ae);
	if (pl_vault_contact_by_ik(v, c.author_ik, &a, &ae) != 0) {
		if (ae.code != PL_EXIT_NOTFOUND) {
			*e = ae;
			rc = -1;
		} else {
			pl_nego_count_via_unknown(ctx);
		}
		goto out;
	}
	if (!author_usable(&a))
		goto out;
	int taken = pl_vault_item_id_taken(v, c.id, a.name, PL_DIR_IN, e);
	int had = taken == 0 ? holds(v, a.name, c.id, PL_DIR_IN, e) : taken;
	if (taken < 0 || had < 0) {
		rc = -1;
		goto out;
	}
	if (taken || had) /* another item's id, or a replay */
		goto out;
	if (c.what == PL_CARRY_OBJECT) {
		rc = pl_nego_object_apply(ctx, v, &a, o, inner, innerlen, env, e);
		if (rc != 0)
			goto out;
		rc = 1;
	}
	memcpy(it.id, c.id, 8);
	snprintf(it.contact, sizeof it.contact, "%s", a.name);
	it.dir = PL_DIR_IN;
	it.kind = c.what == PL_CARRY_OBJECT ? PL_KIND_OBJECT : PL_KIND_NOTE;
	it.time = c.what == PL_CARRY_OBJECT ? o->created : c.carried;
	snprintf(it.state, sizeof it.state, "received");
	pl_wr_bytes(&it.body, inner, innerlen);
	if (env->receipt.n > 0) {
		pl_wr_bytes(&it.receipt, env->receipt.p, env->receipt.n);
		it.has_receipt = 1;
	}
	if (pl_wr_ok(&it.body) != 0 || pl_wr_ok(&it.receipt) != 0) {
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	int added = pl_vault_item_add(v, &it, e);
	rc = added < 0 ? -1 : added == 1 ? 1 : 0;
out:
	pl_vault_item_free(&it);
	sodium_memzero(&a, sizeof a);
	free(o);
	return rc;
}

/* Our own item with this id and hash that went through mediator `med`;
 * 0 found, 1 not. */
static int own_via_item(pl_vault *v, const uint8_t med[PL_IK_LEN],
			const uint8_t recipient[PL_IK_LEN], const uint8_t id[8],
			const uint8_t hash[32], pl_item *out, pl_err *e)
{
	pl_contact rc;
	uint8_t m[PL_IK_LEN];
	if (pl_vault_contact_by_ik(v, recipient, &rc, NULL) != 0)
		return 1;
	int got = pl_vault_via_get(v, id, m, NULL, e);
	if (got <= 0 || sodium_memcmp(m, med, PL_IK_LEN) != 0) {
		sodium_memzero(&rc, sizeof rc);
		return got < 0 ? -1 : 1;
	}
	pl_item *items;
	size_t n;
	int r = 1;
	if (pl_vault_item_list(v, rc.name, &items, &n, e) != 0) {
		sodium_memzero(&rc, sizeof rc);
		return -1;
	}
	for (size_t i = 0; i < n && r == 1; i++) {
		uint8_t h[32];
		if (items[i].dir != PL_DIR_OUT || memcmp(items[i].id, id, 8) != 0 ||
		    (items[i].kind != PL_KIND_OBJECT && items[i].kind != PL_KIND_NOTE))
			continue;
		pl_sha256(h, items[i].body.p, items[i].body.n);
		if (sodium_memcmp(h, hash, 32) != 0)
			continue;
		*out = items[i];
		pl_wr_init(&items[i].body);
		pl_wr_init(&items[i].receipt);
		r = 0;
	}
	pl_vault_items_free(items, n);
	sodium_memzero(&rc, sizeof rc);
	return r;
}

/* The author's side: the mediator held our move back, or forwarded it
 * (with the deposit receipt of the forwarded envelope, which then dates our
 * move as the recipient's vault dates it). */
static int notice_in(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e)
{
	pl_custody_notice *x = calloc(1, sizeof *x);
	pl_receipt *r = calloc(1, sizeof *r);
	pl_item it;
	int rc = 1;
	memset(&it, 0, sizeof it);
	if (x == NULL || r == NULL) {
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_custody_notice_decode(x, p->body, p->bodylen, NULL) != 0 ||
	    sodium_memcmp(x->mediator_ik, from->ik, PL_IK_LEN) != 0 ||
	    sodium_memcmp(x->author_ik, pl_vault_identity(v)->pk, PL_IK_LEN) != 0)
		goto out;
	int f = own_via_item(v, from->ik, x->recipient_ik, x->id, x->hash, &it, e);
	if (f != 0) {
		rc = f < 0 ? -1 : 1;
		goto out;
	}
	if (x->status == PL_NOTICE_FORWARDED && x->receiptlen > 0) {
		uint8_t pk[32], mbx[32];
		if (pl_receipt_decode(r, x->receipt, x->receiptlen) != 0 ||
		    pl_vault_relay_key(v, pk) != 0 || pl_receipt_verify(r, pk, NULL) != 0)
			goto out;
		pl_mailbox_id(mbx, x->recipient_ik);
		if (sodium_memcmp(mbx, r->mbx, 32) != 0)
			goto out;
		/* The time that counts for this move is when the mediator's
		 * envelope reached the recipient's mailbox. */
		if (pl_vault_item_set_state(v, it.seq, it.state, x->receipt, x->receiptlen, e) !=
		    0) {
			rc = -1;
			goto out;
		}
	}
	rc = 0;
out:
	pl_vault_item_free(&it);
	free(x);
	free(r);
	return rc;
}

int pl_via_received(void *ctx, pl_vault *v, const pl_contact *from, const pl_payload *p,
		    pl_msgr_envelope *env, pl_err *e)
{
	switch (p->kind) {
	case PL_KIND_CARRY:
		return carry_in(v, from, p);
	case PL_KIND_FORWARDED:
		return forwarded_in(ctx, v, from, p, env, e);
	case PL_KIND_HOLD:
		return notice_in(v, from, p, e);
	default:
		return 1;
	}
}

/* --- the mediator's commands ---------------------------------------------- */

/* The carried item `id`, still waiting; its carry decoded into k (pointing
 * into it->body), the author and recipient contacts. */
static int waiting(pl_vault *v, const uint8_t id[8], pl_item *it, pl_carry *k, pl_contact *author,
		   pl_contact *to, pl_err *e)
{
	char hex[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(hex, id);
	if (pl_msgr_check_identity(v, e) != 0 || pl_nego_find(v, id, it, e) != 0)
		return -1;
	if (it->kind != PL_KIND_CARRY || it->dir != PL_DIR_IN)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "%s is not a move waiting to be passed on; see parley inbox",
				  hex);
	if (strcmp(it->state, "received") != 0)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "%s was already %s; a carried move is forwarded or held once, "
				  "and nothing changed",
				  hex, strcmp(it->state, "held") == 0 ? "held back" : it->state);
	if (pl_carry_decode(k, it->body.p, it->body.n, e) != 0)
		return -1;
	if (pl_vault_contact_get(v, it->contact, author, e) != 0 ||
	    pl_vault_contact_by_ik(v, k->recipient_ik, to, e) != 0)
		return -1;
	return 0;
}

/* Stores a new outgoing item of ours for contact and queues it, and moves
 * the carried item to `state`, in one transaction. */
static int queue_own(pl_vault *v, const char *contact, int kind, const pl_wr *body,
		     int64_t carry_seq, const char *state, uint8_t id_out[8], pl_err *e)
{
	pl_item it;
	memset(&it, 0, sizeof it);
	pl_wr_init(&it.receipt);
	pl_wr_init(&it.body);
	randombytes_buf(it.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = kind;
	it.time = pl_now();
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_bytes(&it.body, body->p, body->n);
	int rc = -1;
	if (pl_wr_ok(&it.body) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_vault_begin(v, e) != 0)
		goto out;
	int added = pl_vault_item_add(v, &it, e);
	if (added != 0 || pl_vault_outbox_add(v, it.seq, contact, e) != 0 ||
	    (carry_seq && pl_vault_item_set_state(v, carry_seq, state, NULL, 0, e) != 0) ||
	    pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		if (added == 1)
			pl_err_set(e, PL_EXIT_ERROR, "an item with the same id exists; try again");
		goto out;
	}
	if (id_out)
		memcpy(id_out, it.id, 8);
	rc = 0;
out:
	pl_vault_item_free(&it);
	return rc;
}

int pl_via_forward(pl_vault *v, const uint8_t id[static 8], const char *note,
		   uint8_t fwd_id[static 8], char to[static PL_NAME_MAX + 1], pl_err *e)
{
	pl_item it;
	pl_carry k;
	pl_contact author, rc;
	pl_wr w;
	int r = -1;
	memset(&it, 0, sizeof it);
	memset(&author, 0, sizeof author);
	memset(&rc, 0, sizeof rc);
	pl_wr_init(&w);
	pl_custody *c = calloc(1, sizeof *c);
	if (c == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (waiting(v, id, &it, &k, &author, &rc, e) != 0 || pl_msgr_check_sendable(&rc, e) != 0)
		goto out;
	if (note && pl_obj_text_ok(note, 0, PL_CUSTODY_NOTE_MAX, 1) != 0) {
		pl_err_set(e, PL_EXIT_USAGE, "the note must be at most %d bytes of text",
			   PL_CUSTODY_NOTE_MAX);
		goto out;
	}
	uint64_t now = pl_now();
	c->what = k.what;
	memcpy(c->id, it.id, 8);
	memcpy(c->author_ik, author.ik, PL_IK_LEN);
	memcpy(c->recipient_ik, rc.ik, PL_IK_LEN);
	c->carried = it.time && it.time <= now ? it.time : now;
	c->forwarded = now;
	snprintf(c->note, sizeof c->note, "%s", note ? note : "");
	if (pl_custody_forward(&w, c, pl_vault_identity(v), k.inner, k.innerlen, e) != 0)
		goto out;
	if (sodium_memcmp(c->author_ik, author.ik, PL_IK_LEN) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the carried move is not signed by %s, who handed it over; nothing "
			   "was forwarded",
			   author.name);
		goto out;
	}
	if (queue_own(v, rc.name, PL_KIND_FORWARDED, &w, it.seq, "forwarded", fwd_id, e) != 0)
		goto out;
	snprintf(to, PL_NAME_MAX + 1, "%s", rc.name);
	r = 0;
out:
	free(c);
	pl_wr_free(&w);
	pl_vault_item_free(&it);
	sodium_memzero(&author, sizeof author);
	sodium_memzero(&rc, sizeof rc);
	return r;
}

int pl_via_hold(pl_vault *v, const uint8_t id[static 8], const char *reason,
		char author_out[static PL_NAME_MAX + 1], pl_err *e)
{
	pl_item it;
	pl_carry k;
	pl_contact author, rc;
	pl_wr w;
	int r = -1;
	memset(&it, 0, sizeof it);
	memset(&author, 0, sizeof author);
	memset(&rc, 0, sizeof rc);
	pl_wr_init(&w);
	pl_custody_notice *x = calloc(1, sizeof *x);
	if (x == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (waiting(v, id, &it, &k, &author, &rc, e) != 0 ||
	    pl_msgr_check_sendable(&author, e) != 0)
		goto out;
	if (reason == NULL || pl_obj_text_ok(reason, 1, PL_CUSTODY_REASON_MAX, 1) != 0) {
		pl_err_set(e, PL_EXIT_USAGE, "the reason must be 1 to %d bytes of text",
			   PL_CUSTODY_REASON_MAX);
		goto out;
	}
	x->status = PL_NOTICE_HELD;
	x->what = k.what;
	memcpy(x->id, it.id, 8);
	pl_sha256(x->hash, k.inner, k.innerlen);
	memcpy(x->author_ik, author.ik, PL_IK_LEN);
	memcpy(x->recipient_ik, rc.ik, PL_IK_LEN);
	x->time = pl_now();
	snprintf(x->text, sizeof x->text, "%s", reason);
	if (pl_custody_notice_sign(&w, x, pl_vault_identity(v), e) != 0 ||
	    queue_own(v, author.name, PL_KIND_HOLD, &w, it.seq, "held", NULL, e) != 0)
		goto out;
	snprintf(author_out, PL_NAME_MAX + 1, "%s", author.name);
	r = 0;
out:
	free(x);
	pl_wr_free(&w);
	pl_vault_item_free(&it);
	sodium_memzero(&author, sizeof author);
	sodium_memzero(&rc, sizeof rc);
	return r;
}

/* 1 if we already queued the "forwarded" notice for custody id to author. */
static int notified(const pl_item *items, size_t n, const char *author, const uint8_t id[8],
		    pl_custody_notice *x)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == PL_KIND_HOLD && items[i].dir == PL_DIR_OUT &&
		    strcmp(items[i].contact, author) == 0 &&
		    pl_custody_notice_decode(x, items[i].body.p, items[i].body.n, NULL) == 0 &&
		    x->status == PL_NOTICE_FORWARDED && memcmp(x->id, id, 8) == 0)
			return 1;
	return 0;
}

int pl_via_notify_forwarded(pl_vault *v, unsigned *queued, pl_err *e)
{
	pl_item *items;
	size_t n;
	int rc = 0;
	*queued = 0;
	pl_custody *c = calloc(1, sizeof *c);
	pl_custody_notice *x = calloc(1, sizeof *x);
	if (c == NULL || x == NULL) {
		free(c);
		free(x);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		free(c);
		free(x);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *inner;
		size_t innerlen;
		pl_contact a;
		if (items[i].kind != PL_KIND_FORWARDED || items[i].dir != PL_DIR_OUT ||
		    items[i].receipt.n == 0 ||
		    pl_custody_decode(c, NULL, &inner, &innerlen, items[i].body.p, items[i].body.n,
				      NULL) != 0 ||
		    pl_vault_contact_by_ik(v, c->author_ik, &a, NULL) != 0)
			continue;
		int skip = notified(items, n, a.name, c->id, x) || pl_msgr_check_sendable(&a, NULL);
		if (!skip) {
			pl_wr w, rec;
			memset(x, 0, sizeof *x);
			pl_wr_init(&w);
			pl_wr_init(&rec);
			x->status = PL_NOTICE_FORWARDED;
			x->what = c->what;
			memcpy(x->id, c->id, 8);
			memcpy(x->hash, c->hash, 32);
			memcpy(x->author_ik, c->author_ik, PL_IK_LEN);
			memcpy(x->recipient_ik, c->recipient_ik, PL_IK_LEN);
			x->time = c->forwarded;
			snprintf(x->text, sizeof x->text, "%s", c->note);
			if (items[i].receipt.n <= sizeof x->receipt) {
				memcpy(x->receipt, items[i].receipt.p, items[i].receipt.n);
				x->receiptlen = items[i].receipt.n;
			}
			if (pl_custody_record_encode(&rec, c, e) != 0 || rec.n > sizeof x->record) {
				rc = -1;
			} else {
				memcpy(x->record, rec.p, rec.n);
				x->recordlen = rec.n;
				rc = pl_custody_notice_sign(&w, x, pl_vault_identity(v), e) != 0 ||
					     queue_own(v, a.name, PL_KIND_HOLD, &w, 0, NULL, NULL,
						       e) != 0
					 ? -1
					 : 0;
				if (rc == 0)
					(*queued)++;
			}
			pl_wr_free(&w);
			pl_wr_free(&rec);
		}
		sodium_memzero(&a, sizeof a);
	}
	pl_vault_items_free(items, n);
	free(c);
	free(x);
	return rc;
}

/* --- retention ------------------------------------------------------------ */

int pl_via_purge_notes(pl_vault *v, uint64_t before, uint64_t *count, pl_err *e)
{
	pl_item *items;
	size_t n;
	*count = 0;
	pl_custody *c = calloc(1, sizeof *c);
	if (c == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		free(c);
		return -1;
	}
	int rc = pl_vault_begin(v, e);
	uint64_t k = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int note = 0;
		if (items[i].time >= before)
			continue;
		if (items[i].kind == PL_KIND_CARRY) {
			pl_carry ca;
			note = pl_carry_decode(&ca, items[i].body.p, items[i].body.n, NULL) == 0 &&
			       ca.what == PL_CARRY_NOTE;
		} else if (items[i].kind == PL_KIND_FORWARDED) {
			const uint8_t *inner;
			size_t il;
			note = pl_custody_decode(c, NULL, &inner, &il, items[i].body.p,
						 items[i].body.n, NULL) == 0 &&
			       c->what == PL_CARRY_NOTE;
		}
		if (!note)
			continue;
		int d = pl_vault_via_item_delete(v, items[i].seq, e);
		if (d < 0)
			rc = -1;
		else
			k += (uint64_t)d;
	}
	if (rc == 0)
		rc = pl_vault_commit(v, e);
	else
		pl_vault_rollback(v);
	pl_vault_items_free(items, n);
	free(c);
	if (rc == 0)
		*count = k;
	return rc;
}

/* --- views ---------------------------------------------------------------- */

/* The forwarded payload (kind 10, received) that brought our item it. */
static int forwarded_for(pl_vault *v, const pl_item *it, pl_custody *c, char *med, size_t cap)
{
	pl_item *items;
	size_t n;
	uint8_t h[32];
	int found = 0;
	if (pl_vault_item_list(v, NULL, &items, &n, NULL) != 0)
		return 0;
	pl_sha256(h, it->body.p, it->body.n);
	for (size_t i = 0; i < n && !found; i++) {
		const uint8_t *inner;
		size_t il;
		if (items[i].kind != PL_KIND_FORWARDED || items[i].dir != PL_DIR_IN ||
		    pl_custody_decode(c, NULL, &inner, &il, items[i].body.p, items[i].body.n,
				      NULL) != 0)
			continue;
		if (memcmp(c->id, it->id, 8) == 0 && sodium_memcmp(c->hash, h, 32) == 0) {
			snprintf(med, cap, "%s", items[i].contact);
			found = 1;
		}
	}
	pl_vault_items_free(items, n);
	return found;
}

/* The newest notice of each status the mediator sent about our item. */
static void notices_for(pl_vault *v, const char *med, const pl_item *it, pl_custody_notice *held,
			pl_custody_notice *fwd)
{
	pl_item *items;
	size_t n;
	uint8_t h[32];
	pl_custody_notice *x = calloc(1, sizeof *x);
	if (x == NULL || pl_vault_item_list(v, med, &items, &n, NULL) != 0) {
		free(x);
		return;
	}
	pl_sha256(h, it->body.p, it->body.n);
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind != PL_KIND_HOLD || items[i].dir != PL_DIR_IN ||
		    pl_custody_notice_decode(x, items[i].body.p, items[i].body.n, NULL) != 0 ||
		    memcmp(x->id, it->id, 8) != 0 || sodium_memcmp(x->hash, h, 32) != 0)
			continue;
		*(x->status == PL_NOTICE_HELD ? held : fwd) = *x;
	}
	pl_vault_items_free(items, n);
	free(x);
}

json_t *pl_via_path_json(pl_vault *v, const pl_item *it)
{
	char med[PL_NAME_MAX + 1];
	if (it->kind != PL_KIND_OBJECT && it->kind != PL_KIND_NOTE)
		return NULL;
	if (it->dir == PL_DIR_IN) {
		pl_custody *c = calloc(1, sizeof *c);
		json_t *j = NULL;
		if (c != NULL && forwarded_for(v, it, c, med, sizeof med)) {
			j = json_object();
			json_object_set_new(j, "route", json_string("via"));
			json_object_set_new(j, "mediator", json_string(med));
			json_object_set_new(j, "state", json_string("forwarded"));
			set_time(j, "carried", c->carried);
			set_time(j, "forwarded", c->forwarded);
			json_object_set_new(j, "note", json_string(c->note));
			json_object_set_new(j, "reason", json_null());
			json_object_set_new(
			    j, "vouched_by",
			    json_string(it->kind == PL_KIND_NOTE
					    ? "only the mediator's custody signature (the note "
					      "is not signed by its author)"
					    : "its author's signature, and the mediator's "
					      "custody signature on the way"));
			json_object_set_new(j, "mediator_read", json_true());
		}
		free(c);
		return j;
	}
	uint8_t mk[PL_IK_LEN];
	uint64_t handed = 0;
	if (pl_vault_via_get(v, it->id, mk, &handed, NULL) != 1)
		return NULL;
	key_name(v, mk, med, sizeof med);
	pl_custody_notice *held = calloc(1, sizeof *held), *fwd = calloc(1, sizeof *fwd);
	if (held == NULL || fwd == NULL) {
		free(held);
		free(fwd);
		return NULL;
	}
	notices_for(v, med, it, held, fwd);
	json_t *j = json_object();
	json_object_set_new(j, "route", json_string("via"));
	json_object_set_new(j, "mediator", json_string(med));
	json_object_set_new(j, "state",
			    json_string(held->time  ? "held"
					: fwd->time ? "forwarded"
						    : "waiting"));
	set_time(j, "carried", handed);
	set_time(j, "forwarded", fwd->time);
	json_object_set_new(j, "note", json_string(fwd->text));
	json_object_set_new(j, "reason", held->time ? json_string(held->text) : json_null());
	set_time(j, "held", held->time);
	json_object_set_new(j, "mediator_read", json_true());
	free(held);
	free(fwd);
	return j;
}

static json_t *head(pl_vault *v, const pl_item *it, const char *kind, const char *to)
{
	char id[PL_OBJ_ID_HEX_LEN], when[PL_RFC3339_LEN];
	pl_obj_id_hex(id, it->id);
	pl_time_rfc3339(when, it->time);
	const char *from = it->dir == PL_DIR_OUT ? pl_vault_name(v) : it->contact;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "kind", kind, "from",
			 from, "to", to, "time", when, "direction",
			 it->dir == PL_DIR_OUT ? "out" : "in", "state", it->state);
}

/* A carried move on the mediator: its full terms, for whom, and its state. */
static json_t *carry_json(pl_vault *v, const pl_item *it,
			  json_t *(*obj_json)(pl_vault *, const pl_item *, uint64_t), uint64_t now)
{
	pl_carry k;
	char to[PL_NAME_MAX + 1];
	if (pl_carry_decode(&k, it->body.p, it->body.n, NULL) != 0)
		return head(v, it, "unreadable", pl_vault_name(v));
	key_name(v, k.recipient_ik, to, sizeof to);
	const char *st = strcmp(it->state, "received") == 0 ? "waiting" : it->state;
	json_t *j;
	if (k.what == PL_CARRY_OBJECT) {
		pl_item in = *it;
		in.kind = PL_KIND_OBJECT;
		in.body.p = (uint8_t *)k.inner;
		in.body.n = k.innerlen;
		j = obj_json(v, &in, now);
		json_object_del(j, "path");
		json_object_set_new(j, "to", json_string(to));
	} else {
		j = head(v, it, "note", to);
		json_object_set_new(j, "text", json_stringn((const char *)k.inner, k.innerlen));
	}
	json_object_set_new(j, "state", json_string(st));
	json_t *c = json_object();
	json_object_set_new(c, "to", json_string(to));
	json_object_set_new(c, "state", json_string(st));
	json_object_set_new(
	    c, "text",
	    json_string(strcmp(st, "waiting") == 0
			    ? "waiting to be passed on (you read what you carry: parley forward "
			      "ID or parley hold ID --reason TEXT)"
			: strcmp(st, "held") == 0 ? "held back; its author was told"
						  : "passed on under your custody signature"));
	json_object_set_new(j, "carried", c);
	return j;
}

json_t *pl_via_item_json(pl_vault *v, const pl_item *it,
			 json_t *(*obj_json)(pl_vault *v, const pl_item *inner, uint64_t now),
			 uint64_t now)
{
	char text[2048], a[PL_NAME_MAX + 1], r[PL_NAME_MAX + 1], hex[PL_OBJ_ID_HEX_LEN];
	if (it->kind == PL_KIND_CARRY)
		return carry_json(v, it, obj_json, now);
	if (it->kind == PL_KIND_FORWARDED) {
		pl_custody *c = calloc(1, sizeof *c);
		pl_obj *o = calloc(1, sizeof *o);
		const uint8_t *inner;
		size_t il;
		json_t *j;
		if (c == NULL || o == NULL ||
		    pl_custody_decode(c, o, &inner, &il, it->body.p, it->body.n, NULL) != 0) {
			j = head(v, it, "unreadable",
				 it->dir == PL_DIR_OUT ? it->contact : pl_vault_name(v));
		} else {
			key_name(v, c->author_ik, a, sizeof a);
			key_name(v, c->recipient_ik, r, sizeof r);
			pl_obj_id_hex(hex, c->id);
			snprintf(text, sizeof text, "%s passed on %s %s from %s to %s%s%s",
				 it->dir == PL_DIR_OUT ? "you" : it->contact,
				 what_str(c->what, c->what == PL_CARRY_OBJECT ? o : NULL), hex, a,
				 r, c->note[0] ? "; note: " : "", c->note);
			j = head(v, it, "forwarded",
				 it->dir == PL_DIR_OUT ? it->contact : pl_vault_name(v));
			json_object_set_new(j, "text", json_string(text));
			json_object_set_new(j, "object", json_string(hex));
		}
		free(c);
		free(o);
		return j;
	}
	if (it->kind == PL_KIND_HOLD) {
		pl_custody_notice *x = calloc(1, sizeof *x);
		json_t *j;
		if (x == NULL || pl_custody_notice_decode(x, it->body.p, it->body.n, NULL) != 0) {
			j = head(v, it, "unreadable",
				 it->dir == PL_DIR_OUT ? it->contact : pl_vault_name(v));
		} else {
			key_name(v, x->recipient_ik, r, sizeof r);
			pl_obj_id_hex(hex, x->id);
			const char *who = it->dir == PL_DIR_OUT ? "you" : it->contact;
			const char *whose = it->dir == PL_DIR_OUT ? "the" : "your";
			if (x->status == PL_NOTICE_HELD)
				snprintf(text, sizeof text, "%s held back %s move %s to %s: %s",
					 who, whose, hex, r, x->text);
			else
				snprintf(text, sizeof text, "%s passed on %s move %s to %s%s%s",
					 who, whose, hex, r, x->text[0] ? "; note: " : "", x->text);
			j = head(v, it, x->status == PL_NOTICE_HELD ? "held" : "forward notice",
				 it->dir == PL_DIR_OUT ? it->contact : pl_vault_name(v));
			json_object_set_new(j, "text", json_string(text));
			json_object_set_new(j, "object", json_string(hex));
		}
		free(x);
		return j;
	}
	return NULL;
}

/* --- agreements ----------------------------------------------------------- */

int pl_via_agreement_check(pl_vault *v, const pl_item *prop, const pl_item *acc, pl_err *e)
{
	uint8_t mk[PL_IK_LEN], mbx[32];
	if (acc->dir != PL_DIR_OUT || pl_vault_via_get(v, acc->id, mk, NULL, e) != 1)
		return 0;
	pl_receipt *r = calloc(1, sizeof *r);
	pl_obj *o = calloc(1, sizeof *o);
	int ok = r != NULL && o != NULL && acc->receipt.n > 0 &&
		 pl_receipt_decode(r, acc->receipt.p, acc->receipt.n) == 0 &&
		 pl_obj_decode_signed(o, prop->body.p, prop->body.n, NULL) == 0 &&
		 (pl_mailbox_id(mbx, o->author_ik), sodium_memcmp(mbx, r->mbx, 32) == 0);
	free(r);
	free(o);
	if (ok)
		return 0;
	char med[PL_NAME_MAX + 1];
	key_name(v, mk, med, sizeof med);
	return pl_err_set(e, PL_EXIT_NOTFOUND,
			  "your acceptance went through %s, which has not yet told this vault "
			  "when it reached %s (the time that counts); run parley sync, then "
			  "export again, or export it from %s's vault",
			  med, prop->contact, prop->contact);
}

/* The signed custody record for our item it, if it went through a
 * mediator: from the forwarded payload (received) or from the mediator's
 * "forwarded" notice (ours). 1 found, 0 none. */
int pl_via_custody_record(pl_vault *v, const pl_item *it, pl_wr *out)
{
	pl_custody *c = calloc(1, sizeof *c);
	int found = 0;
	if (c == NULL)
		return 0;
	char med[PL_NAME_MAX + 1];
	if (it->dir == PL_DIR_IN) {
		if (forwarded_for(v, it, c, med, sizeof med))
			found = pl_custody_record_encode(out, c, NULL) == 0;
	} else {
		uint8_t mk[PL_IK_LEN];
		pl_custody_notice *held = calloc(1, sizeof *held), *fwd = calloc(1, sizeof *fwd);
		if (held && fwd && pl_vault_via_get(v, it->id, mk, NULL, NULL) == 1) {
			key_name(v, mk, med, sizeof med);
			notices_for(v, med, it, held, fwd);
			if (fwd->recordlen > 0) {
				pl_wr_bytes(out, fwd->record, fwd->recordlen);
				found = pl_wr_ok(out) == 0;
			}
		}
		free(held);
		free(fwd);
	}
	free(c);
	return found;
}

int pl_via_agreement_custody(pl_vault *v, json_t *j, const pl_item *prop, const pl_item *acc,
			     pl_err *e)
{
	const pl_item *its[2] = {prop, acc};
	for (int i = 0; i < 2; i++) {
		pl_wr w;
		pl_wr_init(&w);
		int got = pl_via_custody_record(v, its[i], &w);
		int rc = got ? pl_agreement_add_custody(j, w.p, w.n, e) : 0;
		pl_wr_free(&w);
		if (rc != 0)
			return -1;
	}
	return 0;
}
