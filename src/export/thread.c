/*
 * thread.c — the thread export file: its builder (an exporter-signed hash
 * chain over every signed object and note with a peer), its strict
 * verifier and its summaries (see thread.h, docs/NEGOTIATION.md "Files").
 *
 * A file is checked in the order that gives the most useful reason: JSON
 * shape, then every signed object and its direction, then the chain and
 * the exporter's signature, then that the file is byte for byte what
 * parley would write. It must never report a thread valid unless every
 * signature in it verified, and never keep the exporter's secret key
 * beyond pl_thread_export_free.
 */
#include "export/thread.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kdf.h"
#include "export/terms.h"
#include "negotiation/custody.h"
#include "util/codec.h"
#include "util/text.h"
#include "util/wire.h"

#define NOT_THREAD "not a parley thread file: "

#define KIND_NOTE 0

struct pl_thread_export {
	pl_identity me;
	char my_name[PL_EXPORT_NAME_MAX + 1], peer_name[PL_EXPORT_NAME_MAX + 1]; /* "": none */
	uint8_t peer[PL_IK_LEN];
	uint8_t chain[PL_OBJ_HASH_LEN];
	json_t *entries;
	pl_obj *scratch;
};

static const char *dir_str(int dir)
{
	return dir == PL_EXPORT_OUT ? "out" : dir == PL_EXPORT_IN ? "in" : NULL;
}

static const char *kind_str(int kind)
{
	return kind == KIND_NOTE ? "note" : pl_obj_type_to_str(kind);
}

/* chain' = SHA-256(chain ‖ SHA-256(u8 kind ‖ u8 dir ‖ time u64 ‖ var(body)
 * [‖ var(custody record)])): the record only for an entry that went
 * through a mediator (proximity talks), so older chains are unchanged. */
static int chain_step_rec(uint8_t chain[static PL_OBJ_HASH_LEN], int kind, int dir, uint64_t time,
			  const uint8_t *body, size_t n, const uint8_t *rec, size_t rn)
{
	uint8_t buf[2 * PL_OBJ_HASH_LEN];
	pl_wr w;
	pl_wr_init(&w);
	pl_wr_u8(&w, (uint8_t)kind);
	pl_wr_u8(&w, (uint8_t)dir);
	pl_wr_u64(&w, time);
	pl_wr_var(&w, body, n);
	if (rn > 0)
		pl_wr_var(&w, rec, rn);
	if (pl_wr_ok(&w) != 0) {
		pl_wr_free(&w);
		return -1;
	}
	memcpy(buf, chain, PL_OBJ_HASH_LEN);
	pl_sha256(buf + PL_OBJ_HASH_LEN, w.p, w.n);
	pl_wr_free(&w);
	pl_sha256(chain, buf, sizeof buf);
	return 0;
}

/* 0 iff rec is a custody record (verified under the mediator key it names)
 * of this entry: for an object its id, hash, author and recipient; for a
 * note its hash and the two parties in the entry's direction. *c gets it. */
static int custody_of(pl_custody *c, const uint8_t *rec, size_t rn, int kind, int dir,
		      const uint8_t *body, size_t n, const uint8_t exporter[static PL_IK_LEN],
		      const uint8_t peer[static PL_IK_LEN], pl_err *e)
{
	uint8_t h[PL_OBJ_HASH_LEN];
	const uint8_t *from = dir == PL_EXPORT_OUT ? exporter : peer;
	const uint8_t *to = dir == PL_EXPORT_OUT ? peer : exporter;
	if (pl_custody_record_decode(c, rec, rn, e) != 0)
		return -1;
	pl_sha256(h, body, n);
	int ok = sodium_memcmp(h, c->hash, sizeof h) == 0 &&
		 memcmp(c->author_ik, from, PL_IK_LEN) == 0 &&
		 memcmp(c->recipient_ik, to, PL_IK_LEN) == 0 &&
		 (kind == KIND_NOTE ? c->what == PL_CARRY_NOTE
				    : c->what == PL_CARRY_OBJECT && n >= PL_OBJ_HEADER_LEN &&
					  memcmp(body + 2, c->id, PL_OBJ_ID_LEN) == 0);
	if (!ok)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a custody record names another move or other parties than its "
				  "entry (changed after export?)");
	return 0;
}

/* version 1: "parley thread v1\n" ‖ exporter ‖ peer ‖ head; version 2
 * (names given) "parley thread v2\n" ‖ exporter ‖ peer ‖ head
 * ‖ var(exporter name) ‖ var(peer name) */
static size_t head_msg(uint8_t *m, const uint8_t exporter[static PL_IK_LEN],
		       const uint8_t peer[static PL_IK_LEN], const uint8_t head[static 32],
		       const char *en, const char *pn)
{
	size_t t = sizeof PL_THREAD_SIG_TAG - 1;
	memcpy(m, en ? PL_THREAD_SIG_TAG_V2 : PL_THREAD_SIG_TAG, t);
	memcpy(m + t, exporter, PL_IK_LEN);
	memcpy(m + t + PL_IK_LEN, peer, PL_IK_LEN);
	memcpy(m + t + 2 * PL_IK_LEN, head, PL_OBJ_HASH_LEN);
	size_t n = t + 2 * PL_IK_LEN + PL_OBJ_HASH_LEN;
	for (int i = 0; en && i < 2; i++) {
		const char *s = i == 0 ? en : pn;
		uint32_t len = (uint32_t)strlen(s);
		m[n] = (uint8_t)(len >> 24);
		m[n + 1] = (uint8_t)(len >> 16);
		m[n + 2] = (uint8_t)(len >> 8);
		m[n + 3] = (uint8_t)len;
		memcpy(m + n + 4, s, len);
		n += 4 + len;
	}
	return n;
}
#define HEAD_MSG_LEN                                                                               \
	(sizeof PL_THREAD_SIG_TAG - 1 + 2 * PL_IK_LEN + PL_OBJ_HASH_LEN +                          \
	 2 * (4 + PL_EXPORT_NAME_MAX))

static json_t *entry_json_rec(int kind, int dir, uint64_t time, const uint8_t *body, size_t n,
			      const uint8_t *rec, size_t rn)
{
	json_t *j = json_object();
	json_t *b = kind == KIND_NOTE ? json_stringn((const char *)body, n) : pl_json_b64(body, n);
	if (j == NULL || json_object_set_new(j, "kind", json_string(kind_str(kind))) ||
	    json_object_set_new(j, "time", pl_json_time(time)) ||
	    json_object_set_new(j, "direction", json_string(dir_str(dir))) ||
	    json_object_set_new(j, kind == KIND_NOTE ? "text" : "signed", b) ||
	    (rn > 0 && json_object_set_new(j, "custody", pl_json_b64(rec, rn)))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* en, pn: the names (version 2), or NULL (version 1). */
static json_t *thread_json(const uint8_t exporter[static PL_IK_LEN],
			   const uint8_t peer[static PL_IK_LEN], json_t *entries,
			   const uint8_t head[static PL_OBJ_HASH_LEN],
			   const uint8_t sig[static PL_SIG_LEN], const char *en, const char *pn)
{
	json_t *j = json_object();
	if (j == NULL || json_object_set_new(j, "format", json_string(PL_THREAD_FORMAT)) ||
	    json_object_set_new(j, "version",
				json_integer(en ? PL_THREAD_VERSION_NAMED : PL_EXPORT_VERSION)) ||
	    json_object_set_new(j, "exporter", pl_json_hex(exporter, PL_IK_LEN)) ||
	    (en && json_object_set_new(j, "exporter_name", json_string(en))) ||
	    json_object_set_new(j, "peer", pl_json_hex(peer, PL_IK_LEN)) ||
	    (en && json_object_set_new(j, "peer_name", json_string(pn))) ||
	    json_object_set(j, "entries", entries) ||
	    json_object_set_new(j, "head", pl_json_hex(head, PL_OBJ_HASH_LEN)) ||
	    json_object_set_new(j, "signature", pl_json_hex(sig, PL_SIG_LEN))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A signed entry's object must go between the two parties in its direction. */
static int direction_check(const pl_obj *o, int dir, const uint8_t exporter[static PL_IK_LEN],
			   const uint8_t peer[static PL_IK_LEN])
{
	const uint8_t *from = dir == PL_EXPORT_OUT ? exporter : peer;
	const uint8_t *to = dir == PL_EXPORT_OUT ? peer : exporter;
	return memcmp(o->author_ik, from, PL_IK_LEN) == 0 &&
		       memcmp(o->recipient_ik, to, PL_IK_LEN) == 0
		   ? 0
		   : -1;
}

int pl_thread_export_begin(pl_thread_export **x, const pl_identity *exporter,
			   const uint8_t peer[static PL_IK_LEN], pl_err *e)
{
	*x = NULL;
	if (pl_ik_validate(peer) != 0 || memcmp(peer, exporter->pk, PL_IK_LEN) == 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the peer of a thread export must be a valid "
				  "key other than the exporter's");
	pl_thread_export *t = calloc(1, sizeof *t);
	if (t == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	t->entries = json_array();
	t->scratch = malloc(sizeof *t->scratch);
	if (t->entries == NULL || t->scratch == NULL) {
		pl_thread_export_free(t);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	t->me = *exporter;
	memcpy(t->peer, peer, PL_IK_LEN);
	*x = t;
	return 0;
}

void pl_thread_export_free(pl_thread_export *x)
{
	if (x == NULL)
		return;
	pl_identity_wipe(&x->me);
	json_decref(x->entries);
	free(x->scratch);
	free(x);
}

static int add_entry(pl_thread_export *x, int kind, int dir, uint64_t time, const uint8_t *body,
		     size_t n, const uint8_t *rec, size_t rn, pl_err *e)
{
	uint8_t chain[PL_OBJ_HASH_LEN];
	if (json_array_size(x->entries) >= PL_THREAD_ENTRIES_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "a thread export holds at most %d entries",
				  PL_THREAD_ENTRIES_MAX);
	if (rn > 0) {
		pl_custody *c = malloc(sizeof *c);
		int bad = c == NULL ||
			  custody_of(c, rec, rn, kind, dir, body, n, x->me.pk, x->peer, e) != 0;
		free(c);
		if (bad)
			return -1;
	}
	memcpy(chain, x->chain, sizeof chain);
	json_t *j = entry_json_rec(kind, dir, time, body, n, rec, rn);
	if (j == NULL || chain_step_rec(chain, kind, dir, time, body, n, rec, rn) != 0 ||
	    json_array_append_new(x->entries, j) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	memcpy(x->chain, chain, sizeof chain);
	return 0;
}

static int entry_args_check(int dir, uint64_t time, pl_err *e)
{
	if (dir_str(dir) == NULL)
		return pl_err_set(e, PL_EXIT_INPUT, "an entry's direction must be in or out");
	if (time > PL_EXPORT_TIME_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "an entry's time is past the year 9999");
	return 0;
}

int pl_thread_export_add_signed(pl_thread_export *x, int dir, uint64_t time,
				const uint8_t *signed_obj, size_t n, pl_err *e)
{
	return pl_thread_export_add_signed_via(x, dir, time, signed_obj, n, NULL, 0, e);
}

int pl_thread_export_add_signed_via(pl_thread_export *x, int dir, uint64_t time,
				    const uint8_t *signed_obj, size_t n, const uint8_t *rec,
				    size_t rn, pl_err *e)
{
	if (entry_args_check(dir, time, e) != 0 ||
	    pl_obj_decode_signed(x->scratch, signed_obj, n, e) != 0)
		return -1;
	if (direction_check(x->scratch, dir, x->me.pk, x->peer) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the %s is not %s between the exporter and the peer",
				  pl_obj_type_to_str(x->scratch->type),
				  dir == PL_EXPORT_OUT ? "from the exporter to the peer"
						       : "from the peer to the exporter");
	return add_entry(x, x->scratch->type, dir, time, signed_obj, n, rec, rn, e);
}

int pl_thread_export_add_note(pl_thread_export *x, int dir, uint64_t time, const char *text,
			      pl_err *e)
{
	return pl_thread_export_add_note_via(x, dir, time, text, NULL, 0, e);
}

int pl_thread_export_add_note_via(pl_thread_export *x, int dir, uint64_t time, const char *text,
				  const uint8_t *rec, size_t rn, pl_err *e)
{
	if (entry_args_check(dir, time, e) != 0)
		return -1;
	if (text == NULL || pl_obj_text_ok(text, 0, PL_THREAD_NOTE_MAX, PL_TEXT_MULTILINE) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "a note must be at most %d bytes of UTF-8 text without control "
				  "characters other than newlines",
				  PL_THREAD_NOTE_MAX);
	return add_entry(x, KIND_NOTE, dir, time, (const uint8_t *)text, strlen(text), rec, rn, e);
}

int pl_thread_export_set_names(pl_thread_export *x, const char *my_name, const char *peer_name,
			       pl_err *e)
{
	if (pl_export_name_ok(my_name, strlen(my_name)) != 0 ||
	    pl_export_name_ok(peer_name, strlen(peer_name)) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "a party's name in a thread must be one line of 1 to %d bytes",
				  PL_EXPORT_NAME_MAX);
	memcpy(x->my_name, my_name, strlen(my_name) + 1);
	memcpy(x->peer_name, peer_name, strlen(peer_name) + 1);
	return 0;
}

int pl_thread_export_finish(pl_thread_export *x, json_t **out, pl_err *e)
{
	uint8_t m[HEAD_MSG_LEN];
	uint8_t sig[PL_SIG_LEN];
	size_t len;
	const char *en = x->my_name[0] ? x->my_name : NULL, *pn = en ? x->peer_name : NULL;

	*out = NULL;
	crypto_sign_detached(sig, NULL, m, head_msg(m, x->me.pk, x->peer, x->chain, en, pn),
			     x->me.sk);
	json_t *j = thread_json(x->me.pk, x->peer, x->entries, x->chain, sig, en, pn);
	if (j == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	char *s = pl_export_dumps(j, &len);
	if (s == NULL) {
		json_decref(j);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	free(s);
	if (len > PL_EXPORT_FILE_MAX) {
		json_decref(j);
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the thread is too large to export (over %u "
				  "bytes)",
				  PL_EXPORT_FILE_MAX);
	}
	*out = j;
	return 0;
}

/* What reading a thread file builds up as it goes: the two keys and the
 * file's head and signature, the chain recomputed over the entries, the
 * entries as parley would write them, and the summary. */
typedef struct {
	pl_thread_summary t;
	uint8_t chain[PL_OBJ_HASH_LEN];
	uint8_t head[PL_OBJ_HASH_LEN], sig[PL_SIG_LEN];
	json_t *canon_entries;
	pl_obj *scratch;
	int peer_signed;
} reading;

/* An entry's frame: a JSON object with the keys of its kind, an RFC 3339
 * time and a direction. ks and ds are the entry's own kind and direction
 * strings, which the later messages quote. */
static int entry_frame(const json_t *je, const char *where, int *kind, uint64_t *time, int *dir,
		       const char **ks, const char **ds, pl_err *e)
{
	static const char *const keys_note[] = {"kind", "time", "direction", "text", "custody"};
	static const char *const keys_obj[] = {"kind", "time", "direction", "signed", "custody"};

	*ks = json_string_value(json_object_get(je, "kind"));
	*ds = json_string_value(json_object_get(je, "direction"));
	if (!json_is_object(je))
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s is not a JSON object", where);
	if (*ks == NULL)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s has no kind string", where);
	*kind = strcmp(*ks, "note") == 0 ? KIND_NOTE : pl_obj_type_from_str(*ks);
	if (*kind < 0)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s has an unknown kind", where);
	size_t nk = json_object_get(je, "custody") != NULL ? 5 : 4;
	if (pl_json_exact_keys(je, *kind == KIND_NOTE ? keys_note : keys_obj, nk, NOT_THREAD, where,
			       e) != 0)
		return -1;
	if (pl_json_time_field(time, json_object_get(je, "time")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD "%s's time is not an RFC 3339 UTC time as parley "
					     "writes it",
				  where);
	*dir = 0;
	if (*ds != NULL && strcmp(*ds, "out") == 0)
		*dir = PL_EXPORT_OUT;
	else if (*ds != NULL && strcmp(*ds, "in") == 0)
		*dir = PL_EXPORT_IN;
	if (*dir == 0)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s's direction is not in or out",
				  where);
	return 0;
}

/* The entry's custody record, if it has one (*rec NULL, *rn 0 if not):
 * canonical base64 of a record that verifies and names this entry. */
static int entry_custody(reading *r, const json_t *je, const char *where, int kind, int dir,
			 const uint8_t *body, size_t n, uint8_t **rec, size_t *rn, pl_err *e)
{
	*rec = NULL;
	*rn = 0;
	const json_t *jc = json_object_get(je, "custody");
	if (jc == NULL)
		return 0;
	if (pl_json_b64_var(rec, rn, PL_CUSTODY_SIGNED_MAX, jc) != 0 || *rn == 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD "%s's custody record is not canonical base64", where);
	pl_custody *c = malloc(sizeof *c);
	pl_err sub;
	pl_err_clear(&sub);
	int bad = c == NULL || custody_of(c, *rec, *rn, kind, dir, body, n, r->t.exporter_ik,
					  r->t.peer_ik, &sub) != 0;
	free(c);
	if (bad) {
		free(*rec);
		*rec = NULL;
		*rn = 0;
		return pl_err_set(e, sub.code ? sub.code : PL_EXIT_ERROR, "%s: %s", where,
				  sub.msg[0] ? sub.msg : "out of memory");
	}
	r->t.n_custody++;
	return 0;
}

/* A note entry: its text must be note text; it is chained as written. */
static int entry_note(reading *r, const json_t *je, const char *where, int dir, uint64_t time,
		      pl_err *e)
{
	const json_t *jt = json_object_get(je, "text");
	const char *s = json_string_value(jt);
	size_t n = json_string_length(jt);
	if (s == NULL ||
	    pl_text_ok((const uint8_t *)s, n, 0, PL_THREAD_NOTE_MAX, PL_TEXT_MULTILINE) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD "%s's text is not note text (at most %d bytes, "
					     "no control characters but newlines)",
				  where, PL_THREAD_NOTE_MAX);
	uint8_t *rec;
	size_t rn;
	if (entry_custody(r, je, where, KIND_NOTE, dir, (const uint8_t *)s, n, &rec, &rn, e) != 0)
		return -1;
	int bad =
	    chain_step_rec(r->chain, KIND_NOTE, dir, time, (const uint8_t *)s, n, rec, rn) != 0 ||
	    json_array_append_new(
		r->canon_entries,
		entry_json_rec(KIND_NOTE, dir, time, (const uint8_t *)s, n, rec, rn)) != 0;
	free(rec);
	if (bad)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	r->t.n_notes++;
	return 0;
}

/* A signed entry: its object must verify, be of the kind the entry names
 * and go between the two parties in the entry's direction. */
static int entry_signed(reading *r, const json_t *je, const char *where, int kind, int dir,
			uint64_t time, const char *ks, const char *ds, pl_err *e)
{
	uint8_t *body = NULL;
	size_t n;
	pl_err sub;
	pl_err_clear(&sub);
	if (pl_json_b64_var(&body, &n, PL_OBJ_SIGNED_MAX, json_object_get(je, "signed")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD "%s's signed object is not canonical base64", where);
	if (pl_obj_decode_signed(r->scratch, body, n, &sub) != 0) {
		free(body);
		if (sub.code == PL_EXIT_SECURITY)
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "the signature of %s (%s %s) does not verify", where,
					  pl_text_article(ks), ks);
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s: %s", where, sub.msg);
	}
	if (r->scratch->type != kind) {
		free(body);
		return pl_err_set(e, PL_EXIT_SECURITY, "%s says it is %s %s but holds a signed %s",
				  where, pl_text_article(ks), ks,
				  pl_obj_type_to_str(r->scratch->type));
	}
	if (direction_check(r->scratch, dir, r->t.exporter_ik, r->t.peer_ik) != 0) {
		free(body);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "%s is marked %s but its %s is not from %s to %s", where, ds, ks,
				  dir == PL_EXPORT_OUT ? "the exporter" : "the peer",
				  dir == PL_EXPORT_OUT ? "the peer" : "the exporter");
	}
	if (dir == PL_EXPORT_IN)
		r->peer_signed = 1;
	uint8_t *rec;
	size_t rn;
	if (entry_custody(r, je, where, kind, dir, body, n, &rec, &rn, e) != 0) {
		free(body);
		return -1;
	}
	int rc = chain_step_rec(r->chain, kind, dir, time, body, n, rec, rn) != 0 ||
		 json_array_append_new(r->canon_entries,
				       entry_json_rec(kind, dir, time, body, n, rec, rn)) != 0;
	free(rec);
	free(body);
	if (rc)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	r->t.n_signed++;
	return 0;
}

/* One entry of a thread file: checked, added to the chain and to the
 * canonical entries, counted in the summary. */
static int thread_entry(reading *r, const json_t *je, size_t idx, pl_err *e)
{
	char where[40];
	const char *ks = NULL, *ds = NULL;
	uint64_t time = 0;
	int dir = 0, kind = 0;

	snprintf(where, sizeof where, "entry %zu", idx + 1);
	if (entry_frame(je, where, &kind, &time, &dir, &ks, &ds, e) != 0)
		return -1;
	if (kind == KIND_NOTE ? entry_note(r, je, where, dir, time, e) != 0
			      : entry_signed(r, je, where, kind, dir, time, ks, ds, e) != 0)
		return -1;
	if (r->t.n_entries == 0)
		r->t.first_time = time;
	r->t.last_time = time;
	r->t.n_entries++;
	return 0;
}

/* The file's top level: exact keys, format and version, two different
 * valid keys, head and signature in hex, and an entries array of a size
 * parley writes. */
static int thread_header(reading *r, const json_t *root, const json_t **entries, pl_err *e)
{
	static const char *const keys[] = {"format",  "version", "exporter", "peer",
					   "entries", "head",	 "signature"};
	static const char *const keys2[] = {"format",	     "version", "exporter",
					    "exporter_name", "peer",	"peer_name",
					    "entries",	     "head",	"signature"};
	const json_t *jv = json_object_get(root, "version");
	int named = json_is_integer(jv) && json_integer_value(jv) == PL_THREAD_VERSION_NAMED;
	if (pl_json_exact_keys(root, named ? keys2 : keys, named ? 9 : 7, NOT_THREAD, "the file",
			       e) != 0 ||
	    pl_json_header_check(root, PL_THREAD_FORMAT,
				 named ? PL_THREAD_VERSION_NAMED : PL_EXPORT_VERSION, NOT_THREAD,
				 e) != 0)
		return -1;
	if (named) {
		const json_t *a = json_object_get(root, "exporter_name"),
			     *b = json_object_get(root, "peer_name");
		if (pl_export_name_ok(json_string_value(a), json_string_length(a)) != 0 ||
		    pl_export_name_ok(json_string_value(b), json_string_length(b)) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_THREAD "a name is not one line of text of 1 to %d "
						     "bytes",
					  PL_EXPORT_NAME_MAX);
		snprintf(r->t.exporter_name, sizeof r->t.exporter_name, "%s", json_string_value(a));
		snprintf(r->t.peer_name, sizeof r->t.peer_name, "%s", json_string_value(b));
		r->t.named = 1;
	}
	if (pl_json_hex_field(r->t.exporter_ik, PL_IK_LEN, json_object_get(root, "exporter")) !=
		0 ||
	    pl_json_hex_field(r->t.peer_ik, PL_IK_LEN, json_object_get(root, "peer")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD
				  "exporter and peer must be keys in 64 lowercase hex digits");
	if (pl_ik_validate(r->t.exporter_ik) != 0 || pl_ik_validate(r->t.peer_ik) != 0 ||
	    memcmp(r->t.exporter_ik, r->t.peer_ik, PL_IK_LEN) == 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the exporter and peer keys must be two different valid keys");
	if (pl_json_hex_field(r->head, sizeof r->head, json_object_get(root, "head")) != 0 ||
	    pl_json_hex_field(r->sig, sizeof r->sig, json_object_get(root, "signature")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD
				  "head and signature must be lowercase hex of 32 and 64 bytes");
	*entries = json_object_get(root, "entries");
	if (!json_is_array(*entries) || json_array_size(*entries) > PL_THREAD_ENTRIES_MAX)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD "entries must be an array of at most %d",
				  PL_THREAD_ENTRIES_MAX);
	return 0;
}

/* The recomputed chain must be the file's head, and the exporter must have
 * signed that head for this pair of keys. */
static int thread_seal_check(const reading *r, pl_err *e)
{
	uint8_t m[HEAD_MSG_LEN];
	const char *en = r->t.named ? r->t.exporter_name : NULL;
	const char *pn = r->t.named ? r->t.peer_name : NULL;
	if (sodium_memcmp(r->chain, r->head, sizeof r->head) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the hash chain over the entries does not match the "
				  "head (an entry was changed, removed or reordered)");
	if (crypto_sign_verify_detached(
		r->sig, m, head_msg(m, r->t.exporter_ik, r->t.peer_ik, r->head, en, pn),
		r->t.exporter_ik) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the exporter's signature on the thread does not "
				  "verify");
	return 0;
}

/* The file must be byte for byte what parley writes for what was read. */
static int thread_canonical(const reading *r, const uint8_t *file, size_t n, pl_err *e)
{
	json_t *canon =
	    thread_json(r->t.exporter_ik, r->t.peer_ik, r->canon_entries, r->head, r->sig,
			r->t.named ? r->t.exporter_name : NULL, r->t.named ? r->t.peer_name : NULL);
	if (canon == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_json_same_bytes(canon, file, n, NOT_THREAD, e);
	json_decref(canon);
	return rc;
}

int pl_thread_verify(pl_thread_summary *s, const uint8_t *file, size_t n,
		     const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e)
{
	reading r;
	const json_t *entries = NULL;
	int rc = -1;

	memset(&r, 0, sizeof r);
	if (s)
		memset(s, 0, sizeof *s);
	json_t *root = pl_json_load(file, n, NOT_THREAD, e);
	if (root == NULL || thread_header(&r, root, &entries, e) != 0)
		goto done;
	r.canon_entries = json_array();
	r.scratch = malloc(sizeof *r.scratch);
	if (r.canon_entries == NULL || r.scratch == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < json_array_size(entries); i++)
		if (thread_entry(&r, json_array_get(entries, i), i, e) != 0)
			goto done;
	if (thread_seal_check(&r, e) != 0 || thread_canonical(&r, file, n, e) != 0)
		goto done;
	uint8_t signers[2][PL_IK_LEN];
	memcpy(signers[0], r.t.exporter_ik, PL_IK_LEN);
	memcpy(signers[1], r.t.peer_ik, PL_IK_LEN);
	if (pl_export_expect_check(expect, n_expect, (const uint8_t(*)[PL_IK_LEN])signers,
				   r.peer_signed ? 2 : 1, "thread", e) != 0)
		goto done;
	memcpy(r.t.head, r.head, sizeof r.head);
	pl_fingerprint(r.t.exporter_fp, r.t.exporter_ik);
	pl_fingerprint(r.t.peer_fp, r.t.peer_ik);
	for (size_t i = 0; i < n_expect; i++)
		r.t.expect_matched |= (memcmp(expect[i], r.t.exporter_ik, PL_IK_LEN) == 0 ? 1 : 0) |
				      (memcmp(expect[i], r.t.peer_ik, PL_IK_LEN) == 0 ? 2 : 0);
	if (s) {
		*s = r.t;
		s->entries = r.canon_entries; /* the entries, as verified, for the printout */
		r.canon_entries = NULL;
	}
	rc = 0;
done:
	free(r.scratch);
	json_decref(root);
	json_decref(r.canon_entries);
	return rc;
}

void pl_thread_summary_free(pl_thread_summary *s)
{
	if (s == NULL)
		return;
	json_decref(s->entries);
	s->entries = NULL;
}

#define LABEL_MAX (PL_EXPORT_NAME_MAX + 32)

/* The exporter (1) or the peer (2) as the printout names it. */
static void label(char out[static LABEL_MAX], const pl_thread_summary *s, int who)
{
	const char *fp = who == 1 ? s->exporter_fp : s->peer_fp;
	if (s->named)
		snprintf(out, LABEL_MAX, "%s", who == 1 ? s->exporter_name : s->peer_name);
	else
		snprintf(out, LABEL_MAX, "the %s (%.11s)", who == 1 ? "exporter" : "peer", fp);
}

/* Proximity talks: the mediator's custody record of an entry, if any. */
static void custody_print(FILE *out, const json_t *je)
{
	uint8_t *rec = NULL;
	size_t rn = 0;
	pl_custody *c = malloc(sizeof *c);
	if (c != NULL && json_object_get(je, "custody") != NULL &&
	    pl_json_b64_var(&rec, &rn, PL_CUSTODY_SIGNED_MAX, json_object_get(je, "custody")) ==
		0 &&
	    pl_custody_record_decode(c, rec, rn, NULL) == 0) {
		char fp[PL_FINGERPRINT_LEN], t1[PL_EXPORT_TIME_BUF], t2[PL_EXPORT_TIME_BUF];
		pl_fingerprint(fp, c->mediator_ik);
		pl_export_fmt_time(t1, c->carried);
		pl_export_fmt_time(t2, c->forwarded);
		fprintf(out,
			"    path: via the mediator with key %s (it read what it carried): "
			"carried %s, forwarded %s, its custody record verifies%s%s\n",
			fp, t1, t2, c->note[0] ? "; note: " : "", c->note);
	}
	free(rec);
	free(c);
}

/* One entry of the conversation: when, who to whom, and all it says. */
static void entry_print_body(FILE *out, const json_t *je, const char *ex, const char *pe, pl_obj *o)
{
	const char *kind = json_string_value(json_object_get(je, "kind"));
	const char *time = json_string_value(json_object_get(je, "time"));
	int in = strcmp(json_string_value(json_object_get(je, "direction")), "in") == 0;
	const char *from = in ? pe : ex, *to = in ? ex : pe;
	if (strcmp(kind, "note") == 0) {
		fprintf(out, "  %s  %s to %s, note%s:\n    ", time, from, to,
			in ? " (its sender did not sign it; as the exporter received it)"
			   : " (not signed by itself; in the exporter's signed chain)");
		pl_terms_text(out, json_string_value(json_object_get(je, "text")), "    ");
		fputc('\n', out);
		if (json_object_get(je, "custody") != NULL)
			fputs(
			    "    (passed on by a mediator: only its custody signature vouches for "
			    "this note)\n",
			    out);
		return;
	}
	uint8_t *body = NULL;
	size_t n = 0;
	if (pl_json_b64_var(&body, &n, PL_OBJ_SIGNED_MAX, json_object_get(je, "signed")) != 0 ||
	    pl_obj_decode_signed(o, body, n, NULL) != 0) {
		fprintf(out, "  %s  %s to %s: (cannot be shown)\n", time, from, to);
		free(body);
		return;
	}
	free(body);
	fprintf(out, "  %s  %s to %s, signed by %s:\n", time, from, to, from);
	pl_terms_obj(out, o, from, to, "    ");
}

static void entry_print(FILE *out, const json_t *je, const char *ex, const char *pe, pl_obj *o)
{
	entry_print_body(out, je, ex, pe, o);
	custody_print(out, je);
}

void pl_thread_summary_print(FILE *out, const pl_thread_summary *s)
{
	char t1[PL_EXPORT_TIME_BUF], t2[PL_EXPORT_TIME_BUF], h[2 * PL_OBJ_HASH_LEN + 1];
	char ex[LABEL_MAX], pe[LABEL_MAX];

	label(ex, s, 1);
	label(pe, s, 2);
	pl_hex_encode(h, s->head, sizeof s->head);
	pl_export_fmt_time(t1, s->first_time);
	pl_export_fmt_time(t2, s->last_time);
	fprintf(out, "valid thread exported by %s with %s: every signature verifies\n", ex, pe);
	fprintf(out, "  %s (exporter): key fingerprint %s\n", ex, s->exporter_fp);
	fprintf(out, "  %s (peer): key fingerprint %s\n", pe, s->peer_fp);
	if (s->named)
		fprintf(out, "  the names are %s's labels, signed with its key\n", ex);
	else
		fputs("  the file carries no names for the parties\n", out);
	if (s->expect_matched == 0)
		fputs("  this proves only that these keys signed, not who holds them: compare the "
		      "fingerprints with the ones each party gave you in person, or check with "
		      "--expect-key KEY\n",
		      out);
	else {
		fputs("  --expect-key matched ", out);
		if (s->expect_matched & 1)
			fprintf(out, "the exporter, %s%s", ex,
				(s->expect_matched & 2) ? ", and " : "");
		if (s->expect_matched & 2)
			fprintf(out, "the peer, %s", pe);
		fputs(": the keys you expected signed it\n", out);
	}
	fprintf(out, "  %zu entr%s: %zu signed object%s, %zu note%s", s->n_entries,
		s->n_entries == 1 ? "y" : "ies", s->n_signed, s->n_signed == 1 ? "" : "s",
		s->n_notes, s->n_notes == 1 ? "" : "s");
	if (s->n_entries)
		fprintf(out, ", %s to %s", t1, t2);
	fprintf(out, "\n  head %s\n", h);
	if (s->entries == NULL || json_array_size(s->entries) == 0)
		return;
	pl_obj *o = malloc(sizeof *o);
	if (o == NULL)
		return;
	fputs("conversation (times as the exporter's vault recorded them):\n", out);
	for (size_t i = 0; i < json_array_size(s->entries); i++)
		entry_print(out, json_array_get(s->entries, i), ex, pe, o);
	free(o);
}

json_t *pl_thread_summary_json(const pl_thread_summary *s)
{
	char h[2 * PL_OBJ_HASH_LEN + 1];
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	pl_hex_encode(h, s->head, sizeof s->head);
	json_object_set_new(j, "valid", json_true());
	json_object_set_new(j, "format", json_string(PL_THREAD_FORMAT));
	json_t *jx = pl_json_key(s->exporter_ik, s->exporter_fp),
	       *jp = pl_json_key(s->peer_ik, s->peer_fp);
	json_object_set_new(jx, "name", s->named ? json_string(s->exporter_name) : json_null());
	json_object_set_new(jp, "name", s->named ? json_string(s->peer_name) : json_null());
	json_object_set_new(jx, "expected", json_boolean(s->expect_matched & 1));
	json_object_set_new(jp, "expected", json_boolean(s->expect_matched & 2));
	json_object_set_new(j, "exporter", jx);
	json_object_set_new(j, "peer", jp);
	json_object_set_new(j, "proves",
			    json_string(s->expect_matched
					    ? "the expected keys signed"
					    : "only that these keys signed, not who holds them"));
	if (s->entries)
		json_object_set(j, "conversation", s->entries);
	json_object_set_new(j, "entries", json_integer((json_int_t)s->n_entries));
	json_object_set_new(j, "signed", json_integer((json_int_t)s->n_signed));
	json_object_set_new(j, "notes", json_integer((json_int_t)s->n_notes));
	json_object_set_new(j, "via_mediator", json_integer((json_int_t)s->n_custody));
	json_object_set_new(j, "first",
			    s->n_entries ? pl_json_shown_time(s->first_time) : json_null());
	json_object_set_new(j, "last",
			    s->n_entries ? pl_json_shown_time(s->last_time) : json_null());
	json_object_set_new(j, "head", json_string(h));
	return j;
}
