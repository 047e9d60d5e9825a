/* test_proof.c — the proof-of-outreach bundle (docs/PROOF.md), built without
 * a relay: a relay key, an in-memory log of deposit and fetch leaves (the
 * peer's mailbox and others; fetches carry real owner signatures of the ack
 * request), receipts as the relay makes them, one signed checkpoint. A built
 * bundle verifies with the right summary; a wrong relay key fails; no key
 * uses the one inside and says so; every flipped byte fails with a reason;
 * a fetch by another key, a deposit to another mailbox, a proof against
 * another root, a receipt of another deposit, a statement signed by another
 * key all fail; a deposit that was not fetched is reported, not failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "export/outreach.h"
#include "export/verify.h"
#include "log/leaf.h"
#include "log/receipt.h"
#include "support.h"
#include "util/codec.h"

#define T0 1764300000ull
#define NLEAVES 15

static pl_identity US, IR, X; /* prover, peer, someone else */
static uint8_t relay_pk[32], relay_sk[64], other_pk[32], other_sk[64];
static char vkey[PL_NOTE_VKEY_MAX], other_vkey[PL_NOTE_VKEY_MAX];

/* The log: leaf bytes and hashes. */
static struct {
	uint8_t b[PL_LEAF_MAX];
	size_t n;
	uint8_t h[32];
	/* deposits: the receipt the relay returned */
	uint8_t receipt[PL_RECEIPT_MAX];
	size_t receipt_len;
	uint8_t ehash[32];
} lg[NLEAVES];

/* The final checkpoint, and each leaf's inclusion proof in it. */
static uint8_t note[PL_LEAF_NOTE_MAX];
static size_t note_len;
static uint8_t proofs[NLEAVES][PL_MERKLE_PROOF_MAX][32];
static size_t proof_lens[NLEAVES];
/* Proofs of the same leaves in the tree one leaf shorter (another root). */
static uint8_t short_proofs[NLEAVES][PL_MERKLE_PROOF_MAX][32];
static size_t short_lens[NLEAVES];

static int get_leaf(void *ctx, uint64_t i, uint8_t out[32])
{
	(void)ctx;
	if (i >= NLEAVES)
		return -1;
	memcpy(out, lg[i].h, 32);
	return 0;
}

static const pl_merkle_source src = {get_leaf, NULL, NULL};

static void put_leaf(size_t i, const pl_leaf *l)
{
	lg[i].n = pl_leaf_encode(lg[i].b, l);
	assert_true(lg[i].n > 0);
	pl_leaf_hash(lg[i].h, lg[i].b, lg[i].n);
}

/* A deposit of a random envelope to owner's mailbox, with its receipt
 * (checkpoint of the log as it stood right after it). */
static void deposit(size_t i, const uint8_t owner[32], uint64_t seq, uint64_t t)
{
	pl_leaf l;
	pl_receipt *r = calloc(1, sizeof *r);
	uint8_t env[1072], root[32];

	assert_non_null(r);
	memset(&l, 0, sizeof l);
	randombytes_buf(env, sizeof env);
	l.type = PL_LEAF_DEPOSIT;
	pl_mailbox_id(l.mbx, owner);
	crypto_hash_sha256(l.hash, env, sizeof env);
	l.seq = seq;
	l.relay_time = t;
	put_leaf(i, &l);
	memcpy(lg[i].ehash, l.hash, 32);

	memcpy(r->mbx, l.mbx, 32);
	r->seq = seq;
	r->time = t;
	memcpy(r->hash, l.hash, 32);
	r->index = i;
	assert_int_equal(pl_merkle_root(&src, i + 1, root), 0);
	assert_int_equal(
	    pl_leaf_checkpoint_sign(r->note, sizeof r->note, &r->notelen, i + 1, root, relay_sk),
	    0);
	uint8_t pr[PL_MERKLE_PROOF_MAX][32];
	assert_int_equal(pl_merkle_prove_inclusion(&src, i, i + 1, pr, &r->prooflen), 0);
	memcpy(r->proof, pr, r->prooflen * 32);
	lg[i].receipt_len = pl_receipt_encode(lg[i].receipt, r);
	assert_true(lg[i].receipt_len > 0);
	free(r);
}

/* An ack leaf: signer acks through-seq of mbx_owner's mailbox, naming the
 * deposits (seq, envelope hash) of names[0..n). */
static void fetch_naming(size_t i, const pl_identity *signer, const uint8_t mbx_owner[32],
			 uint64_t through, uint64_t t, const pl_auth_ack_name *names, unsigned n)
{
	pl_leaf l;
	pl_auth a;
	char path[128], hex[65];
	uint8_t body[PL_AUTH_ACK_BODY_MAX];
	size_t bodylen;

	memset(&l, 0, sizeof l);
	l.type = PL_LEAF_ACK;
	pl_mailbox_id(l.mbx, mbx_owner);
	pl_hex_encode(hex, l.mbx, 32);
	snprintf(path, sizeof path, "/v1/mailbox/%s/ack", hex);
	l.ack.through = through;
	for (unsigned k = 0; k < n; k++)
		l.ack.name[l.ack.n++] = names[k];
	bodylen = pl_auth_ack_encode(body, &l.ack);
	assert_true(bodylen > 0);
	assert_int_equal(pl_auth_sign(&a, signer, "POST", path, body, bodylen, t), 0);
	memcpy(l.owner, signer->pk, 32);
	l.auth_time = t;
	assert_int_equal(pl_hex_decode(l.nonce, sizeof l.nonce, a.nonce), 0);
	assert_int_equal(pl_hex_decode(l.sig, sizeof l.sig, a.sig), 0);
	l.relay_time = t + 1;
	put_leaf(i, &l);
}

/* Names deposit leaf `i` (with its seq) in an ack. */
static pl_auth_ack_name named(size_t i, uint64_t seq)
{
	pl_auth_ack_name n;
	n.seq = seq;
	memcpy(n.hash, lg[i].ehash, 32);
	return n;
}

/* An ack naming nothing, only running through a seq. */
static void fetch(size_t i, const pl_identity *signer, const uint8_t mbx_owner[32],
		  uint64_t through, uint64_t t)
{
	fetch_naming(i, signer, mbx_owner, through, t, NULL, 0);
}

/*
 * The log:
 *   0 ack     IR acks through 1000, naming nothing
 *   1 deposit X's mailbox
 *   2 deposit IR seq 1   (ours, message 1)
 *   3 deposit IR seq 2   (ours, message 2)
 *   4 ack     IR through 2, naming seqs 1 and 2 (leaves 2, 3)
 *   5 deposit X's mailbox
 *   6 deposit IR seq 3   (ours, message 3)
 *   7 deposit IR seq 4   (ours, message 4)
 *   8 ack     IR through 4, naming seqs 3 and 4 (leaves 6, 7)
 *   9 deposit IR seq 5   (someone else's, not in the bundle)
 *  10 ack     X through 2 of X's mailbox, naming leaves 1 and 5
 *  11 deposit IR seq 6   (ours, message 5: never fetched)
 *  12 ack     of IR's mailbox signed by X, naming leaf 11 (a relay
 *             logging nonsense)
 *  13 deposit IR seq 7   (ours, outside the stated period)
 *  14 ack     IR through 7, naming seqs 3 and 6 with other bytes than
 *             leaves 6 and 11 hold (the relay handed over others)
 */
static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0 || pl_identity_generate(&US) || pl_identity_generate(&IR) ||
	    pl_identity_generate(&X))
		return -1;
	crypto_sign_keypair(relay_pk, relay_sk);
	crypto_sign_keypair(other_pk, other_sk);
	if (pl_leaf_log_vkey_string(vkey, relay_pk) ||
	    pl_leaf_log_vkey_string(other_vkey, other_pk))
		return -1;
	fetch(0, &IR, IR.pk, 1000, T0);
	deposit(1, X.pk, 1, T0 + 5);
	deposit(2, IR.pk, 1, T0 + 10);
	deposit(3, IR.pk, 2, T0 + 20);
	{
		pl_auth_ack_name n[2] = {named(2, 1), named(3, 2)};
		fetch_naming(4, &IR, IR.pk, 2, T0 + 30, n, 2);
	}
	deposit(5, X.pk, 2, T0 + 40);
	deposit(6, IR.pk, 3, T0 + 50);
	deposit(7, IR.pk, 4, T0 + 60);
	{
		pl_auth_ack_name n[2] = {named(6, 3), named(7, 4)};
		fetch_naming(8, &IR, IR.pk, 4, T0 + 70, n, 2);
	}
	deposit(9, IR.pk, 5, T0 + 80);
	{
		pl_auth_ack_name n[2] = {named(1, 1), named(5, 2)};
		fetch_naming(10, &X, X.pk, 2, T0 + 90, n, 2);
	}
	deposit(11, IR.pk, 6, T0 + 100);
	{
		pl_auth_ack_name n[1] = {named(11, 6)};
		fetch_naming(12, &X, IR.pk, 6, T0 + 110, n, 1);
	}
	deposit(13, IR.pk, 7, T0 + 5000);
	{
		pl_auth_ack_name n[2] = {named(6, 3), named(11, 6)};
		n[0].hash[0] ^= 1;
		n[1].hash[31] ^= 0x80;
		fetch_naming(14, &IR, IR.pk, 7, T0 + 6000, n, 2);
	}

	uint8_t root[32];
	if (pl_merkle_root(&src, NLEAVES, root) ||
	    pl_leaf_checkpoint_sign(note, sizeof note, &note_len, NLEAVES, root, relay_sk))
		return -1;
	for (size_t i = 0; i < NLEAVES; i++) {
		if (pl_merkle_prove_inclusion(&src, i, NLEAVES, proofs[i], &proof_lens[i]))
			return -1;
		if (i < NLEAVES - 1 && pl_merkle_prove_inclusion(&src, i, NLEAVES - 1,
								 short_proofs[i], &short_lens[i]))
			return -1;
	}
	return 0;
}

/* --- building bundles -------------------------------------------------------- */

#define PERIOD_END (T0 + 1000)

typedef struct {
	size_t dep[8], n_dep;
	size_t fet[8], n_fet;
	int short_proof; /* use proofs in the shorter tree */
	const char *key;
	uint32_t replies;
} spec;

static void fill(const spec *sp, pl_proof_deposit *d, pl_proof_fetch *f)
{
	for (size_t k = 0; k < sp->n_dep; k++) {
		size_t i = sp->dep[k];
		d[k] = (pl_proof_deposit){
		    .leaf = lg[i].b,
		    .leaf_len = lg[i].n,
		    .index = i,
		    .proof = (const uint8_t(*)[32])(sp->short_proof ? short_proofs[i] : proofs[i]),
		    .proof_len = sp->short_proof ? short_lens[i] : proof_lens[i],
		    .receipt = lg[i].receipt,
		    .receipt_len = lg[i].receipt_len};
		memcpy(d[k].envelope_hash, lg[i].ehash, 32);
	}
	for (size_t k = 0; k < sp->n_fet; k++) {
		size_t i = sp->fet[k];
		f[k] = (pl_proof_fetch){.leaf = lg[i].b,
					.leaf_len = lg[i].n,
					.index = i,
					.proof = (const uint8_t(*)[32])proofs[i],
					.proof_len = proof_lens[i]};
	}
}

/* pl_outreach_proof_build with every input spelled out. */
static int build_from(json_t **out, const pl_identity *prover, const char *prover_name,
		      const uint8_t peer_ik[static PL_IK_LEN], const char *peer_name,
		      const char *vkey, const uint8_t *note, size_t note_len,
		      const pl_proof_deposit *deps, size_t n_deps, const pl_proof_fetch *fetches,
		      size_t n_fetches, uint64_t start, uint64_t end, uint32_t replies, pl_err *e)
{
	pl_outreach_input in = {.prover = prover,
				.prover_name = prover_name,
				.peer_name = peer_name,
				.relay_vkey = vkey,
				.checkpoint_note = note,
				.note_len = note_len,
				.deps = deps,
				.n_deps = n_deps,
				.fetches = fetches,
				.n_fetches = n_fetches,
				.period_start = start,
				.period_end = end,
				.replies_received = replies};
	memcpy(in.peer_ik, peer_ik, PL_IK_LEN);
	return pl_outreach_proof_build(out, &in, e);
}

static int build(json_t **out, const spec *sp, pl_err *e)
{
	pl_proof_deposit d[8];
	pl_proof_fetch f[8];
	fill(sp, d, f);
	return build_from(out, &US, "United States", IR.pk, "Iran", sp->key ? sp->key : vkey, note,
			  note_len, d, sp->n_dep, f, sp->n_fet, T0, PERIOD_END, sp->replies, e);
}

static const spec GOOD = {{2, 3, 6, 7}, 4, {4, 8}, 2, 0, NULL, 0};

static char *good_file(size_t *n)
{
	json_t *j;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(build(&j, &GOOD, &e), 0);
	char *s = pl_export_dumps(j, n);
	assert_non_null(s);
	json_decref(j);
	return s;
}

/* Re-signs the statement of a bundle JSON with `who` (the test forging what
 * the builder refuses to make) and serializes it. */
static char *resign(json_t *j, const pl_identity *who, size_t *n)
{
	json_t *p = json_object_get(j, "prover"), *q = json_object_get(j, "peer"),
	       *per = json_object_get(j, "period"), *deps = json_object_get(j, "deposits"),
	       *st = json_object_get(j, "statement");
	uint8_t pik[32], qik[32], ch[32], (*lh)[32], sig[64];
	uint64_t t1, t2;
	size_t nd = json_array_size(deps), mlen, leaflen;
	uint8_t *m, leaf[PL_LEAF_MAX];
	char hex[129];
	const json_t *jc = json_object_get(j, "checkpoint");

	assert_int_equal(pl_hex_decode(pik, 32, json_string_value(json_object_get(p, "key"))), 0);
	assert_int_equal(pl_hex_decode(qik, 32, json_string_value(json_object_get(q, "key"))), 0);
	assert_int_equal(
	    pl_time_parse_rfc3339(&t1, json_string_value(json_object_get(per, "start"))), 0);
	assert_int_equal(pl_time_parse_rfc3339(&t2, json_string_value(json_object_get(per, "end"))),
			 0);
	crypto_hash_sha256(ch, (const uint8_t *)json_string_value(jc), json_string_length(jc));
	lh = malloc((nd + 1) * 32);
	for (size_t i = 0; i < nd; i++) {
		const json_t *jl = json_object_get(json_array_get(deps, i), "leaf");
		leaflen = json_string_length(jl) / 2;
		assert_int_equal(pl_hex_decode(leaf, leaflen, json_string_value(jl)), 0);
		pl_leaf_hash(lh[i], leaf, leaflen);
	}
	assert_int_equal(pl_outreach_statement(
			     &m, &mlen, pik, qik, json_string_value(json_object_get(p, "name")),
			     json_string_value(json_object_get(q, "name")), ch, t1, t2,
			     (uint32_t)json_integer_value(json_object_get(st, "replies_received")),
			     (const uint8_t(*)[32])lh, nd),
			 0);
	crypto_sign_detached(sig, NULL, m, mlen, who->sk);
	pl_hex_encode(hex, sig, 64);
	json_object_set_new(st, "signature", json_string(hex));
	free(m);
	free(lh);
	char *s = pl_export_dumps(j, n);
	assert_non_null(s);
	return s;
}

static json_t *entry_of(size_t i, int deposit)
{
	char hex[2 * PL_LEAF_MAX + 1];
	json_t *o = json_object(), *pr = json_array();
	json_object_set_new(o, "index", json_integer((json_int_t)i));
	pl_hex_encode(hex, lg[i].b, lg[i].n);
	json_object_set_new(o, "leaf", json_string(hex));
	if (deposit) {
		pl_hex_encode(hex, lg[i].ehash, 32);
		json_object_set_new(o, "envelope_hash", json_string(hex));
	}
	for (size_t k = 0; k < proof_lens[i]; k++) {
		pl_hex_encode(hex, proofs[i][k], 32);
		json_array_append_new(pr, json_string(hex));
	}
	json_object_set_new(o, "proof", pr);
	if (deposit) {
		char *b = malloc(pl_b64_len(lg[i].receipt_len));
		pl_b64_encode(b, lg[i].receipt, lg[i].receipt_len);
		json_object_set_new(o, "receipt", json_string(b));
		free(b);
	}
	return o;
}

static void expect_fail(const char *file, size_t n, const char *key, int code, const char *words)
{
	pl_err e;
	pl_outreach_summary s;
	pl_err_clear(&e);
	assert_int_equal(pl_outreach_proof_verify(&s, (const uint8_t *)file, n, key, NULL, 0, &e),
			 -1);
	if (e.code != code || strstr(e.msg, words) == NULL)
		fail_msg("wanted %d \"%s\", got %d \"%s\"", code, words, e.code, e.msg);
	assert_null(s.items);
}

/* --- tests ------------------------------------------------------------------------ */

static void test_build_verify_ok(void **st)
{
	(void)st;
	size_t n;
	char *file = good_file(&n);
	pl_outreach_summary s;
	pl_err e;
	pl_err_clear(&e);

	assert_int_equal(pl_outreach_proof_verify(&s, (const uint8_t *)file, n, vkey, NULL, 0, &e),
			 0);
	assert_string_equal(s.prover_name, "United States");
	assert_string_equal(s.peer_name, "Iran");
	assert_memory_equal(s.peer_ik, IR.pk, 32);
	assert_memory_equal(s.prover_ik, US.pk, 32);
	assert_int_equal(s.used_embedded_key, 0);
	assert_string_equal(s.relay_vkey, vkey);
	assert_int_equal(s.checkpoint_size, NLEAVES);
	assert_int_equal(s.n_deposits, 4);
	assert_int_equal(s.n_fetches, 2);
	assert_int_equal(s.n_fetched, 4);
	assert_int_equal(s.first_deposit, T0 + 10);
	assert_int_equal(s.last_deposit, T0 + 60);
	assert_int_equal(s.all_fetched_by, T0 + 71); /* leaf 8's relay time */
	assert_int_equal(s.items[0].fetch_index, 4);
	assert_int_equal(s.items[1].fetch_index, 4);
	assert_int_equal(s.items[2].fetch_index, 8);
	assert_int_equal(s.items[3].seq, 4);
	assert_int_equal(s.replies_received, 0);
	assert_int_equal(s.period_end, PERIOD_END);

	char *text = NULL;
	size_t tl = 0;
	FILE *out = open_memstream(&text, &tl);
	pl_outreach_summary_print(out, &s);
	fclose(out);
	assert_non_null(strstr(text,
			       "proved by the log: 4 messages deposited for Iran between "
			       "2025-11-28T03:20:10Z and 2025-11-28T03:21:00Z, all fetched by "
			       "Iran's key by 2025-11-28T03:21:11Z"));
	assert_non_null(strstr(text, "stated by United States (signed with its key): no reply "
				     "received from Iran"));
	assert_non_null(strstr(text, "names are the prover's labels"));
	assert_non_null(strstr(text, s.peer_fp));
	assert_non_null(strstr(text, "checked against the relay key given"));
	assert_non_null(strstr(text, "a reply Iran says it sent would come with a relay receipt "
				     "Iran can show"));
	free(text);
	json_t *js = pl_outreach_summary_json(&s);
	assert_non_null(js);
	assert_int_equal(json_integer_value(json_object_get(js, "proved_fetched")), 4);
	assert_string_equal(json_string_value(json_object_get(js, "relay_key_from")), "given");
	json_decref(js);
	pl_outreach_summary_free(&s);

	/* expected keys: both parties signed something, a third party did not */
	assert_int_equal(pl_outreach_proof_verify(NULL, (const uint8_t *)file, n, vkey,
						  (const uint8_t(*)[32])IR.pk, 1, &e),
			 0);
	assert_int_equal(pl_outreach_proof_verify(NULL, (const uint8_t *)file, n, vkey,
						  (const uint8_t(*)[32])US.pk, 1, &e),
			 0);
	assert_int_equal(pl_outreach_proof_verify(NULL, (const uint8_t *)file, n, vkey,
						  (const uint8_t(*)[32])X.pk, 1, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	free(file);
}

static void test_dispatch_and_file(void **st)
{
	(void)st;
	size_t n;
	char *file = good_file(&n);
	pl_err e;
	json_t *js = NULL;
	char *text = NULL;
	size_t tl = 0;
	pl_err_clear(&e);

	/* the old entry point: the key inside the file, and it says so */
	FILE *out = open_memstream(&text, &tl);
	assert_int_equal(pl_verify_bytes((const uint8_t *)file, n, NULL, 0, &e, out, &js), 0);
	fclose(out);
	assert_non_null(strstr(text, "checked against the relay key inside the file"));
	assert_non_null(strstr(text, vkey));
	assert_string_equal(json_string_value(json_object_get(js, "relay_key_from")), "file");
	assert_string_equal(json_string_value(json_object_get(js, "format")), PL_OUTREACH_FORMAT);
	free(text);
	json_decref(js);

	/* through a file, with the relay key */
	char dir[64], path[80];
	pl_test_tmpdir(dir, sizeof dir, "test-proof");
	snprintf(path, sizeof path, "%s/proof.json", dir);
	pl_test_write_file(path, file, n);
	pl_verify_opts o = {NULL, 0, vkey};
	assert_int_equal(pl_verify_file_ex(path, &o, &e, NULL, NULL), 0);
	o.relay_key = other_vkey;
	assert_int_equal(pl_verify_file_ex(path, &o, &e, NULL, &js), -1);
	assert_null(js);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_int_equal(pl_verify_file_ex(path, NULL, &e, NULL, NULL), 0);
	pl_test_rm_rf(dir);
	/* --relay-key means nothing to a thread: refused (an agreement now
	 * carries its acceptance's deposit receipt, so it takes one) */
	static const char thr[] = "{\"format\": \"parley-thread\"}";
	o.relay_key = vkey;
	assert_int_equal(
	    pl_verify_bytes_ex((const uint8_t *)thr, sizeof thr - 1, &o, &e, NULL, NULL), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	free(file);
}

static void test_relay_keys(void **st)
{
	(void)st;
	size_t n;
	char *file = good_file(&n);
	pl_outreach_summary s;
	pl_err e;

	/* another relay's key */
	expect_fail(file, n, other_vkey, PL_EXIT_SECURITY, "not the one given");
	/* not a key at all, or a note key that is not a relay log's */
	expect_fail(file, n, "garbage", PL_EXIT_INPUT, "relay key given");
	char alien[PL_NOTE_VKEY_MAX];
	assert_int_equal(pl_note_vkey_format(alien, sizeof alien, "example.com/log", relay_pk), 0);
	expect_fail(file, n, alien, PL_EXIT_INPUT, "relay key given");
	/* no key: the embedded one, reported */
	pl_err_clear(&e);
	assert_int_equal(pl_outreach_proof_verify(&s, (const uint8_t *)file, n, NULL, NULL, 0, &e),
			 0);
	assert_int_equal(s.used_embedded_key, 1);
	assert_string_equal(s.relay_vkey, vkey);
	pl_outreach_summary_free(&s);

	/* a bundle whose embedded key is swapped for another relay's: the
	 * checkpoint does not verify under it */
	json_t *j = json_loadb(file, n, 0, NULL);
	json_object_set_new(j, "relay_key", json_string(other_vkey));
	char *f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, NULL, PL_EXIT_SECURITY, "checkpoint is not signed");
	/* the builder refuses a checkpoint of another relay */
	spec sp = GOOD;
	sp.key = other_vkey;
	json_t *out;
	pl_err_clear(&e);
	assert_int_equal(build(&out, &sp, &e), -1);
	assert_null(out);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	free(f2);
	json_decref(j);
	free(file);
}

static void flips(const char *file, size_t n, uint8_t mask, const char *key)
{
	char *c = malloc(n);
	pl_err e;
	for (size_t i = 0; i < n; i++) {
		memcpy(c, file, n);
		c[i] ^= (char)mask;
		pl_err_clear(&e);
		if (pl_outreach_proof_verify(NULL, (const uint8_t *)c, n, key, NULL, 0, &e) == 0)
			fail_msg("flipping byte %zu with 0x%02x still verifies", i, mask);
		if (e.msg[0] == '\0' || (e.code != PL_EXIT_INPUT && e.code != PL_EXIT_SECURITY))
			fail_msg("byte %zu: no reason (code %d)", i, e.code);
	}
	free(c);
}

static void test_every_byte_flip_fails(void **st)
{
	(void)st;
	size_t n;
	char *file = good_file(&n);
	flips(file, n, 0x01, NULL);
	flips(file, n, 0x80, vkey);
	flips(file, n, 0x20, NULL);
	/* truncations, and through the dispatcher */
	pl_err e;
	for (size_t k = 0; k < n; k += 7) {
		pl_err_clear(&e);
		assert_int_equal(pl_verify_bytes((const uint8_t *)file, k, NULL, 0, &e, NULL, NULL),
				 -1);
		assert_true(e.msg[0] != '\0');
	}
	free(file);
}

static void test_fetch_by_other_key(void **st)
{
	(void)st;
	spec sp = GOOD;
	json_t *j;
	pl_err e;
	size_t n;

	/* leaf 12: a fetch of Iran's mailbox by X's key */
	sp.fet[2] = 12;
	sp.n_fet = 3;
	pl_err_clear(&e);
	assert_int_equal(build(&j, &sp, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "another key"));
	/* forged into a good bundle (fetches are not under the statement) */
	char *file = good_file(&n);
	j = json_loadb(file, n, 0, NULL);
	json_array_append_new(json_object_get(j, "fetches"), entry_of(12, 0));
	char *f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "another key");
	free(f2);
	/* leaf 10: X fetching its own mailbox */
	json_array_remove(json_object_get(j, "fetches"), 2);
	json_array_append_new(json_object_get(j, "fetches"), entry_of(10, 0));
	f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "another mailbox");
	free(f2);
	/* a fetch with its owner signature changed (leaf and proof consistent
	 * with each other, but not in the log) */
	json_decref(j);
	free(file);
}

static void test_deposit_to_other_mailbox(void **st)
{
	(void)st;
	spec sp = GOOD;
	json_t *j;
	pl_err e;
	size_t n;

	sp.dep[4] = 5; /* X's mailbox */
	sp.n_dep = 5;
	pl_err_clear(&e);
	assert_int_equal(build(&j, &sp, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "another mailbox"));
	/* forged and re-signed by the prover: still refused */
	char *file = good_file(&n);
	j = json_loadb(file, n, 0, NULL);
	json_array_insert_new(json_object_get(j, "deposits"), 2, entry_of(5, 1));
	char *f2 = resign(j, &US, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "deposit 3 was made to another mailbox");
	free(f2);
	json_decref(j);
	free(file);
}

static void test_proof_against_other_root(void **st)
{
	(void)st;
	spec sp = GOOD;
	json_t *j;
	pl_err e;

	sp.short_proof = 1;
	pl_err_clear(&e);
	assert_int_equal(build(&j, &sp, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "deposit 1 is not in the log"));
}

static void test_receipt_of_other_deposit(void **st)
{
	(void)st;
	size_t n;
	char *file = good_file(&n);
	json_t *j = json_loadb(file, n, 0, NULL);
	json_t *d0 = json_array_get(json_object_get(j, "deposits"), 0);
	json_t *d1 = json_array_get(json_object_get(j, "deposits"), 1);
	json_object_set(d0, "receipt", json_object_get(d1, "receipt"));
	char *f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "receipt is for another deposit");
	free(f2);
	json_decref(j);
	free(file);
}

static void test_statement_by_other_key(void **st)
{
	(void)st;
	size_t n;
	char *file = good_file(&n);
	json_t *j = json_loadb(file, n, 0, NULL);
	char *f2 = resign(j, &X, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "prover's signature on its statement");
	free(f2);
	/* a changed count of replies, re-signed by the prover, verifies: it is
	 * the prover's statement */
	json_object_set_new(json_object_get(j, "statement"), "replies_received", json_integer(2));
	f2 = resign(j, &US, &n);
	pl_outreach_summary s;
	pl_err e;
	assert_int_equal(pl_outreach_proof_verify(&s, (const uint8_t *)f2, n, vkey, NULL, 0, &e),
			 0);
	assert_int_equal(s.replies_received, 2);
	pl_outreach_summary_free(&s);
	free(f2);
	/* but the same change without the prover's signature does not */
	json_decref(j);
	j = json_loadb(file, strlen(file), 0, NULL);
	json_object_set_new(json_object_get(j, "statement"), "replies_received", json_integer(2));
	f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "statement does not verify");
	free(f2);
	json_decref(j);
	free(file);
}

static void test_not_fetched_is_reported(void **st)
{
	(void)st;
	spec sp = GOOD;
	json_t *j;
	pl_err e;
	pl_outreach_summary s;
	size_t n;

	sp.dep[4] = 11; /* seq 6, never fetched */
	sp.n_dep = 5;
	sp.replies = 1;
	pl_err_clear(&e);
	assert_int_equal(build(&j, &sp, &e), 0);
	char *file = pl_export_dumps(j, &n);
	json_decref(j);
	assert_int_equal(pl_outreach_proof_verify(&s, (const uint8_t *)file, n, vkey, NULL, 0, &e),
			 0);
	assert_int_equal(s.n_deposits, 5);
	assert_int_equal(s.n_fetched, 4);
	assert_int_equal(s.all_fetched_by, 0);
	assert_false(s.items[4].fetched);
	char *text = NULL;
	size_t tl = 0;
	FILE *out = open_memstream(&text, &tl);
	pl_outreach_summary_print(out, &s);
	fclose(out);
	assert_non_null(strstr(text, "4 of them fetched by Iran's key"));
	assert_non_null(strstr(text, "message 5: "));
	assert_non_null(strstr(text, "not proven fetched"));
	assert_non_null(strstr(text, "1 reply received from Iran"));
	free(text);
	pl_outreach_summary_free(&s);
	free(file);

	/* an ack that names other bytes at a deposit's seq (what a relay that
	 * replaced the envelope handed over) does not make it fetched */
	spec replaced = {{6, 11}, 2, {14}, 1, 0, NULL, 0};
	assert_int_equal(build(&j, &replaced, &e), 0);
	file = pl_export_dumps(j, &n);
	json_decref(j);
	assert_int_equal(pl_outreach_proof_verify(&s, (const uint8_t *)file, n, vkey, NULL, 0, &e),
			 0);
	assert_int_equal(s.n_fetched, 0);
	pl_outreach_summary_free(&s);
	free(file);

	/* an ack that names nothing covers none of them, whatever its
	 * through-seq (leaf 0 runs through 1000) */
	spec early = {{2, 3}, 2, {0}, 1, 0, NULL, 0};
	assert_int_equal(build(&j, &early, &e), 0);
	file = pl_export_dumps(j, &n);
	json_decref(j);
	assert_int_equal(pl_outreach_proof_verify(&s, (const uint8_t *)file, n, vkey, NULL, 0, &e),
			 0);
	assert_int_equal(s.n_fetched, 0);
	out = open_memstream(&text, &tl);
	pl_outreach_summary_print(out, &s);
	fclose(out);
	assert_non_null(strstr(text, "the log shows no fetch of them by Iran's key"));
	free(text);
	pl_outreach_summary_free(&s);
	free(file);
}

static void test_builder_refusals(void **st)
{
	(void)st;
	pl_proof_deposit d[8];
	pl_proof_fetch f[8];
	json_t *j;
	pl_err e;

	fill(&GOOD, d, f);
	/* a deposit outside the stated period (leaf 13) */
	spec sp = GOOD;
	sp.dep[4] = 13;
	sp.n_dep = 5;
	assert_int_equal(build(&j, &sp, &e), -1);
	assert_non_null(strstr(e.msg, "outside the period"));
	/* the envelope hash the client kept is not the one logged */
	d[1].envelope_hash[0] ^= 1;
	assert_int_equal(build_from(&j, &US, "United States", IR.pk, "Iran", vkey, note, note_len,
				    d, 4, f, 2, T0, PERIOD_END, 0, &e),
			 -1);
	assert_non_null(strstr(e.msg, "another envelope hash"));
	d[1].envelope_hash[0] ^= 1;
	/* names that are not one line of text */
	assert_int_equal(build_from(&j, &US, "Iran\nUS", IR.pk, "Iran", vkey, note, note_len, d, 4,
				    f, 2, T0, PERIOD_END, 0, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	assert_int_equal(build_from(&j, &US, "United States", IR.pk, "", vkey, note, note_len, d, 4,
				    f, 2, T0, PERIOD_END, 0, &e),
			 -1);
	/* the same deposit twice, no deposits, the prover as its own peer */
	d[1] = d[0];
	assert_int_equal(build_from(&j, &US, "United States", IR.pk, "Iran", vkey, note, note_len,
				    d, 2, f, 2, T0, PERIOD_END, 0, &e),
			 -1);
	assert_int_equal(build_from(&j, &US, "United States", IR.pk, "Iran", vkey, note, note_len,
				    d, 0, f, 2, T0, PERIOD_END, 0, &e),
			 -1);
	fill(&GOOD, d, f);
	assert_int_equal(build_from(&j, &US, "United States", US.pk, "Iran", vkey, note, note_len,
				    d, 4, f, 2, T0, PERIOD_END, 0, &e),
			 -1);
	/* a period that ends before it starts */
	assert_int_equal(build_from(&j, &US, "United States", IR.pk, "Iran", vkey, note, note_len,
				    d, 4, f, 2, PERIOD_END, T0, 0, &e),
			 -1);
	/* input order does not matter: the bundle lists by leaf index */
	pl_proof_deposit r[4] = {d[3], d[1], d[2], d[0]};
	pl_proof_fetch rf[2] = {f[1], f[0]};
	assert_int_equal(build_from(&j, &US, "United States", IR.pk, "Iran", vkey, note, note_len,
				    r, 4, rf, 2, T0, PERIOD_END, 0, &e),
			 0);
	size_t n1, n2;
	char *a = pl_export_dumps(j, &n1), *b = good_file(&n2);
	json_decref(j);
	/* the same content; signatures are deterministic (Ed25519) */
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1);
	free(a);
	free(b);
}

static void test_edits_fail(void **st)
{
	(void)st;
	size_t n;
	char *file = good_file(&n);
	json_t *j;
	char *f2;

	/* a deposit removed (the statement lists every leaf hash) */
	j = json_loadb(file, n, 0, NULL);
	json_array_remove(json_object_get(j, "deposits"), 1);
	f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "statement does not verify");
	free(f2);
	json_decref(j);
	/* deposits reordered */
	n = strlen(file);
	j = json_loadb(file, n, 0, NULL);
	json_t *d = json_object_get(j, "deposits");
	json_t *first = json_incref(json_array_get(d, 0));
	json_array_remove(d, 0);
	json_array_append_new(d, first);
	f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_INPUT, "by increasing leaf index");
	free(f2);
	json_decref(j);
	/* a name changed: names are under the prover's signature */
	n = strlen(file);
	j = json_loadb(file, n, 0, NULL);
	json_object_set_new(json_object_get(j, "peer"), "name", json_string("Irak"));
	f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_SECURITY, "statement does not verify");
	free(f2);
	json_decref(j);
	/* an extra key, a duplicate key, whitespace */
	n = strlen(file);
	j = json_loadb(file, n, 0, NULL);
	json_object_set_new(j, "comment", json_string("x"));
	f2 = pl_export_dumps(j, &n);
	expect_fail(f2, n, vkey, PL_EXIT_INPUT, "key parley does not write");
	free(f2);
	json_decref(j);
	n = strlen(file);
	f2 = malloc(n + 32);
	memcpy(f2, "{\"format\": \"x\", ", 16);
	memcpy(f2 + 16, file + 1, n - 1);
	expect_fail(f2, n + 15, vkey, PL_EXIT_INPUT, "not valid JSON");
	memcpy(f2, file, n);
	f2[n] = '\n';
	expect_fail(f2, n + 1, vkey, PL_EXIT_INPUT, "byte for byte");
	free(f2);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_verify_ok),
	    cmocka_unit_test(test_dispatch_and_file),
	    cmocka_unit_test(test_relay_keys),
	    cmocka_unit_test(test_every_byte_flip_fails),
	    cmocka_unit_test(test_fetch_by_other_key),
	    cmocka_unit_test(test_deposit_to_other_mailbox),
	    cmocka_unit_test(test_proof_against_other_root),
	    cmocka_unit_test(test_receipt_of_other_deposit),
	    cmocka_unit_test(test_statement_by_other_key),
	    cmocka_unit_test(test_not_fetched_is_reported),
	    cmocka_unit_test(test_builder_refusals),
	    cmocka_unit_test(test_edits_fail),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
