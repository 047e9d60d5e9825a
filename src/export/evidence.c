/*
 * evidence.c — the relay-evidence file: its JSON, the stored form of a leaf
 * half, the builder and the strict offline verifier (see evidence.h,
 * docs/PROTOCOL.md "Evidence against the relay").
 *
 * The verifier works in the order that gives the most useful reason and
 * costs the least on garbage: JSON shape (exact keys and types, canonical
 * hex and base64), then the file against what parley writes for the decoded
 * content, then the relay key, then every checkpoint signature and
 * inclusion proof, then the kind each statement claims against the kind
 * its signed content gives. The builder runs the same checks on what it
 * would return.
 *
 * It never echoes untrusted text that is not validated: reasons pass
 * pl_text_ok as one line before they are printed; everything else printed
 * is re-encoded from bytes.
 */
#include "export/evidence.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/text.h"

_Static_assert(PL_EVIDENCE_NOTE_MAX >= PL_LEAF_NOTE_MAX, "a file holds the relay's notes");
_Static_assert(PL_LEAF_MAX <= PL_JSON_HEX_MAX, "a leaf fits a hex field");

#define NOT_EVIDENCE "not a parley relay-evidence file: "

/* One half as decoded (structure only until side_check). */
typedef struct {
	pl_ev_side_kind kind;
	uint8_t note[PL_EVIDENCE_NOTE_MAX];
	size_t note_len;
	uint64_t index;
	uint8_t leaf[PL_LEAF_MAX];
	size_t leaf_len;
	uint8_t proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
	size_t proof_len;
	uint8_t *data; /* malloc'd */
	size_t data_len;
} side;

typedef struct {
	pl_ev_kind kind;
	char reason[PL_EVIDENCE_REASON_MAX + 1];
	uint64_t recorded;
	side a, b;
} stmt;

static const char *const kind_names[] = {"", "fork", "leaf", "report"};

static void stmts_free(stmt *s, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++) {
		free(s[i].a.data);
		free(s[i].b.data);
	}
	free(s);
}

void pl_evidence_summary_free(pl_evidence_summary *s)
{
	if (s == NULL)
		return;
	free(s->st);
	memset(s, 0, sizeof *s);
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

/* --- JSON ----------------------------------------------------------------------- */

static json_t *side_json(const side *s)
{
	json_t *j = json_object();
	if (j == NULL)
		return NULL;
	if (s->kind == PL_EV_SIDE_DATA) {
		if (pl_json_set(j, "data", pl_json_b64(s->data, s->data_len)) != 0)
			goto fail;
		return j;
	}
	if (pl_json_set(j, "checkpoint", json_stringn((const char *)s->note, s->note_len)) != 0)
		goto fail;
	if (s->kind == PL_EV_SIDE_CHECKPOINT)
		return j;
	if (pl_json_set(j, "index", json_integer((json_int_t)s->index)) != 0 ||
	    pl_json_set(j, "leaf", pl_json_hex(s->leaf, s->leaf_len)) != 0 ||
	    pl_json_set(j, "proof", json_array()) != 0)
		goto fail;
	for (size_t i = 0; i < s->proof_len; i++)
		if (json_array_append_new(json_object_get(j, "proof"),
					  pl_json_hex(s->proof[i], PL_MERKLE_HASH_LEN)) != 0)
			goto fail;
	return j;
fail:
	json_decref(j);
	return NULL;
}

static json_t *stmt_json(const stmt *s)
{
	json_t *j = json_object();
	if (j == NULL || pl_json_set(j, "kind", json_string(kind_names[s->kind])) != 0 ||
	    pl_json_set(j, "reason", json_string(s->reason)) != 0 ||
	    pl_json_set(j, "recorded", pl_json_time(s->recorded)) != 0 ||
	    pl_json_set(j, "a", side_json(&s->a)) != 0 ||
	    pl_json_set(j, "b", side_json(&s->b)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *file_json(const char *vkey, const stmt *st, size_t n)
{
	json_t *j = json_object(), *arr = json_array();
	if (j == NULL || arr == NULL ||
	    pl_json_set(j, "format", json_string(PL_EVIDENCE_FORMAT)) != 0 ||
	    pl_json_set(j, "version", json_integer(PL_EVIDENCE_VERSION)) != 0 ||
	    pl_json_set(j, "relay_key", json_string(vkey)) != 0 ||
	    pl_json_set(j, "statements", arr) != 0) {
		if (j == NULL || json_object_get(j, "statements") != arr)
			json_decref(arr);
		json_decref(j);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, stmt_json(&st[i])) != 0) {
			json_decref(j);
			return NULL;
		}
	return j;
}

/* Structure of one half; where names it in errors ("statement 3, half a"). */
static int side_decode(side *s, const json_t *j, const char *where, pl_err *e)
{
	static const char *const ck[] = {"checkpoint"};
	static const char *const lk[] = {"checkpoint", "index", "leaf", "proof"};
	static const char *const dk[] = {"data"};
	const char *w = where;

	memset(s, 0, sizeof *s);
	if (json_object_get(j, "data") != NULL) {
		if (pl_json_exact_keys(j, dk, 1, NOT_EVIDENCE, w, e) != 0)
			return -1;
		if (pl_json_b64_var(&s->data, &s->data_len, PL_EVIDENCE_DATA_MAX,
				    json_object_get(j, "data")) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_EVIDENCE "%s: data is not canonical base64 of 1 to "
						       "%d bytes",
					  w, PL_EVIDENCE_DATA_MAX);
		s->kind = PL_EV_SIDE_DATA;
		return 0;
	}
	int leaf = json_object_get(j, "index") != NULL;
	if (pl_json_exact_keys(j, leaf ? lk : ck, leaf ? 4 : 1, NOT_EVIDENCE, w, e) != 0)
		return -1;
	const json_t *jc = json_object_get(j, "checkpoint");
	if (!json_is_string(jc) || json_string_length(jc) == 0 ||
	    json_string_length(jc) > PL_EVIDENCE_NOTE_MAX)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_EVIDENCE "%s: checkpoint is not a signed note of at most %d "
					       "bytes",
				  w, PL_EVIDENCE_NOTE_MAX);
	s->note_len = json_string_length(jc);
	memcpy(s->note, json_string_value(jc), s->note_len);
	s->kind = PL_EV_SIDE_CHECKPOINT;
	if (!leaf)
		return 0;
	pl_leaf l;
	const json_t *jp = json_object_get(j, "proof");
	if (pl_json_uint_field(&s->index, PL_JSON_INT_MAX, json_object_get(j, "index")) != 0 ||
	    pl_json_hex_var(s->leaf, &s->leaf_len, PL_LEAF_MAX, json_object_get(j, "leaf")) != 0 ||
	    pl_leaf_decode(&l, s->leaf, s->leaf_len) != 0 || !json_is_array(jp) ||
	    json_array_size(jp) > PL_MERKLE_PROOF_MAX)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_EVIDENCE "%s needs an index (an integer), a leaf of the "
					       "relay log (lowercase hex) and a proof (at most %d "
					       "hashes)",
				  w, PL_MERKLE_PROOF_MAX);
	s->proof_len = json_array_size(jp);
	for (size_t i = 0; i < s->proof_len; i++)
		if (pl_json_hex_field(s->proof[i], PL_MERKLE_HASH_LEN, json_array_get(jp, i)) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_EVIDENCE "%s: proof hash %zu is not 64 lowercase hex "
						       "digits",
					  w, i + 1);
	s->kind = PL_EV_SIDE_LEAF;
	return 0;
}

/* --- checks ---------------------------------------------------------------------- */

/* Every signature and proof of a half under pk; fills its summary. */
static int side_check(pl_ev_side_summary *o, const side *s, const uint8_t pk[static 32],
		      const char *where, pl_err *e)
{
	pl_checkpoint c;
	memset(o, 0, sizeof *o);
	o->kind = s->kind;
	if (s->kind == PL_EV_SIDE_DATA) {
		o->data_len = s->data_len;
		return 0;
	}
	if (pl_leaf_checkpoint_open(&c, s->note, s->note_len, pk) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "%s: the checkpoint is not signed by the relay key of this file",
				  where);
	o->size = c.size;
	memcpy(o->root, c.root, PL_MERKLE_HASH_LEN);
	if (s->kind == PL_EV_SIDE_CHECKPOINT)
		return 0;
	o->index = s->index;
	pl_leaf_hash(o->leaf_hash, s->leaf, s->leaf_len);
	if (s->index >= c.size ||
	    pl_merkle_verify_inclusion(o->leaf_hash, s->index, c.size,
				       (const uint8_t(*)[PL_MERKLE_HASH_LEN])s->proof, s->proof_len,
				       c.root) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "%s: the leaf's inclusion proof does not reach the checkpoint's "
				  "root",
				  where);
	return 0;
}

static int has_tree(const pl_ev_side_summary *s)
{
	return s->kind == PL_EV_SIDE_CHECKPOINT || s->kind == PL_EV_SIDE_LEAF;
}

/* What the signed content of two checked halves proves. */
static pl_ev_kind kind_of(const pl_ev_side_summary *a, const pl_ev_side_summary *b)
{
	if (has_tree(a) && has_tree(b) && a->size == b->size &&
	    sodium_memcmp(a->root, b->root, PL_MERKLE_HASH_LEN) != 0)
		return PL_EV_FORK;
	if (a->kind == PL_EV_SIDE_LEAF && b->kind == PL_EV_SIDE_LEAF && a->index == b->index &&
	    sodium_memcmp(a->leaf_hash, b->leaf_hash, PL_MERKLE_HASH_LEN) != 0)
		return PL_EV_LEAF;
	return PL_EV_REPORT;
}

/* What a stored blob is under pk: a leaf half, a checkpoint signed by pk,
 * data, or (-1) something that cannot go in a file (a note or a leaf half
 * that does not verify under pk: another relay's, or damaged). */
static int classify(side *s, const uint8_t *p, size_t n, const uint8_t pk[static 32])
{
	pl_checkpoint c;
	pl_ev_side_summary o;

	memset(s, 0, sizeof *s);
	if (n > 0 && p[0] == '{' && n <= PL_EVIDENCE_SIDE_MAX) {
		json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
		int rc = j != NULL && side_decode(s, j, "a stored half", NULL) == 0 &&
				 s->kind == PL_EV_SIDE_LEAF
			     ? 0
			     : 1;
		json_decref(j);
		if (rc == 0)
			return side_check(&o, s, pk, "", NULL) == 0 ? 0 : -1;
		free(s->data);
		memset(s, 0, sizeof *s);
	}
	if (n > 0 && n <= PL_EVIDENCE_NOTE_MAX && pl_leaf_checkpoint_open(&c, p, n, pk) == 0) {
		s->kind = PL_EV_SIDE_CHECKPOINT;
		memcpy(s->note, p, n);
		s->note_len = n;
		return 0;
	}
	if (n == 0 || n > PL_EVIDENCE_DATA_MAX ||
	    (n >= sizeof PL_LEAF_ORIGIN_PREFIX - 1 &&
	     memcmp(p, PL_LEAF_ORIGIN_PREFIX, sizeof PL_LEAF_ORIGIN_PREFIX - 1) == 0))
		return -1;
	if ((s->data = malloc(n)) == NULL)
		return -1;
	memcpy(s->data, p, n);
	s->data_len = n;
	s->kind = PL_EV_SIDE_DATA;
	return 0;
}

/* A data half must be what classify makes data of: not a signed note of
 * the relay or of another key, not a leaf half. */
static int data_is_canonical(const side *s, const uint8_t pk[static 32])
{
	side t;
	int rc = classify(&t, s->data, s->data_len, pk);
	int ok = rc == 0 && t.kind == PL_EV_SIDE_DATA;
	free(t.data);
	return ok ? 0 : -1;
}

/* Every check of decoded statements under pk: fills the summaries. */
static int stmts_check(pl_ev_statement *out, const stmt *st, size_t n, const uint8_t pk[static 32],
		       pl_err *e)
{
	char wa[64], wb[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(wa, sizeof wa, "statement %zu, half a", i + 1);
		snprintf(wb, sizeof wb, "statement %zu, half b", i + 1);
		pl_ev_statement *o = &out[i];
		memset(o, 0, sizeof *o);
		if (side_check(&o->a, &st[i].a, pk, wa, e) != 0 ||
		    side_check(&o->b, &st[i].b, pk, wb, e) != 0)
			return -1;
		if ((st[i].a.kind == PL_EV_SIDE_DATA && data_is_canonical(&st[i].a, pk) != 0) ||
		    (st[i].b.kind == PL_EV_SIDE_DATA && data_is_canonical(&st[i].b, pk) != 0))
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "statement %zu holds as data a signed note or a leaf "
					  "half, which parley never writes as data",
					  i + 1);
		o->kind = kind_of(&o->a, &o->b);
		if (o->kind != st[i].kind)
			return pl_err_set(
			    e, PL_EXIT_SECURITY,
			    "statement %zu is marked \"%s\" but what the relay signed "
			    "in it makes it \"%s\"",
			    i + 1, kind_names[st[i].kind], kind_names[o->kind]);
		memcpy(o->reason, st[i].reason, sizeof o->reason);
		o->recorded = st[i].recorded;
	}
	return 0;
}

/* --- decoding a file ---------------------------------------------------------------- */

static int stmt_decode(stmt *s, const json_t *j, size_t i, pl_err *e)
{
	static const char *const keys[] = {"kind", "reason", "recorded", "a", "b"};
	char where[64], wa[64], wb[64];
	snprintf(where, sizeof where, "statement %zu", i + 1);
	snprintf(wa, sizeof wa, "statement %zu, half a", i + 1);
	snprintf(wb, sizeof wb, "statement %zu, half b", i + 1);
	if (pl_json_exact_keys(j, keys, 5, NOT_EVIDENCE, where, e) != 0)
		return -1;
	const char *k = json_string_value(json_object_get(j, "kind"));
	s->kind = 0;
	for (int t = PL_EV_FORK; k != NULL && t <= PL_EV_REPORT; t++)
		if (strcmp(k, kind_names[t]) == 0)
			s->kind = (pl_ev_kind)t;
	if (s->kind == 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_EVIDENCE "%s: kind must be \"fork\", \"leaf\" or \"report\"",
				  where);
	const json_t *jr = json_object_get(j, "reason");
	if (!json_is_string(jr) ||
	    pl_text_ok((const uint8_t *)json_string_value(jr), json_string_length(jr), 1,
		       PL_EVIDENCE_REASON_MAX, PL_TEXT_LINE) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_EVIDENCE
				  "%s: reason is not one line of 1 to %d bytes of text",
				  where, PL_EVIDENCE_REASON_MAX);
	memcpy(s->reason, json_string_value(jr), json_string_length(jr) + 1);
	if (pl_json_time_field(&s->recorded, json_object_get(j, "recorded")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_EVIDENCE "%s: recorded is not an RFC 3339 UTC time "
					       "(2026-11-28T03:13:43Z)",
				  where);
	if (side_decode(&s->a, json_object_get(j, "a"), wa, e) != 0 ||
	    side_decode(&s->b, json_object_get(j, "b"), wb, e) != 0)
		return -1;
	return 0;
}

/* Structure and canonical bytes; *st malloc'd (stmts_free) either way. */
static int file_decode(char vkey[static PL_NOTE_VKEY_MAX], pl_note_vkey *v, stmt **st, size_t *n,
		       const uint8_t *file, size_t len, pl_err *e)
{
	static const char *const keys[] = {"format", "version", "relay_key", "statements"};
	json_t *root = NULL, *canon = NULL;
	int rc = -1;

	*st = NULL;
	*n = 0;
	root = pl_json_load(file, len, NOT_EVIDENCE, e);
	if (root == NULL)
		return -1;
	if (pl_json_exact_keys(root, keys, 4, NOT_EVIDENCE, "the file", e) != 0 ||
	    pl_json_header_check(root, PL_EVIDENCE_FORMAT, PL_EVIDENCE_VERSION, NOT_EVIDENCE, e) !=
		0)
		goto done;
	const json_t *jk = json_object_get(root, "relay_key");
	if (relay_vkey_parse(v, json_string_value(jk), json_string_length(jk)) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_EVIDENCE "relay_key is not a parley relay log key "
					"(parley.relay/<hex>+<keyid>+<base64>)");
		goto done;
	}
	memcpy(vkey, json_string_value(jk), json_string_length(jk) + 1);
	const json_t *ja = json_object_get(root, "statements");
	if (!json_is_array(ja) || json_array_size(ja) == 0 ||
	    json_array_size(ja) > PL_EVIDENCE_MAX) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_EVIDENCE "statements must be a list of 1 to %d statements",
			   PL_EVIDENCE_MAX);
		goto done;
	}
	size_t cnt = json_array_size(ja);
	if ((*st = calloc(cnt, sizeof **st)) == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	*n = cnt;
	for (size_t i = 0; i < cnt; i++)
		if (stmt_decode(&(*st)[i], json_array_get(ja, i), i, e) != 0)
			goto done;
	canon = file_json(vkey, *st, cnt);
	if (canon == NULL) {
		pl_err_set(e, PL_EXIT_INPUT, NOT_EVIDENCE "its content cannot be written back");
		goto done;
	}
	if (pl_json_same_bytes(canon, file, len, NOT_EVIDENCE, e) != 0)
		goto done;
	rc = 0;
done:
	json_decref(root);
	json_decref(canon);
	return rc;
}

/* Every check but the "something is proved" rule; fills *s on success. */
static int file_check(pl_evidence_summary *s, const uint8_t *file, size_t len, const char *given,
		      pl_err *e)
{
	pl_note_vkey v, g;
	stmt *st = NULL;
	size_t n = 0;
	int rc = -1;

	memset(s, 0, sizeof *s);
	if (file_decode(s->relay_vkey, &v, &st, &n, file, len, e) != 0)
		goto done;
	if (given != NULL) {
		if (relay_vkey_parse(&g, given, strlen(given)) != 0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "the relay key given is not a parley relay log key "
				   "(parley.relay/<hex>+<keyid>+<base64>, as the relay publishes "
				   "it)");
			goto done;
		}
		if (sodium_memcmp(g.pk, v.pk, PL_NOTE_PK_LEN) != 0 ||
		    strcmp(given, s->relay_vkey) != 0) {
			pl_err_set(e, PL_EXIT_SECURITY,
				   "this evidence is against the relay key %s, not the one given",
				   s->relay_vkey);
			goto done;
		}
	}
	s->used_embedded_key = given == NULL;
	if ((s->st = calloc(n, sizeof *s->st)) == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	if (stmts_check(s->st, st, n, v.pk, e) != 0)
		goto done;
	s->n = n;
	for (size_t i = 0; i < n; i++)
		s->n_proved += s->st[i].kind != PL_EV_REPORT;
	rc = 0;
done:
	stmts_free(st, n);
	if (rc != 0)
		pl_evidence_summary_free(s);
	return rc;
}

int pl_evidence_verify(pl_evidence_summary *s, const uint8_t *file, size_t n,
		       const char *relay_vkey, pl_err *e)
{
	pl_evidence_summary tmp;
	pl_evidence_summary *t = s ? s : &tmp;
	if (file_check(t, file, n, relay_vkey, e) != 0)
		return -1;
	int rc = 0;
	if (t->n_proved == 0)
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"nothing in this file is provable offline: its %zu statement%s %s "
				"only what the vault that wrote it reports",
				t->n, t->n == 1 ? "" : "s", t->n == 1 ? "is" : "are");
	if (t != s)
		pl_evidence_summary_free(t);
	return rc;
}

/* --- the stored leaf half ----------------------------------------------------------- */

int pl_evidence_leaf_side(uint8_t **out, size_t *n, const uint8_t relay_pk[static 32],
			  const uint8_t *note, size_t notelen, uint64_t index, const uint8_t *leaf,
			  size_t leaflen, const uint8_t (*proof)[PL_MERKLE_HASH_LEN],
			  size_t prooflen)
{
	side *s = calloc(1, sizeof *s);
	pl_ev_side_summary o;
	pl_leaf l;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (s == NULL || notelen == 0 || notelen > PL_EVIDENCE_NOTE_MAX || leaflen == 0 ||
	    leaflen > PL_LEAF_MAX || pl_leaf_decode(&l, leaf, leaflen) != 0 ||
	    prooflen > PL_MERKLE_PROOF_MAX || index > PL_JSON_INT_MAX)
		goto done;
	s->kind = PL_EV_SIDE_LEAF;
	memcpy(s->note, note, notelen);
	s->note_len = notelen;
	s->index = index;
	memcpy(s->leaf, leaf, leaflen);
	s->leaf_len = leaflen;
	memcpy(s->proof, proof, prooflen * PL_MERKLE_HASH_LEN);
	s->proof_len = prooflen;
	if (side_check(&o, s, relay_pk, "", NULL) != 0)
		goto done;
	json_t *j = side_json(s);
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (text == NULL)
		goto done;
	*n = strlen(text);
	*out = (uint8_t *)text;
	rc = *n <= PL_EVIDENCE_SIDE_MAX ? 0 : -1;
	if (rc != 0) {
		free(text);
		*out = NULL;
		*n = 0;
	}
done:
	free(s);
	return rc;
}

/* --- building a file ------------------------------------------------------------------ */

static int side_same(const side *x, const side *y)
{
	if (x->kind != y->kind)
		return 0;
	if (x->kind == PL_EV_SIDE_DATA)
		return x->data_len == y->data_len && memcmp(x->data, y->data, x->data_len) == 0;
	if (x->note_len != y->note_len || memcmp(x->note, y->note, x->note_len) != 0)
		return 0;
	return x->kind == PL_EV_SIDE_CHECKPOINT ||
	       (x->index == y->index && x->leaf_len == y->leaf_len &&
		memcmp(x->leaf, y->leaf, x->leaf_len) == 0 && x->proof_len == y->proof_len &&
		memcmp(x->proof, y->proof, x->proof_len * PL_MERKLE_HASH_LEN) == 0);
}

/* A row as a statement under pk: 0, or -1 if it cannot go in a file. */
static int row_stmt(stmt *s, const pl_evidence_row *r, const uint8_t pk[static 32])
{
	pl_ev_side_summary a, b;
	memset(s, 0, sizeof *s);
	if (classify(&s->a, r->a, r->alen, pk) != 0 || classify(&s->b, r->b, r->blen, pk) != 0 ||
	    side_check(&a, &s->a, pk, "", NULL) != 0 || side_check(&b, &s->b, pk, "", NULL) != 0)
		return -1;
	s->kind = kind_of(&a, &b);
	const char *reason = r->reason && r->reason[0] ? r->reason : "(no reason recorded)";
	if (pl_text_ok((const uint8_t *)reason, strlen(reason), 1, PL_EVIDENCE_REASON_MAX,
		       PL_TEXT_LINE) != 0)
		reason = "(the recorded reason is not one line of text)";
	snprintf(s->reason, sizeof s->reason, "%s", reason);
	s->recorded = r->recorded > PL_EXPORT_TIME_MAX ? PL_EXPORT_TIME_MAX : r->recorded;
	return 0;
}

int pl_evidence_build(json_t **out, const uint8_t relay_pk[static 32], const pl_evidence_row *rows,
		      size_t n, pl_evidence_counts *c, pl_err *e)
{
	char vkey[PL_NOTE_VKEY_MAX];
	stmt *all = NULL, *st = NULL;
	size_t na = 0, ns = 0;
	pl_evidence_counts cnt;
	pl_evidence_summary chk;
	int rc = -1;

	*out = NULL;
	memset(&cnt, 0, sizeof cnt);
	memset(&chk, 0, sizeof chk);
	if (pl_leaf_log_vkey_string(vkey, relay_pk) != 0)
		return pl_err_set(e, PL_EXIT_INPUT, "the relay key is not a valid Ed25519 key");
	if (n > 0 &&
	    ((all = calloc(n, sizeof *all)) == NULL ||
	     (st = calloc(n < PL_EVIDENCE_MAX ? n : PL_EVIDENCE_MAX, sizeof *st)) == NULL)) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (row_stmt(&all[na], &rows[i], relay_pk) != 0) {
			free(all[na].a.data);
			free(all[na].b.data);
			cnt.skipped++;
			continue;
		}
		size_t k = 0;
		while (k < na &&
		       !(all[k].kind == all[na].kind && side_same(&all[k].a, &all[na].a) &&
			 side_same(&all[k].b, &all[na].b)))
			k++;
		if (k < na) {
			free(all[na].a.data);
			free(all[na].b.data);
			cnt.duplicates++;
			continue;
		}
		na++;
	}
	/* proved first, in the order kept; then reports, up to the cap */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < na; i++) {
			if ((all[i].kind == PL_EV_REPORT) != pass)
				continue;
			if (ns == PL_EVIDENCE_MAX) {
				cnt.skipped++;
				continue;
			}
			st[ns] = all[i];
			memset(&all[i].a, 0, sizeof all[i].a); /* moved: data owned by st */
			memset(&all[i].b, 0, sizeof all[i].b);
			if (pass == 0)
				cnt.proved++;
			else
				cnt.reported++;
			ns++;
		}
	if (ns == 0) {
		pl_err_set(e, PL_EXIT_NOTFOUND,
			   "none of the stored evidence is signed by the relay key this vault "
			   "pinned (%s)",
			   vkey);
		goto done;
	}
	*out = file_json(vkey, st, ns);
	if (*out == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	/* the verifier's own checks on the exact bytes a reader will get */
	size_t len;
	char *text = pl_export_dumps(*out, &len);
	pl_err sub;
	pl_err_clear(&sub);
	if (text == NULL || file_check(&chk, (const uint8_t *)text, len, NULL, &sub) != 0 ||
	    chk.n_proved != cnt.proved) {
		free(text);
		json_decref(*out);
		*out = NULL;
		pl_err_set(e, PL_EXIT_ERROR, "the evidence file built does not verify (%s)",
			   sub.msg[0] ? sub.msg : "out of memory");
		goto done;
	}
	free(text);
	if (c)
		*c = cnt;
	rc = 0;
done:
	pl_evidence_summary_free(&chk);
	stmts_free(all, na);
	stmts_free(st, ns);
	return rc;
}

/* --- summaries -------------------------------------------------------------------------- */

static void short_hex(char out[static 17], const uint8_t *p)
{
	char full[2 * PL_MERKLE_HASH_LEN + 1];
	pl_hex_encode(full, p, PL_MERKLE_HASH_LEN);
	memcpy(out, full, 16);
	out[16] = '\0';
}

static void print_side(FILE *out, const char *name, const pl_ev_side_summary *s)
{
	char r[17], l[17];
	short_hex(r, s->root);
	short_hex(l, s->leaf_hash);
	switch (s->kind) {
	case PL_EV_SIDE_CHECKPOINT:
		fprintf(out, "     %s: the relay signed a tree of %llu leaves, root %s...\n", name,
			(unsigned long long)s->size, r);
		break;
	case PL_EV_SIDE_LEAF:
		fprintf(out,
			"     %s: the relay signed a tree of %llu leaves, root %s..., with leaf "
			"%llu = %s... (proved)\n",
			name, (unsigned long long)s->size, r, (unsigned long long)s->index, l);
		break;
	case PL_EV_SIDE_DATA:
		fprintf(out, "     %s: %zu bytes the vault kept, signed by no one\n", name,
			s->data_len);
		break;
	}
}

void pl_evidence_summary_print(FILE *out, const pl_evidence_summary *s)
{
	char t[PL_EXPORT_TIME_BUF];
	fprintf(out, "evidence against the relay with log key %s\n", s->relay_vkey);
	if (s->used_embedded_key)
		fprintf(out, "  checked against the key inside the file: compare it with the "
			     "relay's published key (parley-relay --print-key) or the one your "
			     "vault pinned\n");
	else
		fprintf(out, "  checked against the relay key given\n");
	for (size_t i = 0; i < s->n; i++) {
		const pl_ev_statement *x = &s->st[i];
		switch (x->kind) {
		case PL_EV_FORK:
			fprintf(out,
				"  %zu. proved: the relay signed two different trees of %llu "
				"leaves (a fork)\n",
				i + 1, (unsigned long long)x->a.size);
			break;
		case PL_EV_LEAF:
			fprintf(out,
				"  %zu. proved: the relay signed trees of %llu and %llu leaves "
				"that hold different leaves at index %llu (its log was "
				"rewritten)\n",
				i + 1, (unsigned long long)x->a.size, (unsigned long long)x->b.size,
				(unsigned long long)x->a.index);
			break;
		default:
			fprintf(out,
				"  %zu. not provable offline, reported by the vault that wrote "
				"this file\n",
				i + 1);
		}
		print_side(out, "a", &x->a);
		print_side(out, "b", &x->b);
		pl_export_fmt_time(t, x->recorded);
		fprintf(out, "     the vault's words (not signed): the relay %s; recorded %s\n",
			x->reason, t);
	}
	if (s->n_proved > 0)
		fprintf(out,
			"%zu of %zu statement%s proved by the relay's own signatures: it forked or "
			"rewrote its log\n",
			s->n_proved, s->n, s->n == 1 ? "" : "s");
	else
		fprintf(out, "nothing in this file is provable offline\n");
}

static json_t *side_summary_json(const pl_ev_side_summary *s)
{
	json_t *j = json_object();
	static const char *const names[] = {"", "checkpoint", "leaf", "data"};
	pl_json_set(j, "kind", json_string(names[s->kind]));
	if (s->kind == PL_EV_SIDE_DATA) {
		pl_json_set(j, "bytes", json_integer((json_int_t)s->data_len));
		return j;
	}
	pl_json_set(j, "size", json_integer((json_int_t)s->size));
	pl_json_set(j, "root", pl_json_hex(s->root, PL_MERKLE_HASH_LEN));
	if (s->kind == PL_EV_SIDE_LEAF) {
		pl_json_set(j, "index", json_integer((json_int_t)s->index));
		pl_json_set(j, "leaf_hash", pl_json_hex(s->leaf_hash, PL_MERKLE_HASH_LEN));
	}
	return j;
}

json_t *pl_evidence_summary_json(const pl_evidence_summary *s)
{
	json_t *j = json_object(), *arr = json_array();
	if (j == NULL || arr == NULL) {
		json_decref(j);
		json_decref(arr);
		return NULL;
	}
	pl_json_set(j, "valid", json_boolean(s->n_proved > 0));
	pl_json_set(j, "format", json_string(PL_EVIDENCE_FORMAT));
	pl_json_set(j, "relay_key", json_string(s->relay_vkey));
	pl_json_set(j, "key_given", json_boolean(!s->used_embedded_key));
	pl_json_set(j, "proved", json_integer((json_int_t)s->n_proved));
	for (size_t i = 0; i < s->n; i++) {
		const pl_ev_statement *x = &s->st[i];
		json_t *o = json_object();
		pl_json_set(o, "kind", json_string(kind_names[x->kind]));
		pl_json_set(o, "proved", json_boolean(x->kind != PL_EV_REPORT));
		pl_json_set(o, "reason", json_string(x->reason));
		pl_json_set(o, "recorded", pl_json_time(x->recorded));
		pl_json_set(o, "a", side_summary_json(&x->a));
		pl_json_set(o, "b", side_summary_json(&x->b));
		json_array_append_new(arr, o);
	}
	pl_json_set(j, "statements", arr);
	return j;
}
