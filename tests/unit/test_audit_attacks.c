/*
 * test_audit_attacks.c — the relay as an attacker on what the log proves.
 * Two real vaults, "alice" and "bob", talk to the real parley-relay
 * started here through the evil relay (evil_relay.h), a proxy in this
 * process that rewrites the answers the test asks it to:
 *   - bob is handed random bytes (of the same bucket size) as seq 1 in
 *     place of alice's deposit: bob refuses them, his ack does not name
 *     seq 1, his sync reports the deposit withheld with evidence stored,
 *     and alice's proof of outreach says it was not fetched; without the
 *     attack (the control) it says fetched;
 *   - a doctored leaf (another mailbox, a changed hash) in bob's proved
 *     read of his mailbox's log is evidence, and the audit refuses;
 *   - a deposit leaf dropped from that read is caught (seqs of a mailbox
 *     are consecutive);
 *   - `prove outreach` reads only the contact's own log entries, however
 *     many unrelated leaves the log holds.
 * Skipped when the relay binary is not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/messenger.h"
#include "client/nego.h"
#include "client/prove.h"
#include "client/evidence.h"
#include "client/relay_client.h"
#include "envelope/envelope.h"
#include "export/evidence.h"
#include "export/outreach.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "relay/proto.h"
#include "util/codec.h"
#include "evil_relay.h"
#include "support.h"

static struct {
	pl_test_relay r;
	pl_evil *x;
	char dir[64]; /* holds data/ and the vaults */
	int vaults;
} env;

typedef struct {
	char dir[128];
	pl_vault *v;
} party;

typedef struct {
	party alice, bob;
} pair;

/* ---- fixture ------------------------------------------------------------ */

static int group_setup(void **state)
{
	char data[128];
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(env.dir, sizeof env.dir, "/tmp/parley-attacks-XXXXXX");
	if (mkdtemp(env.dir) == NULL)
		return -1;
	snprintf(data, sizeof data, "%s/data", env.dir);
	if (pl_test_relay_start(&env.r, data, 0, NULL) != 0 ||
	    (env.x = pl_evil_start(env.r.url)) == NULL)
		fprintf(stderr, "# relay or evil relay not available; skipped\n");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	pl_evil_stop(env.x);
	env.x = NULL;
	pl_test_relay_stop(&env.r);
	if (env.dir[0])
		pl_test_rm_rf(env.dir);
	return 0;
}

/* A vault behind the evil relay, its grants published. */
static void party_make(party *p, const char *name)
{
	char sub[64];
	pl_err e;
	pl_err_clear(&e);
	snprintf(sub, sizeof sub, "v%d-%s", env.vaults++, name);
	snprintf(p->dir, sizeof p->dir, "%s/%s", env.dir, sub);
	p->v = pl_test_vault_new(env.dir, sub, name, pl_evil_url(env.x));
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

static int pair_setup(void **state)
{
	*state = NULL;
	if (env.x == NULL)
		return 0; /* each test skips */
	pl_evil_clear(env.x);
	pair *p = calloc(1, sizeof *p);
	assert_non_null(p);
	party_make(&p->alice, "alice");
	party_make(&p->bob, "bob");
	pl_test_befriend(p->alice.v, "bob", p->bob.v);
	pl_test_befriend(p->bob.v, "alice", p->alice.v);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	pair *p = *state;
	if (env.x)
		pl_evil_clear(env.x);
	if (p == NULL)
		return 0;
	party_close(&p->alice);
	party_close(&p->bob);
	free(p);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void send_note(party *from, const char *to, const char *text)
{
	assert_int_equal(pl_test_send_note(from->v, to, text), 1);
}

static int sync_with(party *p, pl_sync_report *r, pl_err *e)
{
	memset(r, 0, sizeof *r);
	pl_err_clear(e);
	return pl_msgr_sync(p->v, &pl_nego_objects, r, e);
}

static size_t evidence_count(party *p)
{
	pl_evidence *ev;
	size_t n;
	pl_err e;
	assert_int_equal(pl_vault_evidence_list(p->v, &ev, &n, &e), 0);
	pl_vault_evidence_free(ev, n);
	return n;
}

/* Items p received. */
static size_t count_in(party *p)
{
	pl_item *items;
	size_t n, k = 0;
	pl_err e;
	assert_int_equal(pl_vault_item_list(p->v, NULL, &items, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		k += items[i].dir == PL_DIR_IN;
	pl_vault_items_free(items, n);
	return k;
}

/* bob's mailbox listing path prefix (GET /v1/mailbox/<hex>). */
static void mailbox_prefix(char out[static 96], const char *what, party *p)
{
	uint8_t mbx[32];
	char hex[65];
	pl_mailbox_id(mbx, pl_vault_identity(p->v)->pk);
	pl_hex_encode(hex, mbx, 32);
	snprintf(out, 96, "%s%s", what, hex);
}

/* alice proves her outreach to bob; fills s (free with
 * pl_outreach_summary_free) from the written bundle, verified offline. */
static void prove_and_verify(pair *p, pl_outreach_summary *s)
{
	char out[200], vkey[PL_NOTE_VKEY_MAX];
	uint8_t rpk[32];
	pl_prove_report r;
	pl_err e;
	size_t n = 0;

	snprintf(out, sizeof out, "%s/proof.json", p->alice.dir);
	memset(&r, 0, sizeof r);
	if (pl_prove_outreach(p->alice.v, "bob", out, &r, &e) != 0)
		fail_msg("prove: %s", e.msg);
	uint8_t *file = pl_test_read_file(out, &n);
	assert_non_null(file);
	assert_int_equal(pl_vault_relay_key(p->alice.v, rpk), 0);
	assert_int_equal(pl_leaf_log_vkey_string(vkey, rpk), 0);
	const uint8_t(*expect)[PL_IK_LEN] =
	    (const uint8_t(*)[PL_IK_LEN])pl_vault_identity(p->bob.v)->pk;
	if (pl_outreach_proof_verify(s, file, n, vkey, expect, 1, &e) != 0)
		fail_msg("verify: %s", e.msg);
	free(file);
	unlink(out);
}

/* The newest evidence p keeps names `needle` (the withheld seq) and, in
 * the evidence file anyone can check (parley relay evidence --out), is the
 * relay's signed checkpoint beside a leaf proved in a checkpoint the relay
 * signed: a report (the withholding is the vault's word), not a proof. */
static void evidence_proves_deposit(party *p, const char *needle)
{
	pl_evidence *ev;
	pl_evidence_counts cnt;
	pl_evidence_summary sum;
	char path[200], vkey[PL_NOTE_VKEY_MAX];
	uint8_t rpk[32], *file;
	size_t n, flen = 0;
	pl_err e;

	assert_int_equal(pl_vault_evidence_list(p->v, &ev, &n, &e), 0);
	assert_true(n >= 1);
	assert_non_null(strstr(ev[n - 1].reason, "withheld"));
	assert_non_null(strstr(ev[n - 1].reason, needle));
	pl_vault_evidence_free(ev, n);

	snprintf(path, sizeof path, "%s/evidence.json", p->dir);
	memset(&cnt, 0, sizeof cnt);
	if (pl_evidence_write(p->v, path, &cnt, rpk, &e) != 0)
		fail_msg("evidence file: %s", e.msg);
	assert_int_equal(cnt.reported, n);
	file = pl_test_read_file(path, &flen);
	assert_non_null(file);
	assert_int_equal(pl_leaf_log_vkey_string(vkey, rpk), 0);
	memset(&sum, 0, sizeof sum);
	assert_int_equal(pl_evidence_verify(&sum, file, flen, vkey, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY); /* nothing proved offline */
	assert_int_equal(sum.n, n);
	assert_int_equal(sum.n_proved, 0);
	int leaf_halves = 0;
	for (size_t i = 0; i < sum.n; i++) {
		assert_int_equal(sum.st[i].kind, PL_EV_REPORT);
		assert_int_equal(sum.st[i].a.kind, PL_EV_SIDE_CHECKPOINT);
		leaf_halves += sum.st[i].b.kind == PL_EV_SIDE_LEAF;
	}
	assert_int_equal(leaf_halves, (int)n);
	pl_evidence_summary_free(&sum);
	free(file);
	unlink(path);
}

/* What bob's logged acks say about seq: 1 if one of them names it, 0 if
 * none does; *through_max is the highest `through` among them. Read
 * straight from the real relay, proofs checked. */
static int acks_name_seq(party *bob, uint64_t seq, uint64_t *through_max)
{
	pl_rc_conn *c;
	pl_proto_mbxlog *m = calloc(1, sizeof *m);
	pl_checkpoint cp;
	uint8_t mbx[32], rpk[32], *note = NULL, *body = NULL, h[32];
	size_t n;
	pl_err e;
	int named = 0;

	assert_non_null(m);
	pl_mailbox_id(mbx, pl_vault_identity(bob->v)->pk);
	assert_int_equal(pl_vault_relay_key(bob->v, rpk), 0);
	assert_int_equal(pl_rc_open(&c, env.r.url, NULL, &e), 0);
	assert_int_equal(pl_rc_get_raw(c, "/log/checkpoint", 1024, &note, &n, "checkpoint", &e), 0);
	assert_int_equal(pl_leaf_checkpoint_open(&cp, note, n, rpk), 0);
	assert_int_equal(pl_rc_mbxlog(c, mbx, 0, cp.size, PL_PROTO_MBXLOG_ACK, m, &body, &e), 0);
	assert_true(m->count >= 1 && m->count < PL_PROTO_MBXLOG_MAX);
	*through_max = 0;
	for (uint32_t i = 0; i < m->count; i++) {
		pl_leaf lf;
		pl_leaf_hash(h, m->item[i].leaf, m->item[i].leaflen);
		assert_int_equal(pl_merkle_verify_inclusion(h, m->item[i].index, cp.size,
							    m->item[i].proof, m->item[i].prooflen,
							    cp.root),
				 0);
		assert_int_equal(pl_leaf_decode(&lf, m->item[i].leaf, m->item[i].leaflen), 0);
		assert_int_equal(pl_leaf_ack_verify(&lf), 0);
		if (lf.ack.through > *through_max)
			*through_max = lf.ack.through;
		for (unsigned k = 0; k < lf.ack.n; k++)
			named |= lf.ack.name[k].seq == seq;
	}
	free(body);
	free(note);
	free(m);
	pl_rc_close(c);
	return named;
}

/* ---- tests -------------------------------------------------------------- */

/* The control: no attack, both deposits fetched and proved so. */
static void test_control_fetched(void **state)
{
	pair *p = *state;
	pl_sync_report r;
	pl_outreach_summary s;
	pl_err e;
	if (p == NULL)
		skip();
	send_note(&p->alice, "bob", "first");
	send_note(&p->alice, "bob", "second");
	assert_int_equal(sync_with(&p->bob, &r, &e), 0);
	assert_int_equal(r.received, 2);
	assert_int_equal(r.rejected, 0);
	assert_int_equal(r.withheld, 0);
	assert_int_equal(evidence_count(&p->bob), 0);
	uint64_t through = 0;
	assert_int_equal(acks_name_seq(&p->bob, 1, &through), 1);
	assert_int_equal(through, 2);
	assert_int_equal(sync_with(&p->alice, &r, &e), 0);
	prove_and_verify(p, &s);
	assert_int_equal(s.n_deposits, 2);
	assert_int_equal(s.n_fetched, 2);
	assert_true(s.items[0].fetched && s.items[1].fetched);
	pl_outreach_summary_free(&s);
}

/* The relay doctors bob's mailbox listing with la (and, unless ma is NULL,
 * his proved read of its log with ma) while bob syncs: the sync goes
 * through, reports one deposit withheld (r), and bob keeps one piece of
 * evidence, which proves the deposit named by needle. */
static void bob_sees_withheld(pair *p, pl_evil_listing_arg *la, pl_evil_mbxlog_arg *ma,
			      pl_sync_report *r, const char *needle)
{
	char lp[96], mp[96];
	pl_err e;
	mailbox_prefix(lp, "/v1/mailbox/", &p->bob);
	pl_evil_hook(env.x, lp, pl_evil_listing_replace, la);
	if (ma != NULL) {
		mailbox_prefix(mp, "/log/mailbox/", &p->bob);
		pl_evil_hook(env.x, mp, pl_evil_mbxlog_doctor, ma);
	}
	assert_int_equal(sync_with(&p->bob, r, &e), 0);
	pl_evil_clear(env.x);
	assert_true(la->hits >= 1);
	assert_int_equal(r->withheld, 1);
	assert_int_equal(evidence_count(&p->bob), 1);
	evidence_proves_deposit(&p->bob, needle);
}

/* The relay hands bob random bytes as seq 1 in place of alice's deposit. */
static void test_replaced_envelope(void **state)
{
	pair *p = *state;
	pl_sync_report r;
	pl_outreach_summary s;
	pl_evil_listing_arg a = {.seq = 1, .hits = 0};
	pl_err e;
	if (p == NULL)
		skip();
	send_note(&p->alice, "bob", "first, replaced");
	send_note(&p->alice, "bob", "second");
	bob_sees_withheld(p, &a, NULL, &r, "seq 1 ");
	assert_int_equal(r.received, 1);
	assert_int_equal(r.rejected, 1);
	/* bob's ack runs past seq 1 (the relay may drop it) but names only 2 */
	uint64_t through = 0;
	assert_int_equal(acks_name_seq(&p->bob, 1, &through), 0);
	assert_int_equal(acks_name_seq(&p->bob, 2, &through), 1);
	assert_int_equal(through, 2);

	assert_int_equal(sync_with(&p->alice, &r, &e), 0);
	prove_and_verify(p, &s);
	assert_int_equal(s.n_deposits, 2);
	assert_false(s.items[0].fetched);
	assert_true(s.items[1].fetched);
	assert_int_equal(s.n_fetched, 1);
	pl_outreach_summary_free(&s);
}

/* A doctored leaf in bob's proved read of his mailbox's log: `how` is
 * PL_EVIL_OTHER_MBX or PL_EVIL_OTHER_HASH. bob's sync fails with
 * PL_EXIT_SECURITY and keeps evidence; once the relay answers honestly
 * again, a sync goes through and nothing was received twice. */
static void doctored_leaf(pair *p, int how)
{
	pl_sync_report r;
	pl_evil_mbxlog_arg a = {.seq = 1, .how = how, .hits = 0};
	char pfx[96];
	pl_err e;

	send_note(&p->alice, "bob", "first");
	send_note(&p->alice, "bob", "second");
	mailbox_prefix(pfx, "/log/mailbox/", &p->bob);
	pl_evil_hook(env.x, pfx, pl_evil_mbxlog_doctor, &a);
	assert_int_equal(sync_with(&p->bob, &r, &e), -1);
	pl_evil_clear(env.x);
	assert_int_equal(a.hits, 1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "evidence"));
	assert_int_equal(evidence_count(&p->bob), 1);
	assert_int_equal(r.withheld, 0);
	/* and it goes into the evidence file, as what the relay sent */
	char path[200];
	uint8_t rpk[32];
	pl_evidence_counts cnt;
	memset(&cnt, 0, sizeof cnt);
	snprintf(path, sizeof path, "%s/evidence.json", p->bob.dir);
	if (pl_evidence_write(p->bob.v, path, &cnt, rpk, &e) != 0)
		fail_msg("evidence file: %s", e.msg);
	assert_int_equal(cnt.reported, 1);
	unlink(path);

	assert_int_equal(sync_with(&p->bob, &r, &e), 0);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.withheld, 0);
	assert_int_equal(evidence_count(&p->bob), 1);
	assert_int_equal(count_in(&p->bob), 2);
}

static void test_leaf_of_another_mailbox(void **state)
{
	if (*state == NULL)
		skip();
	doctored_leaf(*state, PL_EVIL_OTHER_MBX);
}

static void test_leaf_with_another_hash(void **state)
{
	if (*state == NULL)
		skip();
	doctored_leaf(*state, PL_EVIL_OTHER_HASH);
}

/* The relay withholds seq 2 and leaves its deposit leaf out of its
 * answer: the seqs around the hole give it away. */
static void test_dropped_leaf(void **state)
{
	pair *p = *state;
	pl_sync_report r;
	pl_evil_listing_arg la = {.seq = 2, .drop = 1, .hits = 0};
	pl_evil_mbxlog_arg ma = {.seq = 2, .how = PL_EVIL_DROP, .hits = 0};
	if (p == NULL)
		skip();
	send_note(&p->alice, "bob", "first");
	send_note(&p->alice, "bob", "second, withheld and hidden");
	send_note(&p->alice, "bob", "third");
	bob_sees_withheld(p, &la, &ma, &r, "seqs 2..2 ");
	assert_int_equal(ma.hits, 1);
	assert_int_equal(r.received, 2);
}

/* Deposits n envelopes of random bytes into `to`'s mailbox straight at the
 * relay, with the token `from` holds: leaves that are none of bob's. */
static void fill_log(party *from, const char *to, unsigned n)
{
	pl_contact c;
	pl_rc_conn *conn;
	pl_receipt *rec = malloc(sizeof *rec);
	uint8_t rpk[32], *junk;
	size_t len = 1;
	pl_err e;

	assert_non_null(rec);
	while (!pl_envelope_size_ok(len))
		len++;
	junk = malloc(len);
	assert_non_null(junk);
	assert_int_equal(pl_vault_contact_get(from->v, to, &c, &e), 0);
	assert_int_equal(c.has_token, 1);
	assert_int_equal(pl_vault_relay_key(from->v, rpk), 0);
	assert_int_equal(pl_rc_open(&conn, env.r.url, NULL, &e), 0);
	for (unsigned i = 0; i < n; i++) {
		randombytes_buf(junk, len);
		if (pl_rc_deposit(conn, rpk, c.ik, c.token, junk, len, rec, &e) != 0)
			fail_msg("deposit %u refused: %s", i, e.msg);
	}
	pl_rc_close(conn);
	sodium_memzero(&c, sizeof c);
	free(junk);
	free(rec);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* prove outreach on a log full of other mailboxes' leaves reads only
 * bob's: no /log/leaves at all, one page of his acks. */
static void test_prove_reads_only_the_contact(void **state)
{
	pair *p = *state;
	party dave;
	pl_sync_report r;
	pl_outreach_summary s;
	pl_err e;
	const char *env_n = getenv("PARLEY_TEST_UNRELATED");
	unsigned n = env_n ? (unsigned)strtoul(env_n, NULL, 10) : 300;
	if (p == NULL)
		skip();
	party_make(&dave, "dave");
	pl_test_befriend(p->alice.v, "dave", dave.v);
	pl_test_befriend(dave.v, "alice", p->alice.v);
	send_note(&p->alice, "dave", "hello dave");
	fill_log(&p->alice, "dave", n);

	send_note(&p->alice, "bob", "first");
	send_note(&p->alice, "bob", "second");
	assert_int_equal(sync_with(&p->bob, &r, &e), 0);
	assert_int_equal(r.received, 2);
	assert_int_equal(sync_with(&p->alice, &r, &e), 0);
	assert_true(r.log_size > n);
	fill_log(&p->alice, "dave", 3); /* more after bob's acks, too */

	pl_evil_count_reset(env.x);
	double t0 = now_s();
	prove_and_verify(p, &s);
	double t1 = now_s();
	unsigned all = pl_evil_count(env.x, ""), mb = pl_evil_count(env.x, "/log/mailbox/");
	fprintf(stderr,
		"# prove outreach, %u unrelated leaves: %u requests (%u /log/mailbox), "
		"%.1f ms\n",
		n, all, mb, (t1 - t0) * 1e3);
	assert_int_equal(pl_evil_count(env.x, "/log/leaves"), 0);
	assert_int_equal(mb, 1);
	assert_true(all <= 12);
	assert_int_equal(s.n_deposits, 2);
	assert_int_equal(s.n_fetched, 2);
	pl_outreach_summary_free(&s);
	party_close(&dave);
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_control_fetched, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_replaced_envelope, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_leaf_of_another_mailbox, pair_setup,
					    pair_teardown),
	    cmocka_unit_test_setup_teardown(test_leaf_with_another_hash, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_dropped_leaf, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_prove_reads_only_the_contact, pair_setup,
					    pair_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
