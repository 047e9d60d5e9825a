/*
 * agreement.c — the agreement export file (a proposal and its acceptance,
 * both signed), its strict verifier and its summaries (see agreement.h,
 * docs/NEGOTIATION.md "Files").
 *
 * A file is checked in the order that gives the most useful reason: JSON
 * shape (exact keys, canonical base64), then both signed objects, then how
 * they bind together, then that the file is byte for byte what parley
 * would write, which makes an edit anywhere fail even where JSON would not
 * care. It must never report an agreement valid unless both signatures
 * verified and the acceptance names the proposal's exact bytes.
 */
#include "export/agreement.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log/leaf.h"
#include "crypto/kdf.h"
#include "export/terms.h"
#include "log/receipt.h"
#include "util/codec.h"
#include "util/wire.h"

#define NOT_AGREEMENT "not a parley agreement file: "

/* What a version 2 file adds: the receipt and the key it verifies under. */
typedef struct {
	const pl_receipt *r; /* NULL: version 1 */
	const uint8_t *pk;
	const char *vkey;
	const uint8_t *bytes; /* the receipt as carried */
	size_t len;
} proof_of_time;

static void fp_short(char out[static 12], const char fp[static PL_FINGERPRINT_LEN])
{
	memcpy(out, fp, 11);
	out[11] = '\0';
}

static json_t *agreement_json(const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an,
			      const proof_of_time *t, const uint8_t *gb, size_t gn)
{
	json_t *j = json_object();
	if (j == NULL || json_object_set_new(j, "format", json_string(PL_AGREEMENT_FORMAT)) ||
	    json_object_set_new(
		j, "version",
		json_integer(t->r ? PL_AGREEMENT_VERSION_PROVED : PL_EXPORT_VERSION)) ||
	    json_object_set_new(j, "proposal", pl_json_b64(pb, pn)) ||
	    json_object_set_new(j, "acceptance", pl_json_b64(ab, an)) ||
	    (t->r && (json_object_set_new(j, "relay_key", json_string(t->vkey)) ||
		      json_object_set_new(j, "receipt", pl_json_b64(t->bytes, t->len)))) ||
	    (gb && json_object_set_new(j, "guarantee", pl_json_b64(gb, gn)))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The guarantee's checks: G (decoded from gb) is a guarantee signed by the
 * mediator the proposal P names, addressed to one of the two parties,
 * naming P (id, phash) and the acceptance A (id, SHA-256 of ab). */
static int guarantee_check(pl_obj *G, const pl_obj *P, const uint8_t phash[PL_OBJ_HASH_LEN],
			   const pl_obj *A, const uint8_t *ab, size_t an, const uint8_t *gb,
			   size_t gn, pl_err *e)
{
	uint8_t ah[PL_OBJ_HASH_LEN];
	pl_err sub;
	pl_err_clear(&sub);
	if (pl_obj_decode_signed(G, gb, gn, &sub) != 0)
		return sub.code == PL_EXIT_SECURITY
			   ? pl_err_set(e, PL_EXIT_SECURITY,
					"the guarantee's signature does not verify")
			   : pl_err_set(e, PL_EXIT_INPUT,
					NOT_AGREEMENT "the guarantee is not a valid signed "
						      "object (%s)",
					sub.msg);
	if (G->type != PL_OBJ_GUARANTEE)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the guarantee field holds a signed %s, not a guarantee",
				  pl_obj_type_to_str(G->type));
	const pl_proposal *b = &P->u.proposal;
	if (!b->has_mediator)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the proposal names no mediator, so nobody can guarantee it");
	if (memcmp(G->author_ik, b->mediator_ik, PL_IK_LEN) != 0) {
		char f1[PL_FINGERPRINT_LEN], f2[PL_FINGERPRINT_LEN];
		pl_fingerprint(f1, G->author_ik);
		pl_fingerprint(f2, b->mediator_ik);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the guarantee was signed by %s, not by the mediator the "
				  "proposal names (%s)",
				  f1, f2);
	}
	if (memcmp(G->recipient_ik, P->author_ik, PL_IK_LEN) != 0 &&
	    memcmp(G->recipient_ik, P->recipient_ik, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the guarantee is addressed to neither party of the agreement");
	pl_obj_hash(ah, ab, an);
	const pl_guarantee *g = &G->u.guarantee;
	if (memcmp(g->proposal_id, P->id, PL_OBJ_ID_LEN) != 0 ||
	    memcmp(g->proposal_hash, phash, PL_OBJ_HASH_LEN) != 0 ||
	    memcmp(g->acceptance_id, A->id, PL_OBJ_ID_LEN) != 0 ||
	    memcmp(g->acceptance_hash, ah, PL_OBJ_HASH_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the guarantee names another proposal or acceptance than the "
				  "file's");
	if (G->created < A->created)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the guarantee is dated before the acceptance it guarantees");
	return 0;
}

/* 0 iff s[0..len) is the verifier key of a parley relay log: a valid vkey
 * whose name is the origin derived from its public key. */
static int relay_vkey_parse(pl_note_vkey *v, const char *s, size_t len)
{
	char origin[PL_LEAF_ORIGIN_LEN + 1];
	if (s == NULL || len >= PL_NOTE_VKEY_MAX || strlen(s) != len ||
	    pl_note_vkey_parse(v, s, len) != 0)
		return -1;
	pl_leaf_origin(origin, v->pk);
	return strcmp(origin, v->name) == 0 ? 0 : -1;
}

/* The receipt's checks: it verifies under the relay key, it is a deposit
 * into the proposer's mailbox, and it was logged by the proposal's expiry. */
static int receipt_check(const pl_obj *P, const proof_of_time *t, pl_err *e)
{
	char t1[PL_EXPORT_TIME_BUF], t2[PL_EXPORT_TIME_BUF];
	uint8_t mbx[PL_MAILBOX_LEN];
	if (pl_receipt_verify(t->r, t->pk, NULL) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the deposit receipt does not verify under the relay key %s",
				  t->vkey);
	pl_mailbox_id(mbx, P->author_ik);
	if (sodium_memcmp(mbx, t->r->mbx, sizeof mbx) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the deposit receipt is of a deposit into another mailbox than "
				  "the proposer's");
	if (P->u.proposal.expires != 0 && t->r->time > P->u.proposal.expires) {
		pl_export_fmt_time(t1, P->u.proposal.expires);
		pl_export_fmt_time(t2, t->r->time);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the proposal had expired when the acceptance reached the relay "
				  "(expires %s, relay log time of the deposit %s)",
				  t1, t2);
	}
	return 0;
}

/* Decodes a signed object of a file, naming the field in the error. */
static int field_obj(pl_obj *o, const uint8_t *b, size_t n, const char *field, const char *prefix,
		     pl_err *e)
{
	pl_err sub;
	pl_err_clear(&sub);
	if (pl_obj_decode_signed(o, b, n, &sub) == 0)
		return 0;
	if (sub.code == PL_EXIT_SECURITY)
		return pl_err_set(e, PL_EXIT_SECURITY, "the %s's signature does not verify", field);
	return pl_err_set(e, PL_EXIT_INPUT, "%sthe %s is not a valid signed object (%s)", prefix,
			  field, sub.msg);
}

/* Every check of an agreement on its two signed objects; fills P and A. */
static int agreement_check(pl_obj *P, pl_obj *A, uint8_t phash[static PL_OBJ_HASH_LEN],
			   const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an,
			   const proof_of_time *t, pl_err *e)
{
	char f1[PL_FINGERPRINT_LEN], f2[PL_FINGERPRINT_LEN];
	char t1[PL_EXPORT_TIME_BUF], t2[PL_EXPORT_TIME_BUF];

	if (field_obj(P, pb, pn, "proposal", NOT_AGREEMENT, e) != 0 ||
	    field_obj(A, ab, an, "acceptance", NOT_AGREEMENT, e) != 0)
		return -1;
	if (P->type != PL_OBJ_PROPOSAL)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the proposal field holds a signed %s, not a proposal",
				  pl_obj_type_to_str(P->type));
	if (A->type != PL_OBJ_RESPONSE)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the acceptance field holds a signed %s, not a response",
				  pl_obj_type_to_str(A->type));
	if (A->u.response.kind != PL_RESP_ACCEPT)
		return pl_err_set(e, PL_EXIT_SECURITY, "the response is a %s, not an acceptance",
				  A->u.response.kind == PL_RESP_REJECT ? "rejection"
								       : "withdrawal");
	pl_obj_hash(phash, pb, pn);
	if (memcmp(A->u.response.target_id, P->id, PL_OBJ_ID_LEN) != 0 ||
	    memcmp(A->u.response.target_hash, phash, PL_OBJ_HASH_LEN) != 0) {
		char want[PL_OBJ_ID_HEX_LEN], got[PL_OBJ_ID_HEX_LEN];
		pl_obj_id_hex(want, P->id);
		pl_obj_id_hex(got, A->u.response.target_id);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the acceptance names a different proposal (%s%s, the file's "
				  "proposal is %s)",
				  got, strcmp(want, got) == 0 ? " with another hash" : "", want);
	}
	if (memcmp(A->author_ik, P->recipient_ik, PL_IK_LEN) != 0) {
		pl_fingerprint(f1, A->author_ik);
		pl_fingerprint(f2, P->recipient_ik);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the acceptance was signed by %s but the proposal was addressed "
				  "to %s",
				  f1, f2);
	}
	if (memcmp(A->recipient_ik, P->author_ik, PL_IK_LEN) != 0) {
		pl_fingerprint(f1, A->recipient_ik);
		pl_fingerprint(f2, P->author_ik);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the acceptance is addressed to %s but the proposal was made by "
				  "%s",
				  f1, f2);
	}
	if (A->created < P->created) {
		pl_export_fmt_time(t1, P->created);
		pl_export_fmt_time(t2, A->created);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the acceptance is dated before the proposal it accepts "
				  "(proposed %s, accepted %s)",
				  t1, t2);
	}
	if (t->r)
		return receipt_check(P, t, e);
	if (P->u.proposal.expires != 0 && A->created > P->u.proposal.expires) {
		pl_export_fmt_time(t1, P->u.proposal.expires);
		pl_export_fmt_time(t2, A->created);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the proposal had expired when it was accepted (expires %s, "
				  "accepted %s by the accepter's own clock)",
				  t1, t2);
	}
	return 0;
}

static int write_any(json_t **out, const uint8_t *proposal_signed, size_t proposal_len,
		     const uint8_t *acceptance_signed, size_t acceptance_len,
		     const proof_of_time *t, pl_err *e)
{
	uint8_t h[PL_OBJ_HASH_LEN];
	pl_obj *P = malloc(sizeof *P), *A = malloc(sizeof *A);
	int rc = -1;

	*out = NULL;
	if (P == NULL || A == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	if (agreement_check(P, A, h, proposal_signed, proposal_len, acceptance_signed,
			    acceptance_len, t, e) != 0)
		goto done;
	*out = agreement_json(proposal_signed, proposal_len, acceptance_signed, acceptance_len, t,
			      NULL, 0);
	if (*out == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	rc = 0;
done:
	free(P);
	free(A);
	return rc;
}

int pl_agreement_write(json_t **out, const uint8_t *proposal_signed, size_t proposal_len,
		       const uint8_t *acceptance_signed, size_t acceptance_len, pl_err *e)
{
	proof_of_time t = {NULL, NULL, NULL, NULL, 0};
	return write_any(out, proposal_signed, proposal_len, acceptance_signed, acceptance_len, &t,
			 e);
}

int pl_agreement_write_proved(json_t **out, const uint8_t *proposal_signed, size_t proposal_len,
			      const uint8_t *acceptance_signed, size_t acceptance_len,
			      const uint8_t *receipt, size_t receipt_len,
			      const uint8_t relay_pk[static 32], pl_err *e)
{
	char vkey[PL_NOTE_VKEY_MAX];
	*out = NULL;
	pl_receipt *r = malloc(sizeof *r);
	if (r == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = -1;
	if (pl_leaf_log_vkey_string(vkey, relay_pk) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "the relay's log key cannot be written");
	} else if (pl_receipt_decode(r, receipt, receipt_len) != 0) {
		pl_err_set(e, PL_EXIT_INPUT, "the acceptance's deposit receipt is malformed");
	} else {
		proof_of_time t = {r, relay_pk, vkey, receipt, receipt_len};
		rc = write_any(out, proposal_signed, proposal_len, acceptance_signed,
			       acceptance_len, &t, e);
	}
	free(r);
	return rc;
}

/* --- the parties' names ------------------------------------------------------ */

static const char *names_by_str(int by)
{
	return by == PL_AGREEMENT_PROPOSER   ? "proposer"
	       : by == PL_AGREEMENT_ACCEPTER ? "accepter"
					     : NULL;
}

/* The message the exporter signs over the names (agreement.h). */
static int names_msg(pl_wr *w, const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an,
		     const char *proposer, const char *accepter)
{
	uint8_t h[PL_OBJ_HASH_LEN];
	pl_wr_init(w);
	pl_wr_bytes(w, (const uint8_t *)PL_AGREEMENT_NAMES_TAG, sizeof PL_AGREEMENT_NAMES_TAG - 1);
	pl_sha256(h, pb, pn);
	pl_wr_bytes(w, h, sizeof h);
	pl_sha256(h, ab, an);
	pl_wr_bytes(w, h, sizeof h);
	pl_wr_var(w, (const uint8_t *)proposer, strlen(proposer));
	pl_wr_var(w, (const uint8_t *)accepter, strlen(accepter));
	return pl_wr_ok(w);
}

static int names_json(json_t *j, int by, const char *proposer, const char *accepter,
		      const uint8_t sig[static PL_SIG_LEN])
{
	json_t *nm = json_object();
	if (nm == NULL || json_object_set_new(nm, "proposer", json_string(proposer)) ||
	    json_object_set_new(nm, "accepter", json_string(accepter)) ||
	    json_object_set_new(j, "names", nm) ||
	    json_object_set_new(j, "names_signed_by", json_string(names_by_str(by))) ||
	    json_object_set_new(j, "names_signature", pl_json_hex(sig, PL_SIG_LEN)))
		return -1;
	return 0;
}

int pl_agreement_attach_names(json_t *j, const pl_agreement_summary *s)
{
	if (s->names_by == 0)
		return 0;
	return names_json(j, s->names_by, s->proposer_name, s->accepter_name, s->names_sig);
}

int pl_agreement_add_names(json_t *j, const pl_identity *exporter, const char *my_name,
			   const char *peer_name, pl_err *e)
{
	uint8_t *pb = NULL, *ab = NULL, sig[PL_SIG_LEN];
	size_t pn = 0, an = 0;
	pl_obj *P = malloc(sizeof *P);
	pl_wr w;
	int rc = -1;

	pl_wr_init(&w);
	if (P == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	if (pl_export_name_ok(my_name, strlen(my_name)) != 0 ||
	    pl_export_name_ok(peer_name, strlen(peer_name)) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "a party's name in an agreement must be one line of 1 to %d bytes",
			   PL_EXPORT_NAME_MAX);
		goto done;
	}
	if (json_object_get(j, "names") != NULL ||
	    pl_json_b64_var(&pb, &pn, PL_OBJ_SIGNED_MAX, json_object_get(j, "proposal")) != 0 ||
	    pl_json_b64_var(&ab, &an, PL_OBJ_SIGNED_MAX, json_object_get(j, "acceptance")) != 0 ||
	    pl_obj_decode_signed(P, pb, pn, NULL) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "not an agreement as pl_agreement_write builds it");
		goto done;
	}
	int by = memcmp(exporter->pk, P->author_ik, PL_IK_LEN) == 0	 ? PL_AGREEMENT_PROPOSER
		 : memcmp(exporter->pk, P->recipient_ik, PL_IK_LEN) == 0 ? PL_AGREEMENT_ACCEPTER
									 : 0;
	if (by == 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "only one of the two parties can name the parties of an agreement");
		goto done;
	}
	const char *pname = by == PL_AGREEMENT_PROPOSER ? my_name : peer_name;
	const char *aname = by == PL_AGREEMENT_PROPOSER ? peer_name : my_name;
	if (names_msg(&w, pb, pn, ab, an, pname, aname) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	crypto_sign_detached(sig, NULL, w.p, w.n, exporter->sk);
	if (names_json(j, by, pname, aname, sig) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	rc = 0;
done:
	pl_wr_free(&w);
	free(P);
	free(pb);
	free(ab);
	return rc;
}

/* A file's names: exact shape, names as pl_export_name_ok, and the
 * exporter's signature under the key of the party it says it is. */
static int names_fields(pl_agreement_summary *t, const json_t *root, const uint8_t *pb, size_t pn,
			const uint8_t *ab, size_t an, pl_err *e)
{
	static const char *const nk[] = {"proposer", "accepter"};
	const json_t *nm = json_object_get(root, "names");
	const char *by = json_string_value(json_object_get(root, "names_signed_by"));
	if (pl_json_exact_keys(nm, nk, 2, NOT_AGREEMENT, "names", e) != 0)
		return -1;
	const json_t *jp = json_object_get(nm, "proposer"), *ja = json_object_get(nm, "accepter");
	if (pl_export_name_ok(json_string_value(jp), json_string_length(jp)) != 0 ||
	    pl_export_name_ok(json_string_value(ja), json_string_length(ja)) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_AGREEMENT "a name is not one line of text of 1 to %d bytes",
				  PL_EXPORT_NAME_MAX);
	t->names_by = by == NULL		    ? 0
		      : strcmp(by, "proposer") == 0 ? PL_AGREEMENT_PROPOSER
		      : strcmp(by, "accepter") == 0 ? PL_AGREEMENT_ACCEPTER
						    : 0;
	if (t->names_by == 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_AGREEMENT "names_signed_by is not proposer or accepter");
	if (pl_json_hex_field(t->names_sig, PL_SIG_LEN, json_object_get(root, "names_signature")) !=
	    0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_AGREEMENT "names_signature is not 64 bytes in lowercase hex");
	snprintf(t->proposer_name, sizeof t->proposer_name, "%s", json_string_value(jp));
	snprintf(t->accepter_name, sizeof t->accepter_name, "%s", json_string_value(ja));
	pl_wr w;
	if (names_msg(&w, pb, pn, ab, an, t->proposer_name, t->accepter_name) != 0) {
		pl_wr_free(&w);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	const uint8_t *k =
	    t->names_by == PL_AGREEMENT_PROPOSER ? t->proposal.author_ik : t->acceptance.author_ik;
	int bad = crypto_sign_verify_detached(t->names_sig, w.p, w.n, k) != 0;
	pl_wr_free(&w);
	if (bad)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the signature on the parties' names does not verify under the "
				  "%s's key (names changed after export?)",
				  by);
	return 0;
}

int pl_agreement_verify(pl_agreement_summary *s, const uint8_t *file, size_t n,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e)
{
	return pl_agreement_verify_ex(s, file, n, NULL, expect, n_expect, e);
}

/* A version 2 file's relay key and receipt, decoded and checked against
 * the key the caller gave (if any); fills t (r, pk, vkey, bytes). */
static int proof_fields(json_t *root, const char *given, pl_receipt *r, pl_note_vkey *v,
			uint8_t **rb, size_t *rn, proof_of_time *t, pl_err *e)
{
	const json_t *jk = json_object_get(root, "relay_key");
	if (relay_vkey_parse(v, json_string_value(jk), json_string_length(jk)) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_AGREEMENT "relay_key is not a parley relay log key");
	if (given != NULL) {
		pl_note_vkey g;
		if (relay_vkey_parse(&g, given, strlen(given)) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  "the relay key given is not a parley relay log key "
					  "(parley.relay/<hex>+<keyid>+<base64>, as the relay "
					  "publishes it)");
		if (sodium_memcmp(g.pk, v->pk, PL_NOTE_PK_LEN) != 0 ||
		    strcmp(given, json_string_value(jk)) != 0)
			return pl_err_set(
			    e, PL_EXIT_SECURITY,
			    "this agreement's receipt is for the relay key %s, not the "
			    "one given",
			    json_string_value(jk));
	}
	if (pl_json_b64_var(rb, rn, PL_RECEIPT_MAX, json_object_get(root, "receipt")) != 0 ||
	    pl_receipt_decode(r, *rb, *rn) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_AGREEMENT "the receipt is not a relay deposit receipt in "
						"canonical base64");
	t->r = r;
	t->pk = v->pk;
	t->vkey = json_string_value(jk);
	t->bytes = *rb;
	t->len = *rn;
	return 0;
}

/* --- proximity talks: custody records ----------------------------------- */

/* Which of the two signed objects the verified record c names (its id,
 * hash, author and recipient): PL_AGREEMENT_PROPOSER for the proposal,
 * _ACCEPTER for the acceptance, 0 for neither. */
static int custody_binds(const pl_custody *c, const uint8_t *pb, size_t pn, const uint8_t *ab,
			 size_t an)
{
	const uint8_t *b[2] = {pb, ab};
	size_t n[2] = {pn, an};
	if (c->what != PL_CARRY_OBJECT)
		return 0;
	for (int i = 0; i < 2; i++) {
		uint8_t h[PL_OBJ_HASH_LEN];
		if (n[i] < PL_OBJ_HEADER_LEN)
			continue;
		pl_obj_hash(h, b[i], n[i]);
		/* header: version, type, id, author, recipient */
		if (sodium_memcmp(h, c->hash, sizeof h) == 0 &&
		    memcmp(b[i] + 2, c->id, PL_OBJ_ID_LEN) == 0 &&
		    memcmp(b[i] + 2 + PL_OBJ_ID_LEN, c->author_ik, PL_IK_LEN) == 0 &&
		    memcmp(b[i] + 2 + PL_OBJ_ID_LEN + PL_IK_LEN, c->recipient_ik, PL_IK_LEN) == 0)
			return i == 0 ? PL_AGREEMENT_PROPOSER : PL_AGREEMENT_ACCEPTER;
	}
	return 0;
}

int pl_agreement_add_custody(json_t *j, const uint8_t *rec, size_t n, pl_err *e)
{
	uint8_t *pb = NULL, *ab = NULL;
	size_t pn = 0, an = 0;
	pl_custody *c = calloc(1, sizeof *c);
	int rc = -1;
	if (c == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (pl_json_b64_var(&pb, &pn, PL_OBJ_SIGNED_MAX, json_object_get(j, "proposal")) != 0 ||
	    pl_json_b64_var(&ab, &an, PL_OBJ_SIGNED_MAX, json_object_get(j, "acceptance")) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "internal error: custody added to no agreement");
		goto out;
	}
	if (pl_custody_record_decode(c, rec, n, e) != 0)
		goto out;
	int which = custody_binds(c, pb, pn, ab, an);
	json_t *arr = json_object_get(j, "custody");
	if (which == 0 || (which == PL_AGREEMENT_PROPOSER && arr != NULL) ||
	    json_array_size(arr) >= 2) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "a custody record names neither the proposal nor the acceptance, or "
			   "comes out of order; nothing was exported");
		goto out;
	}
	if (arr == NULL) {
		arr = json_array();
		if (arr == NULL || json_object_set_new(j, "custody", arr) != 0) {
			pl_err_set(e, PL_EXIT_ERROR, "out of memory");
			goto out;
		}
	}
	if (json_array_append_new(arr, pl_json_b64(rec, n)) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(c);
	free(pb);
	free(ab);
	return rc;
}

/* The file's custody records: 1 or 2, each verifying and naming the
 * proposal (first) or the acceptance, not one twice. */
static int custody_fields(pl_agreement_summary *t, const json_t *root, const uint8_t *pb, size_t pn,
			  const uint8_t *ab, size_t an, pl_err *e)
{
	const json_t *arr = json_object_get(root, "custody");
	size_t k = json_array_size(arr);
	if (!json_is_array(arr) || k < 1 || k > 2)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_AGREEMENT "custody is not a list of one or two records");
	int last = 0;
	for (size_t i = 0; i < k; i++) {
		uint8_t *rb = NULL;
		size_t rn = 0;
		if (pl_json_b64_var(&rb, &rn, PL_CUSTODY_SIGNED_MAX, json_array_get(arr, i)) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_AGREEMENT "a custody record is not canonical base64");
		int r = pl_custody_record_decode(&t->custody[i].c, rb, rn, e);
		free(rb);
		if (r != 0)
			return -1;
		int which = custody_binds(&t->custody[i].c, pb, pn, ab, an);
		if (which == 0 || which <= last)
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "a custody record names neither the proposal nor the "
					  "acceptance (changed after export?)");
		t->custody[i].object = which;
		last = which;
	}
	t->n_custody = k;
	return 0;
}

static int attach_custody(json_t *j, const pl_agreement_summary *t)
{
	if (t->n_custody == 0)
		return 0;
	json_t *arr = json_array();
	if (arr == NULL || json_object_set_new(j, "custody", arr) != 0)
		return -1;
	for (size_t i = 0; i < t->n_custody; i++) {
		pl_wr w;
		pl_wr_init(&w);
		int r = pl_custody_record_encode(&w, &t->custody[i].c, NULL) != 0 ||
			json_array_append_new(arr, pl_json_b64(w.p, w.n)) != 0;
		pl_wr_free(&w);
		if (r)
			return -1;
	}
	return 0;
}

int pl_agreement_verify_ex(pl_agreement_summary *s, const uint8_t *file, size_t n,
			   const char *relay_vkey, const uint8_t (*expect)[PL_IK_LEN],
			   size_t n_expect, pl_err *e)
{
	static const char *const base[] = {"format",	 "version",   "proposal",
					   "acceptance", "relay_key", "receipt"};
	static const char *const named[] = {"names", "names_signed_by", "names_signature"};
	const char *keys[10];
	uint8_t *gb = NULL;
	size_t gn = 0;
	pl_agreement_summary *t = s ? s : malloc(sizeof *t);
	pl_receipt *rcpt = malloc(sizeof *rcpt);
	pl_note_vkey vk;
	proof_of_time pt = {NULL, NULL, NULL, NULL, 0};
	uint8_t *pb = NULL, *ab = NULL, *rb = NULL;
	size_t pn = 0, an = 0, rn = 0;
	json_t *root = NULL, *canon = NULL;
	int rc = -1;

	if (t == NULL || rcpt == NULL) {
		if (t != s)
			free(t);
		free(rcpt);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	memset(t, 0, sizeof *t);
	root = pl_json_load(file, n, NOT_AGREEMENT, e);
	if (root == NULL)
		goto done;
	const json_t *jv = json_object_get(root, "version");
	int v2 = json_is_integer(jv) && json_integer_value(jv) == PL_AGREEMENT_VERSION_PROVED;
	int has_names = json_object_get(root, "names") != NULL;
	size_t nk = v2 ? 6 : 4;
	memcpy(keys, base, nk * sizeof keys[0]);
	int has_guarantee = json_object_get(root, "guarantee") != NULL;
	if (has_guarantee)
		keys[nk++] = "guarantee";
	if (has_names) {
		memcpy(keys + nk, named, sizeof named);
		nk += 3;
	}
	int has_custody = json_object_get(root, "custody") != NULL;
	if (has_custody)
		keys[nk++] = "custody";
	if (pl_json_exact_keys(root, keys, nk, NOT_AGREEMENT, "the file", e) != 0 ||
	    pl_json_header_check(root, PL_AGREEMENT_FORMAT,
				 v2 ? PL_AGREEMENT_VERSION_PROVED : PL_EXPORT_VERSION,
				 NOT_AGREEMENT, e) != 0)
		goto done;
	if (!v2 && relay_vkey != NULL) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "this agreement carries no deposit receipt, so no relay key can vouch "
			   "for its time; verify it without a relay key");
		goto done;
	}
	if (v2 && proof_fields(root, relay_vkey, rcpt, &vk, &rb, &rn, &pt, e) != 0)
		goto done;
	if (pl_json_b64_var(&pb, &pn, PL_OBJ_SIGNED_MAX, json_object_get(root, "proposal")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_AGREEMENT "the proposal is not canonical base64 "
					 "of at most %d bytes",
			   PL_OBJ_SIGNED_MAX);
		goto done;
	}
	if (pl_json_b64_var(&ab, &an, PL_OBJ_SIGNED_MAX, json_object_get(root, "acceptance")) !=
	    0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_AGREEMENT "the acceptance is not canonical base64 "
					 "of at most %d bytes",
			   PL_OBJ_SIGNED_MAX);
		goto done;
	}
	if (agreement_check(&t->proposal, &t->acceptance, t->proposal_hash, pb, pn, ab, an, &pt,
			    e) != 0)
		goto done;
	if (has_guarantee) {
		if (pl_json_b64_var(&gb, &gn, PL_OBJ_SIGNED_MAX,
				    json_object_get(root, "guarantee")) != 0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   NOT_AGREEMENT "the guarantee is not canonical base64 "
						 "of at most %d bytes",
				   PL_OBJ_SIGNED_MAX);
			goto done;
		}
		if (guarantee_check(&t->guarantee, &t->proposal, t->proposal_hash, &t->acceptance,
				    ab, an, gb, gn, e) != 0)
			goto done;
		t->guaranteed = 1;
		pl_fingerprint(t->mediator_fp, t->proposal.u.proposal.mediator_ik);
	}
	if (has_names && names_fields(t, root, pb, pn, ab, an, e) != 0)
		goto done;
	if (has_custody && custody_fields(t, root, pb, pn, ab, an, e) != 0)
		goto done;
	canon = agreement_json(pb, pn, ab, an, &pt, gb, gn);
	if (canon == NULL || pl_agreement_attach_names(canon, t) != 0 ||
	    attach_custody(canon, t) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	if (pl_json_same_bytes(canon, file, n, NOT_AGREEMENT, e) != 0)
		goto done;
	memcpy(t->proposer_ik, t->proposal.author_ik, PL_IK_LEN);
	memcpy(t->accepter_ik, t->acceptance.author_ik, PL_IK_LEN);
	/* the mediator's key too, when its guarantee is the third signature */
	uint8_t signers[3][PL_IK_LEN];
	memcpy(signers[0], t->proposer_ik, PL_IK_LEN);
	memcpy(signers[1], t->accepter_ik, PL_IK_LEN);
	memcpy(signers[2], t->proposal.u.proposal.mediator_ik, PL_IK_LEN);
	if (pl_export_expect_check(expect, n_expect, (const uint8_t(*)[PL_IK_LEN])signers,
				   t->guaranteed ? 3 : 2, "agreement", e) != 0)
		goto done;
	for (size_t i = 0; i < n_expect; i++)
		t->expect_matched |=
		    (memcmp(expect[i], t->proposer_ik, PL_IK_LEN) == 0 ? PL_AGREEMENT_PROPOSER
								       : 0) |
		    (memcmp(expect[i], t->accepter_ik, PL_IK_LEN) == 0 ? PL_AGREEMENT_ACCEPTER : 0);
	pl_fingerprint(t->proposer_fp, t->proposer_ik);
	pl_fingerprint(t->accepter_fp, t->accepter_ik);
	if (pt.r) {
		t->proved = 1;
		t->log_time = pt.r->time;
		t->leaf_index = pt.r->index;
		snprintf(t->relay_vkey, sizeof t->relay_vkey, "%s", pt.vkey);
		t->relay_key_given = relay_vkey != NULL;
		memcpy(t->relay_pk, pt.pk, 32);
		memcpy(t->receipt, pt.bytes, pt.len);
		t->receipt_len = pt.len;
	}
	rc = 0;
done:
	if (rc != 0 && s)
		memset(s, 0, sizeof *s);
	if (t != s)
		free(t);
	free(rcpt);
	free(pb);
	free(ab);
	free(rb);
	free(gb);
	json_decref(root);
	json_decref(canon);
	return rc;
}

int pl_agreement_add_guarantee(json_t *j, const uint8_t *g, size_t gn, pl_err *e)
{
	uint8_t *pb = NULL, *ab = NULL, ph[PL_OBJ_HASH_LEN];
	size_t pn = 0, an = 0;
	pl_obj *P = malloc(sizeof *P), *A = malloc(sizeof *A), *G = malloc(sizeof *G);
	int rc = -1;
	if (P == NULL || A == NULL || G == NULL ||
	    pl_json_b64_var(&pb, &pn, PL_OBJ_SIGNED_MAX, json_object_get(j, "proposal")) != 0 ||
	    pl_json_b64_var(&ab, &an, PL_OBJ_SIGNED_MAX, json_object_get(j, "acceptance")) != 0 ||
	    pl_obj_decode_signed(P, pb, pn, NULL) != 0 ||
	    pl_obj_decode_signed(A, ab, an, NULL) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	pl_obj_hash(ph, pb, pn);
	if (guarantee_check(G, P, ph, A, ab, an, g, gn, e) != 0)
		goto done;
	if (json_object_set_new(j, "guarantee", pl_json_b64(g, gn)) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	rc = 0;
done:
	free(pb);
	free(ab);
	free(P);
	free(A);
	free(G);
	return rc;
}

/* A version 1 proposal also signed since, charges, sentence and the
 * author's priority: shown as signed. Version 2 carries only the shared
 * fields, and humanitarian is the author's shared summary. */
static json_t *person_json(const pl_person *p, unsigned version)
{
	json_t *j = json_object();
	json_object_set_new(j, "ref", pl_json_hex(p->ref, PL_OBJ_REF_LEN));
	json_object_set_new(j, "name", json_string(p->name));
	json_object_set_new(j, "held_by", json_string(p->held_by));
	json_object_set_new(j, "nationality", json_string(p->nationality));
	json_object_set_new(j, "born", json_string(p->born));
	json_object_set_new(j, "humanitarian", json_string(p->humanitarian));
	if (version == PL_OBJ_VERSION_1) {
		json_object_set_new(j, "since", json_string(p->since));
		json_object_set_new(j, "charges", json_string(p->charges));
		json_object_set_new(j, "sentence", json_string(p->sentence));
		json_object_set_new(j, "priority", json_integer(p->priority));
	}
	return j;
}

/* A party as the summary shows it: its name from the file, or its
 * fingerprint's first group when the file has no names. */
static void party_label(char out[static PL_EXPORT_NAME_MAX + 24], const pl_agreement_summary *s,
			int who)
{
	const char *name = who == PL_AGREEMENT_PROPOSER ? s->proposer_name : s->accepter_name;
	const char *fp = who == PL_AGREEMENT_PROPOSER ? s->proposer_fp : s->accepter_fp;
	char sh[12];
	fp_short(sh, fp);
	if (s->names_by)
		snprintf(out, PL_EXPORT_NAME_MAX + 24, "%s", name);
	else
		snprintf(out, PL_EXPORT_NAME_MAX + 24, "the %s (%s)", names_by_str(who), sh);
}

void pl_agreement_summary_parties(FILE *out, const pl_agreement_summary *s)
{
	char pl[PL_EXPORT_NAME_MAX + 24], al[PL_EXPORT_NAME_MAX + 24];
	party_label(pl, s, PL_AGREEMENT_PROPOSER);
	party_label(al, s, PL_AGREEMENT_ACCEPTER);
	if (s->names_by) {
		fprintf(out, "  proposer: %s, key fingerprint %s\n", pl, s->proposer_fp);
		fprintf(out, "  accepter: %s, key fingerprint %s\n", al, s->accepter_fp);
		fprintf(out,
			"  the names are %s's labels (the %s who exported the file), signed with "
			"its key\n",
			s->names_by == PL_AGREEMENT_PROPOSER ? pl : al, names_by_str(s->names_by));
	} else {
		fprintf(out, "  proposer: key fingerprint %s\n", s->proposer_fp);
		fprintf(out, "  accepter: key fingerprint %s\n", s->accepter_fp);
		fputs("  the file carries no names for the parties\n", out);
	}
	if (s->expect_matched == 0) {
		fputs("  this proves only that these two keys signed, not who holds them: compare "
		      "the fingerprints with the ones each party gave you in person, or check "
		      "with --expect-key KEY\n",
		      out);
		return;
	}
	fputs("  --expect-key matched ", out);
	if (s->expect_matched & PL_AGREEMENT_PROPOSER)
		fprintf(out, "the proposer, %s%s", pl,
			(s->expect_matched & PL_AGREEMENT_ACCEPTER) ? ", and " : "");
	if (s->expect_matched & PL_AGREEMENT_ACCEPTER)
		fprintf(out, "the accepter, %s", al);
	fputs(": the keys you expected signed it\n", out);
}

/* Each signer by name and fingerprint, what it signed and what it
 * committed to in the terms. */
static void signer_line(FILE *out, const pl_proposal *b, int who, const char *name, const char *fp,
			const char *what)
{
	int any = 0;
	fprintf(out, "  %s, key fingerprint %s, %s; commits to:", name, fp, what);
	for (unsigned i = 0; i < b->n_commit; i++) {
		if (b->commit[i].who != who)
			continue;
		fprintf(out, "\n    - %s", b->commit[i].text);
		any = 1;
	}
	fputs(any ? "\n" : " nothing beyond the terms above\n", out);
}

static void signers_print(FILE *out, const pl_agreement_summary *s, const char *pl, const char *al)
{
	const pl_proposal *b = &s->proposal.u.proposal;
	char fp[PL_FINGERPRINT_LEN], t[PL_EXPORT_TIME_BUF];
	fprintf(out, "signers (%d):\n", s->guaranteed ? 3 : 2);
	signer_line(out, b, PL_COMMIT_AUTHOR, pl, s->proposer_fp, "signed the proposal");
	signer_line(out, b, PL_COMMIT_RECIPIENT, al, s->accepter_fp, "signed the acceptance");
	if (b->has_mediator) {
		char nm[PL_MEDIATOR_NAME_MAX + 40];
		pl_fingerprint(fp, b->mediator_ik);
		snprintf(nm, sizeof nm, "%s (the mediator)", b->mediator_name);
		if (s->guaranteed) {
			signer_line(out, b, PL_COMMIT_MEDIATOR, nm, fp, "signed the guarantee");
		} else {
			int n = 0;
			for (unsigned i = 0; i < b->n_commit; i++)
				n += b->commit[i].who == PL_COMMIT_MEDIATOR;
			fprintf(
			    out, "  %s, key fingerprint %s, has not guaranteed this agreement%s\n",
			    nm, fp, n ? ": the commitments the terms give it do not bind it" : "");
		}
	}
	if (s->guaranteed) {
		pl_export_fmt_time(t, s->guarantee.created);
		fprintf(out,
			"guaranteed by %s (the mediator the proposal names) on %s, by its own "
			"clock",
			b->mediator_name, t);
		if (s->guarantee.u.guarantee.text[0]) {
			fputs(": ", out);
			pl_terms_text(out, s->guarantee.u.guarantee.text, "    ");
		}
		fputc('\n', out);
	}
}

void pl_agreement_summary_print(FILE *out, const pl_agreement_summary *s)
{
	const pl_proposal *b = &s->proposal.u.proposal;
	char t2[PL_EXPORT_TIME_BUF], id[PL_OBJ_ID_HEX_LEN], h[2 * PL_OBJ_HASH_LEN + 1];
	char pl[PL_EXPORT_NAME_MAX + 24], al[PL_EXPORT_NAME_MAX + 24], t1[PL_EXPORT_TIME_BUF];

	party_label(pl, s, PL_AGREEMENT_PROPOSER);
	party_label(al, s, PL_AGREEMENT_ACCEPTER);
	if (s->guaranteed)
		fprintf(out,
			"valid agreement between %s and %s, guaranteed by %s: all three "
			"signatures verify\n",
			pl, al, b->mediator_name);
	else
		fprintf(out, "valid agreement between %s and %s: both signatures verify\n", pl, al);
	pl_agreement_summary_parties(out, s);
	if (s->guaranteed || b->n_commit)
		signers_print(out, s, pl, al);
	fputs(s->guaranteed ? "terms (as signed by both, and guaranteed by the mediator):\n"
			    : "terms (as signed by both):\n",
	      out);
	pl_terms_proposal(out, b, pl, al, "  ");
	pl_export_fmt_time(t1, s->proposal.created);
	fprintf(out, "  proposed %s", t1);
	if (s->proved) {
		pl_export_fmt_time(t2, s->log_time);
		fprintf(out,
			"\n  accepted at relay log time %s (deposit receipt, leaf %llu, relay key "
			"%s%s)\n  the receipt proves that an envelope was deposited in the "
			"proposer's mailbox at that time; that this envelope carried this "
			"acceptance is asserted by the vault that exported the file, not proved",
			t2, (unsigned long long)s->leaf_index, s->relay_vkey,
			s->relay_key_given ? ", the key given" : ", as carried in the file");
	} else {
		pl_export_fmt_time(t2, s->acceptance.created);
		fprintf(out,
			"\n  accepted %s: time as stated by the accepter's own clock (not "
			"proved)",
			t2);
	}
	pl_obj_id_hex(id, s->proposal.id);
	pl_hex_encode(h, s->proposal_hash, PL_OBJ_HASH_LEN);
	fprintf(out, "\n  proposal %s, sha256 %s\n", id, h);
	if (s->n_custody)
		pl_agreement_summary_custody(out, s);
}

/* The mediator of a custody record by the name the proposal gives it, or
 * by fingerprint. */
static void mediator_label(char *out, size_t cap, const pl_agreement_summary *s,
			   const pl_custody *c)
{
	const pl_proposal *b = &s->proposal.u.proposal;
	char fp[PL_FINGERPRINT_LEN];
	pl_fingerprint(fp, c->mediator_ik);
	if (b->has_mediator && memcmp(b->mediator_ik, c->mediator_ik, PL_IK_LEN) == 0)
		snprintf(out, cap, "%s (named as mediator in the proposal, key %s)",
			 b->mediator_name, fp);
	else
		snprintf(out, cap, "a mediator with key %s (not the one the proposal names)", fp);
}

void pl_agreement_summary_custody(FILE *out, const pl_agreement_summary *s)
{
	int seen[3] = {0, 0, 0};
	for (size_t i = 0; i < s->n_custody; i++)
		seen[s->custody[i].object] = 1;
	fputs("path (chain of custody):\n", out);
	for (int w = PL_AGREEMENT_PROPOSER; w <= PL_AGREEMENT_ACCEPTER; w++) {
		const char *obj = w == PL_AGREEMENT_PROPOSER ? "proposal" : "acceptance";
		if (!seen[w]) {
			fprintf(out,
				"  the %s: no custody record in the file (sent directly, "
				"or its path was not exported)\n",
				obj);
			continue;
		}
		for (size_t i = 0; i < s->n_custody; i++) {
			const pl_custody *c = &s->custody[i].c;
			char m[PL_EXPORT_NAME_MAX + 120], t1[PL_EXPORT_TIME_BUF],
			    t2[PL_EXPORT_TIME_BUF];
			if (s->custody[i].object != w)
				continue;
			mediator_label(m, sizeof m, s, c);
			pl_export_fmt_time(t1, c->carried);
			pl_export_fmt_time(t2, c->forwarded);
			fprintf(out,
				"  the %s went through %s: carried %s, forwarded %s (the "
				"mediator's clock); its custody record verifies under the "
				"mediator's key%s%s\n",
				obj, m, t1, t2, c->note[0] ? "; note: " : "", c->note);
		}
	}
	if (s->n_custody)
		fputs("  a mediator reads what it carries; its custody signature says it passed "
		      "these exact signed bytes on, and cannot change what the parties signed\n",
		      out);
}

json_t *pl_agreement_summary_json(const pl_agreement_summary *s)
{
	const pl_proposal *b = &s->proposal.u.proposal;
	json_t *j = json_object(), *a = json_array(), *r = json_array(), *c = json_array();
	for (unsigned i = 0; i < b->n_author; i++)
		json_array_append_new(a, person_json(&b->author[i], s->proposal.version));
	for (unsigned i = 0; i < b->n_recipient; i++)
		json_array_append_new(r, person_json(&b->recipient[i], s->proposal.version));
	for (unsigned i = 0; i < b->n_cond; i++)
		json_array_append_new(c, json_string(b->cond[i]));
	json_object_set_new(j, "valid", json_true());
	json_object_set_new(j, "format", json_string(PL_AGREEMENT_FORMAT));
	json_t *jp = pl_json_key(s->proposer_ik, s->proposer_fp),
	       *ja = pl_json_key(s->accepter_ik, s->accepter_fp);
	json_object_set_new(jp, "name", s->names_by ? json_string(s->proposer_name) : json_null());
	json_object_set_new(ja, "name", s->names_by ? json_string(s->accepter_name) : json_null());
	json_object_set_new(jp, "expected",
			    json_boolean(s->expect_matched & PL_AGREEMENT_PROPOSER));
	json_object_set_new(ja, "expected",
			    json_boolean(s->expect_matched & PL_AGREEMENT_ACCEPTER));
	json_object_set_new(j, "proposer", jp);
	json_object_set_new(j, "accepter", ja);
	json_object_set_new(j, "names_signed_by",
			    s->names_by ? json_string(names_by_str(s->names_by)) : json_null());
	json_object_set_new(
	    j, "proves",
	    json_string(s->expect_matched ? "the expected keys signed"
					  : "only that these two keys signed, not who holds them"));
	json_object_set_new(j, "proposal_id", pl_json_hex(s->proposal.id, PL_OBJ_ID_LEN));
	json_object_set_new(j, "proposal_hash", pl_json_hex(s->proposal_hash, PL_OBJ_HASH_LEN));
	json_object_set_new(j, "acceptance_id", pl_json_hex(s->acceptance.id, PL_OBJ_ID_LEN));
	json_object_set_new(j, "proposer_releases", a);
	json_object_set_new(j, "accepter_releases", r);
	json_object_set_new(j, "conditions", c);
	json_object_set_new(j, "place", json_string(b->place));
	json_object_set_new(j, "sequencing", json_string(pl_obj_sequencing_to_str(b->sequencing)));
	if (b->has_mediator) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, b->mediator_ik);
		json_t *m = pl_json_key(b->mediator_ik, fp);
		json_object_set_new(m, "name", json_string(b->mediator_name));
		json_object_set_new(j, "mediator", m);
	} else {
		json_object_set_new(j, "mediator", json_null());
	}
	json_t *cm = json_array();
	for (unsigned i = 0; i < b->n_commit; i++)
		json_array_append_new(
		    cm, json_pack("{s:s, s:s}", "by",
				  b->commit[i].who == PL_COMMIT_AUTHOR	    ? "proposer"
				  : b->commit[i].who == PL_COMMIT_RECIPIENT ? "accepter"
									    : "mediator",
				  "text", b->commit[i].text));
	json_object_set_new(j, "commitments", cm);
	if (s->guaranteed) {
		json_t *g = pl_json_key(b->mediator_ik, s->mediator_fp);
		json_object_set_new(g, "name", json_string(b->mediator_name));
		json_object_set_new(g, "guarantee_id", pl_json_hex(s->guarantee.id, PL_OBJ_ID_LEN));
		json_object_set_new(g, "time", pl_json_shown_time(s->guarantee.created));
		json_object_set_new(g, "text", json_string(s->guarantee.u.guarantee.text));
		json_object_set_new(j, "guarantee", g);
	} else {
		json_object_set_new(j, "guarantee", json_null());
	}
	json_object_set_new(j, "signatures", json_integer(s->guaranteed ? 3 : 2));
	json_object_set_new(j, "expires",
			    b->expires ? pl_json_shown_time(b->expires) : json_null());
	json_object_set_new(j, "supersedes",
			    sodium_is_zero(b->supersedes_id, PL_OBJ_ID_LEN)
				? json_null()
				: pl_json_hex(b->supersedes_id, PL_OBJ_ID_LEN));
	json_t *cu = json_array();
	for (size_t i = 0; i < s->n_custody; i++) {
		const pl_custody *c = &s->custody[i].c;
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, c->mediator_ik);
		json_t *x = json_object();
		json_object_set_new(x, "object",
				    json_string(s->custody[i].object == PL_AGREEMENT_PROPOSER
						    ? "proposal"
						    : "acceptance"));
		json_object_set_new(x, "mediator", pl_json_key(c->mediator_ik, fp));
		json_object_set_new(x, "carried", pl_json_shown_time(c->carried));
		json_object_set_new(x, "forwarded", pl_json_shown_time(c->forwarded));
		json_object_set_new(x, "note", json_string(c->note));
		json_object_set_new(x, "verified", json_true());
		json_array_append_new(cu, x);
	}
	json_object_set_new(j, "custody", cu);
	json_object_set_new(j, "proposed", pl_json_shown_time(s->proposal.created));
	json_object_set_new(j, "accepted", pl_json_shown_time(s->acceptance.created));
	if (s->proved) {
		json_t *lt = json_object();
		json_object_set_new(lt, "time", pl_json_shown_time(s->log_time));
		json_object_set_new(lt, "leaf", json_integer((json_int_t)s->leaf_index));
		json_object_set_new(lt, "relay_key", json_string(s->relay_vkey));
		json_object_set_new(lt, "relay_key_from",
				    json_string(s->relay_key_given ? "given" : "file"));
		json_object_set_new(j, "accepted_log_time", lt);
		json_object_set_new(j, "time_source", json_string("relay log (deposit receipt)"));
	} else {
		json_object_set_new(j, "accepted_log_time", json_null());
		json_object_set_new(j, "time_source",
				    json_string("the accepter's own clock (not proved)"));
	}
	return j;
}
