/*
 * verify.c — agreement and thread export files and their offline
 * verification (docs/NEGOTIATION.md "Files"); see verify.h.
 *
 * A file is checked in the order that gives the most useful reason: JSON
 * shape (exact keys and types, canonical base64 and hex), then every signed
 * object, then how the objects bind together, then that the file is byte for
 * byte what parley would write for what was decoded. The last step is what
 * makes "flip any byte" fail even where JSON would not care (whitespace,
 * escapes, key order, hex case). Attacker-controlled strings that are not
 * validated text (unknown keys, formats) are never echoed raw.
 */
#include "negotiation/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/kdf.h"
#include "log/proof.h"
#include "util/codec.h"
#include "util/text.h"

#define NOT_AGREEMENT "not a parley agreement file: "
#define NOT_THREAD "not a parley thread file: "
#define TIME_MAX 253402300799ull /* 9999-12-31T23:59:59Z, the last RFC 3339 time */
#define TIME_BUF 48
#define B64_SIGNED_MAX (4 * ((PL_OBJ_SIGNED_MAX + 2) / 3))

/* --- small helpers ---------------------------------------------------------- */

static void fmt_time(char out[static TIME_BUF], uint64_t t)
{
	if (t <= TIME_MAX)
		pl_time_rfc3339(out, t);
	else
		snprintf(out, TIME_BUF, "%llu (unix seconds)", (unsigned long long)t);
}

static void fp_short(char out[static 12], const char fp[static PL_FINGERPRINT_LEN])
{
	memcpy(out, fp, 11);
	out[11] = '\0';
}

/* An untrusted string made safe to put in a message: printable ASCII only,
 * cut at 40 characters. */
static void safe_str(char out[static 48], const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0' && i < 40; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char buf[2 * 64 + 1];
	pl_hex_encode(buf, p, n);
	return json_string(buf);
}

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char *buf = malloc(pl_b64_len(n));
	if (buf == NULL)
		return NULL;
	pl_b64_encode(buf, p, n);
	json_t *j = json_string(buf);
	free(buf);
	return j;
}

static json_t *time_json(uint64_t t)
{
	char buf[TIME_BUF];
	fmt_time(buf, t);
	return json_string(buf);
}

/* Canonical lowercase hex of exactly n bytes. */
static int hex_field(uint8_t *out, size_t n, const json_t *j)
{
	char back[2 * 64 + 1];
	const char *s = json_string_value(j);
	if (s == NULL || n > 64 || json_string_length(j) != 2 * n || pl_hex_decode(out, n, s) != 0)
		return -1;
	pl_hex_encode(back, out, n);
	return strcmp(back, s) == 0 ? 0 : -1;
}

/* Canonical base64 of a signed object; *out is malloc'd. */
static int b64_field(uint8_t **out, size_t *outlen, const json_t *j)
{
	const char *s = json_string_value(j);
	size_t sl = json_string_length(j);
	*out = NULL;
	*outlen = 0;
	if (s == NULL || sl == 0 || sl > B64_SIGNED_MAX)
		return -1;
	uint8_t *buf = malloc(sl);
	char *back = malloc(sl + 1);
	if (buf == NULL || back == NULL || pl_b64_decode(buf, sl, outlen, s, sl) != 0 ||
	    pl_b64_len(*outlen) != sl + 1) {
		free(buf);
		free(back);
		return -1;
	}
	pl_b64_encode(back, buf, *outlen);
	int same = memcmp(back, s, sl) == 0;
	free(back);
	if (!same) {
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* A canonical RFC 3339 UTC time as parley writes it. */
static int time_field(uint64_t *out, const json_t *j)
{
	char back[TIME_BUF];
	const char *s = json_string_value(j);
	if (s == NULL || pl_time_parse_rfc3339(out, s) != 0 || *out > TIME_MAX)
		return -1;
	pl_time_rfc3339(back, *out);
	return strcmp(back, s) == 0 ? 0 : -1;
}

/* The object j has exactly the keys in names (n of them), each once. */
static int exact_keys(const json_t *j, const char *const *names, size_t n, const char *prefix,
		      const char *where, pl_err *e)
{
	const char *key;
	json_t *v;
	char safe[48];

	if (!json_is_object(j))
		return pl_err_set(e, PL_EXIT_INPUT, "%s%s is not a JSON object", prefix, where);
	json_object_foreach((json_t *)j, key, v)
	{
		size_t i = 0;
		while (i < n && strcmp(names[i], key) != 0)
			i++;
		if (i == n) {
			safe_str(safe, key);
			return pl_err_set(e, PL_EXIT_INPUT, "%s%s has an unknown key \"%s\"",
					  prefix, where, safe);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (json_object_get(j, names[i]) == NULL)
			return pl_err_set(e, PL_EXIT_INPUT, "%s%s has no \"%s\"", prefix, where,
					  names[i]);
	return 0;
}

static int header_check(const json_t *root, const char *format, const char *prefix, pl_err *e)
{
	const char *f = json_string_value(json_object_get(root, "format"));
	const json_t *v = json_object_get(root, "version");
	char safe[48];

	if (f == NULL)
		return pl_err_set(e, PL_EXIT_INPUT, "%s\"format\" is not a string", prefix);
	if (strcmp(f, format) != 0) {
		safe_str(safe, f);
		return pl_err_set(e, PL_EXIT_INPUT, "%sits format is \"%s\", not \"%s\"", prefix,
				  safe, format);
	}
	if (!json_is_integer(v) || json_integer_value(v) != PL_EXPORT_VERSION)
		return pl_err_set(e, PL_EXIT_INPUT, "%sversion must be the integer %d", prefix,
				  PL_EXPORT_VERSION);
	return 0;
}

static json_t *load(const uint8_t *file, size_t n, const char *prefix, pl_err *e)
{
	json_error_t jerr;
	if (file == NULL || n > PL_EXPORT_FILE_MAX) {
		pl_err_set(e, PL_EXIT_INPUT, "%sit is larger than %u bytes", prefix,
			   PL_EXPORT_FILE_MAX);
		return NULL;
	}
	json_t *root = json_loadb((const char *)file, n, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		pl_err_set(e, PL_EXIT_INPUT, "%snot valid JSON (line %d, column %d)", prefix,
			   jerr.line, jerr.column);
	return root;
}

/* 0 iff file is exactly the serialization of j. */
static int same_bytes(const json_t *j, const uint8_t *file, size_t n, const char *prefix, pl_err *e)
{
	size_t len;
	char *s = pl_export_dumps(j, &len);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int same = len == n && memcmp(s, file, n) == 0;
	free(s);
	if (!same)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "%sit is not byte for byte as parley writes it (edited after "
				  "export?)",
				  prefix);
	return 0;
}

static int expected_check(const uint8_t (*expect)[PL_IK_LEN], size_t n_expect,
			  const uint8_t (*signers)[PL_IK_LEN], size_t n_signers, const char *what,
			  pl_err *e)
{
	for (size_t i = 0; i < n_expect; i++) {
		size_t k = 0;
		while (k < n_signers && sodium_memcmp(expect[i], signers[k], PL_IK_LEN) != 0)
			k++;
		if (k == n_signers) {
			char fp[PL_FINGERPRINT_LEN];
			char hex[PL_KEY_HEX_LEN];
			pl_fingerprint(fp, expect[i]);
			pl_hex_encode(hex, expect[i], PL_IK_LEN);
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "key %.16s... (fingerprint %s) did not sign this %s", hex,
					  fp, what);
		}
	}
	return 0;
}

/* --- serialization ---------------------------------------------------------- */

char *pl_export_dumps(const json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	char *out = realloc(s, n + 2);
	if (out == NULL) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return out;
}

int pl_export_write_file(const char *path, const json_t *j, pl_err *e)
{
	size_t len;
	char *s = pl_export_dumps(j, &len);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16);
	char *dir = strdup(path);
	if (tmp == NULL || dir == NULL) {
		free(tmp);
		free(dir);
		free(s);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp); /* mode 0600 */
	int rc = -1;
	if (fd < 0) {
		pl_err_set(e, PL_EXIT_ERROR, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, s + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != len || fsync(fd) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	free(tmp);
	free(dir);
	free(s);
	return rc;
}

/* --- agreement -------------------------------------------------------------- */

static json_t *agreement_json(const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an)
{
	json_t *j = json_object();
	if (j == NULL || json_object_set_new(j, "format", json_string(PL_AGREEMENT_FORMAT)) ||
	    json_object_set_new(j, "version", json_integer(PL_EXPORT_VERSION)) ||
	    json_object_set_new(j, "proposal", b64_json(pb, pn)) ||
	    json_object_set_new(j, "acceptance", b64_json(ab, an))) {
		json_decref(j);
		return NULL;
	}
	return j;
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
			   const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an, pl_err *e)
{
	char f1[PL_FINGERPRINT_LEN], f2[PL_FINGERPRINT_LEN];
	char t1[TIME_BUF], t2[TIME_BUF];

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
	if (P->u.proposal.expires != 0 && A->created > P->u.proposal.expires) {
		fmt_time(t1, P->u.proposal.expires);
		fmt_time(t2, A->created);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the proposal had expired when it was accepted (expires %s, "
				  "accepted %s)",
				  t1, t2);
	}
	return 0;
}

int pl_agreement_write(json_t **out, const uint8_t *proposal_signed, size_t proposal_len,
		       const uint8_t *acceptance_signed, size_t acceptance_len, pl_err *e)
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
			    acceptance_len, e) != 0)
		goto done;
	*out = agreement_json(proposal_signed, proposal_len, acceptance_signed, acceptance_len);
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

int pl_agreement_verify(pl_agreement_summary *s, const uint8_t *file, size_t n,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e)
{
	static const char *const keys[] = {"format", "version", "proposal", "acceptance"};
	pl_agreement_summary *t = s ? s : malloc(sizeof *t);
	uint8_t *pb = NULL, *ab = NULL;
	size_t pn = 0, an = 0;
	json_t *root = NULL, *canon = NULL;
	int rc = -1;

	if (t == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	memset(t, 0, sizeof *t);
	root = load(file, n, NOT_AGREEMENT, e);
	if (root == NULL)
		goto done;
	if (exact_keys(root, keys, 4, NOT_AGREEMENT, "the file", e) != 0 ||
	    header_check(root, PL_AGREEMENT_FORMAT, NOT_AGREEMENT, e) != 0)
		goto done;
	if (b64_field(&pb, &pn, json_object_get(root, "proposal")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_AGREEMENT "the proposal is not canonical base64 "
					 "of at most %d bytes",
			   PL_OBJ_SIGNED_MAX);
		goto done;
	}
	if (b64_field(&ab, &an, json_object_get(root, "acceptance")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_AGREEMENT "the acceptance is not canonical base64 "
					 "of at most %d bytes",
			   PL_OBJ_SIGNED_MAX);
		goto done;
	}
	if (agreement_check(&t->proposal, &t->acceptance, t->proposal_hash, pb, pn, ab, an, e) != 0)
		goto done;
	canon = agreement_json(pb, pn, ab, an);
	if (canon == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	if (same_bytes(canon, file, n, NOT_AGREEMENT, e) != 0)
		goto done;
	memcpy(t->proposer_ik, t->proposal.author_ik, PL_IK_LEN);
	memcpy(t->accepter_ik, t->acceptance.author_ik, PL_IK_LEN);
	uint8_t signers[2][PL_IK_LEN];
	memcpy(signers[0], t->proposer_ik, PL_IK_LEN);
	memcpy(signers[1], t->accepter_ik, PL_IK_LEN);
	if (expected_check(expect, n_expect, (const uint8_t(*)[PL_IK_LEN])signers, 2, "agreement",
			   e) != 0)
		goto done;
	pl_fingerprint(t->proposer_fp, t->proposer_ik);
	pl_fingerprint(t->accepter_fp, t->accepter_ik);
	rc = 0;
done:
	if (rc != 0 && s)
		memset(s, 0, sizeof *s);
	if (t != s)
		free(t);
	free(pb);
	free(ab);
	json_decref(root);
	json_decref(canon);
	return rc;
}

/* --- thread ----------------------------------------------------------------- */

#define KIND_NOTE 0

struct pl_thread_export {
	pl_identity me;
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

/* chain' = SHA-256(chain ‖ SHA-256(u8 kind ‖ u8 dir ‖ time u64 ‖ var(body))) */
static int chain_step(uint8_t chain[static PL_OBJ_HASH_LEN], int kind, int dir, uint64_t time,
		      const uint8_t *body, size_t n)
{
	uint8_t buf[2 * PL_OBJ_HASH_LEN];
	pl_wr w;
	pl_wr_init(&w);
	pl_wr_u8(&w, (uint8_t)kind);
	pl_wr_u8(&w, (uint8_t)dir);
	pl_wr_u64(&w, time);
	pl_wr_var(&w, body, n);
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

/* "parley thread v1\n" ‖ exporter ‖ peer ‖ head */
static size_t head_msg(uint8_t *m, const uint8_t exporter[static PL_IK_LEN],
		       const uint8_t peer[static PL_IK_LEN], const uint8_t head[static 32])
{
	size_t t = sizeof PL_THREAD_SIG_TAG - 1;
	memcpy(m, PL_THREAD_SIG_TAG, t);
	memcpy(m + t, exporter, PL_IK_LEN);
	memcpy(m + t + PL_IK_LEN, peer, PL_IK_LEN);
	memcpy(m + t + 2 * PL_IK_LEN, head, PL_OBJ_HASH_LEN);
	return t + 2 * PL_IK_LEN + PL_OBJ_HASH_LEN;
}
#define HEAD_MSG_LEN (sizeof PL_THREAD_SIG_TAG - 1 + 2 * PL_IK_LEN + PL_OBJ_HASH_LEN)

static json_t *entry_json(int kind, int dir, uint64_t time, const uint8_t *body, size_t n)
{
	json_t *j = json_object();
	json_t *b = kind == KIND_NOTE ? json_stringn((const char *)body, n) : b64_json(body, n);
	if (j == NULL || json_object_set_new(j, "kind", json_string(kind_str(kind))) ||
	    json_object_set_new(j, "time", time_json(time)) ||
	    json_object_set_new(j, "direction", json_string(dir_str(dir))) ||
	    json_object_set_new(j, kind == KIND_NOTE ? "text" : "signed", b)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *thread_json(const uint8_t exporter[static PL_IK_LEN],
			   const uint8_t peer[static PL_IK_LEN], json_t *entries,
			   const uint8_t head[static PL_OBJ_HASH_LEN],
			   const uint8_t sig[static PL_SIG_LEN])
{
	json_t *j = json_object();
	if (j == NULL || json_object_set_new(j, "format", json_string(PL_THREAD_FORMAT)) ||
	    json_object_set_new(j, "version", json_integer(PL_EXPORT_VERSION)) ||
	    json_object_set_new(j, "exporter", hex_json(exporter, PL_IK_LEN)) ||
	    json_object_set_new(j, "peer", hex_json(peer, PL_IK_LEN)) ||
	    json_object_set(j, "entries", entries) ||
	    json_object_set_new(j, "head", hex_json(head, PL_OBJ_HASH_LEN)) ||
	    json_object_set_new(j, "signature", hex_json(sig, PL_SIG_LEN))) {
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
		     size_t n, pl_err *e)
{
	uint8_t chain[PL_OBJ_HASH_LEN];
	if (json_array_size(x->entries) >= PL_THREAD_ENTRIES_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "a thread export holds at most %d entries",
				  PL_THREAD_ENTRIES_MAX);
	memcpy(chain, x->chain, sizeof chain);
	json_t *j = entry_json(kind, dir, time, body, n);
	if (j == NULL || chain_step(chain, kind, dir, time, body, n) != 0 ||
	    json_array_append_new(x->entries, j) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	memcpy(x->chain, chain, sizeof chain);
	return 0;
}

static int entry_args_check(int dir, uint64_t time, pl_err *e)
{
	if (dir_str(dir) == NULL)
		return pl_err_set(e, PL_EXIT_INPUT, "an entry's direction must be in or out");
	if (time > TIME_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "an entry's time is past the year 9999");
	return 0;
}

int pl_thread_export_add_signed(pl_thread_export *x, int dir, uint64_t time,
				const uint8_t *signed_obj, size_t n, pl_err *e)
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
	return add_entry(x, x->scratch->type, dir, time, signed_obj, n, e);
}

int pl_thread_export_add_note(pl_thread_export *x, int dir, uint64_t time, const char *text,
			      pl_err *e)
{
	if (entry_args_check(dir, time, e) != 0)
		return -1;
	if (text == NULL || pl_obj_text_ok(text, 0, PL_THREAD_NOTE_MAX, PL_TEXT_MULTILINE) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "a note must be at most %d bytes of UTF-8 text without control "
				  "characters other than newlines",
				  PL_THREAD_NOTE_MAX);
	return add_entry(x, KIND_NOTE, dir, time, (const uint8_t *)text, strlen(text), e);
}

int pl_thread_export_finish(pl_thread_export *x, json_t **out, pl_err *e)
{
	uint8_t m[HEAD_MSG_LEN];
	uint8_t sig[PL_SIG_LEN];
	size_t len;

	*out = NULL;
	crypto_sign_detached(sig, NULL, m, head_msg(m, x->me.pk, x->peer, x->chain), x->me.sk);
	json_t *j = thread_json(x->me.pk, x->peer, x->entries, x->chain, sig);
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

/* One entry of a thread file: checked, added to the chain and to canon. */
static int thread_entry(const json_t *je, size_t idx, const uint8_t exporter[static PL_IK_LEN],
			const uint8_t peer[static PL_IK_LEN], uint8_t chain[static 32],
			pl_obj *scratch, json_t *canon, pl_thread_summary *t, int *peer_signed,
			pl_err *e)
{
	static const char *const keys_note[] = {"kind", "time", "direction", "text"};
	static const char *const keys_obj[] = {"kind", "time", "direction", "signed"};
	char where[40];
	uint64_t time;
	int dir, kind;
	uint8_t *body = NULL;
	size_t n;

	snprintf(where, sizeof where, "entry %zu", idx + 1);
	const char *ks = json_string_value(json_object_get(je, "kind"));
	const char *ds = json_string_value(json_object_get(je, "direction"));
	if (!json_is_object(je))
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s is not a JSON object", where);
	if (ks == NULL)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s has no kind string", where);
	kind = strcmp(ks, "note") == 0 ? KIND_NOTE : pl_obj_type_from_str(ks);
	if (kind < 0)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s has an unknown kind", where);
	if (exact_keys(je, kind == KIND_NOTE ? keys_note : keys_obj, 4, NOT_THREAD, where, e) != 0)
		return -1;
	if (time_field(&time, json_object_get(je, "time")) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  NOT_THREAD "%s's time is not an RFC 3339 UTC time as parley "
					     "writes it",
				  where);
	dir = 0;
	if (ds != NULL && strcmp(ds, "out") == 0)
		dir = PL_EXPORT_OUT;
	else if (ds != NULL && strcmp(ds, "in") == 0)
		dir = PL_EXPORT_IN;
	if (dir == 0)
		return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s's direction is not in or out",
				  where);
	if (kind == KIND_NOTE) {
		const json_t *jt = json_object_get(je, "text");
		const char *s = json_string_value(jt);
		n = json_string_length(jt);
		if (s == NULL || pl_text_ok((const uint8_t *)s, n, 0, PL_THREAD_NOTE_MAX,
					    PL_TEXT_MULTILINE) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_THREAD
					  "%s's text is not note text (at most %d bytes, "
					  "no control characters but newlines)",
					  where, PL_THREAD_NOTE_MAX);
		if (chain_step(chain, kind, dir, time, (const uint8_t *)s, n) != 0 ||
		    json_array_append_new(canon,
					  entry_json(kind, dir, time, (const uint8_t *)s, n)) != 0)
			return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		t->n_notes++;
	} else {
		pl_err sub;
		pl_err_clear(&sub);
		if (b64_field(&body, &n, json_object_get(je, "signed")) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  NOT_THREAD "%s's signed object is not canonical base64",
					  where);
		if (pl_obj_decode_signed(scratch, body, n, &sub) != 0) {
			free(body);
			if (sub.code == PL_EXIT_SECURITY)
				return pl_err_set(e, PL_EXIT_SECURITY,
						  "the signature of %s (a %s) does not verify",
						  where, ks);
			return pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "%s: %s", where, sub.msg);
		}
		if (scratch->type != kind) {
			free(body);
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "%s says it is a %s but holds a signed %s", where, ks,
					  pl_obj_type_to_str(scratch->type));
		}
		if (direction_check(scratch, dir, exporter, peer) != 0) {
			free(body);
			return pl_err_set(
			    e, PL_EXIT_SECURITY, "%s is marked %s but its %s is not from %s to %s",
			    where, ds, ks, dir == PL_EXPORT_OUT ? "the exporter" : "the peer",
			    dir == PL_EXPORT_OUT ? "the peer" : "the exporter");
		}
		if (dir == PL_EXPORT_IN)
			*peer_signed = 1;
		int rc = chain_step(chain, kind, dir, time, body, n) != 0 ||
			 json_array_append_new(canon, entry_json(kind, dir, time, body, n)) != 0;
		free(body);
		if (rc)
			return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		t->n_signed++;
	}
	if (t->n_entries == 0)
		t->first_time = time;
	t->last_time = time;
	t->n_entries++;
	return 0;
}

int pl_thread_verify(pl_thread_summary *s, const uint8_t *file, size_t n,
		     const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e)
{
	static const char *const keys[] = {"format",  "version", "exporter", "peer",
					   "entries", "head",	 "signature"};
	pl_thread_summary t;
	uint8_t chain[PL_OBJ_HASH_LEN] = {0};
	uint8_t head[PL_OBJ_HASH_LEN], sig[PL_SIG_LEN], m[HEAD_MSG_LEN];
	json_t *root = NULL, *canon_entries = NULL, *canon = NULL;
	pl_obj *scratch = NULL;
	int peer_signed = 0, rc = -1;

	memset(&t, 0, sizeof t);
	root = load(file, n, NOT_THREAD, e);
	if (root == NULL)
		goto done;
	if (exact_keys(root, keys, 7, NOT_THREAD, "the file", e) != 0 ||
	    header_check(root, PL_THREAD_FORMAT, NOT_THREAD, e) != 0)
		goto done;
	if (hex_field(t.exporter_ik, PL_IK_LEN, json_object_get(root, "exporter")) != 0 ||
	    hex_field(t.peer_ik, PL_IK_LEN, json_object_get(root, "peer")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_THREAD "exporter and peer must be keys in 64 lowercase hex digits");
		goto done;
	}
	if (pl_ik_validate(t.exporter_ik) != 0 || pl_ik_validate(t.peer_ik) != 0 ||
	    memcmp(t.exporter_ik, t.peer_ik, PL_IK_LEN) == 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the exporter and peer keys must be two different valid keys");
		goto done;
	}
	if (hex_field(head, sizeof head, json_object_get(root, "head")) != 0 ||
	    hex_field(sig, sizeof sig, json_object_get(root, "signature")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_THREAD
			   "head and signature must be lowercase hex of 32 and 64 bytes");
		goto done;
	}
	const json_t *entries = json_object_get(root, "entries");
	if (!json_is_array(entries) || json_array_size(entries) > PL_THREAD_ENTRIES_MAX) {
		pl_err_set(e, PL_EXIT_INPUT, NOT_THREAD "entries must be an array of at most %d",
			   PL_THREAD_ENTRIES_MAX);
		goto done;
	}
	canon_entries = json_array();
	scratch = malloc(sizeof *scratch);
	if (canon_entries == NULL || scratch == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < json_array_size(entries); i++)
		if (thread_entry(json_array_get(entries, i), i, t.exporter_ik, t.peer_ik, chain,
				 scratch, canon_entries, &t, &peer_signed, e) != 0)
			goto done;
	if (sodium_memcmp(chain, head, sizeof head) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the hash chain over the entries does not match the "
			   "head (an entry was changed, removed or reordered)");
		goto done;
	}
	if (crypto_sign_verify_detached(sig, m, head_msg(m, t.exporter_ik, t.peer_ik, head),
					t.exporter_ik) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the exporter's signature on the thread does not "
			   "verify");
		goto done;
	}
	canon = thread_json(t.exporter_ik, t.peer_ik, canon_entries, head, sig);
	if (canon == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	if (same_bytes(canon, file, n, NOT_THREAD, e) != 0)
		goto done;
	uint8_t signers[2][PL_IK_LEN];
	memcpy(signers[0], t.exporter_ik, PL_IK_LEN);
	memcpy(signers[1], t.peer_ik, PL_IK_LEN);
	if (expected_check(expect, n_expect, (const uint8_t(*)[PL_IK_LEN])signers,
			   peer_signed ? 2 : 1, "thread", e) != 0)
		goto done;
	memcpy(t.head, head, sizeof head);
	pl_fingerprint(t.exporter_fp, t.exporter_ik);
	pl_fingerprint(t.peer_fp, t.peer_ik);
	if (s)
		*s = t;
	rc = 0;
done:
	free(scratch);
	json_decref(root);
	json_decref(canon_entries);
	json_decref(canon);
	return rc;
}

/* --- any file: dispatch on "format" ---------------------------------------- */

static json_t *ik_json(const uint8_t ik[static PL_IK_LEN], const char fp[static PL_FINGERPRINT_LEN])
{
	json_t *j = json_object();
	json_object_set_new(j, "key", hex_json(ik, PL_IK_LEN));
	json_object_set_new(j, "fingerprint", json_string(fp));
	return j;
}

static json_t *person_json(const pl_person *p)
{
	json_t *j = json_object();
	json_object_set_new(j, "ref", hex_json(p->ref, PL_OBJ_REF_LEN));
	json_object_set_new(j, "name", json_string(p->name));
	json_object_set_new(j, "held_by", json_string(p->held_by));
	json_object_set_new(j, "nationality", json_string(p->nationality));
	json_object_set_new(j, "born", json_string(p->born));
	json_object_set_new(j, "since", json_string(p->since));
	json_object_set_new(j, "charges", json_string(p->charges));
	json_object_set_new(j, "sentence", json_string(p->sentence));
	json_object_set_new(j, "humanitarian", json_string(p->humanitarian));
	json_object_set_new(j, "priority", json_integer(p->priority));
	return j;
}

static void print_names(FILE *out, const char *fp, const pl_person *ps, unsigned n)
{
	char sh[12];
	fp_short(sh, fp);
	fprintf(out, "  %s releases: ", sh);
	if (n == 0)
		fputs("no one", out);
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", ps[i].name);
	fputc('\n', out);
}

static void agreement_print(FILE *out, const pl_agreement_summary *s)
{
	const pl_proposal *b = &s->proposal.u.proposal;
	char t1[TIME_BUF], t2[TIME_BUF], id[PL_OBJ_ID_HEX_LEN], h[2 * PL_OBJ_HASH_LEN + 1];

	fprintf(out, "valid agreement between %s and %s\n", s->proposer_fp, s->accepter_fp);
	print_names(out, s->proposer_fp, b->author, b->n_author);
	print_names(out, s->accepter_fp, b->recipient, b->n_recipient);
	fprintf(out,
		"  place: %s; sequencing: %s; mediator: ", b->place[0] ? b->place : "unspecified",
		pl_obj_sequencing_to_str(b->sequencing));
	if (b->has_mediator) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, b->mediator_ik);
		fprintf(out, "%s (%s)\n", b->mediator_name, fp);
	} else {
		fputs("none\n", out);
	}
	for (unsigned i = 0; i < b->n_cond; i++)
		fprintf(out, "  condition: %s\n", b->cond[i]);
	fmt_time(t1, s->proposal.created);
	fmt_time(t2, s->acceptance.created);
	fprintf(out, "  proposed %s, accepted %s", t1, t2);
	if (b->expires) {
		fmt_time(t1, b->expires);
		fprintf(out, "; offer open until %s", t1);
	}
	pl_obj_id_hex(id, s->proposal.id);
	pl_hex_encode(h, s->proposal_hash, PL_OBJ_HASH_LEN);
	fprintf(out, "\n  proposal %s, sha256 %s\n", id, h);
}

static json_t *agreement_summary_json(const pl_agreement_summary *s)
{
	const pl_proposal *b = &s->proposal.u.proposal;
	json_t *j = json_object(), *a = json_array(), *r = json_array(), *c = json_array();
	for (unsigned i = 0; i < b->n_author; i++)
		json_array_append_new(a, person_json(&b->author[i]));
	for (unsigned i = 0; i < b->n_recipient; i++)
		json_array_append_new(r, person_json(&b->recipient[i]));
	for (unsigned i = 0; i < b->n_cond; i++)
		json_array_append_new(c, json_string(b->cond[i]));
	json_object_set_new(j, "valid", json_true());
	json_object_set_new(j, "format", json_string(PL_AGREEMENT_FORMAT));
	json_object_set_new(j, "proposer", ik_json(s->proposer_ik, s->proposer_fp));
	json_object_set_new(j, "accepter", ik_json(s->accepter_ik, s->accepter_fp));
	json_object_set_new(j, "proposal_id", hex_json(s->proposal.id, PL_OBJ_ID_LEN));
	json_object_set_new(j, "proposal_hash", hex_json(s->proposal_hash, PL_OBJ_HASH_LEN));
	json_object_set_new(j, "acceptance_id", hex_json(s->acceptance.id, PL_OBJ_ID_LEN));
	json_object_set_new(j, "proposer_releases", a);
	json_object_set_new(j, "accepter_releases", r);
	json_object_set_new(j, "conditions", c);
	json_object_set_new(j, "place", json_string(b->place));
	json_object_set_new(j, "sequencing", json_string(pl_obj_sequencing_to_str(b->sequencing)));
	if (b->has_mediator) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, b->mediator_ik);
		json_t *m = ik_json(b->mediator_ik, fp);
		json_object_set_new(m, "name", json_string(b->mediator_name));
		json_object_set_new(j, "mediator", m);
	} else {
		json_object_set_new(j, "mediator", json_null());
	}
	json_object_set_new(j, "expires", b->expires ? time_json(b->expires) : json_null());
	json_object_set_new(j, "supersedes",
			    sodium_is_zero(b->supersedes_id, PL_OBJ_ID_LEN)
				? json_null()
				: hex_json(b->supersedes_id, PL_OBJ_ID_LEN));
	json_object_set_new(j, "proposed", time_json(s->proposal.created));
	json_object_set_new(j, "accepted", time_json(s->acceptance.created));
	return j;
}

static int agreement_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e,
			  FILE *out, json_t **js)
{
	pl_agreement_summary *s = malloc(sizeof *s);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_agreement_verify(s, file, n, o->expect, o->n_expect, e);
	if (rc == 0 && out)
		agreement_print(out, s);
	if (rc == 0 && js)
		*js = agreement_summary_json(s);
	free(s);
	return rc;
}

static int thread_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e, FILE *out,
		       json_t **js)
{
	pl_thread_summary s;
	char t1[TIME_BUF], t2[TIME_BUF], h[2 * PL_OBJ_HASH_LEN + 1];
	if (pl_thread_verify(&s, file, n, o->expect, o->n_expect, e) != 0)
		return -1;
	pl_hex_encode(h, s.head, sizeof s.head);
	fmt_time(t1, s.first_time);
	fmt_time(t2, s.last_time);
	if (out) {
		fprintf(out, "valid thread exported by %s with %s\n", s.exporter_fp, s.peer_fp);
		fprintf(out, "  %zu entr%s: %zu signed object%s, %zu note%s", s.n_entries,
			s.n_entries == 1 ? "y" : "ies", s.n_signed, s.n_signed == 1 ? "" : "s",
			s.n_notes, s.n_notes == 1 ? "" : "s");
		if (s.n_entries)
			fprintf(out, ", %s to %s", t1, t2);
		fprintf(out, "\n  head %s\n", h);
	}
	if (js) {
		json_t *j = json_object();
		json_object_set_new(j, "valid", json_true());
		json_object_set_new(j, "format", json_string(PL_THREAD_FORMAT));
		json_object_set_new(j, "exporter", ik_json(s.exporter_ik, s.exporter_fp));
		json_object_set_new(j, "peer", ik_json(s.peer_ik, s.peer_fp));
		json_object_set_new(j, "entries", json_integer((json_int_t)s.n_entries));
		json_object_set_new(j, "signed", json_integer((json_int_t)s.n_signed));
		json_object_set_new(j, "notes", json_integer((json_int_t)s.n_notes));
		json_object_set_new(j, "first", s.n_entries ? json_string(t1) : json_null());
		json_object_set_new(j, "last", s.n_entries ? json_string(t2) : json_null());
		json_object_set_new(j, "head", json_string(h));
		*js = j;
	}
	return 0;
}

/* Proof of outreach (issue 4): the bundle and its summaries live in
 * log/proof.c; this is only its row in the table. */
static int outreach_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e,
			 FILE *out, json_t **js)
{
	pl_outreach_summary s;
	if (pl_outreach_proof_verify(&s, file, n, o->relay_key, o->expect, o->n_expect, e) != 0)
		return -1;
	if (out)
		pl_outreach_summary_print(out, &s);
	if (js && (*js = pl_outreach_summary_json(&s)) == NULL) {
		pl_outreach_summary_free(&s);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	pl_outreach_summary_free(&s);
	return 0;
}

static const struct {
	const char *format;
	int takes_relay_key; /* whether --relay-key applies */
	int (*verify)(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e, FILE *out,
		      json_t **js);
} formats[] = {
    {PL_AGREEMENT_FORMAT, 0, agreement_file},
    {PL_THREAD_FORMAT, 0, thread_file},
    {PL_OUTREACH_FORMAT, 1, outreach_file},
};

int pl_verify_bytes(const uint8_t *file, size_t n, const uint8_t (*expect)[PL_IK_LEN],
		    size_t n_expect, pl_err *e, FILE *out_summary, json_t **json_summary)
{
	pl_verify_opts o = {expect, n_expect, NULL};
	return pl_verify_bytes_ex(file, n, &o, e, out_summary, json_summary);
}

int pl_verify_bytes_ex(const uint8_t *file, size_t n, const pl_verify_opts *opts, pl_err *e,
		       FILE *out_summary, json_t **json_summary)
{
	static const pl_verify_opts none = {NULL, 0, NULL};
	const pl_verify_opts *o = opts ? opts : &none;
	const char *prefix = "not a parley export file: ";
	char safe[48];

	if (json_summary)
		*json_summary = NULL;
	json_t *root = load(file, n, prefix, e);
	if (root == NULL)
		return -1;
	const char *f = json_string_value(json_object_get(root, "format"));
	if (f == NULL) {
		json_decref(root);
		return pl_err_set(e, PL_EXIT_INPUT, "%sit has no \"format\" string", prefix);
	}
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		if (strcmp(formats[i].format, f) == 0) {
			json_decref(root);
			if (o->relay_key != NULL && !formats[i].takes_relay_key)
				return pl_err_set(e, PL_EXIT_USAGE,
						  "--relay-key applies to proofs of outreach only; "
						  "this file is a %s",
						  formats[i].format);
			return formats[i].verify(file, n, o, e, out_summary, json_summary);
		}
	}
	safe_str(safe, f);
	json_decref(root);
	return pl_err_set(e, PL_EXIT_INPUT, "%sunknown format \"%s\"", prefix, safe);
}

int pl_verify_file(const char *path, const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e,
		   FILE *out_summary, json_t **json_summary)
{
	pl_verify_opts o = {expect, n_expect, NULL};
	return pl_verify_file_ex(path, &o, e, out_summary, json_summary);
}

int pl_verify_file_ex(const char *path, const pl_verify_opts *opts, pl_err *e, FILE *out_summary,
		      json_t **json_summary)
{
	struct stat st;
	if (json_summary)
		*json_summary = NULL;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return pl_err_set(e, PL_EXIT_INPUT, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pl_err_set(e, PL_EXIT_INPUT, "%s is not a regular file", path);
	}
	if ((unsigned long long)st.st_size > PL_EXPORT_FILE_MAX) {
		close(fd);
		return pl_err_set(e, PL_EXIT_INPUT, "%s is larger than %u bytes", path,
				  PL_EXPORT_FILE_MAX);
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	uint8_t *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			free(buf);
			close(fd);
			return pl_err_set(e, PL_EXIT_INPUT, "cannot read %s: %s", path,
					  strerror(err));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) { /* grew while we read */
			free(buf);
			close(fd);
			return pl_err_set(e, PL_EXIT_INPUT, "%s changed while it was read", path);
		}
	}
	close(fd);
	int rc = pl_verify_bytes_ex(buf, n, opts, e, out_summary, json_summary);
	free(buf);
	return rc;
}
