/*
 * outreach.c — the proof-of-outreach bundle: its JSON, the prover's statement,
 * the builder and the strict offline verifier (see outreach.h, docs/PROOF.md).
 *
 * The verifier works in the order that gives the most useful reason and costs
 * the least on garbage: JSON shape (exact keys and types, canonical hex and
 * base64), then the file against what parley writes for the decoded content
 * (so whitespace, escapes, key order and hex case are all covered), then the
 * relay key and the checkpoint's signature, then every inclusion proof
 * (hashing only), then what each leaf says, then receipts and fetch
 * signatures, then the statement. The builder runs this same verifier on the
 * bytes it would return, so it cannot hand out a bundle that fails.
 *
 * It never echoes untrusted text that is not validated: names pass
 * pl_text_ok as one line before they are printed, keys are re-encoded.
 */
#include "export/outreach.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log/receipt.h"
#include "util/codec.h"
#include "util/text.h"
#include "util/wire.h"

_Static_assert(PL_OUTREACH_RECEIPT_MAX >= PL_RECEIPT_MAX, "a bundle holds any receipt");
_Static_assert(PL_OUTREACH_NOTE_MAX >= PL_LEAF_NOTE_MAX, "a bundle holds the relay's notes");
_Static_assert(PL_LEAF_MAX <= PL_JSON_HEX_MAX, "a leaf fits a hex field");

#define NOT_PROOF "not a parley proof-of-outreach file: "

/* One deposit or fetch as the bundle holds it. */
typedef struct {
	uint64_t index;
	uint8_t leaf[PL_LEAF_MAX];
	size_t leaf_len;
	uint8_t proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
	size_t proof_len;
	uint8_t ehash[32]; /* deposits */
	uint8_t *receipt;  /* deposits; malloc'd */
	size_t receipt_len;
	pl_leaf l;			/* decoded leaf */
	uint8_t lh[PL_MERKLE_HASH_LEN]; /* its leaf hash */
} entry;

typedef struct {
	char vkey[PL_NOTE_VKEY_MAX];
	uint8_t note[PL_OUTREACH_NOTE_MAX];
	size_t note_len;
	char prover_name[PL_OUTREACH_NAME_MAX + 1], peer_name[PL_OUTREACH_NAME_MAX + 1];
	uint8_t prover_ik[PL_IK_LEN], peer_ik[PL_IK_LEN];
	uint64_t start, end;
	entry *dep;
	size_t n_dep;
	entry *fet;
	size_t n_fet;
	uint32_t replies;
	uint8_t sig[PL_SIG_LEN];
} bundle;

static void bundle_free(bundle *b)
{
	for (size_t i = 0; b->dep != NULL && i < b->n_dep; i++)
		free(b->dep[i].receipt);
	free(b->dep);
	free(b->fet);
	b->dep = b->fet = NULL;
	b->n_dep = b->n_fet = 0;
}

/* --- small helpers ---------------------------------------------------------- */

static int name_ok(const char *s)
{
	return s != NULL && pl_text_ok((const uint8_t *)s, strlen(s), 1, PL_OUTREACH_NAME_MAX,
				       PL_TEXT_LINE) == 0;
}

/* 0 iff s[0..len) is the verifier key of a parley relay log: a valid vkey
 * whose name is the origin derived from its public key. */
static int relay_vkey_parse(pl_note_vkey *v, const char *s, size_t len)
{
	char origin[PL_LEAF_ORIGIN_LEN + 1];
	if (s == NULL || len >= PL_NOTE_VKEY_MAX || pl_note_vkey_parse(v, s, len) != 0)
		return -1;
	pl_leaf_origin(origin, v->pk);
	return strcmp(origin, v->name) == 0 ? 0 : -1;
}

/* --- the statement -------------------------------------------------------------- */

int pl_outreach_statement(uint8_t **out, size_t *len, const uint8_t prover_ik[static PL_IK_LEN],
			  const uint8_t peer_ik[static PL_IK_LEN], const char *prover_name,
			  const char *peer_name, const uint8_t checkpoint_hash[static 32],
			  uint64_t period_start, uint64_t period_end, uint32_t replies_received,
			  const uint8_t (*leaf_hashes)[PL_MERKLE_HASH_LEN], size_t n_deps)
{
	pl_wr w;

	*out = NULL;
	*len = 0;
	if (n_deps > PL_OUTREACH_DEPOSITS_MAX || prover_name == NULL || peer_name == NULL)
		return -1;
	pl_wr_init(&w);
	pl_wr_bytes(&w, (const uint8_t *)PL_OUTREACH_STATEMENT_TAG,
		    sizeof PL_OUTREACH_STATEMENT_TAG - 1);
	pl_wr_bytes(&w, prover_ik, PL_IK_LEN);
	pl_wr_bytes(&w, peer_ik, PL_IK_LEN);
	pl_wr_bytes(&w, checkpoint_hash, 32);
	pl_wr_u64(&w, period_start);
	pl_wr_u64(&w, period_end);
	pl_wr_u32(&w, replies_received);
	pl_wr_u32(&w, (uint32_t)n_deps);
	for (size_t i = 0; i < n_deps; i++)
		pl_wr_bytes(&w, leaf_hashes[i], PL_MERKLE_HASH_LEN);
	pl_wr_var(&w, (const uint8_t *)prover_name, strlen(prover_name));
	pl_wr_var(&w, (const uint8_t *)peer_name, strlen(peer_name));
	if (pl_wr_ok(&w) != 0) {
		pl_wr_free(&w);
		return -1;
	}
	*out = malloc(w.n);
	if (*out == NULL) {
		pl_wr_free(&w);
		return -1;
	}
	memcpy(*out, w.p, w.n);
	*len = w.n;
	pl_wr_free(&w);
	return 0;
}

static int statement_of(uint8_t **m, size_t *mlen, const bundle *b)
{
	uint8_t ch[32];
	uint8_t(*lh)[PL_MERKLE_HASH_LEN] = malloc((b->n_dep ? b->n_dep : 1) * sizeof *lh);
	if (lh == NULL)
		return -1;
	for (size_t i = 0; i < b->n_dep; i++)
		memcpy(lh[i], b->dep[i].lh, PL_MERKLE_HASH_LEN);
	crypto_hash_sha256(ch, b->note, b->note_len);
	int rc = pl_outreach_statement(m, mlen, b->prover_ik, b->peer_ik, b->prover_name,
				       b->peer_name, ch, b->start, b->end, b->replies,
				       (const uint8_t(*)[PL_MERKLE_HASH_LEN])lh, b->n_dep);
	free(lh);
	return rc;
}

/* --- JSON ------------------------------------------------------------------------ */

static json_t *proof_json(const entry *x)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < x->proof_len; i++)
		if (json_array_append_new(a, pl_json_hex(x->proof[i], PL_MERKLE_HASH_LEN)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *entry_json(const entry *x, int deposit)
{
	json_t *j = json_object();
	if (j == NULL || pl_json_set(j, "index", json_integer((json_int_t)x->index)) ||
	    pl_json_set(j, "leaf", pl_json_hex(x->leaf, x->leaf_len)) ||
	    (deposit && pl_json_set(j, "envelope_hash", pl_json_hex(x->ehash, 32))) ||
	    pl_json_set(j, "proof", proof_json(x)) ||
	    (deposit && pl_json_set(j, "receipt", pl_json_b64(x->receipt, x->receipt_len)))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *party_json(const char *name, const uint8_t ik[static PL_IK_LEN])
{
	json_t *j = json_object();
	if (j == NULL || pl_json_set(j, "name", json_string(name)) ||
	    pl_json_set(j, "key", pl_json_hex(ik, PL_IK_LEN))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *bundle_json(const bundle *b)
{
	json_t *j = json_object(), *period = json_object(), *st = json_object(),
	       *deps = json_array(), *fets = json_array();
	int bad = j == NULL || period == NULL || st == NULL || deps == NULL || fets == NULL;

	for (size_t i = 0; !bad && i < b->n_dep; i++)
		bad = json_array_append_new(deps, entry_json(&b->dep[i], 1)) != 0;
	for (size_t i = 0; !bad && i < b->n_fet; i++)
		bad = json_array_append_new(fets, entry_json(&b->fet[i], 0)) != 0;
	bad = bad || pl_json_set(period, "start", pl_json_time(b->start)) ||
	      pl_json_set(period, "end", pl_json_time(b->end)) ||
	      pl_json_set(st, "replies_received", json_integer(b->replies)) ||
	      pl_json_set(st, "signature", pl_json_hex(b->sig, PL_SIG_LEN));
	/* json_object_set (not _new): the parts stay ours to release below */
	bad = bad || pl_json_set(j, "format", json_string(PL_OUTREACH_FORMAT)) ||
	      pl_json_set(j, "version", json_integer(PL_OUTREACH_VERSION)) ||
	      pl_json_set(j, "relay_key", json_string(b->vkey)) ||
	      pl_json_set(j, "checkpoint", json_stringn((const char *)b->note, b->note_len)) ||
	      pl_json_set(j, "prover", party_json(b->prover_name, b->prover_ik)) ||
	      pl_json_set(j, "peer", party_json(b->peer_name, b->peer_ik)) ||
	      json_object_set(j, "period", period) || json_object_set(j, "deposits", deps) ||
	      json_object_set(j, "fetches", fets) || json_object_set(j, "statement", st);
	json_decref(period);
	json_decref(st);
	json_decref(deps);
	json_decref(fets);
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* --- decoding ---------------------------------------------------------------------- */

static int party_field(char *name, uint8_t ik[static PL_IK_LEN], const json_t *j, const char *where,
		       pl_err *e)
{
	static const char *const keys[] = {"name", "key"};
	if (pl_json_exact_keys(j, keys, 2, NOT_PROOF, where, e) != 0)
		return -1;
	const char *s = json_string_value(json_object_get(j, "name"));
	if (!name_ok(s) || strlen(s) != json_string_length(json_object_get(j, "name")))
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_PROOF
				  "the %s's name is not one line of text of 1 to %d bytes",
				  where, PL_OUTREACH_NAME_MAX);
	memcpy(name, s, strlen(s) + 1);
	if (pl_json_hex_field(ik, PL_IK_LEN, json_object_get(j, "key")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_PROOF "the %s's key is not 64 lowercase hex digits", where);
	return 0;
}

static int entry_field(entry *x, const json_t *j, int deposit, size_t i, pl_err *e)
{
	static const char *const dkeys[] = {"index", "leaf", "envelope_hash", "proof", "receipt"};
	static const char *const fkeys[] = {"index", "leaf", "proof"};
	const char *what = deposit ? "deposit" : "fetch";
	char where[48];

	snprintf(where, sizeof where, "%s %zu", what, i + 1);
	if (pl_json_exact_keys(j, deposit ? dkeys : fkeys, deposit ? 5 : 3, NOT_PROOF, where, e) !=
	    0)
		return -1;
	if (pl_json_uint_field(&x->index, PL_JSON_INT_MAX, json_object_get(j, "index")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_PROOF "%s's index is not a non-negative integer", where);
	if (pl_json_hex_var(x->leaf, &x->leaf_len, PL_LEAF_MAX, json_object_get(j, "leaf")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_PROOF "%s's leaf is not lowercase hex of at most %d bytes",
				  where, PL_LEAF_MAX);
	if (pl_leaf_decode(&x->l, x->leaf, x->leaf_len) != 0)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_PROOF "%s's leaf is not a relay log leaf",
				  where);
	if (x->l.type != (deposit ? PL_LEAF_DEPOSIT : PL_LEAF_ACK))
		return pl_err_set(e, PL_EXIT_SECURITY, "%s's leaf is a %s leaf, not a %s leaf",
				  where, x->l.type == PL_LEAF_DEPOSIT ? "deposit" : "fetch", what);
	pl_leaf_hash(x->lh, x->leaf, x->leaf_len);
	const json_t *p = json_object_get(j, "proof");
	if (!json_is_array(p) || json_array_size(p) > PL_MERKLE_PROOF_MAX)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_PROOF "%s's proof is not an array of at most %d hashes",
				  where, PL_MERKLE_PROOF_MAX);
	x->proof_len = json_array_size(p);
	for (size_t k = 0; k < x->proof_len; k++)
		if (pl_json_hex_field(x->proof[k], PL_MERKLE_HASH_LEN, json_array_get(p, k)) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_PROOF "%s's proof hash %zu is not 64 lowercase hex "
						    "digits",
					  where, k + 1);
	if (!deposit)
		return 0;
	if (pl_json_hex_field(x->ehash, 32, json_object_get(j, "envelope_hash")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_PROOF "%s's envelope_hash is not 64 lowercase hex digits",
				  where);
	if (pl_json_b64_var(&x->receipt, &x->receipt_len, PL_OUTREACH_RECEIPT_MAX,
			    json_object_get(j, "receipt")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_PROOF "%s's receipt is not canonical base64 of at most %d "
					    "bytes",
				  where, PL_OUTREACH_RECEIPT_MAX);
	return 0;
}

static int entries_field(entry **out, size_t *n, const json_t *a, int deposit, pl_err *e)
{
	const char *what = deposit ? "deposits" : "fetches";
	size_t max = deposit ? PL_OUTREACH_DEPOSITS_MAX : PL_OUTREACH_FETCHES_MAX;
	size_t min = deposit ? 1 : 0;

	if (!json_is_array(a) || json_array_size(a) < min || json_array_size(a) > max)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_PROOF "%s must be an array of %zu to %zu",
				  what, min, max);
	*n = json_array_size(a);
	*out = calloc(*n ? *n : 1, sizeof **out);
	if (*out == NULL) {
		*n = 0;
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	for (size_t i = 0; i < *n; i++) {
		if (entry_field(&(*out)[i], json_array_get(a, i), deposit, i, e) != 0)
			return -1;
		if (i > 0 && (*out)[i].index <= (*out)[i - 1].index)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_PROOF "%s must be listed once each, by increasing "
						    "leaf index",
					  what);
	}
	return 0;
}

/* Every check that needs no signature: the JSON and its canonical bytes.
 * Fills b (free it with bundle_free either way). */
static int decode(bundle *b, const uint8_t *file, size_t n, pl_err *e)
{
	static const char *const keys[] = {"format",  "version",  "relay_key", "checkpoint",
					   "prover",  "peer",	  "period",    "deposits",
					   "fetches", "statement"};
	static const char *const pkeys[] = {"start", "end"};
	static const char *const skeys[] = {"replies_received", "signature"};
	json_t *root = NULL, *canon = NULL;
	pl_note_vkey v;
	uint64_t replies;
	int rc = -1;

	memset(b, 0, sizeof *b);
	root = pl_json_load(file, n, NOT_PROOF, e);
	if (root == NULL)
		return -1;
	if (pl_json_exact_keys(root, keys, 10, NOT_PROOF, "the file", e) != 0 ||
	    pl_json_header_check(root, PL_OUTREACH_FORMAT, PL_OUTREACH_VERSION, NOT_PROOF, e) != 0)
		goto done;
	const json_t *jv = json_object_get(root, "relay_key");
	if (relay_vkey_parse(&v, json_string_value(jv), json_string_length(jv)) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_PROOF "relay_key is not a parley relay log key "
				     "(parley.relay/<hex>+<keyid>+<base64>)");
		goto done;
	}
	memcpy(b->vkey, json_string_value(jv), json_string_length(jv) + 1);
	const json_t *jc = json_object_get(root, "checkpoint");
	if (!json_is_string(jc) || json_string_length(jc) == 0 ||
	    json_string_length(jc) > PL_OUTREACH_NOTE_MAX) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_PROOF "checkpoint is not a signed note of at most %d bytes",
			   PL_OUTREACH_NOTE_MAX);
		goto done;
	}
	b->note_len = json_string_length(jc);
	memcpy(b->note, json_string_value(jc), b->note_len);
	if (party_field(b->prover_name, b->prover_ik, json_object_get(root, "prover"), "prover",
			e) != 0 ||
	    party_field(b->peer_name, b->peer_ik, json_object_get(root, "peer"), "peer", e) != 0)
		goto done;
	const json_t *jp = json_object_get(root, "period");
	if (pl_json_exact_keys(jp, pkeys, 2, NOT_PROOF, "period", e) != 0)
		goto done;
	if (pl_json_time_field(&b->start, json_object_get(jp, "start")) != 0 ||
	    pl_json_time_field(&b->end, json_object_get(jp, "end")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_PROOF "the period's start and end must be RFC 3339 UTC times "
				     "(2026-11-28T03:13:43Z)");
		goto done;
	}
	if (entries_field(&b->dep, &b->n_dep, json_object_get(root, "deposits"), 1, e) != 0 ||
	    entries_field(&b->fet, &b->n_fet, json_object_get(root, "fetches"), 0, e) != 0)
		goto done;
	const json_t *js = json_object_get(root, "statement");
	if (pl_json_exact_keys(js, skeys, 2, NOT_PROOF, "statement", e) != 0)
		goto done;
	if (pl_json_uint_field(&replies, UINT32_MAX, json_object_get(js, "replies_received")) !=
		0 ||
	    pl_json_hex_field(b->sig, PL_SIG_LEN, json_object_get(js, "signature")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_PROOF "the statement needs replies_received (an integer below "
				     "2^32) and a signature (128 lowercase hex digits)");
		goto done;
	}
	b->replies = (uint32_t)replies;
	canon = bundle_json(b);
	if (canon == NULL) {
		pl_err_set(e, PL_EXIT_INPUT, NOT_PROOF "its content cannot be written back");
		goto done;
	}
	if (pl_json_same_bytes(canon, file, n, NOT_PROOF, e) != 0)
		goto done;
	rc = 0;
done:
	json_decref(root);
	json_decref(canon);
	return rc;
}

/* --- verification ------------------------------------------------------------------ */

static int included(const entry *x, const pl_checkpoint *c)
{
	return x->index < c->size &&
	       pl_merkle_verify_inclusion(x->lh, x->index, c->size,
					  (const uint8_t(*)[PL_MERKLE_HASH_LEN])x->proof,
					  x->proof_len, c->root) == 0;
}

/* 1 iff the receipt stands for the entry's deposit leaf at its index. */
static int same_deposit(const pl_receipt *r, const entry *x)
{
	pl_leaf l;
	uint8_t b[PL_LEAF_MAX];
	size_t n;

	pl_receipt_leaf(&l, r);
	n = pl_leaf_encode(b, &l);
	return n != 0 && n == x->leaf_len && sodium_memcmp(b, x->leaf, n) == 0 &&
	       r->index == x->index;
}

static int deposit_check(const entry *x, size_t i, const bundle *b,
			 const uint8_t mbx[static PL_MAILBOX_LEN],
			 const uint8_t relay_pk[static 32], pl_err *e)
{
	char t[PL_EXPORT_TIME_BUF], t1[PL_EXPORT_TIME_BUF], t2[PL_EXPORT_TIME_BUF];
	pl_receipt *r;

	if (sodium_memcmp(x->l.mbx, mbx, PL_MAILBOX_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "deposit %zu was made to another mailbox, not the peer's", i + 1);
	if (sodium_memcmp(x->l.hash, x->ehash, 32) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "deposit %zu's leaf records another envelope hash than the one "
				  "listed",
				  i + 1);
	if (x->l.relay_time < b->start || x->l.relay_time > b->end) {
		pl_export_fmt_time(t, x->l.relay_time);
		pl_export_fmt_time(t1, b->start);
		pl_export_fmt_time(t2, b->end);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "deposit %zu was made at %s, outside the period %s to %s", i + 1,
				  t, t1, t2);
	}
	for (size_t k = 0; k < i; k++)
		if (sodium_memcmp(b->dep[k].ehash, x->ehash, 32) == 0)
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "deposits %zu and %zu are the same envelope", k + 1,
					  i + 1);
	r = malloc(sizeof *r);
	if (r == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = 0;
	if (pl_receipt_decode(r, x->receipt, x->receipt_len) != 0)
		rc = pl_err_set(e, PL_EXIT_INPUT,
				NOT_PROOF "deposit %zu's receipt is not a relay "
					  "receipt",
				i + 1);
	else if (!same_deposit(r, x))
		rc =
		    pl_err_set(e, PL_EXIT_SECURITY,
			       "deposit %zu's receipt is for another deposit than its leaf", i + 1);
	else if (pl_receipt_verify(r, relay_pk, x->ehash) != 0)
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"deposit %zu's receipt does not verify under the relay key", i + 1);
	free(r);
	return rc;
}

static int fetch_check(const entry *x, size_t i, const bundle *b,
		       const uint8_t mbx[static PL_MAILBOX_LEN], pl_err *e)
{
	if (sodium_memcmp(x->l.mbx, mbx, PL_MAILBOX_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "fetch %zu is of another mailbox, not the peer's", i + 1);
	if (sodium_memcmp(x->l.owner, b->peer_ik, PL_IK_LEN) != 0) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, x->l.owner);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "fetch %zu was made by another key (fingerprint %s), not the "
				  "peer's",
				  i + 1, fp);
	}
	if (pl_leaf_ack_verify(&x->l) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "fetch %zu's acknowledgement is not signed by the peer's key",
				  i + 1);
	return 0;
}

static int expected_check(const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, const bundle *b,
			  pl_err *e)
{
	uint8_t signers[2][PL_IK_LEN];

	memcpy(signers[0], b->prover_ik, PL_IK_LEN);
	memcpy(signers[1], b->peer_ik, PL_IK_LEN);
	/* the peer signed something only if the bundle holds one of its acks */
	return pl_export_expect_check(expect, n_expect, (const uint8_t(*)[PL_IK_LEN])signers,
				      b->n_fet > 0 ? 2 : 1, "proof", e);
}

/* Every check on a decoded bundle; fills c (the checkpoint) and v (the key). */
static int bundle_check(const bundle *b, const char *given, pl_checkpoint *c, pl_note_vkey *v,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e)
{
	uint8_t mbx[PL_MAILBOX_LEN];
	pl_note_vkey g;

	if (relay_vkey_parse(v, b->vkey, strlen(b->vkey)) != 0)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_PROOF "relay_key is not a relay log key");
	if (given != NULL) {
		if (relay_vkey_parse(&g, given, strlen(given)) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  "the relay key given is not a parley relay log key "
					  "(parley.relay/<hex>+<keyid>+<base64>, as the relay "
					  "publishes it)");
		if (sodium_memcmp(g.pk, v->pk, PL_NOTE_PK_LEN) != 0 || strcmp(given, b->vkey) != 0)
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "this proof is for the relay key %s, not the one given",
					  b->vkey);
	}
	if (pl_leaf_checkpoint_open(c, b->note, b->note_len, v->pk) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the checkpoint is not signed by the relay key %s", b->vkey);
	if (pl_ik_validate(b->prover_ik) != 0 || pl_ik_validate(b->peer_ik) != 0 ||
	    sodium_memcmp(b->prover_ik, b->peer_ik, PL_IK_LEN) == 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the prover and peer keys must be two different valid keys");
	if (b->start > b->end)
		return pl_err_set(e, PL_EXIT_SECURITY, "the period ends before it starts");
	/* Inclusion first: it is hashing only, and a changed leaf or proof fails
	 * here before any signature is checked. */
	for (size_t i = 0; i < b->n_dep; i++)
		if (!included(&b->dep[i], c))
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "deposit %zu is not in the log at index %llu under the "
					  "checkpoint (size %llu)",
					  i + 1, (unsigned long long)b->dep[i].index,
					  (unsigned long long)c->size);
	for (size_t i = 0; i < b->n_fet; i++)
		if (!included(&b->fet[i], c))
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "fetch %zu is not in the log at index %llu under the "
					  "checkpoint (size %llu)",
					  i + 1, (unsigned long long)b->fet[i].index,
					  (unsigned long long)c->size);
	pl_mailbox_id(mbx, b->peer_ik);
	for (size_t i = 0; i < b->n_dep; i++)
		if (deposit_check(&b->dep[i], i, b, mbx, v->pk, e) != 0)
			return -1;
	for (size_t i = 0; i < b->n_fet; i++)
		if (fetch_check(&b->fet[i], i, b, mbx, e) != 0)
			return -1;
	uint8_t *m;
	size_t mlen;
	if (statement_of(&m, &mlen, b) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int bad = crypto_sign_verify_detached(b->sig, m, mlen, b->prover_ik) != 0;
	free(m);
	if (bad)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the prover's signature on its statement does not verify");
	return expected_check(expect, n_expect, b, e);
}

static int summarize(pl_outreach_summary *s, const bundle *b, const pl_checkpoint *c, int embedded)
{
	memset(s, 0, sizeof *s);
	s->items = calloc(b->n_dep, sizeof *s->items);
	if (s->items == NULL)
		return -1;
	memcpy(s->prover_name, b->prover_name, sizeof s->prover_name);
	memcpy(s->peer_name, b->peer_name, sizeof s->peer_name);
	memcpy(s->prover_ik, b->prover_ik, PL_IK_LEN);
	memcpy(s->peer_ik, b->peer_ik, PL_IK_LEN);
	pl_fingerprint(s->prover_fp, b->prover_ik);
	pl_fingerprint(s->peer_fp, b->peer_ik);
	pl_mailbox_id(s->peer_mailbox, b->peer_ik);
	memcpy(s->relay_vkey, b->vkey, sizeof s->relay_vkey);
	s->used_embedded_key = embedded;
	s->checkpoint_size = c->size;
	memcpy(s->checkpoint_root, c->root, PL_MERKLE_HASH_LEN);
	s->n_deposits = b->n_dep;
	s->n_fetches = b->n_fet;
	s->period_start = b->start;
	s->period_end = b->end;
	s->replies_received = b->replies;
	s->first_deposit = UINT64_MAX;
	for (size_t i = 0; i < b->n_dep; i++) {
		const entry *d = &b->dep[i];
		pl_outreach_item *it = &s->items[i];
		it->index = d->index;
		it->seq = d->l.seq;
		it->time = d->l.relay_time;
		memcpy(it->envelope_hash, d->ehash, 32);
		/* fetched: an ack logged after the deposit that names it, seq
		 * and envelope hash (one that only runs past its seq, or names
		 * other bytes at that seq, says the contact's vault did not get
		 * these) */
		for (size_t k = 0; k < b->n_fet && !it->fetched; k++) {
			const entry *f = &b->fet[k];
			if (f->index > d->index &&
			    pl_auth_ack_names(&f->l.ack, d->l.seq, d->l.hash)) {
				it->fetched = 1;
				it->fetch_index = f->index;
				it->fetch_time = f->l.relay_time;
			}
		}
		if (it->fetched) {
			s->n_fetched++;
			if (it->fetch_time > s->all_fetched_by)
				s->all_fetched_by = it->fetch_time;
		}
		if (it->time < s->first_deposit)
			s->first_deposit = it->time;
		if (it->time > s->last_deposit)
			s->last_deposit = it->time;
	}
	if (s->n_fetched != s->n_deposits)
		s->all_fetched_by = 0;
	return 0;
}

int pl_outreach_proof_verify(pl_outreach_summary *s, const uint8_t *file, size_t n,
			     const char *relay_vkey, const uint8_t (*expect)[PL_IK_LEN],
			     size_t n_expect, pl_err *e)
{
	bundle *b = malloc(sizeof *b);
	pl_checkpoint c;
	pl_note_vkey v;
	int rc = -1;

	if (s != NULL)
		memset(s, 0, sizeof *s);
	if (b == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (decode(b, file, n, e) != 0 ||
	    bundle_check(b, relay_vkey, &c, &v, expect, n_expect, e) != 0)
		goto done;
	if (s != NULL && summarize(s, b, &c, relay_vkey == NULL) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	rc = 0;
done:
	bundle_free(b);
	free(b);
	return rc;
}

void pl_outreach_summary_free(pl_outreach_summary *s)
{
	if (s == NULL)
		return;
	free(s->items);
	s->items = NULL;
	s->n_deposits = 0;
}

/* --- building --------------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Copies one caller item into x; -1 if it cannot be held. */
static int take(entry *x, const uint8_t *leaf, size_t leaf_len, uint64_t index,
		const uint8_t (*proof)[PL_MERKLE_HASH_LEN], size_t proof_len)
{
	if (leaf == NULL || leaf_len == 0 || leaf_len > PL_LEAF_MAX || index > PL_JSON_INT_MAX ||
	    proof_len > PL_MERKLE_PROOF_MAX || (proof == NULL && proof_len != 0))
		return -1;
	x->index = index;
	memcpy(x->leaf, leaf, leaf_len);
	x->leaf_len = leaf_len;
	if (proof_len)
		memcpy(x->proof, proof, proof_len * PL_MERKLE_HASH_LEN);
	x->proof_len = proof_len;
	pl_leaf_hash(x->lh, leaf, leaf_len);
	return 0;
}

/* Refuses input that the bundle cannot hold or that no verifier would accept,
 * before anything is copied. */
static int input_check(const bundle *b, const pl_outreach_input *in, pl_err *e)
{
	if (!name_ok(in->prover_name) || !name_ok(in->peer_name))
		return pl_err_set(e, PL_EXIT_INPUT,
				  "names in a proof must be one line of text of 1 to %d bytes",
				  PL_OUTREACH_NAME_MAX);
	if (in->relay_vkey == NULL || strlen(in->relay_vkey) >= sizeof b->vkey ||
	    in->checkpoint_note == NULL || in->note_len == 0 || in->note_len > sizeof b->note)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "a proof needs the relay key and a checkpoint of at "
				  "most %d bytes",
				  PL_OUTREACH_NOTE_MAX);
	if (in->n_deps == 0 || in->n_deps > PL_OUTREACH_DEPOSITS_MAX ||
	    in->n_fetches > PL_OUTREACH_FETCHES_MAX || in->period_start > PL_EXPORT_TIME_MAX ||
	    in->period_end > PL_EXPORT_TIME_MAX)
		return pl_err_set(
		    e, PL_EXIT_INPUT,
		    "a proof holds 1 to %d deposits, at most %d fetches, and a period "
		    "of RFC 3339 times",
		    PL_OUTREACH_DEPOSITS_MAX, PL_OUTREACH_FETCHES_MAX);
	return 0;
}

/* Copies the checked input's fixed fields: checkpoint, parties, period. */
static void bundle_head(bundle *b, const pl_outreach_input *in)
{
	memcpy(b->vkey, in->relay_vkey, strlen(in->relay_vkey) + 1);
	memcpy(b->note, in->checkpoint_note, in->note_len);
	b->note_len = in->note_len;
	memcpy(b->prover_name, in->prover_name, strlen(in->prover_name) + 1);
	memcpy(b->peer_name, in->peer_name, strlen(in->peer_name) + 1);
	memcpy(b->prover_ik, in->prover->pk, PL_IK_LEN);
	memcpy(b->peer_ik, in->peer_ik, PL_IK_LEN);
	b->start = in->period_start;
	b->end = in->period_end;
	b->replies = in->replies_received;
}

/* Copies deposits and fetches, then sorts each by log index, the order the
 * file is written in. n_dep and n_fet count what bundle_free must release,
 * so they grow before each copy that may fail. */
static int bundle_entries(bundle *b, const pl_outreach_input *in, pl_err *e)
{
	b->dep = calloc(in->n_deps, sizeof *b->dep);
	b->fet = calloc(in->n_fetches ? in->n_fetches : 1, sizeof *b->fet);
	if (b->dep == NULL || b->fet == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	for (size_t i = 0; i < in->n_deps; i++) {
		const pl_proof_deposit *d = &in->deps[i];
		entry *x = &b->dep[i];
		b->n_dep = i + 1;
		if (take(x, d->leaf, d->leaf_len, d->index, d->proof, d->proof_len) != 0 ||
		    d->receipt == NULL || d->receipt_len == 0 ||
		    d->receipt_len > PL_OUTREACH_RECEIPT_MAX)
			return pl_err_set(
			    e, PL_EXIT_INPUT,
			    "deposit %zu has no leaf, proof or receipt parley can hold", i + 1);
		memcpy(x->ehash, d->envelope_hash, 32);
		x->receipt = malloc(d->receipt_len);
		if (x->receipt == NULL)
			return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		memcpy(x->receipt, d->receipt, d->receipt_len);
		x->receipt_len = d->receipt_len;
	}
	for (size_t i = 0; i < in->n_fetches; i++) {
		const pl_proof_fetch *f = &in->fetches[i];
		b->n_fet = i + 1;
		if (take(&b->fet[i], f->leaf, f->leaf_len, f->index, f->proof, f->proof_len) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  "fetch %zu has no leaf or proof parley can hold", i + 1);
	}
	qsort(b->dep, b->n_dep, sizeof *b->dep, cmp_entry);
	qsort(b->fet, b->n_fet, sizeof *b->fet, cmp_entry);
	return 0;
}

/* Signs the statement into b. */
static int bundle_sign(bundle *b, const pl_identity *prover, pl_err *e)
{
	uint8_t *m = NULL;
	size_t mlen = 0;
	if (statement_of(&m, &mlen, b) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	crypto_sign_detached(b->sig, NULL, m, mlen, prover->sk);
	free(m);
	return 0;
}

/* Runs the offline verifier over the exact bytes *out serialises to, so a
 * bundle that would fail is never handed out. */
static int self_verify(const json_t *out, const char *relay_vkey, pl_err *e)
{
	pl_err sub;
	size_t len;
	pl_err_clear(&sub);
	char *text = pl_export_dumps(out, &len);
	if (text == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc =
	    pl_outreach_proof_verify(NULL, (const uint8_t *)text, len, relay_vkey, NULL, 0, &sub);
	free(text);
	if (rc != 0)
		return pl_err_set(e, sub.code,
				  "refusing to write a proof that would not verify: %s", sub.msg);
	return 0;
}

int pl_outreach_proof_build(json_t **out, const pl_outreach_input *in, pl_err *e)
{
	*out = NULL;
	bundle *b = calloc(1, sizeof *b);
	if (b == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = -1;
	if (input_check(b, in, e) != 0)
		goto done;
	bundle_head(b, in);
	if (bundle_entries(b, in, e) != 0 || bundle_sign(b, in->prover, e) != 0)
		goto done;
	*out = bundle_json(b);
	if (*out == NULL) {
		pl_err_set(e, PL_EXIT_INPUT, "the proof's content cannot be written as JSON");
		goto done;
	}
	rc = self_verify(*out, in->relay_vkey, e);
done:
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	bundle_free(b);
	free(b);
	return rc;
}

/* --- summaries ---------------------------------------------------------------------- */

void pl_outreach_summary_print(FILE *out, const pl_outreach_summary *s)
{
	char t1[PL_EXPORT_TIME_BUF], t2[PL_EXPORT_TIME_BUF], t3[PL_EXPORT_TIME_BUF],
	    root[2 * PL_MERKLE_HASH_LEN + 1];
	const char *peer = s->peer_name, *prover = s->prover_name;
	size_t n = s->n_deposits;

	fprintf(out,
		"valid proof of outreach by \"%s\" to \"%s\" (names are the prover's labels)\n",
		prover, peer);
	fprintf(out, "  \"%s\" is the key with fingerprint %s\n", peer, s->peer_fp);
	fprintf(out, "  \"%s\" is the key with fingerprint %s\n", prover, s->prover_fp);
	if (s->used_embedded_key)
		fprintf(out,
			"  checked against the relay key inside the file, %s: no key was given, "
			"so compare it with the relay's published key\n",
			s->relay_vkey);
	else
		fprintf(out, "  checked against the relay key given, %s\n", s->relay_vkey);
	pl_hex_encode(root, s->checkpoint_root, PL_MERKLE_HASH_LEN);
	fprintf(out, "  relay log checkpoint: %llu leaves, root %s\n",
		(unsigned long long)s->checkpoint_size, root);

	pl_export_fmt_time(t1, s->first_deposit);
	pl_export_fmt_time(t2, s->last_deposit);
	fprintf(out, "proved by the log: %zu message%s deposited for %s ", n, n == 1 ? "" : "s",
		peer);
	if (n == 1)
		fprintf(out, "at %s", t1);
	else
		fprintf(out, "between %s and %s", t1, t2);
	if (s->n_fetched == n) {
		pl_export_fmt_time(t3, s->all_fetched_by);
		fprintf(out, ", %sfetched by %s's key by %s\n", n == 1 ? "" : "all ", peer, t3);
	} else if (s->n_fetched == 0) {
		fprintf(out, "; the log shows no fetch of %s by %s's key\n", n == 1 ? "it" : "them",
			peer);
	} else {
		fprintf(out, "; %zu of them fetched by %s's key\n", s->n_fetched, peer);
	}
	for (size_t i = 0; i < n; i++) {
		const pl_outreach_item *it = &s->items[i];
		char h[17];
		pl_hex_encode(h, it->envelope_hash, 8);
		pl_export_fmt_time(t1, it->time);
		fprintf(out,
			"  message %zu: envelope %s..., deposited %s (log leaf %llu, seq %llu), ",
			i + 1, h, t1, (unsigned long long)it->index, (unsigned long long)it->seq);
		if (it->fetched) {
			pl_export_fmt_time(t2, it->fetch_time);
			fprintf(out, "fetched by %s's key at %s (leaf %llu)\n", peer, t2,
				(unsigned long long)it->fetch_index);
		} else {
			fputs("not proven fetched\n", out);
		}
	}
	pl_export_fmt_time(t1, s->period_start);
	pl_export_fmt_time(t2, s->period_end);
	fprintf(out, "stated by %s (signed with its key): ", prover);
	if (s->replies_received == 0)
		fputs("no reply received", out);
	else
		fprintf(out, "%lu repl%s received", (unsigned long)s->replies_received,
			s->replies_received == 1 ? "y" : "ies");
	fprintf(out, " from %s between %s and %s\n", peer, t1, t2);
	fprintf(out,
		"note: sealed sender keeps the sender of a deposit from the log, so that %s sent "
		"these messages, and what it received, is %s's statement, not the log's; a reply "
		"%s says it sent would come with a relay receipt %s can show\n",
		prover, prover, peer, peer);
}

/* A JSON integer, or a decimal string past what JSON integers hold here. */
static json_t *u64_json(uint64_t v)
{
	char buf[24];
	if (v <= PL_JSON_INT_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	return json_string(buf);
}

json_t *pl_outreach_summary_json(const pl_outreach_summary *s)
{
	char root[2 * PL_MERKLE_HASH_LEN + 1], fp[PL_FINGERPRINT_LEN];
	json_t *j = json_object(), *items = json_array(), *prover = json_object(),
	       *peer = json_object();
	int bad = j == NULL || items == NULL || prover == NULL || peer == NULL;

	for (size_t i = 0; !bad && i < s->n_deposits; i++) {
		const pl_outreach_item *it = &s->items[i];
		json_t *o = json_object();
		bad = o == NULL || json_array_append_new(items, o) != 0 ||
		      pl_json_set(o, "index", u64_json(it->index)) ||
		      pl_json_set(o, "seq", u64_json(it->seq)) ||
		      pl_json_set(o, "deposited", pl_json_time(it->time)) ||
		      pl_json_set(o, "envelope_hash", pl_json_hex(it->envelope_hash, 32)) ||
		      pl_json_set(o, "fetched", json_boolean(it->fetched)) ||
		      pl_json_set(o, "fetched_at",
				  it->fetched && it->fetch_time <= PL_EXPORT_TIME_MAX
				      ? pl_json_time(it->fetch_time)
				      : json_null());
	}
	memcpy(fp, s->prover_fp, sizeof fp);
	bad = bad || pl_json_set(prover, "name", json_string(s->prover_name)) ||
	      pl_json_set(prover, "key", pl_json_hex(s->prover_ik, PL_IK_LEN)) ||
	      pl_json_set(prover, "fingerprint", json_string(fp));
	memcpy(fp, s->peer_fp, sizeof fp);
	bad = bad || pl_json_set(peer, "name", json_string(s->peer_name)) ||
	      pl_json_set(peer, "key", pl_json_hex(s->peer_ik, PL_IK_LEN)) ||
	      pl_json_set(peer, "fingerprint", json_string(fp)) ||
	      pl_json_set(peer, "mailbox", pl_json_hex(s->peer_mailbox, PL_MAILBOX_LEN));
	pl_hex_encode(root, s->checkpoint_root, PL_MERKLE_HASH_LEN);
	bad = bad || pl_json_set(j, "valid", json_true()) ||
	      pl_json_set(j, "format", json_string(PL_OUTREACH_FORMAT)) ||
	      pl_json_set(j, "names_are_labels_of", json_string("prover")) ||
	      json_object_set(j, "prover", prover) || json_object_set(j, "peer", peer) ||
	      pl_json_set(j, "relay_key", json_string(s->relay_vkey)) ||
	      pl_json_set(j, "relay_key_from",
			  json_string(s->used_embedded_key ? "file" : "given")) ||
	      pl_json_set(j, "checkpoint_size", u64_json(s->checkpoint_size)) ||
	      pl_json_set(j, "checkpoint_root", json_string(root)) ||
	      pl_json_set(j, "proved_deposits", json_integer((json_int_t)s->n_deposits)) ||
	      pl_json_set(j, "proved_fetched", json_integer((json_int_t)s->n_fetched)) ||
	      json_object_set(j, "deposits", items) ||
	      pl_json_set(j, "stated_period_start", pl_json_time(s->period_start)) ||
	      pl_json_set(j, "stated_period_end", pl_json_time(s->period_end)) ||
	      pl_json_set(j, "stated_replies_received", json_integer(s->replies_received));
	json_decref(items);
	json_decref(prover);
	json_decref(peer);
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}
