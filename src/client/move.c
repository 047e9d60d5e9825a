/*
 * move.c — relay moves (see move.h): the notice's one strict codec, the
 * follower's checks, and the mover's sequence.
 *
 * What it must never do: follow a notice that is not signed by the pinned
 * key of the contact whose session carried it, or that is not newer than
 * the last one applied from that contact; let the relay's word stand for
 * the new relay's key (the notice carries it, the signature binds it);
 * touch the network inside the transaction that records a move.
 */
#include "client/move.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/messenger.h"
#include "client/relay_client.h"
#include "util/codec.h"

#define NOTICE_LABEL "parley relay notice v1"

/* An http(s) relay URL of printable ASCII the relay client accepts. */
static int url_ok(const uint8_t *p, size_t n)
{
	char buf[PL_URL_MAX + 1];
	if (n == 0 || n > PL_URL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return pl_rc_url_plain_remote(buf) >= 0;
}

static int ca_ok(const uint8_t *ca, size_t n)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	if (n == 0)
		return 1;
	return ca != NULL && n <= PL_MOVE_CA_MAX && memmem(ca, n, begin, sizeof begin - 1) != NULL;
}

/* The bytes the signature covers. */
static void signed_part(pl_wr *w, const uint8_t signer[static PL_IK_LEN], uint64_t time,
			const uint8_t key[static 32], const uint8_t *url, size_t urllen,
			const uint8_t *ca, size_t calen)
{
	pl_wr_bytes(w, (const uint8_t *)NOTICE_LABEL, sizeof NOTICE_LABEL - 1);
	pl_wr_u8(w, PL_KIND_RELAY);
	pl_wr_bytes(w, signer, PL_IK_LEN);
	pl_wr_u64(w, time);
	pl_wr_bytes(w, key, 32);
	pl_wr_var(w, url, urllen);
	pl_wr_var(w, ca, calen);
}

int pl_move_notice_encode(pl_wr *w, const pl_identity *id, uint64_t time,
			  const uint8_t relay_key[static 32], const char *url, const uint8_t *ca,
			  size_t calen)
{
	size_t urllen = url ? strlen(url) : 0;
	if (time == 0 || url == NULL || !url_ok((const uint8_t *)url, urllen) ||
	    pl_ik_validate(relay_key) != 0 || !ca_ok(ca, calen)) {
		w->err = 1;
		return -1;
	}
	pl_wr msg;
	pl_wr_init(&msg);
	signed_part(&msg, id->pk, time, relay_key, (const uint8_t *)url, urllen, ca, calen);
	uint8_t sig[PL_SIG_LEN];
	if (pl_wr_ok(&msg) != 0 || crypto_sign_detached(sig, NULL, msg.p, msg.n, id->sk) != 0) {
		pl_wr_free(&msg);
		w->err = 1;
		return -1;
	}
	pl_wr_free(&msg);
	pl_wr_u8(w, PL_MOVE_VERSION);
	pl_wr_u64(w, time);
	pl_wr_bytes(w, relay_key, 32);
	pl_wr_var(w, (const uint8_t *)url, urllen);
	pl_wr_var(w, ca, calen);
	pl_wr_bytes(w, sig, sizeof sig);
	return pl_wr_ok(w);
}

int pl_move_notice_decode(pl_move_notice *n, const uint8_t *p, size_t len)
{
	pl_rd r;
	pl_move_notice t;
	size_t urllen = 0;
	memset(&t, 0, sizeof t);
	pl_rd_init(&r, p, len);
	uint8_t version = pl_rd_u8(&r);
	t.time = pl_rd_u64(&r);
	pl_rd_copy(&r, t.relay_key, 32);
	const uint8_t *url = pl_rd_var(&r, PL_URL_MAX, &urllen);
	t.ca = pl_rd_var(&r, PL_MOVE_CA_MAX, &t.calen);
	pl_rd_copy(&r, t.sig, sizeof t.sig);
	if (pl_rd_done(&r) != 0 || version != PL_MOVE_VERSION || t.time == 0 ||
	    !url_ok(url, urllen) || pl_ik_validate(t.relay_key) != 0 || !ca_ok(t.ca, t.calen))
		return -1;
	memcpy(t.url, url, urllen);
	t.url[urllen] = '\0';
	if (t.calen == 0)
		t.ca = NULL;
	*n = t;
	return 0;
}

int pl_move_notice_verify(const pl_move_notice *n, const uint8_t signer_ik[static PL_IK_LEN])
{
	pl_wr msg;
	pl_wr_init(&msg);
	signed_part(&msg, signer_ik, n->time, n->relay_key, (const uint8_t *)n->url, strlen(n->url),
		    n->ca, n->calen);
	int rc =
	    pl_wr_ok(&msg) == 0 && crypto_sign_verify_detached(n->sig, msg.p, msg.n, signer_ik) == 0
		? 0
		: -1;
	pl_wr_free(&msg);
	return rc;
}

int pl_move_follow(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e)
{
	pl_move_notice n;
	uint8_t ours[32];
	if (pl_move_notice_decode(&n, p->body, p->bodylen) != 0) {
		pl_err_set(e, PL_EXIT_INPUT, "a relay notice from \"%s\" is malformed; ignored",
			   from->name);
		return 1;
	}
	if (pl_move_notice_verify(&n, from->ik) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "a relay notice from \"%s\" is not signed by their key; ignored, their "
			   "mailbox stays where it was",
			   from->name);
		return 1;
	}
	if (n.time <= from->relay_time) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "a relay notice from \"%s\" is not newer than the one already applied "
			   "(a replay); ignored",
			   from->name);
		return 1;
	}
	if (pl_rc_url_plain_remote(n.url) == 1 && !pl_vault_relay_plain_http(v)) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "\"%s\" moved to %s, plain http:// to another computer, which this "
			   "vault does not allow; ignored",
			   from->name, n.url);
		return 1;
	}
	/* A contact that moved to our own relay is reached like everyone on
	 * it; anywhere else, through the relay and key it signed. */
	int same = pl_vault_relay_key(v, ours) == 0 && sodium_memcmp(ours, n.relay_key, 32) == 0;
	return pl_vault_contact_set_relay(v, from->name, same ? NULL : n.url, n.relay_key, n.ca,
					  n.calen, n.time, e) == 0
		   ? 0
		   : -1;
}

/* A notice queued for one contact, inside the caller's transaction (as
 * pl_msgr_queue does outside one). */
static int queue_notice(pl_vault *v, const char *contact, const pl_wr *body, uint64_t time,
			pl_err *e)
{
	pl_item it;
	memset(&it, 0, sizeof it);
	randombytes_buf(it.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_RELAY;
	it.time = time;
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, body->p, body->n);
	int rc = pl_wr_ok(&it.body) != 0	     ? pl_err_set(e, PL_EXIT_ERROR, "out of memory")
		 : pl_vault_item_add(v, &it, e) != 0 ? -1
						     : pl_vault_outbox_add(v, it.seq, contact, e);
	pl_vault_item_free(&it);
	return rc;
}

/* Records the move and queues the notices, all or nothing. */
static int record_move(pl_vault *v, const char *url, const uint8_t key[static 32],
		       const uint8_t *ca, size_t calen, int plain_http, pl_move_report *r,
		       pl_err *e)
{
	pl_contact *cs = NULL;
	size_t n = 0;
	pl_wr body;
	pl_wr_init(&body);
	/* Strictly increasing, so a follower can refuse any older notice. */
	uint64_t time = pl_now(), last = pl_vault_get_u64(v, "relay_notice_time", 0);
	if (time <= last)
		time = last + 1;
	if (pl_move_notice_encode(&body, pl_vault_identity(v), time, key, url, ca, calen) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the new relay's address, key or certificate cannot be sent to "
				  "contacts (a certificate must be PEM of at most %d bytes)",
				  PL_MOVE_CA_MAX);
	if (pl_vault_begin(v, e) != 0) {
		pl_wr_free(&body);
		return -1;
	}
	int rc = pl_vault_contact_list(v, &cs, &n, e);
	if (rc == 0)
		rc = pl_vault_relay_move(v, url, key, ca, calen, plain_http, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (pl_msgr_check_sendable(&cs[i], NULL) != 0) {
			r->not_told++;
			continue;
		}
		rc = queue_notice(v, cs[i].name, &body, time, e);
		r->told++;
	}
	if (rc == 0)
		rc = pl_vault_set_u64(v, "relay_notice_time", time, e);
	if (rc == 0)
		rc = pl_vault_commit(v, e);
	if (rc != 0)
		pl_vault_rollback(v);
	if (cs)
		sodium_memzero(cs, n * sizeof *cs);
	free(cs);
	pl_wr_free(&body);
	return rc;
}

int pl_move_relay(pl_vault *v, const char *url, const uint8_t relay_key[static 32],
		  const uint8_t *ca, size_t calen, int plain_http, pl_move_report *r, pl_err *e)
{
	memset(r, 0, sizeof *r);
	if (record_move(v, url, relay_key, ca, calen, plain_http, r, e) != 0)
		return -1;
	pl_err ne;
	pl_err_clear(&ne);
	r->published = pl_msgr_publish(v, &ne) == 0;
	/* The notices go where each contact reads: its mailbox, on the relay
	 * it lives on (for a contact that shared our old relay, that relay,
	 * even if this vault caught it lying: see pl_msgr_deliver). */
	pl_sync_report dr;
	memset(&dr, 0, sizeof dr);
	if (r->published) {
		pl_msgr_deliver(v, &dr, &ne);
		r->delivered = dr.delivered;
		r->queued = dr.queued;
	} else {
		/* Told to look for us where nothing of ours is yet, a contact
		 * could not write: the notices wait for the publish. */
		r->queued = r->told;
	}
	if (ne.code != 0)
		snprintf(r->why, sizeof r->why, "%s", ne.msg);
	return 0;
}
