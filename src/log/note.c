/*
 * note.c — C2SP signed notes, Ed25519 verifier and signer keys, and the
 * tlog-checkpoint body; see note.h for the formats and the verification
 * semantics.
 *
 * Every input is parsed with explicit lengths (no NUL termination is
 * assumed), in two passes: the whole note's syntax first, so that garbage
 * costs no signature checks and a malformed note is always reported as
 * malformed, then the signatures of known keys.
 */
#include "log/note.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/codec.h"
#include "util/text.h"
#include "util/wire.h"

#define HLEN PL_MERKLE_HASH_LEN
#define ED_SIG_LEN 64
#define SIG_B64_LEN 92 /* base64 of keyid(4) ‖ Ed25519 signature(64) */
#define KEY_B64_LEN 44 /* base64 of 0x01 ‖ 32-byte key */
#define ROOT_B64_LEN 44

static const uint8_t em_dash_sp[4] = {0xe2, 0x80, 0x94, 0x20}; /* "— " */
static const char skey_prefix[] = "PRIVATE+KEY+";

/* Valid UTF-8 with no ASCII control character other than newline. */
static int text_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		size_t k = pl_utf8_next(p + i, n - i, &cp);
		if (k == 0 || (cp < 0x20 && cp != '\n'))
			return 0;
		i += k;
	}
	return 1;
}

/* pl_b64_decode on libsodium 1.0.18 takes every byte ≥ 0x80 for some
 * base64 character (its constant-time class tests assume 7-bit input), so
 * the alphabet is checked here first: a note is UTF-8 and may put any
 * such byte where base64 is expected. */
static int b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *b64, size_t len)
{
	*outlen = 0;
	for (size_t i = 0; i < len; i++) {
		char c = b64[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return -1;
	}
	return pl_b64_decode(out, cap, outlen, b64, len);
}

/* Unicode White_Space (what "Unicode spaces" means for key names). */
static int is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Key-name syntax, any length: non-empty UTF-8, no white space, no "+"
 * (the spec's rules), and no control character: C0, DEL or C1. Go's
 * sumdb/note allows controls that are not spaces; we do not, because key
 * names are printed to terminals (U+009B is a CSI there, as ESC [ is), so
 * a note that names a key with one is refused. */
static int name_syntax_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	if (n == 0)
		return 0;
	while (i < n) {
		size_t k = pl_utf8_next(p + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || is_space(cp) || cp == '+')
			return 0;
		i += k;
	}
	return 1;
}

int pl_note_name_check(const char *name, size_t len)
{
	if (name == NULL || len > PL_NOTE_NAME_MAX || !name_syntax_ok((const uint8_t *)name, len))
		return -1;
	return 0;
}

static uint32_t keyid_of(const char *name, size_t namelen, const uint8_t pk[static PL_NOTE_PK_LEN])
{
	static const uint8_t sep[2] = {0x0a, PL_NOTE_ALG_ED25519};
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, namelen);
	crypto_hash_sha256_update(&st, sep, sizeof sep);
	crypto_hash_sha256_update(&st, pk, PL_NOTE_PK_LEN);
	crypto_hash_sha256_final(&st, h);
	return pl_be32_get(h);
}

int pl_note_keyid(uint32_t *out, const char *name, const uint8_t pk[static PL_NOTE_PK_LEN])
{
	if (name == NULL)
		return -1;
	size_t len = strlen(name);
	if (pl_note_name_check(name, len) != 0)
		return -1;
	*out = keyid_of(name, len, pk);
	return 0;
}

/* Exactly 8 lowercase hex digits (the form every writer produces). */
static int hex8_parse(uint32_t *out, const char *s, size_t n)
{
	uint32_t v = 0;

	if (n != 8)
		return -1;
	for (size_t i = 0; i < 8; i++) {
		char c = s[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else
			return -1;
		v = (v << 4) | d;
	}
	*out = v;
	return 0;
}

static const char *find_char(const char *s, size_t n, char c)
{
	return n == 0 ? NULL : memchr(s, c, n);
}

/* Splits "name+hex8+base64(0x01 ‖ 32 bytes)" on its first two "+" and
 * decodes it; key32 receives the 32 bytes. Does not check the key id. */
static int key_string_parse(char name[static PL_NOTE_NAME_MAX + 1], uint32_t *keyid,
			    uint8_t key32[static 32], const char *s, size_t len)
{
	uint8_t raw[33];
	size_t rawlen = 0;
	const char *p1 = find_char(s, len, '+');
	if (p1 == NULL)
		return -1;
	size_t namelen = (size_t)(p1 - s);
	const char *h = p1 + 1;
	const char *p2 = find_char(h, len - namelen - 1, '+');
	if (p2 == NULL)
		return -1;
	const char *b64 = p2 + 1;
	size_t b64len = len - (size_t)(b64 - s);

	if (pl_note_name_check(s, namelen) != 0 || hex8_parse(keyid, h, (size_t)(p2 - h)) != 0 ||
	    b64len != KEY_B64_LEN || b64_decode(raw, sizeof raw, &rawlen, b64, b64len) != 0 ||
	    rawlen != sizeof raw || raw[0] != PL_NOTE_ALG_ED25519) {
		sodium_memzero(raw, sizeof raw);
		return -1;
	}
	memcpy(name, s, namelen);
	name[namelen] = '\0';
	memcpy(key32, raw + 1, 32);
	sodium_memzero(raw, sizeof raw);
	return 0;
}

int pl_note_vkey_parse(pl_note_vkey *out, const char *s, size_t len)
{
	pl_note_vkey v;

	if (out == NULL || s == NULL || key_string_parse(v.name, &v.keyid, v.pk, s, len) != 0 ||
	    keyid_of(v.name, strlen(v.name), v.pk) != v.keyid)
		return -1;
	*out = v;
	return 0;
}

int pl_note_vkey_format(char *out, size_t cap, const char *name,
			const uint8_t pk[static PL_NOTE_PK_LEN])
{
	uint8_t raw[1 + PL_NOTE_PK_LEN];
	char b64[KEY_B64_LEN + 1];
	uint32_t id;

	if (out == NULL || pl_note_keyid(&id, name, pk) != 0)
		return -1;
	raw[0] = PL_NOTE_ALG_ED25519;
	memcpy(raw + 1, pk, PL_NOTE_PK_LEN);
	pl_b64_encode(b64, raw, sizeof raw);
	int n = snprintf(out, cap, "%s+%08x+%s", name, (unsigned)id, b64);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int pl_note_skey_parse(pl_note_skey *out, const char *s, size_t len)
{
	const size_t plen = sizeof skey_prefix - 1;
	pl_note_skey k;
	uint8_t seed[32], pk[PL_NOTE_PK_LEN];
	int rc = -1;

	if (out == NULL || s == NULL || len < plen || memcmp(s, skey_prefix, plen) != 0)
		return -1;
	if (key_string_parse(k.name, &k.keyid, seed, s + plen, len - plen) == 0 &&
	    crypto_sign_seed_keypair(pk, k.sk, seed) == 0 &&
	    keyid_of(k.name, strlen(k.name), pk) == k.keyid) {
		*out = k;
		rc = 0;
	}
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(&k, sizeof k);
	return rc;
}

void pl_note_skey_public(pl_note_vkey *out, const pl_note_skey *sk)
{
	memcpy(out->name, sk->name, sizeof out->name);
	out->keyid = sk->keyid;
	memcpy(out->pk, sk->sk + 32, PL_NOTE_PK_LEN);
}

size_t pl_note_signed_len(size_t textlen, size_t namelen)
{
	return textlen + 1 + sizeof em_dash_sp + namelen + 1 + SIG_B64_LEN + 1;
}

int pl_note_sign(uint8_t *out, size_t cap, size_t *outlen, const uint8_t *text, size_t textlen,
		 const pl_note_skey *key)
{
	uint8_t sig[PL_NOTE_KEYID_LEN + ED_SIG_LEN];
	char b64[SIG_B64_LEN + 1];

	if (out == NULL || outlen == NULL || text == NULL || key == NULL || textlen == 0 ||
	    text[textlen - 1] != '\n' || !text_ok(text, textlen))
		return -1;
	size_t namelen = strnlen(key->name, sizeof key->name);
	if (pl_note_name_check(key->name, namelen) != 0 ||
	    keyid_of(key->name, namelen, key->sk + 32) != key->keyid)
		return -1;
	size_t total = pl_note_signed_len(textlen, namelen);
	if (textlen > PL_NOTE_MAX_LEN || total > PL_NOTE_MAX_LEN || total > cap)
		return -1;

	pl_be32_put(sig, key->keyid);
	if (crypto_sign_detached(sig + PL_NOTE_KEYID_LEN, NULL, text, textlen, key->sk) != 0)
		return -1;
	pl_b64_encode(b64, sig, sizeof sig);

	uint8_t *p = out;
	memmove(p, text, textlen); /* text may already sit at out */
	p += textlen;
	*p++ = '\n';
	memcpy(p, em_dash_sp, sizeof em_dash_sp);
	p += sizeof em_dash_sp;
	memcpy(p, key->name, namelen);
	p += namelen;
	*p++ = ' ';
	memcpy(p, b64, SIG_B64_LEN);
	p += SIG_B64_LEN;
	*p++ = '\n';
	*outlen = (size_t)(p - out);
	return 0;
}

/* One signature line, as the syntax pass leaves it. */
typedef struct {
	const uint8_t *name;
	size_t namelen;
	const char *b64;
	size_t b64len;
	uint32_t keyid;
	size_t siglen; /* decoded, key id included */
} sigline;

/* Parses one line (without its "\n"); 0 or -1 (malformed). */
static int sigline_parse(sigline *sl, const uint8_t *p, size_t n, uint8_t *buf)
{
	size_t got = 0;

	if (n < sizeof em_dash_sp || memcmp(p, em_dash_sp, sizeof em_dash_sp) != 0)
		return -1;
	p += sizeof em_dash_sp;
	n -= sizeof em_dash_sp;
	const uint8_t *sp = memchr(p, ' ', n);
	if (sp == NULL)
		return -1;
	sl->name = p;
	sl->namelen = (size_t)(sp - p);
	sl->b64 = (const char *)sp + 1;
	sl->b64len = n - sl->namelen - 1;
	if (!name_syntax_ok(sl->name, sl->namelen) || sl->b64len == 0 ||
	    b64_decode(buf, PL_NOTE_SIG_MAX, &got, sl->b64, sl->b64len) != 0 ||
	    got < PL_NOTE_KEYID_LEN + 1)
		return -1;
	sl->keyid = pl_be32_get(buf);
	sl->siglen = got;
	return 0;
}

/* First known key with this name and key id, or -1. (Two known keys that
 * share both are a configuration error; the first one wins.) */
static long known_match(const sigline *sl, const pl_note_vkey *known, size_t nknown)
{
	for (size_t i = 0; i < nknown; i++) {
		size_t kl = strnlen(known[i].name, sizeof known[i].name);
		if (known[i].keyid == sl->keyid && kl == sl->namelen &&
		    memcmp(known[i].name, sl->name, kl) == 0)
			return (long)i;
	}
	return -1;
}

pl_note_status pl_note_open(pl_note *n, const uint8_t *msg, size_t len, const pl_note_vkey *known,
			    size_t nknown)
{
	sigline sl[PL_NOTE_MAX_SIGS];
	uint8_t buf[PL_NOTE_SIG_MAX];
	size_t nsl = 0;

	if (n == NULL || msg == NULL || (known == NULL && nknown > 0) || len < 2 ||
	    len > PL_NOTE_MAX_LEN || !text_ok(msg, len))
		return PL_NOTE_MALFORMED;

	/* The text ends at the last empty line: the last "\n\n". */
	size_t split = len - 1;
	while (split > 0 && !(msg[split - 1] == '\n' && msg[split] == '\n'))
		split--;
	if (split == 0)
		return PL_NOTE_MALFORMED;
	size_t textlen = split; /* msg[0..split) ends with the text's "\n" */
	const uint8_t *sigs = msg + split + 1;
	size_t sigslen = len - split - 1;
	if (sigslen == 0 || sigs[sigslen - 1] != '\n')
		return PL_NOTE_MALFORMED;

	/* Pass 1: syntax of every signature line. */
	size_t off = 0;
	while (off < sigslen) {
		const uint8_t *line = sigs + off;
		const uint8_t *nl = memchr(line, '\n', sigslen - off);
		size_t ll = (size_t)(nl - line);
		if (nsl == PL_NOTE_MAX_SIGS || sigline_parse(&sl[nsl], line, ll, buf) != 0) {
			sodium_memzero(buf, sizeof buf);
			return PL_NOTE_MALFORMED;
		}
		nsl++;
		off += ll + 1;
	}

	/* Pass 2: every signature whose (name, key id) is a known key. */
	size_t verified[PL_NOTE_MAX_SIGS];
	size_t nver = 0;
	pl_note_status st = PL_NOTE_UNVERIFIED;
	for (size_t i = 0; i < nsl; i++) {
		long k = known_match(&sl[i], known, nknown);
		if (k < 0)
			continue;
		size_t got = 0;
		if (sl[i].siglen != PL_NOTE_KEYID_LEN + ED_SIG_LEN ||
		    b64_decode(buf, PL_NOTE_SIG_MAX, &got, sl[i].b64, sl[i].b64len) != 0 ||
		    got != PL_NOTE_KEYID_LEN + ED_SIG_LEN ||
		    crypto_sign_verify_detached(buf + PL_NOTE_KEYID_LEN, msg, textlen,
						known[k].pk) != 0) {
			st = PL_NOTE_INVALID;
			break;
		}
		size_t j = 0;
		while (j < nver && verified[j] != (size_t)k)
			j++;
		if (j == nver)
			verified[nver++] = (size_t)k;
	}
	sodium_memzero(buf, sizeof buf);
	if (st == PL_NOTE_INVALID)
		return st;
	if (nver == 0)
		return PL_NOTE_UNVERIFIED;

	n->text = msg;
	n->textlen = textlen;
	n->nsigs = nsl;
	n->nverified = nver;
	memcpy(n->verified, verified, nver * sizeof verified[0]);
	return PL_NOTE_VERIFIED;
}

const char *pl_note_status_str(pl_note_status st)
{
	switch (st) {
	case PL_NOTE_VERIFIED:
		return "verified";
	case PL_NOTE_MALFORMED:
		return "malformed";
	case PL_NOTE_INVALID:
		return "invalid";
	case PL_NOTE_UNVERIFIED:
		return "unverified";
	}
	return "unknown";
}

/* --- checkpoint --------------------------------------------------------- */

/* Next line of p[*off..n) without its "\n"; -1 if no "\n" is left. */
static int next_line(const uint8_t *p, size_t n, size_t *off, const uint8_t **line, size_t *ll)
{
	if (*off >= n)
		return -1;
	const uint8_t *nl = memchr(p + *off, '\n', n - *off);
	if (nl == NULL)
		return -1;
	*line = p + *off;
	*ll = (size_t)(nl - *line);
	*off += *ll + 1;
	return 0;
}

/* Decimal u64, no sign, no leading zero (except "0" itself), no overflow. */
static int size_parse(uint64_t *out, const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Extension lines: each non-empty and ending in "\n" (and note text). */
static int ext_ok(const uint8_t *p, size_t n)
{
	if (n == 0)
		return 1;
	if (p == NULL || p[n - 1] != '\n' || p[0] == '\n' || !text_ok(p, n))
		return 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\n' && p[i + 1] == '\n')
			return 0;
	return 1;
}

static int origin_ok(const uint8_t *p, size_t n)
{
	return n > 0 && n <= PL_CHECKPOINT_ORIGIN_MAX && memchr(p, '\n', n) == NULL &&
	       text_ok(p, n);
}

int pl_checkpoint_parse(pl_checkpoint *out, const uint8_t *text, size_t len)
{
	pl_checkpoint c;
	const uint8_t *line;
	size_t ll, off = 0, got = 0;

	if (out == NULL || text == NULL || !text_ok(text, len))
		return -1;
	memset(&c, 0, sizeof c);
	if (next_line(text, len, &off, &line, &ll) != 0 || !origin_ok(line, ll))
		return -1;
	memcpy(c.origin, line, ll);
	c.origin[ll] = '\0';
	if (next_line(text, len, &off, &line, &ll) != 0 || size_parse(&c.size, line, ll) != 0)
		return -1;
	if (next_line(text, len, &off, &line, &ll) != 0 || ll != ROOT_B64_LEN ||
	    b64_decode(c.root, sizeof c.root, &got, (const char *)line, ll) != 0 || got != HLEN)
		return -1;
	c.ext = off < len ? text + off : NULL;
	c.extlen = len - off;
	if (!ext_ok(c.ext, c.extlen))
		return -1;
	*out = c;
	return 0;
}

int pl_checkpoint_format(uint8_t *out, size_t cap, size_t *outlen, const pl_checkpoint *c)
{
	char head[PL_CHECKPOINT_BASE_MAX + 1];
	char root[ROOT_B64_LEN + 1];

	if (out == NULL || outlen == NULL || c == NULL)
		return -1;
	size_t olen = strnlen(c->origin, sizeof c->origin);
	if (olen == sizeof c->origin || !origin_ok((const uint8_t *)c->origin, olen) ||
	    !ext_ok(c->ext, c->extlen))
		return -1;
	pl_b64_encode(root, c->root, HLEN);
	int n = snprintf(head, sizeof head, "%s\n%llu\n%s\n", c->origin,
			 (unsigned long long)c->size, root);
	if (n < 0 || (size_t)n >= sizeof head || (size_t)n > cap || c->extlen > cap - (size_t)n)
		return -1;
	if (c->extlen > 0)
		memmove(out + n, c->ext, c->extlen);
	memcpy(out, head, (size_t)n);
	*outlen = (size_t)n + c->extlen;
	return 0;
}

pl_note_status pl_checkpoint_open(pl_checkpoint *c, const uint8_t *msg, size_t len,
				  const pl_note_vkey *log)
{
	pl_note n;
	pl_checkpoint tmp;

	if (c == NULL || log == NULL)
		return PL_NOTE_MALFORMED;
	pl_note_status st = pl_note_open(&n, msg, len, log, 1);
	if (st != PL_NOTE_VERIFIED)
		return st;
	if (pl_checkpoint_parse(&tmp, n.text, n.textlen) != 0 ||
	    strncmp(tmp.origin, log->name, sizeof tmp.origin) != 0)
		return PL_NOTE_MALFORMED;
	*c = tmp;
	return PL_NOTE_VERIFIED;
}
