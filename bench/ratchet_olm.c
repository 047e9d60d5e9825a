/*
 * ratchet_olm.c — libolm (Matrix's Double Ratchet, Debian's libolm-dev)
 * doing the same work as ratchet_parley.c: 1 KiB messages in an
 * established session, encrypt + decrypt including olm's wire encoding
 * (its messages are base64 text), either alternating direction (every
 * message a DH ratchet step) or one-way.
 *
 * The session is set up olm's way (outbound session on Bob's identity and
 * one-time key, inbound session from the first pre-key message, then a
 * reply so no pre-key messages remain). olm_decrypt destroys its input, so
 * each message is copied once before decrypting, as any caller must.
 * Randomness for new ratchet keys comes from getrandom(2), as in an app.
 *
 * Usage: ratchet_olm alt|burst COUNT — prints one result line that
 * bench/run.sh parses: "ratchet olm MODE COUNT SECONDS MSGS_PER_S".
 */
#include <jansson.h>
#include <olm/olm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MSG_LEN 1024
#define MAX_COUNT 1000000
#define WIRE_MAX 4096
#define RAND_MAX_LEN 256

typedef struct {
	OlmAccount *acct;
	OlmSession *sess;
	void *acct_mem, *sess_mem;
} party;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fill_random(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int party_init(party *p)
{
	uint8_t rnd[RAND_MAX_LEN];

	p->acct_mem = malloc(olm_account_size());
	p->sess_mem = malloc(olm_session_size());
	if (p->acct_mem == NULL || p->sess_mem == NULL)
		return -1;
	p->acct = olm_account(p->acct_mem);
	p->sess = olm_session(p->sess_mem);
	size_t n = olm_create_account_random_length(p->acct);
	if (n > sizeof rnd || fill_random(rnd, n) != 0 ||
	    olm_create_account(p->acct, rnd, n) == olm_error())
		return -1;
	return 0;
}

static void party_free(party *p)
{
	olm_clear_session(p->sess);
	olm_clear_account(p->acct);
	free(p->sess_mem);
	free(p->acct_mem);
}

/* Copies the string at JSON path key (or key/first member) into out. */
static int json_key(char *out, size_t cap, const char *json, size_t len, const char *key,
		    int first_member)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, 0, &err);
	json_t *v = root ? json_object_get(root, key) : NULL;
	int rc = -1;

	if (v && first_member) {
		void *it = json_object_iter(v);
		v = it ? json_object_iter_value(it) : NULL;
	}
	if (v && json_is_string(v) && json_string_length(v) < cap) {
		memcpy(out, json_string_value(v), json_string_length(v) + 1);
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/* Encrypt, copy the wire text, decrypt, compare. */
static int one_message(party *s, party *r, const uint8_t *pt, int inbound_first)
{
	static char wire[WIRE_MAX], copy[WIRE_MAX];
	static uint8_t back[WIRE_MAX];
	uint8_t rnd[RAND_MAX_LEN];

	size_t type = olm_encrypt_message_type(s->sess);
	size_t rn = olm_encrypt_random_length(s->sess);
	if (rn > sizeof rnd || (rn > 0 && fill_random(rnd, rn) != 0))
		return -1;
	size_t wn = olm_encrypt(s->sess, pt, MSG_LEN, rnd, rn, wire, sizeof wire);
	if (wn == olm_error() || wn > sizeof wire)
		return -1;
	memcpy(copy, wire, wn);
	if (inbound_first) {
		if (olm_create_inbound_session(r->sess, r->acct, copy, wn) == olm_error())
			return -1;
		memcpy(copy, wire, wn);
	}
	size_t n = olm_decrypt(r->sess, type, copy, wn, back, sizeof back);
	if (n != MSG_LEN || memcmp(back, pt, MSG_LEN) != 0)
		return -1;
	return 0;
}

static int establish(party *alice, party *bob, const uint8_t *pt)
{
	char buf[WIRE_MAX], bob_ik[128], bob_otk[128];
	uint8_t rnd[RAND_MAX_LEN];

	size_t n = olm_account_generate_one_time_keys_random_length(bob->acct, 1);
	if (n > sizeof rnd || fill_random(rnd, n) != 0 ||
	    olm_account_generate_one_time_keys(bob->acct, 1, rnd, n) == olm_error())
		return -1;
	n = olm_account_identity_keys(bob->acct, buf, sizeof buf);
	if (n == olm_error() || json_key(bob_ik, sizeof bob_ik, buf, n, "curve25519", 0) != 0)
		return -1;
	n = olm_account_one_time_keys(bob->acct, buf, sizeof buf);
	if (n == olm_error() || json_key(bob_otk, sizeof bob_otk, buf, n, "curve25519", 1) != 0)
		return -1;
	olm_account_mark_keys_as_published(bob->acct);

	n = olm_create_outbound_session_random_length(alice->sess);
	if (n > sizeof rnd || fill_random(rnd, n) != 0 ||
	    olm_create_outbound_session(alice->sess, alice->acct, bob_ik, strlen(bob_ik), bob_otk,
					strlen(bob_otk), rnd, n) == olm_error())
		return -1;
	if (one_message(alice, bob, pt, 1) != 0 ||
	    olm_remove_one_time_keys(bob->acct, bob->sess) == olm_error())
		return -1;
	return one_message(bob, alice, pt, 0);
}

int main(int argc, char **argv)
{
	static uint8_t pt[MSG_LEN];
	party alice, bob;

	if (argc != 3 || (strcmp(argv[1], "alt") != 0 && strcmp(argv[1], "burst") != 0)) {
		fprintf(stderr, "usage: ratchet_olm alt|burst COUNT\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	if (count < 2 || count > MAX_COUNT) {
		fprintf(stderr, "ratchet_olm: COUNT must be 2..%d\n", MAX_COUNT);
		return 2;
	}
	int alt = strcmp(argv[1], "alt") == 0;
	for (size_t i = 0; i < sizeof pt; i++)
		pt[i] = (uint8_t)(i * 7);
	if (party_init(&alice) != 0 || party_init(&bob) != 0 || establish(&alice, &bob, pt) != 0) {
		fprintf(stderr, "ratchet_olm: setup failed\n");
		return 1;
	}

	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		party *s = (alt && (i & 1)) ? &bob : &alice;
		party *r = s == &alice ? &bob : &alice;
		pt[0] = (uint8_t)i;
		if (one_message(s, r, pt, 0) != 0) {
			fprintf(stderr, "ratchet_olm: message %ld failed: %s\n", i,
				olm_session_last_error(r->sess));
			return 1;
		}
	}
	double dt = now_s() - t0;
	printf("ratchet olm %s %ld %.6f %.1f\n", argv[1], count, dt, (double)count / dt);

	party_free(&alice);
	party_free(&bob);
	return 0;
}
