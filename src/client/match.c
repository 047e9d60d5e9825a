/*
 * match.c — blind matching over the channel (client/match.h,
 * docs/MATCH.md). The protocol's arithmetic is crypto/psi.c, its messages
 * negotiation/match.c; this file keeps each side's record, stores and
 * checks what arrives, and decides, from what the vault holds, what to
 * send next and what the result is.
 *
 * What it must never do: send a list before both commitments are held and
 * both sizes are within the agreed maximum; answer a list that does not
 * match its commitment; show a result computed from anything but complete,
 * consistent messages; keep the secret scalar once the result is known.
 */
#include "client/match.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "client/logq.h"
#include "crypto/psi.h"
#include "export/match.h"
#include "log/receipt.h"
#include "util/codec.h"
#include "util/text.h"

#define REC_V1 1
#define ITEMS_MAX_MATCH 4096 /* parts of one match one side may send */

/* --- this side's record ------------------------------------------------------------ */

typedef struct {
	int kind, answer, done;
	uint8_t peer[PL_IK_LEN];
	uint64_t created;
	uint32_t max;
	char label[PL_MATCH_LABEL_MAX + 1];
	uint8_t k[32];
	uint32_t n;
	uint8_t **el; /* canonical elements */
	size_t *ellen;
	uint32_t *perm;		     /* sorted position -> input index */
	uint8_t (*y)[32];	     /* our blinded list, sorted */
	char *display;		     /* JSON array: our inputs as the user gave them */
	char *result;		     /* JSON text once done, else NULL */
	uint8_t *mystmt, *theirstmt; /* intent: signed statements (theirs once matched) */
	size_t mystmtlen, theirstmtlen;
	uint64_t fetched; /* 1 + the log leaf of their ack of our answer; 0 none seen */
} rec;

static void rec_free(rec *r)
{
	if (r->el) {
		for (uint32_t i = 0; i < r->n; i++) {
			if (r->el[i]) {
				sodium_memzero(r->el[i], r->ellen[i]);
				free(r->el[i]);
			}
		}
	}
	free(r->el);
	free(r->ellen);
	free(r->perm);
	free(r->y);
	free(r->display);
	free(r->result);
	free(r->mystmt);
	free(r->theirstmt);
	sodium_memzero(r, sizeof *r);
}

static void wr_str(pl_wr *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	pl_wr_var(w, (const uint8_t *)(s ? s : ""), n);
}

static int rec_encode(pl_wr *w, const rec *r)
{
	pl_wr_init(w);
	pl_wr_u8(w, REC_V1);
	pl_wr_u8(w, (uint8_t)r->kind);
	pl_wr_u8(w, (uint8_t)r->answer);
	pl_wr_u8(w, (uint8_t)r->done);
	pl_wr_bytes(w, r->peer, PL_IK_LEN);
	pl_wr_u64(w, r->created);
	pl_wr_u32(w, r->max);
	wr_str(w, r->label);
	pl_wr_bytes(w, r->k, 32);
	pl_wr_u32(w, r->n);
	for (uint32_t i = 0; i < r->n; i++)
		pl_wr_var(w, r->el[i], r->ellen[i]);
	for (uint32_t i = 0; i < r->n; i++)
		pl_wr_u32(w, r->perm[i]);
	pl_wr_bytes(w, (const uint8_t *)r->y, (size_t)r->n * 32);
	wr_str(w, r->display);
	wr_str(w, r->result);
	pl_wr_var(w, r->mystmt ? r->mystmt : (const uint8_t *)"", r->mystmtlen);
	pl_wr_var(w, r->theirstmt ? r->theirstmt : (const uint8_t *)"", r->theirstmtlen);
	pl_wr_u64(w, r->fetched);
	return pl_wr_ok(w);
}

static char *rd_str(pl_rd *d, size_t max)
{
	size_t n;
	const uint8_t *p = pl_rd_var(d, max, &n);
	if (p == NULL)
		return NULL;
	char *s = malloc(n + 1);
	if (s == NULL) {
		pl_rd_fail(d);
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static uint8_t *rd_blob(pl_rd *d, size_t max, size_t *n)
{
	const uint8_t *p = pl_rd_var(d, max, n);
	if (p == NULL)
		return NULL;
	uint8_t *b = malloc(*n ? *n : 1);
	if (b == NULL) {
		pl_rd_fail(d);
		return NULL;
	}
	memcpy(b, p, *n);
	return b;
}

static int rec_decode(rec *r, const uint8_t *p, size_t n)
{
	pl_rd d;
	memset(r, 0, sizeof *r);
	pl_rd_init(&d, p, n);
	if (pl_rd_u8(&d) != REC_V1)
		return -1;
	r->kind = pl_rd_u8(&d);
	r->answer = pl_rd_u8(&d);
	r->done = pl_rd_u8(&d);
	pl_rd_copy(&d, r->peer, PL_IK_LEN);
	r->created = pl_rd_u64(&d);
	r->max = pl_rd_u32(&d);
	char *label = rd_str(&d, PL_MATCH_LABEL_MAX);
	if (label) {
		snprintf(r->label, sizeof r->label, "%s", label);
		free(label);
	}
	pl_rd_copy(&d, r->k, 32);
	r->n = pl_rd_u32(&d);
	if (d.err || r->n > PL_MATCH_ELEMS_MAX)
		goto bad;
	r->el = calloc(r->n ? r->n : 1, sizeof *r->el);
	r->ellen = calloc(r->n ? r->n : 1, sizeof *r->ellen);
	r->perm = calloc(r->n ? r->n : 1, sizeof *r->perm);
	r->y = calloc(r->n ? r->n : 1, 32);
	if (!r->el || !r->ellen || !r->perm || !r->y)
		goto bad;
	for (uint32_t i = 0; i < r->n && !d.err; i++)
		r->el[i] = rd_blob(&d, 4096, &r->ellen[i]);
	for (uint32_t i = 0; i < r->n; i++) {
		r->perm[i] = pl_rd_u32(&d);
		if (r->perm[i] >= r->n)
			pl_rd_fail(&d);
	}
	pl_rd_copy(&d, (uint8_t *)r->y, (size_t)r->n * 32);
	r->display = rd_str(&d, PL_VAULT_MATCH_REC_MAX);
	char *res = rd_str(&d, PL_VAULT_MATCH_REC_MAX);
	if (res && *res)
		r->result = res;
	else
		free(res);
	r->mystmt = rd_blob(&d, 4096, &r->mystmtlen);
	r->theirstmt = rd_blob(&d, 4096, &r->theirstmtlen);
	r->fetched = pl_rd_u64(&d);
	if (pl_rd_done(&d) != 0 || r->display == NULL)
		goto bad;
	if (r->mystmtlen == 0) {
		free(r->mystmt);
		r->mystmt = NULL;
	}
	if (r->theirstmtlen == 0) {
		free(r->theirstmt);
		r->theirstmt = NULL;
	}
	return 0;
bad:
	rec_free(r);
	return -1;
}

/* 1 found (decoded into *r), 0 none, -1 error. */
static int rec_load(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], rec *r, pl_err *e)
{
	pl_wr w;
	int f = pl_vault_match_get(v, id, &w, e);
	if (f == 1 && rec_decode(r, w.p, w.n) != 0)
		f = pl_err_set(e, PL_EXIT_VAULT,
			       "the vault's record of a blind match is damaged; restore the vault "
			       "from a backup");
	pl_wr_free(&w);
	return f;
}

static int rec_save(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], const rec *r, pl_err *e)
{
	pl_wr w;
	int rc = rec_encode(&w, r) != 0 ? pl_err_set(e, PL_EXIT_ERROR, "out of memory")
					: pl_vault_match_put(v, id, w.p, w.n, e);
	pl_wr_free(&w);
	return rc;
}

/* --- the messages a vault holds for a match -------------------------------------------- */

typedef struct {
	uint32_t parts, total, have;
	uint8_t *got;	   /* per part: 1 held */
	uint8_t (*el)[32]; /* total elements, assembled */
	uint8_t *sealed;
	size_t sealedlen;
	int conflict;
	int bad; /* parts disagree on parts/total */
} list_acc;

typedef struct {
	uint8_t id[PL_MATCH_ID_LEN];
	char contact[PL_NAME_MAX + 1];
	int have_contact;
	/* commitments */
	int my_commit, their_commit, their_commits;
	pl_match_msg theirs; /* their commitment (pointers unused) */
	pl_match_msg mine;
	/* our own messages queued (any part) */
	int my_list_parts, my_final_parts;
	uint8_t (*my_final)[32]; /* our answer, assembled (their order / sorted) */
	uint32_t my_final_total;
	int64_t my_final_seq; /* an item of our answer, for its receipt */
	list_acc their_list, their_final;
	char why[PL_ERR_MSG_MAX];
} held;

static void acc_free(list_acc *a)
{
	free(a->got);
	free(a->el);
	free(a->sealed);
	memset(a, 0, sizeof *a);
}

static void held_free(held *h)
{
	acc_free(&h->their_list);
	acc_free(&h->their_final);
	free(h->my_final);
	memset(h, 0, sizeof *h);
}

/* Adds chunk m to a. 0, or -1 out of memory. */
static int acc_add(list_acc *a, const pl_match_msg *m)
{
	if (a->got == NULL) {
		a->parts = m->parts;
		a->total = m->total;
		a->got = calloc(m->parts, 1);
		a->el = calloc(m->total ? m->total : 1, 32);
		if (a->got == NULL || a->el == NULL)
			return -1;
	}
	if (m->parts != a->parts || m->total != a->total) {
		a->bad = 1;
		return 0;
	}
	size_t off = (size_t)m->part * PL_MATCH_CHUNK_ELEMS;
	if (a->got[m->part]) {
		/* the same part again: it must say exactly the same */
		if ((m->count && memcmp(a->el[off], m->elems, (size_t)m->count * 32) != 0) ||
		    (m->part == 0 &&
		     (m->sealedlen != a->sealedlen ||
		      (m->sealedlen && memcmp(a->sealed, m->sealed, m->sealedlen) != 0))))
			a->conflict = 1;
		return 0;
	}
	a->got[m->part] = 1;
	a->have++;
	if (m->count)
		memcpy(a->el[off], m->elems, (size_t)m->count * 32);
	if (m->part == 0 && m->sealedlen) {
		a->sealed = malloc(m->sealedlen);
		if (a->sealed == NULL)
			return -1;
		memcpy(a->sealed, m->sealed, m->sealedlen);
		a->sealedlen = m->sealedlen;
	}
	return 0;
}

static int acc_complete(const list_acc *a)
{
	return a->got != NULL && a->have == a->parts && !a->bad && !a->conflict;
}

/* Gathers every item of match id (of contact, if not NULL) into *h. */
static int gather(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], const char *contact,
		  held *h, pl_err *e)
{
	pl_item *items = NULL;
	size_t n = 0;
	memset(h, 0, sizeof *h);
	memcpy(h->id, id, PL_MATCH_ID_LEN);
	if (pl_vault_item_list(v, contact, &items, &n, e) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		pl_match_msg m;
		if (items[i].kind != PL_KIND_MATCH ||
		    pl_match_msg_decode(&m, items[i].body.p, items[i].body.n) != 0 ||
		    memcmp(m.id, id, PL_MATCH_ID_LEN) != 0)
			continue;
		if (!h->have_contact) {
			snprintf(h->contact, sizeof h->contact, "%s", items[i].contact);
			h->have_contact = 1;
		}
		int out = items[i].dir == PL_DIR_OUT;
		if (m.step == PL_MATCH_COMMIT) {
			if (out) {
				h->my_commit = 1;
				h->mine = m;
			} else if (!h->their_commit) {
				h->their_commit = 1;
				h->their_commits = 1;
				h->theirs = m;
			} else if (memcmp(h->theirs.commit, m.commit, 32) != 0 ||
				   h->theirs.size != m.size || h->theirs.max != m.max) {
				h->their_commits++;
			}
			continue;
		}
		if (out) {
			if (m.step == PL_MATCH_LIST) {
				h->my_list_parts++;
			} else {
				h->my_final_parts++;
				h->my_final_seq = items[i].seq;
				if (h->my_final == NULL) {
					h->my_final_total = m.total;
					h->my_final = calloc(m.total ? m.total : 1, 32);
					if (h->my_final == NULL)
						rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
				}
				if (h->my_final && m.total == h->my_final_total && m.count)
					memcpy(h->my_final[(size_t)m.part * PL_MATCH_CHUNK_ELEMS],
					       m.elems, (size_t)m.count * 32);
			}
			continue;
		}
		list_acc *a = m.step == PL_MATCH_LIST ? &h->their_list : &h->their_final;
		if (acc_add(a, &m) != 0)
			rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	pl_vault_items_free(items, n);
	if (rc != 0)
		held_free(h);
	return rc;
}

/* --- state ------------------------------------------------------------------------------ */

enum { ST_INVITED, ST_COMMITTED, ST_REFUSED, ST_EXCHANGING, ST_ANSWERED, ST_DONE, ST_BROKEN };
static const char *const STATE_NAME[] = {"invited",  "committed", "refused", "exchanging",
					 "answered", "done",	  "broken"};

static const char *kind_name(int kind)
{
	return kind == PL_MATCH_INTENT	   ? "intent"
	       : kind == PL_MATCH_PACKAGES ? "packages"
	       : kind == PL_MATCH_COUNT	   ? "count"
					   : "unknown";
}

static uint32_t agreed_max(const held *h)
{
	if (!h->my_commit || !h->their_commit)
		return 0;
	return h->mine.max < h->theirs.max ? h->mine.max : h->theirs.max;
}

/* The state of the match from what is held (r: our record, NULL if we
 * never took part); h->why says what stopped or broke it. */
static int state_of(const rec *r, held *h)
{
	if (h->their_commits > 1) {
		snprintf(h->why, sizeof h->why,
			 "they sent two different signed commitments for this match: they "
			 "changed their input after committing; both are kept as evidence");
		return ST_BROKEN;
	}
	if (h->their_list.conflict || h->their_final.conflict || h->their_list.bad ||
	    h->their_final.bad) {
		snprintf(h->why, sizeof h->why,
			 "they sent two different versions of one part of their %s: they "
			 "changed their input mid-protocol; both are kept as evidence",
			 h->their_list.conflict || h->their_list.bad ? "list" : "answer");
		return ST_BROKEN;
	}
	if (r == NULL || !h->my_commit)
		return h->their_commit ? ST_INVITED : ST_BROKEN;
	if (r->done)
		return r->result && strncmp(r->result, "{\"broken\"", 9) == 0 ? ST_BROKEN : ST_DONE;
	if (!h->their_commit)
		return ST_COMMITTED;
	uint32_t am = agreed_max(h);
	if (h->theirs.size > am || h->mine.size > am) {
		int theirs = h->theirs.size > am;
		snprintf(h->why, sizeof h->why,
			 "%s list has %u entr%s, over the agreed maximum of %u (the smaller of "
			 "the two sides' --max): no list was sent, and none will be",
			 theirs ? "their" : "your", theirs ? h->theirs.size : h->mine.size,
			 (theirs ? h->theirs.size : h->mine.size) == 1 ? "y" : "ies", am);
		return ST_REFUSED;
	}
	if (h->their_list.got && (h->their_list.total != h->theirs.size)) {
		snprintf(h->why, sizeof h->why,
			 "their list has %u entries but they committed to %u: they changed "
			 "their input after committing; the match is stopped",
			 h->their_list.total, h->theirs.size);
		return ST_BROKEN;
	}
	if (h->their_final.got && h->their_final.total != (r->kind == PL_MATCH_INTENT ? 0 : r->n)) {
		snprintf(h->why, sizeof h->why,
			 "their answer has %u entries for our list of %u: the match is stopped",
			 h->their_final.total, r->n);
		return ST_BROKEN;
	}
	if (h->my_final_parts > 0)
		return ST_ANSWERED;
	return ST_EXCHANGING;
}

/* Checks their complete list against their commitment. 0 ok, 1 broken (why set). */
static int check_their_list(const rec *r, held *h)
{
	uint8_t c[32];
	pl_match_list_commit(c, h->id, r->peer, (const uint8_t(*)[32])h->their_list.el,
			     h->their_list.total);
	if (sodium_memcmp(c, h->theirs.commit, 32) != 0) {
		snprintf(h->why, sizeof h->why,
			 "their list does not match the list they committed to: they changed "
			 "their input after committing; the match is stopped and both are kept "
			 "as evidence");
		return 1;
	}
	if (!pl_psi_strictly_ascending((const uint8_t(*)[32])h->their_list.el,
				       h->their_list.total)) {
		snprintf(h->why, sizeof h->why,
			 "their list is not in the agreed order (ascending, no repeats): the "
			 "match is stopped");
		return 1;
	}
	return 0;
}

/* --- sending ------------------------------------------------------------------------------ */

/* Stores body as an outgoing item to contact and queues it (inside the
 * caller's transaction). */
static int queue_msg(pl_vault *v, const char *contact, const uint8_t *body, size_t n, pl_err *e)
{
	pl_item it;
	memset(&it, 0, sizeof it);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	randombytes_buf(it.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_MATCH;
	it.time = pl_now();
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_bytes(&it.body, body, n);
	int added = pl_wr_ok(&it.body) != 0 ? -1 : pl_vault_item_add(v, &it, e);
	int rc = added == 0 ? pl_vault_outbox_add(v, it.seq, contact, e) : -1;
	if (added == 1)
		pl_err_set(e, PL_EXIT_ERROR, "an item with the same id exists; try again");
	pl_vault_item_free(&it);
	return rc;
}

/* Queues every part of a list or answer. */
static int queue_chunks(pl_vault *v, const char *contact, int step,
			const uint8_t id[static PL_MATCH_ID_LEN], const uint8_t (*el)[32],
			uint32_t total, const uint8_t *sealed, size_t sealedlen, pl_err *e)
{
	uint32_t parts = pl_match_parts(total);
	for (uint32_t p = 0; p < parts; p++) {
		pl_wr w;
		pl_wr_init(&w);
		int rc = pl_match_chunk_encode(&w, step, id, p, total, el, p == 0 ? sealed : NULL,
					       p == 0 ? sealedlen : 0);
		if (rc != 0 || pl_wr_ok(&w) != 0) {
			pl_wr_free(&w);
			return pl_err_set(e, PL_EXIT_ERROR, "could not encode a match message");
		}
		rc = queue_msg(v, contact, w.p, w.n, e);
		pl_wr_free(&w);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int contact_for(pl_vault *v, const uint8_t peer[static PL_IK_LEN], pl_contact *c, pl_err *e)
{
	if (pl_vault_contact_by_ik(v, peer, c, NULL) != 0)
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "the other side of this match is no longer one of your contacts");
	return 0;
}

/* --- the result ---------------------------------------------------------------------------- */

/* Progress of the group work, passed on with what is being done. */
typedef struct {
	pl_match_progress fn;
	void *ctx;
	const char *what;
} prog;

static void prog_cb(void *ctx, size_t done, size_t total)
{
	const prog *p = ctx;
	p->fn(p->ctx, p->what, done, total);
}

/* The intent equality key of this side (crypto in docs/MATCH.md). */
static int intent_key(pl_vault *v, const rec *r, const held *h, uint8_t key[32])
{
	uint8_t shared[32];
	if (pl_psi_reblind(&shared, (const uint8_t(*)[32])h->their_list.el, 1, r->k, NULL, NULL) !=
	    0)
		return -1;
	const uint8_t *me = pl_vault_identity(v)->pk;
	int mine_low = memcmp(me, r->peer, PL_IK_LEN) < 0;
	pl_match_intent_key(key, h->id, mine_low ? r->y[0] : h->their_list.el[0],
			    mine_low ? h->their_list.el[0] : r->y[0], shared);
	sodium_memzero(shared, sizeof shared);
	return 0;
}

/* Computes and stores the result from their complete answer. */
static int finish(pl_vault *v, rec *r, held *h, pl_err *e)
{
	char *res = NULL;
	if (r->kind == PL_MATCH_INTENT) {
		uint8_t key[32];
		int matched = 0;
		if (intent_key(v, r, h, key) != 0)
			return pl_err_set(e, PL_EXIT_ERROR, "their list holds an invalid element");
		size_t n = h->their_final.sealedlen;
		uint8_t *stmt = n > 16 ? malloc(n - 16) : NULL;
		pl_match_intent s;
		if (stmt && pl_match_open(stmt, h->their_final.sealed, n, h->id, key) == 0 &&
		    pl_match_intent_decode(&s, stmt, n - 16) == 0 &&
		    sodium_memcmp(s.signer, r->peer, PL_IK_LEN) == 0 &&
		    sodium_memcmp(s.peer, pl_vault_identity(v)->pk, PL_IK_LEN) == 0 &&
		    memcmp(s.id, h->id, PL_MATCH_ID_LEN) == 0 && strcmp(s.topic, r->label) == 0) {
			matched = 1;
			free(r->theirstmt);
			r->theirstmt = stmt;
			r->theirstmtlen = n - 16;
			stmt = NULL;
		}
		free(stmt);
		sodium_memzero(key, sizeof key);
		res = strdup(matched ? "\"match\"" : "\"no match\"");
	} else {
		pl_psi_set *s =
		    pl_psi_set_new((const uint8_t(*)[32])h->my_final, h->my_final_total);
		if (s == NULL)
			return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		if (r->kind == PL_MATCH_COUNT) {
			size_t c = 0;
			for (uint32_t t = 0; t < h->their_final.total; t++)
				c += pl_psi_set_has(s, h->their_final.el[t]) == 1;
			char b[32];
			snprintf(b, sizeof b, "%zu", c);
			res = strdup(b);
		} else {
			json_t *all = json_loads(r->display, 0, NULL), *out = json_array();
			for (uint32_t t = 0; t < h->their_final.total && all && out; t++)
				if (pl_psi_set_has(s, h->their_final.el[t]) == 1)
					json_array_append(out, json_array_get(all, r->perm[t]));
			res = out ? json_dumps(out, JSON_COMPACT) : NULL;
			json_decref(all);
			json_decref(out);
		}
		pl_psi_set_free(s);
	}
	if (res == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	free(r->result);
	r->result = res;
	r->done = 1;
	sodium_memzero(r->k, sizeof r->k); /* no longer needed by anyone */
	return 0;
}

/* --- moving on ---------------------------------------------------------------------------- */

/* Moves one match on. *moved set when something was queued or decided. */
static int advance_one(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], pl_match_progress fn,
		       void *fctx, int *moved, pl_err *e)
{
	rec r;
	held h;
	int rc = -1;
	*moved = 0;
	int f = rec_load(v, id, &r, e);
	if (f <= 0)
		return f;
	if (r.done) {
		rec_free(&r);
		return 0;
	}
	pl_contact c;
	if (contact_for(v, r.peer, &c, e) != 0) {
		rec_free(&r);
		return 0; /* nothing to do without the contact */
	}
	if (gather(v, id, c.name, &h, e) != 0) {
		rec_free(&r);
		return -1;
	}
	int st = state_of(&r, &h);
	if (st != ST_EXCHANGING && st != ST_ANSWERED) {
		rc = 0;
		goto out;
	}
	if (pl_vault_begin(v, e) != 0)
		goto out;
	int ok = 1;
	/* 2. Both commitments held, sizes agreed: our list. */
	if (h.my_list_parts == 0) {
		ok = queue_chunks(v, c.name, PL_MATCH_LIST, id, (const uint8_t(*)[32])r.y, r.n,
				  NULL, 0, e) == 0;
		*moved = ok;
	}
	/* 3. Their list complete: check it, answer it. */
	if (ok && h.my_final_parts == 0 && acc_complete(&h.their_list)) {
		if (check_their_list(&r, &h) != 0) {
			free(r.result);
			json_t *j = json_pack("{s:s}", "broken", h.why);
			r.result = j ? json_dumps(j, JSON_COMPACT) : NULL;
			json_decref(j);
			r.done = 1;
			sodium_memzero(r.k, sizeof r.k);
			ok = rec_save(v, id, &r, e) == 0;
			*moved = 1;
			goto end;
		}
		uint32_t tn = h.their_list.total;
		if (r.kind == PL_MATCH_INTENT) {
			uint8_t key[32];
			size_t sl = pl_match_intent_len(r.label);
			uint8_t *sealed = malloc(sl + 16);
			pl_wr stmt;
			pl_wr_init(&stmt);
			ok = sealed != NULL && tn == 1 && intent_key(v, &r, &h, key) == 0;
			if (ok && r.answer) {
				ok = pl_match_intent_sign(&stmt, id, r.peer, r.label, pl_now(),
							  pl_vault_identity(v)) == 0 &&
				     pl_wr_ok(&stmt) == 0 && stmt.n == sl &&
				     pl_match_seal(sealed, stmt.p, stmt.n, id, key) == 0;
				if (ok) {
					free(r.mystmt);
					r.mystmt = malloc(stmt.n);
					ok = r.mystmt != NULL;
					if (ok) {
						memcpy(r.mystmt, stmt.p, stmt.n);
						r.mystmtlen = stmt.n;
					}
				}
			} else if (ok) {
				randombytes_buf(sealed, sl + 16);
			}
			sodium_memzero(key, sizeof key);
			pl_wr_free(&stmt);
			if (ok)
				ok = queue_chunks(v, c.name, PL_MATCH_FINAL, id, NULL, 0, sealed,
						  sl + 16, e) == 0 &&
				     rec_save(v, id, &r, e) == 0;
			else if (e->code == 0)
				pl_err_set(e, PL_EXIT_ERROR, "could not seal our answer");
			free(sealed);
		} else {
			uint8_t(*w)[32] = calloc(tn ? tn : 1, 32);
			ok = w != NULL;
			prog pr = {fn, fctx, "answering their list"};
			if (ok && pl_psi_reblind(w, (const uint8_t(*)[32])h.their_list.el, tn, r.k,
						 fn ? prog_cb : NULL, &pr) != 0) {
				ok = 0;
				pl_err_set(e, PL_EXIT_SECURITY,
					   "their list holds an invalid group element; the match "
					   "is stopped");
			}
			if (ok && r.kind == PL_MATCH_COUNT)
				pl_psi_sort(w, tn, NULL); /* which entry matched is not said */
			if (ok)
				ok = queue_chunks(v, c.name, PL_MATCH_FINAL, id,
						  (const uint8_t(*)[32])w, tn, NULL, 0, e) == 0;
			if (w) {
				h.my_final = w; /* for the result below */
				h.my_final_total = tn;
			}
		}
		if (ok) {
			h.my_final_parts = 1;
			*moved = 1;
		}
	}
	/* 4. Their answer complete: the result. */
	if (ok && h.my_final_parts > 0 && acc_complete(&h.their_final) &&
	    (r.kind == PL_MATCH_INTENT || h.my_final != NULL)) {
		ok = finish(v, &r, &h, e) == 0 && rec_save(v, id, &r, e) == 0;
		*moved = 1;
	}
end:
	if (!ok) {
		pl_vault_rollback(v);
		goto out;
	}
	if (pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	rc = 0;
out:
	held_free(&h);
	rec_free(&r);
	return rc;
}

/* The distinct match ids of the commitments the vault holds, ours and
 * theirs (a match we have no record of is skipped by the callers). */
static int match_ids(pl_vault *v, uint8_t (**ids)[PL_MATCH_ID_LEN], size_t *n, pl_err *e)
{
	pl_item *items = NULL;
	size_t cnt = 0, k = 0;
	*ids = NULL;
	*n = 0;
	if (pl_vault_item_list(v, NULL, &items, &cnt, e) != 0)
		return -1;
	uint8_t(*out)[PL_MATCH_ID_LEN] = calloc(cnt ? cnt : 1, PL_MATCH_ID_LEN);
	if (out == NULL) {
		pl_vault_items_free(items, cnt);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	for (size_t i = 0; i < cnt; i++) {
		pl_match_msg m;
		if (items[i].kind != PL_KIND_MATCH ||
		    pl_match_msg_decode(&m, items[i].body.p, items[i].body.n) != 0 ||
		    m.step != PL_MATCH_COMMIT)
			continue;
		size_t j = 0;
		while (j < k && memcmp(out[j], m.id, PL_MATCH_ID_LEN) != 0)
			j++;
		if (j == k)
			memcpy(out[k++], m.id, PL_MATCH_ID_LEN);
	}
	pl_vault_items_free(items, cnt);
	*ids = out;
	*n = k;
	return 0;
}

int pl_match_advance(pl_vault *v, pl_match_progress fn, void *fctx, unsigned *moved, pl_err *e)
{
	uint8_t(*ids)[PL_MATCH_ID_LEN];
	size_t n;
	if (moved)
		*moved = 0;
	if (match_ids(v, &ids, &n, e) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int m = 0;
		rc = advance_one(v, ids[i], fn, fctx, &m, e);
		if (m && moved)
			(*moved)++;
	}
	free(ids);
	return rc;
}

/* --- starting ------------------------------------------------------------------------------ */

static int add_el(rec *r, uint32_t i, const uint8_t *p, size_t n)
{
	r->el[i] = malloc(n ? n : 1);
	if (r->el[i] == NULL)
		return -1;
	memcpy(r->el[i], p, n);
	r->ellen[i] = n;
	return 0;
}

/* r's elements and display from the input. */
static int fill_input(pl_vault *v, rec *r, const pl_match_input *in, pl_err *e)
{
	json_t *disp = json_array();
	int rc = -1;
	r->n = in->kind == PL_MATCH_INTENT ? 1 : (uint32_t)in->n;
	r->el = calloc(r->n ? r->n : 1, sizeof *r->el);
	r->ellen = calloc(r->n ? r->n : 1, sizeof *r->ellen);
	r->perm = calloc(r->n ? r->n : 1, sizeof *r->perm);
	r->y = calloc(r->n ? r->n : 1, 32);
	if (!disp || !r->el || !r->ellen || !r->perm || !r->y) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < r->n; i++) {
		pl_wr w;
		pl_wr_init(&w);
		if (in->kind == PL_MATCH_INTENT) {
			if (in->answer) {
				pl_wr_bytes(&w, (const uint8_t *)"intent-yes",
					    11); /* with its NUL */
				pl_wr_bytes(&w, (const uint8_t *)in->label, strlen(in->label));
			} else {
				uint8_t rnd[32];
				randombytes_buf(rnd, sizeof rnd);
				pl_wr_bytes(&w, rnd, sizeof rnd);
			}
			json_array_append_new(disp, json_string(in->answer ? "yes" : "no"));
		} else if (in->kind == PL_MATCH_PACKAGES) {
			if (pl_match_package_elem(&w, &in->pk[i], pl_vault_identity(v)->pk,
						  r->peer) != 0)
				pl_wr_free(&w);
			json_t *p = json_object(), *we = json_array(), *they = json_array();
			for (uint32_t k = 0; k < in->pk[i].nwe; k++)
				json_array_append_new(we, json_string(in->pk[i].we[k]));
			for (uint32_t k = 0; k < in->pk[i].nthey; k++)
				json_array_append_new(they, json_string(in->pk[i].they[k]));
			json_object_set_new(p, "we_release", we);
			json_object_set_new(p, "they_release", they);
			json_array_append_new(disp, p);
		} else {
			pl_wr_bytes(&w, (const uint8_t *)in->ids[i], strlen(in->ids[i]));
			json_array_append_new(disp, json_string(in->ids[i]));
		}
		if (w.p == NULL || pl_wr_ok(&w) != 0 || add_el(r, i, w.p, w.n) != 0) {
			pl_wr_free(&w);
			pl_err_set(e, PL_EXIT_ERROR, "could not encode entry %u of the list",
				   i + 1);
			goto out;
		}
		pl_wr_free(&w);
	}
	/* no entry twice: the other side would count it twice */
	for (uint32_t i = 0; i < r->n; i++)
		for (uint32_t j = i + 1; j < r->n && r->n <= 4096; j++)
			if (r->ellen[i] == r->ellen[j] &&
			    memcmp(r->el[i], r->el[j], r->ellen[i]) == 0) {
				pl_err_set(e, PL_EXIT_USAGE,
					   "entries %u and %u of the list are the same; give each "
					   "once",
					   i + 1, j + 1);
				goto out;
			}
	r->display = json_dumps(disp, JSON_COMPACT);
	rc = r->display ? 0 : pl_err_set(e, PL_EXIT_ERROR, "out of memory");
out:
	json_decref(disp);
	return rc;
}

int pl_match_start(pl_vault *v, const char *contact, const pl_match_input *in,
		   uint8_t id[static PL_MATCH_ID_LEN], pl_match_progress fn, void *fctx, pl_err *e)
{
	pl_contact c;
	rec r;
	int rc = -1;
	memset(&r, 0, sizeof r);
	if (pl_msgr_check_identity(v, e) != 0)
		return -1;
	if (pl_vault_contact_get(v, contact, &c, e) != 0)
		return -1;
	if (pl_msgr_check_sendable(&c, e) != 0)
		return -1;
	const char *label = in->label ? in->label : "";
	if (pl_text_ok((const uint8_t *)label, strlen(label), in->kind == PL_MATCH_INTENT ? 1 : 0,
		       PL_MATCH_LABEL_MAX, PL_TEXT_LINE) != 0)
		return pl_err_set(
		    e, PL_EXIT_USAGE, "the %s must be one line of text of at most %d bytes%s",
		    in->kind == PL_MATCH_INTENT ? "topic" : "label", PL_MATCH_LABEL_MAX,
		    in->kind == PL_MATCH_INTENT ? ", not empty" : "");
	if (in->kind != PL_MATCH_INTENT && (in->n == 0 || in->n > PL_MATCH_ELEMS_MAX))
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the list must hold 1 to %u entries; it holds %zu",
				  PL_MATCH_ELEMS_MAX, in->n);
	if (in->max == 0 || in->max > PL_MATCH_ELEMS_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "--max must be 1 to %u", PL_MATCH_ELEMS_MAX);
	if (in->kind != PL_MATCH_INTENT && in->n > in->max)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "your list has %zu entries, over your own --max of %u; the "
				  "other side will refuse a list longer than the agreed maximum",
				  in->n, in->max);
	pl_match_id(id, in->kind, pl_vault_identity(v)->pk, c.ik, label);
	rec old;
	int f = rec_load(v, id, &old, e);
	if (f < 0)
		return -1;
	if (f == 1) {
		char hex[2 * PL_MATCH_ID_LEN + 1];
		pl_hex_encode(hex, id, PL_MATCH_ID_LEN);
		rec_free(&old);
		return pl_err_set(e, PL_EXIT_USAGE,
				  "you already took part in this match with %s (%s %s \"%s\"): see "
				  "parley match show %.8s; to ask again, use another %s",
				  c.name, hex, kind_name(in->kind), label, hex,
				  in->kind == PL_MATCH_INTENT ? "--topic" : "--label");
	}
	r.kind = in->kind;
	r.answer = in->answer ? 1 : 0;
	memcpy(r.peer, c.ik, PL_IK_LEN);
	r.created = pl_now();
	r.max = in->kind == PL_MATCH_INTENT ? 1 : in->max;
	snprintf(r.label, sizeof r.label, "%s", label);
	if (fill_input(v, &r, in, e) != 0)
		goto out;
	/* Blind our list under a fresh scalar, sorted (the order says nothing). */
	pl_psi_keygen(r.k);
	uint8_t ctx[81];
	pl_match_ctx(ctx, r.kind, id, pl_vault_identity(v)->pk, c.ik);
	pl_psi_elem *pe = calloc(r.n, sizeof *pe);
	if (pe == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < r.n; i++) {
		pe[i].p = r.el[i];
		pe[i].n = r.ellen[i];
	}
	prog pr = {fn, fctx, "hashing your list to the group"};
	int br = pl_psi_blind(r.y, pe, r.n, ctx, sizeof ctx, (const uint8_t *)PL_MATCH_DST,
			      strlen(PL_MATCH_DST), r.k, fn ? prog_cb : NULL, &pr);
	free(pe);
	if (br != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "could not hash the list to the group");
		goto out;
	}
	pl_psi_sort(r.y, r.n, r.perm);
	uint8_t commit[32];
	pl_match_list_commit(commit, id, pl_vault_identity(v)->pk, (const uint8_t(*)[32])r.y, r.n);
	pl_wr w;
	pl_wr_init(&w);
	if (pl_match_commit_encode(&w, id, r.kind, r.max, r.n, commit, r.label, r.created, c.ik,
				   pl_vault_identity(v)) != 0 ||
	    pl_wr_ok(&w) != 0) {
		pl_wr_free(&w);
		pl_err_set(e, PL_EXIT_ERROR, "could not encode the commitment");
		goto out;
	}
	if (pl_vault_begin(v, e) != 0) {
		pl_wr_free(&w);
		goto out;
	}
	if (rec_save(v, id, &r, e) != 0 || queue_msg(v, c.name, w.p, w.n, e) != 0) {
		pl_vault_rollback(v);
		pl_wr_free(&w);
		goto out;
	}
	pl_wr_free(&w);
	if (pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	int moved;
	rc = advance_one(v, id, fn, fctx, &moved, e);
out:
	rec_free(&r);
	return rc;
}

/* --- receiving ---------------------------------------------------------------------------- */

int pl_match_received(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e)
{
	pl_match_msg m;
	if (pl_match_msg_decode(&m, p->body, p->bodylen) != 0)
		return 1;
	const uint8_t *me = pl_vault_identity(v)->pk;
	if (m.step == PL_MATCH_COMMIT) {
		uint8_t want[PL_MATCH_ID_LEN];
		if (sodium_memcmp(m.signer, from->ik, PL_IK_LEN) != 0 ||
		    sodium_memcmp(m.peer, me, PL_IK_LEN) != 0)
			return 1;
		pl_match_id(want, m.kind, me, from->ik, m.label);
		if (memcmp(want, m.id, PL_MATCH_ID_LEN) != 0)
			return 1;
		if (m.kind == PL_MATCH_INTENT && (m.size != 1 || m.max != 1))
			return 1;
	}
	/* Held already, byte for byte? And for a list or answer: their
	 * commitment first (a relay may reorder). */
	pl_item *items = NULL;
	size_t n = 0;
	if (pl_vault_item_list(v, from->name, &items, &n, e) != 0)
		return -1;
	int commit = m.step == PL_MATCH_COMMIT, same = 0, parts = 0;
	for (size_t i = 0; i < n; i++) {
		pl_match_msg o;
		if (items[i].kind != PL_KIND_MATCH || items[i].dir != PL_DIR_IN)
			continue;
		if (items[i].body.n == p->bodylen &&
		    memcmp(items[i].body.p, p->body, p->bodylen) == 0)
			same = 1;
		if (pl_match_msg_decode(&o, items[i].body.p, items[i].body.n) != 0 ||
		    memcmp(o.id, m.id, PL_MATCH_ID_LEN) != 0)
			continue;
		if (o.step == PL_MATCH_COMMIT)
			commit = 1;
		else
			parts++;
	}
	pl_vault_items_free(items, n);
	if (same)
		return PL_MSGR_OBJECT_HELD;
	if (!commit)
		return PL_MSGR_OBJECT_LATER;
	if (parts >= ITEMS_MAX_MATCH)
		return 1; /* more than any honest side sends */
	return 0;
}

/* --- views ---------------------------------------------------------------------------------- */

static int id_prefix_ok(const char *s, const uint8_t id[static PL_MATCH_ID_LEN])
{
	char hex[2 * PL_MATCH_ID_LEN + 1];
	size_t n = strlen(s);
	if (n < 4 || n > 2 * PL_MATCH_ID_LEN)
		return 0;
	pl_hex_encode(hex, id, PL_MATCH_ID_LEN);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (c != hex[i])
			return 0;
	}
	return 1;
}

int pl_match_resolve(pl_vault *v, const char *s, uint8_t id[static PL_MATCH_ID_LEN], pl_err *e)
{
	uint8_t(*ids)[PL_MATCH_ID_LEN];
	size_t n, hits = 0;
	if (match_ids(v, &ids, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (id_prefix_ok(s, ids[i])) {
			if (hits++ == 0)
				memcpy(id, ids[i], PL_MATCH_ID_LEN);
		}
	free(ids);
	if (hits == 1)
		return 0;
	if (hits > 1)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "%s names more than one match; give more of its id", s);
	return pl_err_set(e, PL_EXIT_NOTFOUND,
			  "no blind match %s in this vault; parley match list shows them", s);
}

static json_t *show_json(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], const rec *r,
			 held *h, int st)
{
	char hex[2 * PL_MATCH_ID_LEN + 1];
	pl_hex_encode(hex, id, PL_MATCH_ID_LEN);
	int kind = r ? r->kind : h->theirs.kind;
	json_t *j = json_object();
	json_object_set_new(j, "id", json_string(hex));
	json_object_set_new(j, "kind", json_string(kind_name(kind)));
	json_object_set_new(j, "state", json_string(STATE_NAME[st]));
	json_object_set_new(j, "with", json_string(h->contact));
	json_object_set_new(j, kind == PL_MATCH_INTENT ? "topic" : "label",
			    json_string(r ? r->label : h->theirs.label));
	json_t *res = json_null();
	if (st == ST_DONE && r && r->result) {
		json_t *x = json_loads(r->result, JSON_DECODE_ANY, NULL);
		if (x)
			res = x;
	}
	json_object_set_new(j, "result", res);
	if (r) {
		json_t *mine = json_loads(r->display, 0, NULL);
		json_object_set_new(j, kind == PL_MATCH_INTENT ? "answer" : "our_list",
				    kind == PL_MATCH_INTENT
					? json_string(r->answer ? "yes" : "no")
					: (mine ? json_incref(mine) : json_null()));
		json_decref(mine);
		json_object_set_new(j, "our_size", json_integer(r->n));
	}
	if (h->their_commit)
		json_object_set_new(j, "their_size", json_integer(h->theirs.size));
	if (h->my_commit && h->their_commit)
		json_object_set_new(j, "agreed_max", json_integer(agreed_max(h)));
	if (h->why[0])
		json_object_set_new(j, "why", json_string(h->why));
	if (st == ST_BROKEN && r && r->result) {
		json_t *x = json_loads(r->result, 0, NULL);
		json_t *w = x ? json_object_get(x, "broken") : NULL;
		if (w)
			json_object_set(j, "why", w);
		json_decref(x);
	}
	if (st == ST_ANSWERED) {
		json_object_set_new(j, "their_answer_parts",
				    json_integer(h->their_final.got ? h->their_final.have : 0));
		if (r && r->fetched)
			json_object_set_new(j, "they_fetched_our_answer_at_leaf",
					    json_integer((json_int_t)(r->fetched - 1)));
	}
	if (st == ST_EXCHANGING) {
		json_object_set_new(j, "their_list_parts",
				    json_integer(h->their_list.got ? h->their_list.have : 0));
		json_object_set_new(j, "their_list_of",
				    json_integer(pl_match_parts(h->theirs.size)));
	}
	if (kind == PL_MATCH_INTENT && st == ST_DONE && r && r->theirstmt)
		json_object_set_new(j, "exportable", json_true());
	(void)v;
	return j;
}

static void show_text(FILE *f, json_t *j)
{
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *st = json_string_value(json_object_get(j, "state"));
	const char *with = json_string_value(json_object_get(j, "with"));
	const char *topic = json_string_value(json_object_get(j, "topic"));
	const char *label = json_string_value(json_object_get(j, "label"));
	const char *why = json_string_value(json_object_get(j, "why"));
	json_t *res = json_object_get(j, "result");
	fprintf(f, "blind match %s (%s) with %s", json_string_value(json_object_get(j, "id")), kind,
		with);
	if (topic)
		fprintf(f, ", topic \"%s\"", topic);
	else if (label && *label)
		fprintf(f, ", label \"%s\"", label);
	fprintf(f, "\nstate: %s\n", st);
	json_t *a = json_object_get(j, "answer");
	if (a)
		fprintf(f, "your answer: %s\n", json_string_value(a));
	if (json_object_get(j, "our_size") && strcmp(kind, "intent") != 0)
		fprintf(f, "your list: %lld entries; theirs: %s\n",
			(long long)json_integer_value(json_object_get(j, "our_size")),
			json_object_get(j, "their_size") ? "committed" : "not committed yet");
	if (json_object_get(j, "agreed_max"))
		fprintf(f, "agreed maximum list size: %lld (theirs: %lld entries)\n",
			(long long)json_integer_value(json_object_get(j, "agreed_max")),
			(long long)json_integer_value(json_object_get(j, "their_size")));
	if (strcmp(st, "done") == 0) {
		if (strcmp(kind, "intent") == 0) {
			int m = strcmp(json_string_value(res), "match") == 0;
			fprintf(f, "result: %s\n",
				m ? "MATCH: both sides said yes; each holds the other's signed "
				    "commitment to talk (parley export intent ID --out FILE)"
				  : (strcmp(json_string_value(a), "no") == 0
					 ? "no match (you answered no, so you learn nothing of "
					   "their answer)"
					 : "no match: they did not answer yes (that is all you "
					   "learn)"));
		} else if (strcmp(kind, "count") == 0) {
			fprintf(f,
				"result: %lld of the people on your list are on theirs (neither "
				"side learns which)\n",
				(long long)json_integer_value(res));
		} else {
			size_t i;
			json_t *p;
			fprintf(f, "result: %zu package%s on both lists\n", json_array_size(res),
				json_array_size(res) == 1 ? "" : "s");
			json_array_foreach(res, i, p)
			{
				char *s = json_dumps(p, JSON_COMPACT);
				fprintf(f, "  %zu. %s\n", i + 1, s ? s : "?");
				free(s);
			}
		}
	} else if (strcmp(st, "invited") == 0) {
		fprintf(f,
			"they committed to a %s match; nothing of theirs is learned until you "
			"answer with parley match %s\n",
			kind, kind);
	} else if (strcmp(st, "committed") == 0) {
		fprintf(f, "waiting for their commitment (run parley sync later)\n");
	} else if (strcmp(st, "exchanging") == 0) {
		fprintf(f, "lists are being exchanged: %lld of %lld parts of theirs here\n",
			(long long)json_integer_value(json_object_get(j, "their_list_parts")),
			(long long)json_integer_value(json_object_get(j, "their_list_of")));
	} else if (strcmp(st, "answered") == 0) {
		json_t *fl = json_object_get(j, "they_fetched_our_answer_at_leaf");
		if (fl)
			fprintf(f,
				"we answered; the relay's log proves they fetched our answer "
				"(their signed acknowledgment, leaf %lld) and they have not "
				"answered: they can know the result and you cannot\n",
				(long long)json_integer_value(fl));
		else
			fprintf(f,
				"we answered; waiting for their answer (run parley sync later)\n");
	}
	if (why)
		fprintf(f, "why: %s\n", why);
	fprintf(f, "nothing of this match passes through the relay in the clear: it sees only "
		   "sealed envelopes\n");
}

int pl_match_show(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], json_t **json, FILE *text,
		  pl_err *e)
{
	rec r;
	held h;
	int f = rec_load(v, id, &r, e);
	if (f < 0)
		return -1;
	if (gather(v, id, NULL, &h, e) != 0) {
		if (f == 1)
			rec_free(&r);
		return -1;
	}
	if (!h.my_commit && !h.their_commit) {
		held_free(&h);
		if (f == 1)
			rec_free(&r);
		return pl_err_set(e, PL_EXIT_NOTFOUND, "no blind match with that id in this vault");
	}
	int st = state_of(f == 1 ? &r : NULL, &h);
	json_t *j = show_json(v, id, f == 1 ? &r : NULL, &h, st);
	held_free(&h);
	if (f == 1)
		rec_free(&r);
	if (text)
		show_text(text, j);
	if (json)
		*json = j;
	else
		json_decref(j);
	return 0;
}

int pl_match_list(pl_vault *v, json_t **out, pl_err *e)
{
	uint8_t(*ids)[PL_MATCH_ID_LEN];
	size_t n;
	*out = NULL;
	if (match_ids(v, &ids, &n, e) != 0)
		return -1;
	json_t *a = json_array();
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *j = NULL;
		rc = pl_match_show(v, ids[i], &j, NULL, e);
		if (rc == 0)
			json_array_append_new(a, j);
	}
	free(ids);
	if (rc != 0) {
		json_decref(a);
		return -1;
	}
	*out = a;
	return 0;
}

int pl_match_export(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], const char *path,
		    pl_err *e)
{
	rec r;
	int f = rec_load(v, id, &r, e);
	if (f < 0)
		return -1;
	if (f == 0)
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "this vault did not take part in that match");
	int rc;
	if (r.kind != PL_MATCH_INTENT || !r.done || r.theirstmt == NULL || r.mystmt == NULL)
		rc = pl_err_set(e, PL_EXIT_USAGE,
				"only a matched intent (both said yes) can be exported; this "
				"match is %s",
				r.kind != PL_MATCH_INTENT ? "not an intent match"
				: !r.done		  ? "not finished"
							  : "not a match");
	else
		rc = pl_intent_export_write(path, r.mystmt, r.mystmtlen, r.theirstmt,
					    r.theirstmtlen, e);
	rec_free(&r);
	return rc;
}

int pl_match_resend(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], unsigned *count,
		    pl_err *e)
{
	pl_item *items = NULL;
	pl_outbox *ob = NULL;
	size_t n = 0, nob = 0;
	*count = 0;
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0)
		return -1;
	if (pl_vault_outbox_list(v, &ob, &nob, e) != 0) {
		pl_vault_items_free(items, n);
		return -1;
	}
	int rc = pl_vault_begin(v, e);
	for (size_t i = 0; i < n && rc == 0; i++) {
		pl_match_msg m;
		if (items[i].kind != PL_KIND_MATCH || items[i].dir != PL_DIR_OUT ||
		    pl_match_msg_decode(&m, items[i].body.p, items[i].body.n) != 0 ||
		    memcmp(m.id, id, PL_MATCH_ID_LEN) != 0)
			continue;
		size_t k = 0;
		while (k < nob && ob[k].item_seq != items[i].seq)
			k++;
		if (k < nob)
			continue; /* still waiting to go */
		rc = queue_msg(v, items[i].contact, items[i].body.p, items[i].body.n, e);
		if (rc == 0)
			(*count)++;
	}
	if (rc == 0)
		rc = pl_vault_commit(v, e);
	if (rc != 0)
		pl_vault_rollback(v);
	pl_vault_outbox_free(ob, nob);
	pl_vault_items_free(items, n);
	return rc;
}

int pl_match_watch(pl_vault *v, uint64_t log_size, unsigned *found, pl_err *e)
{
	uint8_t(*ids)[PL_MATCH_ID_LEN];
	size_t n;
	*found = 0;
	if (match_ids(v, &ids, &n, e) != 0)
		return -1;
	int rc = 0;
	pl_logq *q = NULL;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rec r;
		held h;
		if (rec_load(v, ids[i], &r, e) != 1)
			continue;
		if (r.done || r.fetched || gather(v, ids[i], NULL, &h, e) != 0) {
			rec_free(&r);
			continue;
		}
		pl_item it;
		pl_receipt *rc0 = calloc(1, sizeof *rc0);
		memset(&it, 0, sizeof it);
		if (rc0 && state_of(&r, &h) == ST_ANSWERED && h.my_final_seq > 0 &&
		    pl_vault_item_get(v, h.my_final_seq, &it, e) == 0 && it.receipt.n > 0 &&
		    pl_receipt_decode(rc0, it.receipt.p, it.receipt.n) == 0 &&
		    rc0->index < log_size) {
			uint64_t leaf;
			pl_err qe;
			pl_err_clear(&qe);
			if (q == NULL && pl_logq_open(&q, v, NULL, 0, &qe) != 0)
				q = NULL;
			if (q && pl_logq_first_ack(q, r.peer, rc0->index + 1, log_size, rc0->seq,
						   rc0->hash, &leaf, &qe) == 0) {
				r.fetched = leaf + 1;
				rc = rec_save(v, ids[i], &r, e);
				(*found)++;
			}
		}
		pl_vault_item_free(&it);
		free(rc0);
		held_free(&h);
		rec_free(&r);
	}
	if (q)
		pl_logq_close(q, NULL);
	free(ids);
	return rc;
}

void pl_match_item_text(const pl_item *it, char *out, size_t cap)
{
	pl_match_msg m;
	char hex[2 * PL_MATCH_ID_LEN + 1];
	if (pl_match_msg_decode(&m, it->body.p, it->body.n) != 0) {
		snprintf(out, cap, "blind match message (unreadable)");
		return;
	}
	pl_hex_encode(hex, m.id, PL_MATCH_ID_LEN);
	const char *who = it->dir == PL_DIR_OUT ? "our" : "their";
	if (m.step == PL_MATCH_COMMIT)
		snprintf(out, cap, "blind match %.8s (%s): %s signed commitment to a list of %u",
			 hex, kind_name(m.kind), who, m.size);
	else
		snprintf(out, cap, "blind match %.8s: %s %s, part %u of %u", hex, who,
			 m.step == PL_MATCH_LIST ? "blinded list" : "answer", m.part + 1, m.parts);
}
