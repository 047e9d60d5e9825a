/*
 * test_receive.c — receiving through the library, end to end: two (or
 * three) real vaults in temporary folders talk through the real
 * $PARLEY_BUILD/parley-relay started here on 127.0.0.1 (port 0), and each
 * test checks what pl_msgr_sync made of what waited in the mailbox:
 *   - a note from a verified contact is stored once, and acked back;
 *   - a tampered, random or forged envelope is rejected: nothing stored,
 *     sessions untouched;
 *   - a replayed envelope is a duplicate;
 *   - an envelope from a key that is not a (verified) contact is kept
 *     pending, and read once the contact is added and verified;
 *   - a negotiation object reaches the handler the caller passed, inside
 *     the receive transaction (1 rejects the envelope, -1 keeps it at the
 *     relay); with no handler it is kept pending, not lost.
 * Skipped when the relay binary is not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/messenger.h"
#include "client/grant.h"
#include "client/nego.h"
#include "client/relay_client.h"
#include "envelope/envelope.h"
#include "relay/proto.h"
#include "util/codec.h"
#include "support.h"

static struct {
	pl_test_relay r;
	char dir[64]; /* holds data/ and the vaults */
	int vaults;   /* vaults made so far: each test's get fresh folders */
} relay;

typedef struct {
	char dir[128];
	pl_vault *v;
} party;

/* ---- the relay ---------------------------------------------------------- */

static int relay_start(void)
{
	char data[128];
	snprintf(relay.dir, sizeof relay.dir, "/tmp/parley-receive-XXXXXX");
	if (mkdtemp(relay.dir) == NULL)
		return -1;
	snprintf(data, sizeof data, "%s/data", relay.dir);
	/* Every party is a new mailbox from 127.0.0.1: more than one client
	 * address may create per hour by default. */
	static const char *const args[] = {"--new-mailboxes-per-hour", "0", NULL};
	return pl_test_relay_start(&relay.r, data, 0, args);
}

static void relay_stop(void)
{
	pl_test_relay_stop(&relay.r);
	if (relay.dir[0])
		pl_test_rm_rf(relay.dir);
	relay.dir[0] = '\0';
}

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	if (relay_start() != 0) {
		relay_stop();
		fprintf(stderr, "# parley-relay not available in $PARLEY_BUILD; skipped\n");
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	relay_stop();
	return 0;
}

/* ---- parties ------------------------------------------------------------ */

static void party_make(party *p, const char *name)
{
	char sub[64];
	pl_err e;
	pl_err_clear(&e);
	snprintf(sub, sizeof sub, "v%d-%s", relay.vaults++, name);
	snprintf(p->dir, sizeof p->dir, "%s/%s", relay.dir, sub);
	p->v = pl_test_vault_new(relay.dir, sub, name, relay.r.url);
	if (pl_msgr_publish(p->v, &e) != 0)
		fail_msg("cannot make the vault of %s: %s", name, e.msg);
}

static void party_close(party *p)
{
	if (p->v)
		pl_vault_close(p->v);
	p->v = NULL;
	pl_test_rm_rf(p->dir);
}

/* a adds b as a contact (verified or not) and publishes its grant. */
static void add_contact(party *a, const party *b, const char *name, int verified)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	memset(&c, 0, sizeof c);
	if (pl_vault_contact_get(a->v, name, &c, &e) != 0) {
		snprintf(c.name, sizeof c.name, "%s", name);
		memcpy(c.ik, pl_vault_identity(b->v)->pk, PL_IK_LEN);
		c.added = pl_now();
	}
	c.verified = verified;
	assert_int_equal(pl_vault_contact_put(a->v, &c, &e), 0);
	assert_int_equal(pl_msgr_publish(a->v, &e), 0);
}

typedef struct {
	party alice, bob;
} pair;

/* The usual fixture: alice and bob, verified contacts of each other. */
static int pair_setup(void **state)
{
	*state = NULL;
	if (relay.r.pid <= 0)
		return 0; /* each test skips */
	pair *p = calloc(1, sizeof *p);
	assert_non_null(p);
	party_make(&p->alice, "alice");
	party_make(&p->bob, "bob");
	add_contact(&p->alice, &p->bob, "bob", 1);
	add_contact(&p->bob, &p->alice, "alice", 1);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	pair *p = *state;
	if (p == NULL)
		return 0;
	party_close(&p->alice);
	party_close(&p->bob);
	free(p);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* What the handler saw, and what it answers. */
typedef struct {
	int calls;
	int answer; /* 0, 1 or -1; 2: pass it to pl_nego_object_received */
	char from[PL_NAME_MAX + 1];
	uint8_t id[PL_ITEM_ID_LEN];
} handler_log;

/* The handler writes this counter (= its number of calls): it is kept only
 * if the receive transaction commits. */
#define MARK "test_handler_mark"

static int test_handler(void *ctx, pl_vault *v, const pl_contact *from, const pl_payload *p,
			pl_msgr_envelope *env, pl_err *e)
{
	handler_log *h = ctx;
	h->calls++;
	snprintf(h->from, sizeof h->from, "%s", from->name);
	memcpy(h->id, p->id, sizeof h->id);
	if (pl_vault_set_u64(v, MARK, (uint64_t)h->calls, e) != 0)
		return -1;
	if (h->answer == 2)
		return pl_nego_object_received(NULL, v, from, p, env, e);
	if (h->answer < 0)
		pl_err_set(e, PL_EXIT_VAULT, "the test handler fails");
	return h->answer;
}

static void send_note(party *from, const char *to, const char *text, uint8_t id[8])
{
	int64_t seq;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_queue(from->v, to, PL_KIND_NOTE, (const uint8_t *)text,
				       strlen(text), id, &seq, &e),
			 0);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_deliver(from->v, &r, &e), 0);
	assert_int_equal(r.delivered, 1);
	assert_int_equal(r.queued, 0);
}

static int sync_with(party *p, const pl_msgr_object_handler *h, pl_sync_report *r, pl_err *e)
{
	memset(r, 0, sizeof *r);
	pl_err_clear(e);
	return pl_msgr_sync(p->v, h, r, e);
}

static size_t count_items(party *p, const char *contact, int dir)
{
	pl_item *items;
	size_t n, k = 0;
	pl_err e;
	assert_int_equal(pl_vault_item_list(p->v, contact, &items, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		if (dir < 0 || items[i].dir == dir)
			k++;
	pl_vault_items_free(items, n);
	return k;
}

/* The item of `contact` with id `id` in direction dir; fails if absent. */
static void get_item(party *p, const char *contact, int dir, const uint8_t id[8], pl_item *out)
{
	pl_item *items;
	size_t n;
	pl_err e;
	int found = 0;
	assert_int_equal(pl_vault_item_list(p->v, contact, &items, &n, &e), 0);
	for (size_t i = 0; i < n; i++) {
		if (items[i].dir != dir || memcmp(items[i].id, id, 8) != 0)
			continue;
		assert_int_equal(found, 0);
		found = 1;
		*out = items[i];
		pl_wr_init(&items[i].body);
		pl_wr_init(&items[i].receipt);
	}
	pl_vault_items_free(items, n);
	assert_int_equal(found, 1);
}

static size_t count_pending(party *p)
{
	pl_wr *envs;
	size_t n;
	pl_err e;
	assert_int_equal(pl_vault_pending_list(p->v, &envs, &n, &e), 0);
	pl_vault_pending_free(envs, n);
	return n;
}

/* The ratchet state of every session with ik, concatenated: any change to
 * any session changes it. */
static void sessions_snapshot(party *p, const uint8_t ik[PL_IK_LEN], pl_wr *out)
{
	pl_session_rec *ss;
	size_t n;
	pl_err e;
	pl_wr_init(out);
	assert_int_equal(pl_vault_sessions_load(p->v, ik, &ss, &n, &e), 0);
	for (size_t i = 0; i < n; i++) {
		pl_wr_bytes(out, (const uint8_t *)&ss[i].replied, sizeof ss[i].replied);
		pl_wr_bytes(out, ss[i].state.p, ss[i].state.n);
	}
	pl_vault_sessions_free(ss, n);
	assert_int_equal(pl_wr_ok(out), 0);
}

/* The envelopes waiting in p's mailbox (without taking them); *n of them,
 * each malloc'd into envs[i] / lens[i]. */
static size_t peek_mailbox(party *p, uint8_t **envs, size_t *lens, size_t cap)
{
	pl_rc_conn *c;
	pl_rc_listing rl;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_open_relay(p->v, &c, &e), 0);
	assert_int_equal(pl_rc_fetch(c, pl_vault_identity(p->v), 0, &rl, &e), 0);
	size_t n = rl.list.count < cap ? rl.list.count : cap;
	for (size_t i = 0; i < n; i++) {
		envs[i] = malloc(rl.list.item[i].envlen);
		assert_non_null(envs[i]);
		memcpy(envs[i], rl.list.item[i].env, rl.list.item[i].envlen);
		lens[i] = rl.list.item[i].envlen;
	}
	pl_rc_listing_free(&rl);
	pl_rc_close(c);
	return n;
}

/* Deposits env into `to`'s mailbox with the token `holder` holds for
 * contact `as`: what a replaying relay user or a stranger who learned the
 * token could do. */
static void deposit_raw(party *holder, const char *as, const uint8_t *env, size_t len)
{
	pl_contact c;
	pl_rc_conn *conn;
	pl_receipt rec;
	uint8_t rpk[32];
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(holder->v, as, &c, &e), 0);
	assert_int_equal(c.has_token, 1);
	assert_int_equal(pl_vault_relay_key(holder->v, rpk), 0);
	assert_int_equal(pl_msgr_open_relay(holder->v, &conn, &e), 0);
	int rc = pl_rc_deposit(conn, rpk, c.ik, c.token, env, len, &rec, &e);
	if (rc != 0)
		fail_msg("deposit refused: %s", e.msg);
	pl_rc_close(conn);
	sodium_memzero(&c, sizeof c);
}

/* ---- tests -------------------------------------------------------------- */

static void test_note_stored_once_and_acked(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t id[8];
	send_note(&p->bob, "alice", "meet at noon", id);
	/* acks due at once (the random delay is test_timing's) */
	assert_int_equal(pl_vault_set_u64(p->alice.v, "ack_delay_max", 0, &e), 0);

	handler_log h = {0};
	pl_msgr_object_handler hd = {test_handler, &h};
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.rejected, 0);
	assert_int_equal(r.duplicate, 0);
	assert_int_equal(r.pending, 0);
	assert_int_equal(h.calls, 0); /* a note is not an object */
	pl_item it;
	get_item(&p->alice, "bob", PL_DIR_IN, id, &it);
	assert_int_equal(it.kind, PL_KIND_NOTE);
	assert_string_equal(it.state, "received");
	assert_int_equal(it.body.n, strlen("meet at noon"));
	assert_memory_equal(it.body.p, "meet at noon", it.body.n);
	pl_vault_item_free(&it);
	/* The ack alice queued waits for a later command (test_timing). */
	assert_int_equal(r.queued, 0);
	assert_int_equal(r.acks_sent, 0);
	assert_int_equal(r.acks_waiting, 1);

	/* Again: nothing new, still one item; the ack, due, goes out. */
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.acks_sent, 1);
	assert_int_equal(r.acks_waiting, 0);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 1);

	/* Bob learns from the ack that alice fetched his note. */
	get_item(&p->bob, "alice", PL_DIR_OUT, id, &it);
	assert_string_equal(it.state, "delivered");
	pl_vault_item_free(&it);
	assert_int_equal(sync_with(&p->bob, &hd, &r, &e), 0);
	assert_int_equal(r.received, 0); /* an ack is not an item */
	assert_int_equal(r.rejected, 0);
	get_item(&p->bob, "alice", PL_DIR_OUT, id, &it);
	assert_string_equal(it.state, "fetched");
	pl_vault_item_free(&it);
	assert_int_equal(count_items(&p->bob, "alice", PL_DIR_IN), 0);
}

/* Alice's vault must be as it was: no item, no pending envelope, sessions
 * with bob byte for byte the same. */
static void assert_alice_unchanged(pair *p, size_t items, const pl_wr *before)
{
	pl_wr after;
	assert_int_equal(count_items(&p->alice, NULL, -1), items);
	assert_int_equal(count_pending(&p->alice), 0);
	sessions_snapshot(&p->alice, pl_vault_identity(p->bob.v)->pk, &after);
	assert_int_equal(after.n, before->n);
	assert_memory_equal(after.p, before->p, after.n);
	pl_wr_free(&after);
}

static void test_bad_envelopes_rejected(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t id[8];
	/* A first note sets up the session, so that "unchanged" means something. */
	send_note(&p->bob, "alice", "first", id);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 1);

	send_note(&p->bob, "alice", "second", id);
	uint8_t *envs[4];
	size_t lens[4];
	assert_int_equal(peek_mailbox(&p->alice, envs, lens, 4), 1);
	size_t len = lens[0];
	uint8_t *good = envs[0];
	uint8_t *bad = malloc(len);
	assert_non_null(bad);
	assert_int_equal(pl_envelope_size_ok(len), 1);

	pl_wr before;
	sessions_snapshot(&p->alice, pl_vault_identity(p->bob.v)->pk, &before);
	size_t items = count_items(&p->alice, NULL, -1);

	/* 1. tampered: one byte of the sealed box flipped. */
	memcpy(bad, good, len);
	bad[len / 2] ^= 0x01;
	/* 2. random bytes of a valid size. */
	uint8_t *rnd = malloc(len);
	assert_non_null(rnd);
	randombytes_buf(rnd, len);
	/* 3. sealed properly to alice, claiming bob's key, holding garbage: the
	 *    seal does not authenticate the sender, the session must. */
	uint8_t junk[200], *forged;
	size_t forgedlen;
	randombytes_buf(junk, sizeof junk);
	assert_int_equal(pl_envelope_seal(&forged, &forgedlen, pl_vault_identity(p->alice.v)->pk,
					  pl_vault_identity(p->bob.v)->pk, junk, sizeof junk),
			 0);
	deposit_raw(&p->bob, "alice", bad, len);
	deposit_raw(&p->bob, "alice", rnd, len);
	deposit_raw(&p->bob, "alice", forged, forgedlen);

	handler_log h = {0};
	pl_msgr_object_handler hd = {test_handler, &h};
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	/* the real second note is read; the three others are not */
	assert_int_equal(r.received, 1);
	assert_int_equal(r.rejected, 3);
	assert_int_equal(r.pending, 0);
	assert_int_equal(h.calls, 0);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 2);
	assert_int_equal(count_items(&p->alice, NULL, -1), items + 1 + 1 /* ack to bob */);
	pl_wr_free(&before);

	/* Once more, with only bad envelopes: the vault does not change. */
	sessions_snapshot(&p->alice, pl_vault_identity(p->bob.v)->pk, &before);
	items = count_items(&p->alice, NULL, -1);
	bad[len / 3] ^= 0x80;
	randombytes_buf(rnd, len);
	deposit_raw(&p->bob, "alice", bad, len);
	deposit_raw(&p->bob, "alice", rnd, len);
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.rejected, 2);
	assert_alice_unchanged(p, items, &before);
	pl_wr_free(&before);

	free(good);
	free(bad);
	free(rnd);
	free(forged);
}

static void test_replay_is_duplicate(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t id[8];
	send_note(&p->bob, "alice", "only once", id);
	uint8_t *envs[2];
	size_t lens[2];
	assert_int_equal(peek_mailbox(&p->alice, envs, lens, 2), 1);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 1);

	pl_wr before;
	sessions_snapshot(&p->alice, pl_vault_identity(p->bob.v)->pk, &before);
	size_t items = count_items(&p->alice, NULL, -1);
	/* The relay dropped it when alice acked; the same bytes come back. */
	deposit_raw(&p->bob, "alice", envs[0], lens[0]);
	assert_int_equal(peek_mailbox(&p->alice, envs + 1, lens + 1, 1), 1);
	free(envs[1]);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.duplicate, 1);
	assert_int_equal(r.rejected, 0);
	assert_alice_unchanged(p, items, &before);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 1);
	pl_wr_free(&before);
	free(envs[0]);
}

static void test_stranger_kept_pending(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t id[8];
	/* carol knows alice; alice does not know carol. carol writes with the
	 * token bob holds for alice (a mailbox token is the same for every
	 * contact), as anyone who learned it could. */
	party carol;
	memset(&carol, 0, sizeof carol);
	party_make(&carol, "carol");
	add_contact(&carol, &p->alice, "alice", 1);
	pl_contact cb, cc;
	assert_int_equal(pl_vault_contact_get(p->bob.v, "alice", &cb, &e), 0);
	assert_int_equal(cb.has_token, 0); /* bob has not sent yet */
	send_note(&p->bob, "alice", "hello", id);
	assert_int_equal(pl_vault_contact_get(p->bob.v, "alice", &cb, &e), 0);
	assert_int_equal(cb.has_token, 1);
	assert_int_equal(pl_vault_contact_get(carol.v, "alice", &cc, &e), 0);
	cc.has_token = 1;
	memcpy(cc.token, cb.token, sizeof cc.token);
	assert_int_equal(pl_vault_contact_put(carol.v, &cc, &e), 0);
	send_note(&carol, "alice", "from a stranger", id);

	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 1); /* bob's */
	assert_int_equal(r.pending, 1);	 /* carol's */
	assert_int_equal(r.rejected, 0);
	assert_int_equal(count_pending(&p->alice), 1);
	assert_int_equal(count_items(&p->alice, "carol", -1), 0);

	/* Added but not verified: still pending, still unread. */
	add_contact(&p->alice, &carol, "carol", 0);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.pending, 1);
	assert_int_equal(count_items(&p->alice, "carol", PL_DIR_IN), 0);

	/* Verified: read from the pending envelopes, which empty. */
	add_contact(&p->alice, &carol, "carol", 1);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.pending, 0);
	assert_int_equal(count_pending(&p->alice), 0);
	pl_item it;
	get_item(&p->alice, "carol", PL_DIR_IN, id, &it);
	assert_memory_equal(it.body.p, "from a stranger", it.body.n);
	pl_vault_item_free(&it);
	sodium_memzero(&cb, sizeof cb);
	sodium_memzero(&cc, sizeof cc);
	party_close(&carol);
}

static void send_outreach(party *from, const char *to, uint8_t id[8])
{
	int64_t seq;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_nego_outreach(from->v, to, "talks", id, &seq, &e), 0);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_deliver(from->v, &r, &e), 0);
	assert_int_equal(r.delivered, 1);
}

static void test_object_reaches_handler(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t id[8];
	send_outreach(&p->bob, "alice", id);
	handler_log h = {.answer = 2};
	pl_msgr_object_handler hd = {test_handler, &h};
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	assert_int_equal(h.calls, 1);
	assert_int_equal(pl_vault_get_u64(p->alice.v, MARK, 0), 1);
	assert_string_equal(h.from, "bob");
	assert_memory_equal(h.id, id, 8);
	assert_int_equal(r.received, 1);
	pl_item it;
	get_item(&p->alice, "bob", PL_DIR_IN, id, &it);
	assert_int_equal(it.kind, PL_KIND_OBJECT);
	pl_vault_item_free(&it);
}

static void test_handler_verdicts(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t id[8];
	handler_log h = {0};
	pl_msgr_object_handler hd = {test_handler, &h};

	/* -1: a vault error. The sync fails, nothing of it is kept, and the
	 * relay still holds it. */
	send_outreach(&p->bob, "alice", id);
	h.answer = -1;
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_int_equal(h.calls, 1);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 0);
	assert_int_equal(count_pending(&p->alice), 0);
	assert_int_equal(pl_vault_get_u64(p->alice.v, MARK, 0), 0); /* rolled back */
	uint8_t *envs[2];
	size_t lens[2];
	assert_int_equal(peek_mailbox(&p->alice, envs, lens, 2), 1);
	free(envs[0]);

	/* 0 afterwards: the same envelope is read. */
	h.answer = 0;
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	assert_int_equal(h.calls, 2);
	assert_int_equal(pl_vault_get_u64(p->alice.v, MARK, 0), 2); /* committed with it */
	assert_int_equal(r.received, 1);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 1);

	/* 1: invalid. The envelope is rejected and nothing of it is kept. */
	pl_wr before;
	sessions_snapshot(&p->alice, pl_vault_identity(p->bob.v)->pk, &before);
	size_t items = count_items(&p->alice, NULL, -1);
	send_outreach(&p->bob, "alice", id);
	h.answer = 1;
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	assert_int_equal(h.calls, 3);
	assert_int_equal(pl_vault_get_u64(p->alice.v, MARK, 0), 2); /* rolled back */
	assert_int_equal(r.received, 0);
	assert_int_equal(r.rejected, 1);
	assert_alice_unchanged(p, items, &before);
	pl_wr_free(&before);
	assert_int_equal(peek_mailbox(&p->alice, envs, lens, 2), 0);
}

/* A contact that reuses the id of an item we hold: bob's client (driven
 * through the library, as a malicious one would be) sends alice an item
 * under the id of alice's own note to him. It is refused and counted, and
 * alice's item keeps its id to itself, so she can still name it. */
static void test_reused_id_refused(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t mine[8], next[8];
	send_note(&p->alice, "bob", "our offer stands", mine);
	assert_int_equal(sync_with(&p->bob, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 1);

	pl_item it;
	memset(&it, 0, sizeof it);
	memcpy(it.id, mine, 8);
	snprintf(it.contact, sizeof it.contact, "alice");
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_NOTE;
	it.time = pl_now();
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, (const uint8_t *)"shadow", 6);
	assert_int_equal(pl_vault_begin(p->bob.v, &e), 0);
	assert_int_equal(pl_vault_item_add(p->bob.v, &it, &e), 0);
	assert_int_equal(pl_vault_outbox_add(p->bob.v, it.seq, "alice", &e), 0);
	assert_int_equal(pl_vault_commit(p->bob.v, &e), 0);
	pl_vault_item_free(&it);
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_deliver(p->bob.v, &r, &e), 0);
	assert_int_equal(r.delivered, 1);

	memset(&r, 0, sizeof r);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.rejected, 1);
	assert_int_equal(r.id_taken, 1);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 0);
	pl_item found;
	assert_int_equal(pl_nego_find(p->alice.v, mine, &found, &e), 0);
	assert_int_equal(found.dir, PL_DIR_OUT);
	pl_vault_item_free(&found);

	/* the channel itself is unharmed: bob's next note is read */
	send_note(&p->bob, "alice", "a real reply", next);
	memset(&r, 0, sizeof r);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.id_taken, 0);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 1);
}

/* Grant-locator squatting: carol, about to become alice's contact, works
 * out where alice will publish carol's grant and registers that locator
 * first, under her own mailbox. Alice's syncs must go on (bob's note
 * arrives) and say that one grant is blocked; only carol is cut off. */
static void test_squatted_grant_does_not_stop_sync(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	party carol;
	party_make(&carol, "carol");
	uint8_t loc[PL_PROTO_GRANT_LOC_LEN], junk[PL_GRANT_BLOB_LEN];
	const uint8_t *alice_ik = pl_vault_identity(p->alice.v)->pk;
	assert_int_equal(pl_grant_locator(loc, pl_vault_identity(carol.v), alice_ik, alice_ik), 0);
	randombytes_buf(junk, sizeof junk);
	pl_rc_conn *c;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_open_relay(carol.v, &c, &e), 0);
	assert_int_equal(pl_rc_put_grant(c, pl_vault_identity(carol.v), loc, junk, sizeof junk, &e),
			 0);
	pl_rc_close(c);

	pl_contact ct;
	memset(&ct, 0, sizeof ct);
	snprintf(ct.name, sizeof ct.name, "carol");
	memcpy(ct.ik, pl_vault_identity(carol.v)->pk, PL_IK_LEN);
	ct.added = pl_now();
	ct.verified = 1;
	assert_int_equal(pl_vault_contact_put(p->alice.v, &ct, &e), 0);

	uint8_t id[8];
	send_note(&p->bob, "alice", "still reachable?", id);
	pl_sync_report r;
	for (int round = 0; round < 2; round++) { /* and again: it is retried, not fatal */
		memset(&r, 0, sizeof r);
		if (sync_with(&p->alice, &pl_nego_objects, &r, &e) != 0)
			fail_msg("sync stopped by a squatted grant: %s", e.msg);
		assert_int_equal(r.grants_blocked, 1);
		assert_int_equal(r.received, round == 0 ? 1 : 0);
	}
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 1);
	assert_int_equal(pl_vault_contact_get(p->alice.v, "carol", &ct, &e), 0);
	assert_int_equal(ct.grant_published, 0);
	sodium_memzero(&ct, sizeof ct);
	party_close(&carol);
}

/* Junk flooding: once the vault keeps as many unread envelopes from
 * unverified keys as it will, the next one is dropped and counted, and
 * nothing else changes. */
static void test_pending_overflow_dropped(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_err e;
	add_contact(&p->alice, &p->bob, "bob", 0); /* bob is no longer verified */
	uint8_t h[32];
	assert_int_equal(pl_vault_begin(p->alice.v, &e), 0);
	for (uint32_t i = 0; i < PL_VAULT_PENDING_MAX; i++) {
		memset(h, 0x77, sizeof h);
		memcpy(h, &i, sizeof i);
		assert_int_equal(
		    pl_vault_pending_add(p->alice.v, h, (const uint8_t *)"junk", 4, &e), 0);
	}
	assert_int_equal(pl_vault_commit(p->alice.v, &e), 0);
	uint8_t id[8];
	send_note(&p->bob, "alice", "one too many", id);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	assert_int_equal(sync_with(&p->alice, &pl_nego_objects, &r, &e), 0);
	assert_int_equal(r.pending_dropped, 1);
	assert_int_equal(r.received, 0);
	assert_int_equal(count_pending(&p->alice), PL_VAULT_PENDING_MAX);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 0);
}

static void test_no_handler_keeps_object_pending(void **state)
{
	pair *p = *state;
	if (p == NULL)
		skip();
	pl_sync_report r;
	pl_err e;
	uint8_t oid[8], nid[8];
	/* An object, then a note on the same session. */
	send_outreach(&p->bob, "alice", oid);
	send_note(&p->bob, "alice", "after the object", nid);

	assert_int_equal(sync_with(&p->alice, NULL, &r, &e), 0);
	assert_int_equal(r.received, 1); /* the note */
	assert_int_equal(r.pending, 1);	 /* the object, sealed */
	assert_int_equal(r.rejected, 0);
	assert_int_equal(count_pending(&p->alice), 1);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 1);
	/* The relay was told: nothing waits there now. */
	uint8_t *envs[2];
	size_t lens[2];
	assert_int_equal(peek_mailbox(&p->alice, envs, lens, 2), 0);

	/* A handler with fn NULL is no handler either. */
	pl_msgr_object_handler none = {NULL, NULL};
	assert_int_equal(sync_with(&p->alice, &none, &r, &e), 0);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.pending, 1);
	assert_int_equal(count_items(&p->alice, "bob", PL_DIR_IN), 1);

	/* A sync with a handler reads it. */
	handler_log h = {.answer = 2};
	pl_msgr_object_handler hd = {test_handler, &h};
	assert_int_equal(sync_with(&p->alice, &hd, &r, &e), 0);
	assert_int_equal(h.calls, 1);
	assert_memory_equal(h.id, oid, 8);
	assert_int_equal(r.received, 1);
	assert_int_equal(r.pending, 0);
	assert_int_equal(count_pending(&p->alice), 0);
	pl_item it;
	get_item(&p->alice, "bob", PL_DIR_IN, oid, &it);
	assert_int_equal(it.kind, PL_KIND_OBJECT);
	pl_vault_item_free(&it);
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_note_stored_once_and_acked, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_envelopes_rejected, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_replay_is_duplicate, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_stranger_kept_pending, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_object_reaches_handler, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_handler_verdicts, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_reused_id_refused, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_pending_overflow_dropped, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_squatted_grant_does_not_stop_sync, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_no_handler_keeps_object_pending, pair_setup,
					    pair_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
