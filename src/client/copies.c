/*
 * copies.c — see copies.h. What it must never do: let a vault that may be
 * behind another copy of itself encrypt under a session it kept; blame the
 * relay for what another copy of the vault fetched; trust an
 * acknowledgment leaf that does not prove into the signed tree or is not
 * signed by this vault's key.
 */
#include "client/copies.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/audit.h"
#include "client/messenger.h"
#include "envelope/envelope.h"
#include "log/leaf.h"
#include "relay/proto.h"
#include "util/codec.h"

/* Queues the notice for one contact inside the caller's transaction. */
static int queue_notice(pl_vault *v, const char *contact, const uint8_t body[PL_RESTORED_LEN],
			pl_err *e)
{
	pl_item it;
	memset(&it, 0, sizeof it);
	randombytes_buf(it.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_RESTORED;
	it.time = pl_now();
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, body, PL_RESTORED_LEN);
	int rc = pl_wr_ok(&it.body) != 0 ? pl_err_set(e, PL_EXIT_ERROR, "out of memory") : 0;
	if (rc == 0 && pl_vault_item_add(v, &it, e) < 0)
		rc = -1;
	if (rc == 0)
		rc = pl_vault_outbox_add(v, it.seq, contact, e);
	pl_vault_item_free(&it);
	return rc;
}

int pl_copies_react(pl_vault *v, int how, uint64_t date, pl_copies_report *r, pl_err *e)
{
	pl_contact *cs = NULL;
	size_t n = 0;
	uint8_t body[PL_RESTORED_LEN];
	unsigned sessions = 0, notified = 0;

	body[0] = (uint8_t)how;
	pl_be64_put(body + 1, date);
	if (pl_vault_contact_list(v, &cs, &n, e) != 0)
		return -1;
	int alive = pl_msgr_check_identity(v, NULL) == 0;
	int ok = pl_vault_begin(v, e) == 0;
	int began = ok;
	if (ok)
		ok = pl_vault_copy_reset(v, &sessions, e) == 0 &&
		     pl_vault_set_u64(v, "copy_reset_at", pl_now(), e) == 0 &&
		     pl_vault_set_u64(v, "copy_reset_date", date, e) == 0;
	for (size_t i = 0; ok && alive && i < n; i++) {
		if (pl_msgr_check_sendable(&cs[i], NULL) != 0)
			continue; /* nothing may go to it; a later note starts anew */
		ok = queue_notice(v, cs[i].name, body, e) == 0;
		notified += ok;
	}
	if (began && (!ok || pl_vault_commit(v, e) != 0)) {
		pl_vault_rollback(v);
		ok = 0;
	}
	sodium_memzero(cs, n * sizeof *cs);
	free(cs);
	if (!ok)
		return -1;
	if (r) {
		r->reacted = 1;
		r->sessions = sessions;
		r->notified = notified;
		r->date = date;
	}
	return 0;
}

typedef struct {
	pl_vault *v;
	uint64_t reset_at;
	unsigned unknown, fresh;
} ack_scan;

static int ack_one(void *ctx, const pl_proto_mbxlog_item *it, const pl_leaf *lf, pl_err *e)
{
	ack_scan *x = ctx;
	(void)it;
	if (lf->type != PL_LEAF_ACK ||
	    sodium_memcmp(lf->owner, pl_vault_identity(x->v)->pk, PL_IK_LEN) != 0 ||
	    pl_leaf_ack_verify(lf) != 0)
		return 0; /* not ours: nothing a copy of this vault did */
	for (unsigned i = 0; i < lf->ack.n; i++) {
		const uint8_t *h = lf->ack.name[i].hash;
		int seen = pl_vault_seen(x->v, h), pend = pl_vault_pending_has(x->v, h);
		if (seen < 0 || pend < 0)
			return pl_err_set(e, PL_EXIT_VAULT, "cannot read the vault");
		if (seen || pend)
			continue;
		x->unknown++;
		/* Logged in the second of our last reset or later: it may be
		 * another copy's, made after it. Counting one of that second
		 * that was not costs a needless re-key; missing one would let
		 * two copies encrypt under the same message keys. */
		if (lf->relay_time >= x->reset_at)
			x->fresh++;
	}
	return 0;
}

/* The date a put-back copy is of: its newest item (0 if it has none). */
static uint64_t newest_item(pl_vault *v)
{
	pl_item *items;
	size_t n;
	uint64_t t = 0;
	if (pl_vault_item_list(v, NULL, &items, &n, NULL) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].time > t)
			t = items[i].time;
	pl_vault_items_free(items, n);
	return t;
}

/* Reads every leaf in [start, size) with GET /log/leaves, which names no
 * mailbox, and looks at the acknowledgments of ours among them. The leaves
 * come unproved: only the owner signature of an ack leaf is relied on (no
 * one but a copy of this vault can make one), as a reason to re-key. */
static int scan_all_leaves(pl_rc_conn *c, const uint8_t mbx[32], uint64_t start, uint64_t size,
			   ack_scan *x, pl_err *e)
{
	pl_proto_leaves *l = malloc(sizeof *l);
	if (l == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = 0;
	for (uint64_t at = start; rc == 0 && at < size;) {
		uint32_t count =
		    size - at > PL_PROTO_LEAVES_MAX ? PL_PROTO_LEAVES_MAX : (uint32_t)(size - at);
		uint8_t *body = NULL;
		if (pl_audit_leaves(c, at, count, l, &body, e) != 0) {
			rc = -1;
			break;
		}
		for (uint32_t i = 0; rc == 0 && i < l->count; i++) {
			pl_leaf lf;
			if (pl_leaf_decode(&lf, l->leaf[i].p, l->leaf[i].n) == 0 &&
			    lf.type == PL_LEAF_ACK && sodium_memcmp(lf.mbx, mbx, 32) == 0)
				rc = ack_one(x, NULL, &lf, e);
		}
		free(body);
		at += count;
	}
	free(l);
	return rc;
}

int pl_copies_check(pl_vault *v, pl_rc_conn *c, int quiet, pl_copies_report *r, pl_err *e)
{
	pl_audit_tree t;
	pl_err le;
	uint8_t mbx[32];
	uint64_t next;

	pl_err_clear(&le);
	if (pl_audit_tree_latest(v, &t, &le) != 0)
		return le.code == PL_EXIT_NOTFOUND ? 0 : (*e = le, -1);
	pl_mailbox_id(mbx, pl_vault_identity(v)->pk);
	ack_scan x = {.v = v, .reset_at = pl_vault_get_u64(v, "copy_reset_at", 0)};
	uint64_t start = pl_vault_get_u64(v, "ack_scanned", 0);
	int rc;
	if (quiet && start <= t.size && t.size - start <= PL_COPIES_QUIET_MAX) {
		rc = scan_all_leaves(c, mbx, start, t.size, &x, e);
		next = t.size;
	} else {
		rc = pl_audit_mbxlog(v, c, &t, mbx, PL_PROTO_MBXLOG_ACK, start, ack_one, &x, &next,
				     e);
	}
	pl_audit_tree_free(&t);
	if (rc != 0)
		return -1;
	if (r)
		r->unknown_acks += x.unknown;
	if (x.fresh > 0 && pl_copies_react(v, PL_RESTORED_COPY, newest_item(v), r, e) != 0)
		return -1;
	return pl_vault_set_u64(v, "ack_scanned", next, e);
}

int pl_copies_restore(const char *dir, const uint8_t *file, size_t n, const char *pass,
		      size_t passlen, uint64_t *created, pl_copies_report *r, pl_err *e)
{
	uint8_t *img = NULL;
	size_t imglen = 0;
	char *tmp = NULL;
	pl_vault *v = NULL;
	uint64_t when = 0;

	if (pl_backup_open(&img, &imglen, &when, file, n, pass, passlen, e) != 0)
		return -1;
	int rc = -1;
	pl_vault_open_opts o = {.cmd = "restore", .wait_ms = 0};
	if (pl_vault_restore_begin(dir, &tmp, e) == 0 &&
	    pl_vault_install_image(tmp, img, imglen, pass, passlen, e) == 0 &&
	    pl_vault_open_ex(&v, tmp, pass, passlen, &o, e) == 0 &&
	    pl_copies_react(v, PL_RESTORED_BACKUP, when, r, e) == 0) {
		pl_vault_close(v);
		v = NULL;
		rc = pl_vault_restore_finish(tmp, dir, e);
	}
	if (v)
		pl_vault_close(v);
	if (rc != 0 && tmp)
		pl_vault_restore_abort(tmp);
	free(tmp);
	sodium_memzero(img, imglen);
	free(img);
	if (rc == 0 && created)
		*created = when;
	return rc;
}

void pl_copies_note(pl_sync_report *r, const pl_copies_report *cr)
{
	if (r == NULL || cr == NULL || !cr->reacted)
		return;
	r->copy_reacted++;
	r->copy_notified += cr->notified;
	r->copy_sessions += cr->sessions;
	r->copy_date = cr->date;
}
