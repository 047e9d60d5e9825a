/*
 * test_introduce.c — introductions (src/identity/introduction.c, the
 * statement's codec; src/client/introduce.c, the receiver's rules; the
 * vault's record, src/vault/vault_intros.c):
 *   - the codec: a statement round-trips; a flipped byte anywhere, every
 *     truncation, a trailing byte, another signer, and correctly signed
 *     statements with a field out of range (time 0, one key in two roles,
 *     an empty, too long or multi-line name, a URL that is not http(s) or
 *     too long, an invalid relay key) are refused; the maker refuses what
 *     the decoder would;
 *   - the receiver's rules on a real vault (no network): refused from an
 *     unverified, only introduced, changed or revoked contact, when
 *     carried by another key, signed by another key, for another
 *     recipient, for our own or a revoked key, from a plain-http relay far
 *     away; accepted from a verified contact (a new contact, introduced,
 *     sendable, its relay recorded); a replay changes nothing; a malicious
 *     mediator's other key under a known name is added under another name,
 *     flagged, and never replaces the known key; an existing contact's
 *     introduction is recorded and leaves it as it was; an introduction
 *     counts only while its introducer stays verified; removing the
 *     contact removes the record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/introduce.h"
#include "client/messenger.h"
#include "envelope/envelope.h"
#include "identity/introduction.h"
#include "util/codec.h"
#include "support.h"

/* mediator, alice (introduced), a stranger, another key, carol, a second
 * mediator, and the recipient's key when the codec is tested alone */
static pl_identity km, ka, ks, kx, kc, km2, kr;
static const uint8_t relay_key_seed[32] = {7};
static uint8_t relay_pk[32];

static pl_introduction fields(const uint8_t *recipient, const uint8_t *introduced, const char *name)
{
	pl_introduction s;
	memset(&s, 0, sizeof s);
	memcpy(s.recipient_ik, recipient, PL_IK_LEN);
	memcpy(s.introduced_ik, introduced, PL_IK_LEN);
	memcpy(s.relay_key, relay_pk, 32);
	snprintf(s.name, sizeof s.name, "%s", name);
	snprintf(s.url, sizeof s.url, "http://127.0.0.1:9");
	s.time = 1700000000;
	return s;
}

/* The statement's bytes from its parts, with no check, signed by signer. */
static void forge(pl_wr *w, const pl_introduction *s, const uint8_t *name, size_t namelen,
		  const uint8_t *url, size_t urllen, const pl_identity *signer)
{
	pl_wr m;
	pl_wr_init(&m);
	pl_wr_bytes(&m, (const uint8_t *)PL_INTRO_LABEL, PL_INTRO_LABEL_LEN);
	pl_wr_bytes(&m, s->introducer_ik, PL_IK_LEN);
	pl_wr_bytes(&m, s->recipient_ik, PL_IK_LEN);
	pl_wr_bytes(&m, s->introduced_ik, PL_IK_LEN);
	pl_wr_bytes(&m, s->relay_key, 32);
	pl_wr_u64(&m, s->time);
	pl_wr_u8(&m, (uint8_t)namelen);
	pl_wr_bytes(&m, name, namelen);
	pl_wr_u16(&m, (uint16_t)urllen);
	pl_wr_bytes(&m, url, urllen);
	uint8_t sig[PL_SIG_LEN];
	crypto_sign_detached(sig, NULL, m.p, m.n, signer->sk);
	pl_wr_init(w);
	pl_wr_bytes(w, m.p, m.n);
	pl_wr_bytes(w, sig, sizeof sig);
	pl_wr_free(&m);
}

/* Forged with introducer km and the fields of s, strings as given. */
static int forged_decodes(pl_introduction s, const char *name, size_t namelen, const char *url,
			  size_t urllen)
{
	pl_wr w;
	pl_introduction d;
	memcpy(s.introducer_ik, km.pk, PL_IK_LEN);
	forge(&w, &s, (const uint8_t *)name, namelen, (const uint8_t *)url, urllen, &km);
	int rc = pl_introduction_decode(&d, w.p, w.n);
	pl_wr_free(&w);
	return rc;
}

/* ---- the codec ---------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	(void)state;
	pl_introduction s = fields(kr.pk, ka.pk, "Iran"), d;
	pl_wr w;
	pl_wr_init(&w);
	assert_int_equal(pl_introduction_make(&w, &km, &s), 0);
	assert_int_equal(w.n, PL_INTRO_FIXED_LEN + 4 + strlen("http://127.0.0.1:9"));
	assert_int_equal(pl_introduction_decode(&d, w.p, w.n), 0);
	assert_memory_equal(d.introducer_ik, km.pk, PL_IK_LEN);
	assert_memory_equal(d.recipient_ik, kr.pk, PL_IK_LEN);
	assert_memory_equal(d.introduced_ik, ka.pk, PL_IK_LEN);
	assert_memory_equal(d.relay_key, relay_pk, 32);
	assert_int_equal(d.time, 1700000000);
	assert_string_equal(d.name, "Iran");
	assert_string_equal(d.url, "http://127.0.0.1:9");
	/* the forger writes what the maker does */
	pl_wr f;
	memcpy(s.introducer_ik, km.pk, PL_IK_LEN);
	forge(&f, &s, (const uint8_t *)"Iran", 4, (const uint8_t *)s.url, strlen(s.url), &km);
	assert_int_equal(f.n, w.n);
	assert_memory_equal(f.p, w.p, w.n);
	pl_wr_free(&f);

	/* every flipped bit of every byte, every truncation, a byte more */
	uint8_t *b = malloc(w.n + 1);
	assert_non_null(b);
	for (size_t i = 0; i < w.n; i++) {
		memcpy(b, w.p, w.n);
		b[i] ^= 0x01;
		assert_int_equal(pl_introduction_decode(&d, b, w.n), -1);
	}
	for (size_t n = 0; n < w.n; n++)
		assert_int_equal(pl_introduction_decode(&d, w.p, n), -1);
	memcpy(b, w.p, w.n);
	b[w.n] = 0;
	assert_int_equal(pl_introduction_decode(&d, b, w.n + 1), -1);
	assert_int_equal(pl_introduction_decode(&d, NULL, 0), -1);
	free(b);
	pl_wr_free(&w);
}

static void test_refusals(void **state)
{
	(void)state;
	pl_introduction s = fields(kr.pk, ka.pk, "Iran");
	const char *u = "http://127.0.0.1:9";
	size_t ul = strlen(u);
	/* correctly signed, well formed: the baseline decodes */
	assert_int_equal(forged_decodes(s, "Iran", 4, u, ul), 0);

	/* signed by someone else than the key it names as introducer */
	pl_wr w;
	pl_introduction d, t = s;
	memcpy(t.introducer_ik, km.pk, PL_IK_LEN);
	forge(&w, &t, (const uint8_t *)"Iran", 4, (const uint8_t *)u, ul, &ks);
	assert_int_equal(pl_introduction_decode(&d, w.p, w.n), -1);
	/* another label */
	w.p[0] ^= 0x20;
	assert_int_equal(pl_introduction_decode(&d, w.p, w.n), -1);
	pl_wr_free(&w);

	t = s;
	t.time = 0;
	assert_int_equal(forged_decodes(t, "Iran", 4, u, ul), -1);
	t = s;
	memcpy(t.recipient_ik, km.pk, PL_IK_LEN); /* introducer = recipient */
	assert_int_equal(forged_decodes(t, "Iran", 4, u, ul), -1);
	t = s;
	memcpy(t.introduced_ik, km.pk, PL_IK_LEN); /* introducer = introduced */
	assert_int_equal(forged_decodes(t, "Iran", 4, u, ul), -1);
	t = s;
	memcpy(t.introduced_ik, kr.pk, PL_IK_LEN); /* recipient = introduced */
	assert_int_equal(forged_decodes(t, "Iran", 4, u, ul), -1);
	t = s;
	memset(t.introduced_ik, 0, PL_IK_LEN); /* not a valid key */
	assert_int_equal(forged_decodes(t, "Iran", 4, u, ul), -1);
	t = s;
	memset(t.relay_key, 0, 32);
	assert_int_equal(forged_decodes(t, "Iran", 4, u, ul), -1);

	char longname[PL_INTRO_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname);
	assert_int_equal(forged_decodes(s, longname, PL_INTRO_NAME_MAX, u, ul), 0);
	assert_int_equal(forged_decodes(s, longname, PL_INTRO_NAME_MAX + 1, u, ul), -1);
	assert_int_equal(forged_decodes(s, "", 0, u, ul), -1);
	assert_int_equal(forged_decodes(s, "Ir\nan", 5, u, ul), -1);
	assert_int_equal(forged_decodes(s, "Ir\0an", 5, u, ul), -1);
	assert_int_equal(forged_decodes(s, "Ir\x1b[2Jan", 8, u, ul), -1);
	assert_int_equal(forged_decodes(s,
					"\xe2\x80\xae"
					"nari",
					7, u, ul),
			 -1);					   /* bidi */
	assert_int_equal(forged_decodes(s, "\xc3", 1, u, ul), -1); /* not UTF-8 */

	assert_int_equal(forged_decodes(s, "Iran", 4, "ftp://relay.example", 19), -1);
	assert_int_equal(forged_decodes(s, "Iran", 4, "http://a b", 10), -1);
	assert_int_equal(forged_decodes(s, "Iran", 4, "", 0), -1);
	assert_int_equal(forged_decodes(s, "Iran", 4, "https://relay.example", 21), 0);
	char longurl[PL_INTRO_URL_MAX + 2];
	memset(longurl, 'a', sizeof longurl);
	memcpy(longurl, "https://", 8);
	assert_int_equal(forged_decodes(s, "Iran", 4, longurl, PL_INTRO_URL_MAX), 0);
	assert_int_equal(forged_decodes(s, "Iran", 4, longurl, PL_INTRO_URL_MAX + 1), -1);

	/* the maker refuses the same */
	pl_wr_init(&w);
	t = s;
	t.time = 0;
	assert_int_equal(pl_introduction_make(&w, &km, &t), -1);
	t = s;
	memcpy(t.introduced_ik, km.pk, PL_IK_LEN);
	assert_int_equal(pl_introduction_make(&w, &km, &t), -1);
	t = s;
	snprintf(t.name, sizeof t.name, "two\nlines");
	assert_int_equal(pl_introduction_make(&w, &km, &t), -1);
	t = s;
	snprintf(t.url, sizeof t.url, "relay.example");
	assert_int_equal(pl_introduction_make(&w, &km, &t), -1);
	assert_int_equal(w.n, 0);
	pl_wr_free(&w);

	/* the payload layer takes only bodies within the bounds */
	pl_payload p = {.kind = PL_KIND_INTRODUCE, .time = 1};
	uint8_t body[PL_INTRO_MAX_LEN + 1] = {0};
	p.body = body;
	p.bodylen = PL_INTRO_MIN_LEN - 1;
	pl_wr pw;
	pl_wr_init(&pw);
	pl_payload_encode(&pw, &p);
	assert_int_not_equal(pl_wr_ok(&pw), 0);
	pl_wr_free(&pw);
}

/* ---- the receiver's rules, on a real vault ------------------------------ */

static struct {
	char dir[128];
	pl_vault *v;
} loc;

static int loc_setup(void **state)
{
	(void)state;
	pl_test_tmpdir(loc.dir, sizeof loc.dir, "intro");
	loc.v = pl_test_vault_new(loc.dir, "bob", "bob", "http://127.0.0.1:9");
	return 0;
}

static int loc_teardown(void **state)
{
	(void)state;
	pl_vault_close(loc.v);
	pl_test_rm_rf(loc.dir);
	return 0;
}

static void put_contact(const char *name, const uint8_t ik[static PL_IK_LEN], int verified,
			int key_changed)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.ik, ik, PL_IK_LEN);
	c.verified = verified;
	c.key_changed = key_changed;
	c.added = pl_now();
	assert_int_equal(pl_vault_contact_put(loc.v, &c, &e), 0);
}

static pl_contact get(const char *name)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(loc.v, name, &c, &e), 0);
	return c;
}

static int exists(const char *name)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	return pl_vault_contact_get(loc.v, name, &c, &e) == 0;
}

static size_t ncontacts(void)
{
	pl_contact *cs;
	size_t n;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_list(loc.v, &cs, &n, &e), 0);
	free(cs);
	return n;
}

/* A statement by signer to bob about `about` named name. */
static void stmt(pl_wr *w, const pl_identity *signer, const uint8_t *recipient,
		 const uint8_t *about, const char *name, const char *url)
{
	pl_introduction s = fields(recipient, about, name);
	snprintf(s.url, sizeof s.url, "%s", url);
	s.time = pl_now();
	pl_wr_init(w);
	assert_int_equal(pl_introduction_make(w, signer, &s), 0);
}

/* pl_intro_apply of w carried by `carrier` from contact from; returns what. */
static int apply(const char *from, const uint8_t *carrier, const pl_wr *w, int want_rc,
		 char name[PL_NAME_MAX + 1], int *clash)
{
	pl_contact c = get(from);
	pl_err e;
	pl_err_clear(&e);
	int what = -1, cl = -1;
	char nm[PL_NAME_MAX + 1];
	assert_int_equal(
	    pl_intro_apply(loc.v, &c, carrier, w->p, w->n, &what, name ? name : nm, &cl, &e),
	    want_rc);
	if (want_rc == 1) {
		assert_int_equal(e.code, PL_EXIT_SECURITY);
		assert_null(strchr(e.msg, '\n'));
		assert_non_null(strstr(e.msg, "no contact was added"));
	}
	if (clash)
		*clash = cl;
	return what;
}

static const uint8_t *me(void)
{
	return pl_vault_identity(loc.v)->pk;
}

static void test_refused(void **state)
{
	(void)state;
	pl_wr w;
	put_contact("mediator", km.pk, 1, 0);
	put_contact("stranger", ks.pk, 0, 0);
	size_t n0 = ncontacts();

	/* from a contact never verified */
	stmt(&w, &ks, me(), ka.pk, "alice", "http://127.0.0.1:9");
	assert_int_equal(apply("stranger", ks.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	/* the mediator's statement carried by another key than its own */
	stmt(&w, &km, me(), ka.pk, "alice", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", ks.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	/* the stranger's statement carried by the mediator's session */
	stmt(&w, &ks, me(), ka.pk, "alice", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	/* meant for someone else */
	stmt(&w, &km, kx.pk, ka.pk, "alice", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	/* introducing a key that was revoked */
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_ik_revoke(loc.v, kx.pk, pl_now(), &e), 0);
	stmt(&w, &km, me(), kx.pk, "x", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	/* a relay far away over plain http, which this vault does not allow */
	stmt(&w, &km, me(), ka.pk, "alice", "http://relay.example");
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	/* malformed: one byte short */
	stmt(&w, &km, me(), ka.pk, "alice", "http://127.0.0.1:9");
	w.n--;
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);

	/* a mediator whose key changed, or was revoked, vouches for nothing */
	put_contact("mediator", km.pk, 0, 1);
	stmt(&w, &km, me(), ka.pk, "alice", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	put_contact("mediator", km.pk, 1, 0);
	assert_int_equal(pl_vault_ik_revoke(loc.v, km.pk, pl_now(), &e), 0);
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	assert_int_equal(ncontacts(), n0);
	assert_false(exists("alice"));
}

static void test_accepted_and_malicious(void **state)
{
	(void)state;
	pl_wr w;
	char name[PL_NAME_MAX + 1];
	int clash = -1;
	pl_err e;
	pl_err_clear(&e);
	put_contact("mediator", km.pk, 1, 0);
	put_contact("stranger", ks.pk, 0, 0);
	/* our own key, introduced to us: refused */
	stmt(&w, &km, me(), ka.pk, "alice", "http://127.0.0.1:9");
	pl_wr ours;
	pl_introduction so = fields(me(), ka.pk, "me");
	memcpy(so.introduced_ik, me(), PL_IK_LEN);
	memcpy(so.recipient_ik, kx.pk, PL_IK_LEN);
	pl_wr_init(&ours);
	assert_int_equal(pl_introduction_make(&ours, &km, &so), 0);
	assert_int_equal(apply("mediator", km.pk, &ours, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&ours);

	/* the real thing */
	assert_int_equal(apply("mediator", km.pk, &w, 0, name, &clash), PL_INTRO_ADDED);
	assert_string_equal(name, "alice");
	assert_int_equal(clash, 0);
	pl_contact a = get("alice");
	assert_memory_equal(a.ik, ka.pk, PL_IK_LEN);
	assert_int_equal(a.verified, 0);
	assert_int_not_equal(a.introduced, 0);
	assert_int_equal(a.has_relay, 1);
	assert_string_equal(a.relay_url, "http://127.0.0.1:9");
	assert_memory_equal(a.relay_key, relay_pk, 32);
	assert_int_equal(pl_msgr_check_sendable(&a, &e), 0);
	pl_intro_rec r;
	char who[PL_NAME_MAX + 1];
	int vouched = -1;
	assert_int_equal(pl_intro_of(loc.v, &a, &r, who, &vouched, &e), 1);
	assert_string_equal(who, "mediator");
	assert_int_equal(vouched, 1);
	assert_memory_equal(r.introducer_ik, km.pk, PL_IK_LEN);
	assert_int_equal(r.stmt_len, w.n);
	assert_memory_equal(r.stmt, w.p, w.n);
	/* a replay, the same bytes or a new statement: nothing changes */
	assert_int_equal(apply("mediator", km.pk, &w, 0, NULL, NULL), PL_INTRO_REPLAY);
	pl_wr_free(&w);
	stmt(&w, &km, me(), ka.pk, "alice renamed", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 0, NULL, NULL), PL_INTRO_REPLAY);
	pl_wr_free(&w);
	assert_false(exists("alice renamed"));

	/* an introduced contact introduces no one */
	stmt(&w, &ka, me(), kc.pk, "carol", "http://127.0.0.1:9");
	assert_int_equal(apply("alice", ka.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	assert_false(exists("carol"));

	/* a malicious mediator: another key under the name "alice". alice's
	 * key stays; the other is added apart, flagged. */
	size_t n0 = ncontacts();
	stmt(&w, &km, me(), kx.pk, "alice", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 0, name, &clash), PL_INTRO_ADDED);
	pl_wr_free(&w);
	assert_int_equal(clash, 1);
	assert_string_equal(name, "alice-2");
	a = get("alice");
	assert_memory_equal(a.ik, ka.pk, PL_IK_LEN);
	pl_contact a2 = get("alice-2");
	assert_memory_equal(a2.ik, kx.pk, PL_IK_LEN);
	assert_int_equal(pl_intro_of(loc.v, &a2, &r, NULL, NULL, &e), 1);
	assert_int_equal(r.flags & PL_INTRO_REC_NAME_CLASH, PL_INTRO_REC_NAME_CLASH);
	assert_int_equal(ncontacts(), n0 + 1);
	/* the key of an existing contact never verified, under the name of
	 * the mediator: recorded (it is now introduced), its name and key
	 * unchanged, the mediator untouched */
	stmt(&w, &km, me(), ks.pk, "mediator", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 0, NULL, NULL), PL_INTRO_RECORDED);
	pl_wr_free(&w);
	pl_contact st = get("stranger");
	assert_memory_equal(st.ik, ks.pk, PL_IK_LEN);
	assert_int_equal(st.verified, 0);
	assert_int_not_equal(st.introduced, 0); /* now vouched for by the mediator */

	/* an existing verified contact: recorded, unchanged, still verified */
	put_contact("carol", kc.pk, 1, 0);
	stmt(&w, &km, me(), kc.pk, "someone else", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 0, name, NULL), PL_INTRO_RECORDED);
	pl_wr_free(&w);
	assert_string_equal(name, "carol");
	pl_contact c = get("carol");
	assert_int_equal(c.verified, 1);
	assert_memory_equal(c.ik, kc.pk, PL_IK_LEN);
	assert_false(exists("someone else"));

	/* a second mediator's introduction of alice: the first stands */
	put_contact("mediator2", km2.pk, 1, 0);
	stmt(&w, &km2, me(), ka.pk, "alice", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator2", km2.pk, &w, 0, NULL, NULL), PL_INTRO_KNOWN);
	pl_wr_free(&w);
	assert_int_equal(pl_intro_of(loc.v, &a, &r, who, NULL, &e), 1);
	assert_string_equal(who, "mediator");

	/* the introduction counts only while the mediator stays verified */
	put_contact("mediator", km.pk, 0, 0);
	a = get("alice");
	assert_int_equal(a.introduced, 0);
	assert_int_equal(pl_msgr_check_sendable(&a, &e), -1);
	assert_int_equal(pl_intro_of(loc.v, &a, &r, NULL, &vouched, &e), 1);
	assert_int_equal(vouched, 0);
	put_contact("mediator", km.pk, 1, 0);
	a = get("alice");
	assert_int_not_equal(a.introduced, 0);

	/* a contact merely unverified is still refused for sending */
	put_contact("dave", kr.pk, 0, 0);
	pl_contact d = get("dave");
	assert_int_equal(d.introduced, 0);
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_check_sendable(&d, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);

	/* a long name taken: no room for "-2", the fallback name; and when
	 * that is taken too, refused rather than replacing its holder */
	char longn[64], hex[PL_KEY_HEX_LEN], fb[PL_NAME_MAX + 1];
	memset(longn, 'n', 63);
	longn[63] = '\0';
	pl_identity k1, k2, k3, k4;
	assert_int_equal(pl_identity_generate(&k1), 0);
	assert_int_equal(pl_identity_generate(&k2), 0);
	assert_int_equal(pl_identity_generate(&k3), 0);
	assert_int_equal(pl_identity_generate(&k4), 0);
	put_contact(longn, k3.pk, 1, 0);
	stmt(&w, &km, me(), k1.pk, longn, "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 0, name, &clash), PL_INTRO_ADDED);
	pl_wr_free(&w);
	pl_hex_encode(hex, k1.pk, PL_IK_LEN);
	snprintf(fb, sizeof fb, "introduced-%.16s", hex);
	assert_string_equal(name, fb);
	assert_int_equal(clash, 1);
	pl_hex_encode(hex, k2.pk, PL_IK_LEN);
	snprintf(fb, sizeof fb, "introduced-%.16s", hex);
	put_contact(fb, k4.pk, 0, 0);
	stmt(&w, &km, me(), k2.pk, longn, "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 1, NULL, NULL), PL_INTRO_REFUSED);
	pl_wr_free(&w);
	pl_contact held = get(fb);
	assert_memory_equal(held.ik, k4.pk, PL_IK_LEN);
	pl_identity_wipe(&k1);
	pl_identity_wipe(&k2);
	pl_identity_wipe(&k3);
	pl_identity_wipe(&k4);

	/* removing the contact removes its introduction */
	assert_int_equal(pl_vault_contact_remove(loc.v, "alice", &e), 0);
	assert_int_equal(pl_vault_intro_get(loc.v, ka.pk, &r, &e), 0);
	sodium_memzero(&a, sizeof a);
}

/* The sender's refusals, and the two statements queued in one go. */
static int send_refused(const char *n1, const char *n2, const char *why)
{
	pl_intro_report r;
	pl_err e;
	pl_err_clear(&e);
	int rc = pl_intro_send(loc.v, n1, n2, &r, &e);
	if (rc == 1) {
		assert_null(strchr(e.msg, '\n'));
		assert_non_null(strstr(e.msg, why));
	}
	return rc;
}

static size_t outbox_len(void)
{
	pl_outbox *ob;
	size_t n;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_outbox_list(loc.v, &ob, &n, &e), 0);
	pl_vault_outbox_free(ob, n);
	return n;
}

static void test_send(void **state)
{
	(void)state;
	put_contact("alice", ka.pk, 1, 0);
	put_contact("carol", kc.pk, 1, 0);
	put_contact("stranger", ks.pk, 0, 0);
	put_contact("changed", kx.pk, 0, 1);
	assert_int_equal(send_refused("alice", "stranger", "verified in person"), 1);
	assert_int_equal(send_refused("stranger", "alice", "parley contact verify stranger"), 1);
	assert_int_equal(send_refused("alice", "changed", "changed"), 1);
	assert_int_equal(send_refused("alice", "alice", "one contact"), 1);
	assert_int_equal(send_refused("alice", "nobody", "no contact named"), 1);
	/* an introduced contact is not verified in person: not vouched for */
	put_contact("mediator", km.pk, 1, 0);
	pl_wr w;
	stmt(&w, &km, me(), km2.pk, "dave", "http://127.0.0.1:9");
	assert_int_equal(apply("mediator", km.pk, &w, 0, NULL, NULL), PL_INTRO_ADDED);
	pl_wr_free(&w);
	assert_int_equal(send_refused("alice", "dave", "only introduced"), 1);
	/* a revoked one neither */
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_ik_revoke(loc.v, kc.pk, pl_now(), &e), 0);
	assert_int_equal(send_refused("alice", "carol", "revoked"), 1);
	put_contact("carol2", kr.pk, 1, 0);
	/* this vault never met its relay: nothing queued */
	assert_int_equal(send_refused("alice", "carol2", "parley sync"), 1);
	assert_int_equal(outbox_len(), 0);
	/* with a relay key pinned: both queued in one transaction (the relay
	 * at port 9 does not answer: they stay queued) */
	assert_int_equal(pl_vault_set_relay_key(loc.v, relay_pk, &e), 0);
	pl_intro_report r;
	assert_int_equal(pl_intro_send(loc.v, "alice", "carol2", &r, &e), 0);
	assert_int_equal(outbox_len(), 2);
	assert_int_equal(r.queued, 2);
	assert_int_equal(r.delivered, 0);
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(loc.v, "alice", &items, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(items[0].kind, PL_KIND_INTRODUCE);
	pl_introduction d;
	assert_int_equal(pl_introduction_decode(&d, items[0].body.p, items[0].body.n), 0);
	assert_memory_equal(d.introducer_ik, me(), PL_IK_LEN);
	assert_memory_equal(d.recipient_ik, ka.pk, PL_IK_LEN);
	assert_memory_equal(d.introduced_ik, kr.pk, PL_IK_LEN);
	assert_string_equal(d.name, "carol2");
	assert_string_equal(d.url, "http://127.0.0.1:9"); /* our relay: they share it */
	assert_memory_equal(d.relay_key, relay_pk, 32);
	pl_vault_items_free(items, n);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		return 1;
	pl_identity *ids[] = {&km, &ka, &ks, &kx, &kc, &km2, &kr};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		assert_int_equal(pl_identity_generate(ids[i]), 0);
	uint8_t rsk[64];
	crypto_sign_seed_keypair(relay_pk, rsk, relay_key_seed);
	sodium_memzero(rsk, sizeof rsk);
	const struct CMUnitTest codec[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_refusals),
	};
	const struct CMUnitTest rules[] = {
	    cmocka_unit_test_setup_teardown(test_refused, loc_setup, loc_teardown),
	    cmocka_unit_test_setup_teardown(test_accepted_and_malicious, loc_setup, loc_teardown),
	    cmocka_unit_test_setup_teardown(test_send, loc_setup, loc_teardown),
	};
	int rc = cmocka_run_group_tests(codec, NULL, NULL);
	rc |= cmocka_run_group_tests(rules, NULL, NULL);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		pl_identity_wipe(ids[i]);
	return rc;
}
