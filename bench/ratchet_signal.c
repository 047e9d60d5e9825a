/*
 * ratchet_signal.c — libsignal-protocol-c (Debian's libsignal-protocol-c)
 * doing the same work as ratchet_parley.c: 1 KiB messages in an
 * established session, encrypt + serialise + deserialise + decrypt, either
 * alternating direction (every message a DH ratchet step) or one-way.
 *
 * The session is built the library's own way (session_builder on a
 * pre-key bundle, then one round trip so no pre-key messages remain). The
 * stores are in memory; session_cipher loads and stores the serialised
 * session record around every message because that is its API, so that
 * cost belongs to the library's figure. Symmetric crypto comes from
 * signal_crypto_openssl.c (OpenSSL 3 EVP).
 *
 * Usage: ratchet_signal alt|burst COUNT — prints one result line that
 * bench/run.sh parses: "ratchet libsignal MODE COUNT SECONDS MSGS_PER_S".
 */
#include <signal/key_helper.h>
#include <signal/protocol.h>
#include <signal/session_builder.h>
#include <signal/session_cipher.h>
#include <signal/signal_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signal_crypto_openssl.h"

#define MSG_LEN 1024
#define MAX_COUNT 1000000
#define MAX_ENTRIES 4
#define PRE_KEY_ID 31337
#define SIGNED_PRE_KEY_ID 22

/* A tiny keyed store: at most MAX_ENTRIES serialised records. */
typedef struct {
	uint32_t id[MAX_ENTRIES];
	signal_buffer *rec[MAX_ENTRIES];
} kv;

typedef struct {
	kv sessions; /* keyed by device id; one remote name per party */
	kv pre_keys;
	kv signed_pre_keys;
	signal_buffer *id_pub, *id_priv;
	uint32_t reg_id;
} party_store;

typedef struct {
	party_store st;
	signal_protocol_store_context *store;
	session_cipher *cipher;
	ratchet_identity_key_pair *id;
} party;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int kv_find(const kv *m, uint32_t id)
{
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (m->rec[i] && m->id[i] == id)
			return i;
	return -1;
}

static int kv_put(kv *m, uint32_t id, const uint8_t *p, size_t n)
{
	int i = kv_find(m, id);
	for (int j = 0; i < 0 && j < MAX_ENTRIES; j++)
		if (m->rec[j] == NULL)
			i = j;
	if (i < 0)
		return SG_ERR_NOMEM;
	signal_buffer *b = signal_buffer_create(p, n);
	if (b == NULL)
		return SG_ERR_NOMEM;
	signal_buffer_bzero_free(m->rec[i]);
	m->rec[i] = b;
	m->id[i] = id;
	return 0;
}

static int kv_get(const kv *m, uint32_t id, signal_buffer **out)
{
	int i = kv_find(m, id);
	if (i < 0)
		return 0;
	*out = signal_buffer_copy(m->rec[i]);
	return *out ? 1 : SG_ERR_NOMEM;
}

static int kv_del(kv *m, uint32_t id)
{
	int i = kv_find(m, id);
	if (i < 0)
		return 0;
	signal_buffer_bzero_free(m->rec[i]);
	m->rec[i] = NULL;
	return 1;
}

static void kv_free(kv *m)
{
	for (int i = 0; i < MAX_ENTRIES; i++)
		signal_buffer_bzero_free(m->rec[i]);
	memset(m, 0, sizeof *m);
}

/* --- session store -------------------------------------------------------- */

static int ss_load(signal_buffer **record, signal_buffer **user_record,
		   const signal_protocol_address *a, void *ud)
{
	(void)user_record;
	return kv_get(&((party_store *)ud)->sessions, (uint32_t)a->device_id, record);
}

static int ss_sub_devices(signal_int_list **sessions, const char *name, size_t name_len, void *ud)
{
	party_store *s = ud;
	signal_int_list *l = signal_int_list_alloc();
	(void)name;
	(void)name_len;
	if (l == NULL)
		return SG_ERR_NOMEM;
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (s->sessions.rec[i])
			signal_int_list_push_back(l, (int)s->sessions.id[i]);
	*sessions = l;
	return (int)signal_int_list_size(l);
}

static int ss_store(const signal_protocol_address *a, uint8_t *record, size_t record_len,
		    uint8_t *user_record, size_t user_record_len, void *ud)
{
	(void)user_record;
	(void)user_record_len;
	return kv_put(&((party_store *)ud)->sessions, (uint32_t)a->device_id, record, record_len);
}

static int ss_contains(const signal_protocol_address *a, void *ud)
{
	return kv_find(&((party_store *)ud)->sessions, (uint32_t)a->device_id) >= 0;
}

static int ss_delete(const signal_protocol_address *a, void *ud)
{
	return kv_del(&((party_store *)ud)->sessions, (uint32_t)a->device_id);
}

static int ss_delete_all(const char *name, size_t name_len, void *ud)
{
	party_store *s = ud;
	int n = 0;
	(void)name;
	(void)name_len;
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (s->sessions.rec[i])
			n += kv_del(&s->sessions, s->sessions.id[i]);
	return n;
}

/* --- pre-key and signed pre-key stores ------------------------------------ */

static int pk_load(signal_buffer **record, uint32_t id, void *ud)
{
	return kv_get(&((party_store *)ud)->pre_keys, id, record) == 1 ? SG_SUCCESS
								       : SG_ERR_INVALID_KEY_ID;
}

static int pk_store(uint32_t id, uint8_t *record, size_t len, void *ud)
{
	return kv_put(&((party_store *)ud)->pre_keys, id, record, len);
}

static int pk_contains(uint32_t id, void *ud)
{
	return kv_find(&((party_store *)ud)->pre_keys, id) >= 0;
}

static int pk_remove(uint32_t id, void *ud)
{
	kv_del(&((party_store *)ud)->pre_keys, id);
	return 0;
}

static int spk_load(signal_buffer **record, uint32_t id, void *ud)
{
	return kv_get(&((party_store *)ud)->signed_pre_keys, id, record) == 1
		   ? SG_SUCCESS
		   : SG_ERR_INVALID_KEY_ID;
}

static int spk_store(uint32_t id, uint8_t *record, size_t len, void *ud)
{
	return kv_put(&((party_store *)ud)->signed_pre_keys, id, record, len);
}

static int spk_contains(uint32_t id, void *ud)
{
	return kv_find(&((party_store *)ud)->signed_pre_keys, id) >= 0;
}

static int spk_remove(uint32_t id, void *ud)
{
	kv_del(&((party_store *)ud)->signed_pre_keys, id);
	return 0;
}

/* --- identity store: trust on first use is not what is measured ----------- */

static int ik_get_pair(signal_buffer **pub, signal_buffer **priv, void *ud)
{
	party_store *s = ud;
	*pub = signal_buffer_copy(s->id_pub);
	*priv = signal_buffer_copy(s->id_priv);
	return (*pub && *priv) ? 0 : SG_ERR_NOMEM;
}

static int ik_reg_id(void *ud, uint32_t *reg_id)
{
	*reg_id = ((party_store *)ud)->reg_id;
	return 0;
}

static int ik_save(const signal_protocol_address *a, uint8_t *key, size_t len, void *ud)
{
	(void)a;
	(void)key;
	(void)len;
	(void)ud;
	return 0;
}

static int ik_trusted(const signal_protocol_address *a, uint8_t *key, size_t len, void *ud)
{
	(void)a;
	(void)key;
	(void)len;
	(void)ud;
	return 1;
}

static int party_init(party *p, signal_context *ctx)
{
	memset(p, 0, sizeof *p);
	if (signal_protocol_key_helper_generate_identity_key_pair(&p->id, ctx) != 0 ||
	    signal_protocol_key_helper_generate_registration_id(&p->st.reg_id, 0, ctx) != 0 ||
	    ec_public_key_serialize(&p->st.id_pub, ratchet_identity_key_pair_get_public(p->id)) !=
		0 ||
	    ec_private_key_serialize(&p->st.id_priv,
				     ratchet_identity_key_pair_get_private(p->id)) != 0 ||
	    signal_protocol_store_context_create(&p->store, ctx) != 0)
		return -1;

	signal_protocol_session_store ss = {
	    .load_session_func = ss_load,
	    .get_sub_device_sessions_func = ss_sub_devices,
	    .store_session_func = ss_store,
	    .contains_session_func = ss_contains,
	    .delete_session_func = ss_delete,
	    .delete_all_sessions_func = ss_delete_all,
	    .user_data = &p->st,
	};
	signal_protocol_pre_key_store pks = {
	    .load_pre_key = pk_load,
	    .store_pre_key = pk_store,
	    .contains_pre_key = pk_contains,
	    .remove_pre_key = pk_remove,
	    .user_data = &p->st,
	};
	signal_protocol_signed_pre_key_store spks = {
	    .load_signed_pre_key = spk_load,
	    .store_signed_pre_key = spk_store,
	    .contains_signed_pre_key = spk_contains,
	    .remove_signed_pre_key = spk_remove,
	    .user_data = &p->st,
	};
	signal_protocol_identity_key_store iks = {
	    .get_identity_key_pair = ik_get_pair,
	    .get_local_registration_id = ik_reg_id,
	    .save_identity = ik_save,
	    .is_trusted_identity = ik_trusted,
	    .user_data = &p->st,
	};
	if (signal_protocol_store_context_set_session_store(p->store, &ss) != 0 ||
	    signal_protocol_store_context_set_pre_key_store(p->store, &pks) != 0 ||
	    signal_protocol_store_context_set_signed_pre_key_store(p->store, &spks) != 0 ||
	    signal_protocol_store_context_set_identity_key_store(p->store, &iks) != 0)
		return -1;
	return 0;
}

static void party_free(party *p)
{
	session_cipher_free(p->cipher);
	signal_protocol_store_context_destroy(p->store);
	SIGNAL_UNREF(p->id);
	kv_free(&p->st.sessions);
	kv_free(&p->st.pre_keys);
	kv_free(&p->st.signed_pre_keys);
	signal_buffer_bzero_free(p->st.id_pub);
	signal_buffer_bzero_free(p->st.id_priv);
}

/* Bob publishes a bundle; Alice builds a session from it. */
static int establish(party *alice, party *bob, signal_context *ctx,
		     const signal_protocol_address *alice_addr,
		     const signal_protocol_address *bob_addr)
{
	ec_key_pair *pk = NULL;
	session_pre_key *pre = NULL;
	session_signed_pre_key *spk = NULL;
	session_pre_key_bundle *bundle = NULL;
	session_builder *builder = NULL;
	int rc = -1;

	if (curve_generate_key_pair(ctx, &pk) != 0 ||
	    session_pre_key_create(&pre, PRE_KEY_ID, pk) != 0 ||
	    signal_protocol_pre_key_store_key(bob->store, pre) != 0 ||
	    signal_protocol_key_helper_generate_signed_pre_key(&spk, bob->id, SIGNED_PRE_KEY_ID,
							       (uint64_t)time(NULL), ctx) != 0 ||
	    signal_protocol_signed_pre_key_store_key(bob->store, spk) != 0)
		goto out;
	if (session_pre_key_bundle_create(
		&bundle, bob->st.reg_id, bob_addr->device_id, PRE_KEY_ID,
		ec_key_pair_get_public(pk), SIGNED_PRE_KEY_ID,
		ec_key_pair_get_public(session_signed_pre_key_get_key_pair(spk)),
		session_signed_pre_key_get_signature(spk), CURVE_SIGNATURE_LEN,
		ratchet_identity_key_pair_get_public(bob->id)) != 0)
		goto out;
	if (session_builder_create(&builder, alice->store, bob_addr, ctx) != 0 ||
	    session_builder_process_pre_key_bundle(builder, bundle) != 0)
		goto out;
	if (session_cipher_create(&alice->cipher, alice->store, bob_addr, ctx) != 0 ||
	    session_cipher_create(&bob->cipher, bob->store, alice_addr, ctx) != 0)
		goto out;
	rc = 0;
out:
	session_builder_free(builder);
	SIGNAL_UNREF(bundle);
	SIGNAL_UNREF(spk);
	SIGNAL_UNREF(pre);
	SIGNAL_UNREF(pk);
	return rc;
}

/* Encrypt, take the wire bytes, parse them back and decrypt. */
static int one_message(party *s, party *r, signal_context *ctx, const uint8_t *pt)
{
	ciphertext_message *m = NULL;
	signal_buffer *plain = NULL;
	int rc = -1;

	if (session_cipher_encrypt(s->cipher, pt, MSG_LEN, &m) != 0)
		return -1;
	signal_buffer *wire = ciphertext_message_get_serialized(m);
	const uint8_t *w = signal_buffer_data(wire);
	size_t wn = signal_buffer_len(wire);

	if (ciphertext_message_get_type(m) == CIPHERTEXT_PREKEY_TYPE) {
		pre_key_signal_message *pkm = NULL;
		if (pre_key_signal_message_deserialize(&pkm, w, wn, ctx) == 0)
			rc = session_cipher_decrypt_pre_key_signal_message(r->cipher, pkm, NULL,
									   &plain);
		SIGNAL_UNREF(pkm);
	} else {
		signal_message *sm = NULL;
		if (signal_message_deserialize(&sm, w, wn, ctx) == 0)
			rc = session_cipher_decrypt_signal_message(r->cipher, sm, NULL, &plain);
		SIGNAL_UNREF(sm);
	}
	if (rc == 0 && (signal_buffer_len(plain) != MSG_LEN ||
			memcmp(signal_buffer_data(plain), pt, MSG_LEN) != 0))
		rc = -1;
	signal_buffer_bzero_free(plain);
	SIGNAL_UNREF(m);
	return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static uint8_t pt[MSG_LEN];
	const signal_protocol_address alice_addr = {"alice", 5, 1};
	const signal_protocol_address bob_addr = {"bob", 3, 1};
	signal_context *ctx = NULL;
	signal_openssl so;
	party alice, bob;

	if (argc != 3 || (strcmp(argv[1], "alt") != 0 && strcmp(argv[1], "burst") != 0)) {
		fprintf(stderr, "usage: ratchet_signal alt|burst COUNT\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	if (count < 2 || count > MAX_COUNT) {
		fprintf(stderr, "ratchet_signal: COUNT must be 2..%d\n", MAX_COUNT);
		return 2;
	}
	int alt = strcmp(argv[1], "alt") == 0;
	if (signal_context_create(&ctx, NULL) != 0 || signal_openssl_install(&so, ctx) != 0 ||
	    party_init(&alice, ctx) != 0 || party_init(&bob, ctx) != 0 ||
	    establish(&alice, &bob, ctx, &alice_addr, &bob_addr) != 0) {
		fprintf(stderr, "ratchet_signal: setup failed\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof pt; i++)
		pt[i] = (uint8_t)(i * 7);

	/* Warm-up: a pre-key message and a reply, so the session is established. */
	if (one_message(&alice, &bob, ctx, pt) != 0 || one_message(&bob, &alice, ctx, pt) != 0) {
		fprintf(stderr, "ratchet_signal: warm-up failed\n");
		return 1;
	}

	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		party *s = (alt && (i & 1)) ? &bob : &alice;
		party *r = s == &alice ? &bob : &alice;
		pt[0] = (uint8_t)i;
		if (one_message(s, r, ctx, pt) != 0) {
			fprintf(stderr, "ratchet_signal: message %ld failed\n", i);
			return 1;
		}
	}
	double dt = now_s() - t0;
	printf("ratchet libsignal %s %ld %.6f %.1f\n", argv[1], count, dt, (double)count / dt);

	party_free(&alice);
	party_free(&bob);
	signal_context_destroy(ctx);
	signal_openssl_free(&so);
	return 0;
}
